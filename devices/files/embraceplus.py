"""Empatica EmbracePlus raw data (Avro files of the Empatica data bucket).

Each ``.avro`` file holds records with ``rawData``: ``eda`` and ``bvp`` (``timestampStart``
in µs since the Unix epoch, ``samplingFrequency`` Hz, ``values``), ``systolicPeaks``
(``peaksTimeNanos``), ``tags`` (``tagsTimeMicros``, button presses), ``accelerometer``
(``x``/``y``/``z`` digital values scaled to g by ``imuParams``' physical and digital ranges);
the enrolment part names the device (``deviceSn``). Read with fastavro.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devices.files.base import (
    ClockInfo,
    DeviceFileError,
    DeviceRecording,
    Modality,
    Signal,
    check_rate,
)

AVRO_MAGIC = b"Obj\x01"


def sniff(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == AVRO_MAGIC and b"rawData" in f.read(65536)
    except OSError:
        return False


def _wave(path: Path, recs: list[dict], key: str, mod: Modality, unit: str) -> Signal | None:
    parts, rate = [], None
    for r in recs:
        d = (r.get("rawData") or {}).get(key) or {}
        vals = d.get("values") or []
        if not vals:
            continue
        fs = check_rate(
            path, float(d.get("samplingFrequency") or 0.0), f"rawData.{key}.samplingFrequency"
        )
        rate = rate or fs
        t0 = float(d.get("timestampStart", 0)) / 1e6
        parts.append((t0 + np.arange(len(vals)) / fs, np.asarray(vals, dtype=float)))
    if not parts:
        return None
    t = np.concatenate([p[0] for p in parts])
    x = np.concatenate([p[1] for p in parts])
    order = np.argsort(t, kind="stable")
    return Signal(mod, key.upper(), unit, x[order], t[order], float(rate))


def _acc(path: Path, recs: list[dict]) -> Signal | None:
    """The 3-axis accelerometer in g (digital values scaled by ``imuParams``)."""
    parts, rate, step = [], None, 0.0
    for r in recs:
        d = (r.get("rawData") or {}).get("accelerometer") or {}
        axes = [d.get(k) or [] for k in ("x", "y", "z")]
        n = min(len(a) for a in axes)
        if not n:
            continue
        fs = check_rate(path, float(d.get("samplingFrequency") or 0.0),
                        "rawData.accelerometer.samplingFrequency")  # fmt: skip
        p = d.get("imuParams") or {}
        try:
            dig = float(p["digitalMax"]) - float(p["digitalMin"])
            step = (float(p["physicalMax"]) - float(p["physicalMin"])) / dig
            off = float(p["physicalMin"]) - float(p["digitalMin"]) * step
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise DeviceFileError(path, "rawData.accelerometer has no usable imuParams") from None
        rate = rate or fs
        xyz = np.column_stack([np.asarray(a[:n], dtype=float) for a in axes]) * step + off
        parts.append((float(d.get("timestampStart", 0)) / 1e6 + np.arange(n) / fs, xyz))
    if not parts:
        return None
    t = np.concatenate([q[0] for q in parts])
    order = np.argsort(t, kind="stable")
    x = np.concatenate([q[1] for q in parts])[order]
    return Signal(Modality.ACC, "ACC x,ACC y,ACC z", "g", x, t[order], float(rate),
                  "g = digital x (physical range / digital range) + offset (imuParams)",
                  step)  # fmt: skip


def read(path: Path, spec) -> DeviceRecording:
    """Read one EmbracePlus Avro file (see the module docstring)."""
    import fastavro

    try:
        with open(path, "rb") as f:
            recs = list(fastavro.reader(f))
    except Exception as exc:  # fastavro raises KeyError, ValueError, EOFError ...  # noqa: BLE001
        raise DeviceFileError(
            path, f"not a readable Avro file ({type(exc).__name__}: {exc})"
        ) from None
    if not recs or not any(isinstance(r, dict) and r.get("rawData") for r in recs):
        raise DeviceFileError(path, "an Avro file without rawData: not EmbracePlus raw data")
    signals = [s for s in (
        _wave(path, recs, "eda", Modality.EDA, "microsiemens"),
        _wave(path, recs, "bvp", Modality.PPG, "nW"),
        _acc(path, recs),
    ) if s is not None]  # fmt: skip
    peaks = np.sort(np.concatenate([
        np.asarray(((r.get("rawData") or {}).get("systolicPeaks") or {}).get("peaksTimeNanos") or [], dtype=float)
        for r in recs
    ])) / 1e9  # fmt: skip
    if peaks.size >= 2:
        signals.append(Signal(Modality.IBI, "systolicPeaks", "ms", np.diff(peaks) * 1000.0,
                              peaks[1:], 0.0, "ms = difference of successive systolic peaks"))  # fmt: skip
    tags = sorted(
        float(t) / 1e6 for r in recs
        for t in (((r.get("rawData") or {}).get("tags") or {}).get("tagsTimeMicros") or [])
    )  # fmt: skip
    if not signals:
        raise DeviceFileError(path, "rawData holds no eda, bvp or systolicPeaks samples")
    sn = next((str(r.get("enrollment", {}).get("deviceSn") or r.get("deviceSn") or "")
               for r in recs if isinstance(r, dict)), "")  # fmt: skip
    return DeviceRecording(
        path=str(path), reader="embraceplus", device=spec.family, model="Empatica EmbracePlus",
        serial=sn, signals=tuple(signals),
        markers=tuple((t, f"tag {i + 1}") for i, t in enumerate(tags)),
        clock=ClockInfo(spec.clock, spec.clock_uncertainty_s), files=(str(path),),
    )  # fmt: skip
