"""Biopac AcqKnowledge ``.acq`` files, read with bioread (optional extra ``attunement[acq]``).

Channels are taken by name or unit: EDA/GSR (µS, "microsiemens"), ECG (mV), PPG/PULSE.
AcqKnowledge stores no start time of its own; when the file has event markers with creation
dates, the start is taken from the first of them (marker date minus its sample time), else
the absolute time is unknown and the recording says so. Event markers become markers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from devices.files.base import ClockInfo, DeviceFileError, DeviceRecording, Modality, Signal

_MODS = (
    (("eda", "gsr", "skin cond", "scl"), Modality.EDA),
    (("ecg", "ekg"), Modality.ECG),
    (("ppg", "pulse", "pleth", "bvp"), Modality.PPG),
)
_US = {"microsiemens", "µs", "us", "μs", "microsiemen", "µmho", "umho"}


def sniff(path: Path) -> bool:
    return path.suffix.lower() == ".acq"


def _modality(name: str, unit: str) -> Modality:
    low = name.lower()
    if any(w in low for w in ("differentiat", "derivative", "filtered")):
        return Modality.OTHER  # a channel AcqKnowledge computed from another
    if unit.strip().lower() in _US:
        return Modality.EDA
    for words, mod in _MODS:
        if any(w in low for w in words):
            return mod
    return Modality.OTHER


def read(path: Path, spec) -> DeviceRecording:
    """Read an AcqKnowledge file (see the module docstring)."""
    try:
        import bioread
    except ImportError:
        raise DeviceFileError(
            path, "reading .acq needs bioread: pip install 'attunement[acq]'"
        ) from None
    try:
        data = bioread.read_file(str(path))
    except Exception as exc:  # bioread raises many types on damaged files  # noqa: BLE001
        raise DeviceFileError(
            path, f"not a readable AcqKnowledge file ({type(exc).__name__}: {exc})"
        ) from None
    start, notes = None, []
    for m in getattr(data, "event_markers", []) or []:
        created = getattr(m, "date_created_utc", None)
        if created is not None and start is None:
            start = created.timestamp() - m.sample_index / data.samples_per_second
    if start is None:
        notes.append("no dated event marker: the recording's absolute time is unknown")
    signals = []
    for ch in data.channels:
        fs = float(ch.samples_per_second)
        if not fs > 0:
            raise DeviceFileError(path, f"channel {ch.name!r}: sample rate is {fs!r}")
        x = np.asarray(ch.data, dtype=float)
        mod = _modality(ch.name, ch.units or "")
        unit = "microsiemens" if mod is Modality.EDA else (ch.units or "")
        if mod is Modality.EDA and (ch.units or "").strip().lower() not in _US:
            notes.append(f"{ch.name}: unit {ch.units!r} is not µS; taken as EDA in µS")
        t = (start or 0.0) + np.arange(x.size) / fs
        signals.append(Signal(mod, ch.name.replace(",", " "), unit, x, t, fs))
    markers = tuple(
        ((start or 0.0) + m.sample_index / data.samples_per_second, str(m.text or "event"))
        for m in getattr(data, "event_markers", []) or []
    )
    unc = spec.clock_uncertainty_s if start is not None else math.inf
    return DeviceRecording(
        path=str(path), reader="biopac", device=spec.family, model="Biopac AcqKnowledge",
        serial="", signals=tuple(signals), markers=markers,
        clock=ClockInfo(spec.clock, unc), files=(str(path),), notes=tuple(notes),
    )  # fmt: skip
