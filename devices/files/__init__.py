"""Readers of the wearables' own files (E4 zip, EmbracePlus Avro, EmotiBit CSV, OpenSignals,
Shimmer Consensys CSV, Polar Sensor Logger, Biopac AcqKnowledge, generic CSV + TOML).

One small module per format; each is registered by the ``[files]`` table of its device
profile (:mod:`devices.files.registry`). No Qt, no ``app`` imports.
"""

from devices.files.base import (
    ClockInfo,
    DeviceFileError,
    DeviceRecording,
    Modality,
    Signal,
)
from devices.files.registry import FileSpec, detect, file_specs, read_device_file

__all__ = [
    "ClockInfo",
    "DeviceFileError",
    "DeviceRecording",
    "FileSpec",
    "Modality",
    "Signal",
    "detect",
    "file_specs",
    "read_device_file",
]
