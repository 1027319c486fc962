"""Shimmer Consensys CSV export.

Layout: ``"sep=<c>"`` (the separator, often a tab), a names row
(``Shimmer_<ID>_Timestamp_Unix_CAL``, ``Shimmer_<ID>_GSR_Skin_Conductance_CAL`` /
``..._GSR_Skin_Resistance_CAL``, ``..._PPG_A13_CAL``, ``..._ECG_LL-RA_24BIT_CAL`` ...), an
optional ``CAL``/``RAW`` row, a units row (``ms``, ``uS`` or ``kOhms``, ``mV``), then samples.
Timestamps are Unix milliseconds from the Shimmer's clock, set from the PC at docking.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import numpy as np

from devices.files.base import (
    ClockInfo,
    DeviceFileError,
    DeviceRecording,
    Modality,
    Signal,
    check_rate,
    numeric_rows,
    read_text,
    split_head,
)

_RULES = (  # (name glob, modality, accepted units -> (unit written, conversion))
    ("*Timestamp_Unix*", None, {}),
    ("*GSR_Skin_Conductance*", Modality.EDA, {"us": ("microsiemens", "")}),
    ("*GSR_Skin_Resistance*", Modality.EDA, {"kohms": ("microsiemens", "µS = 1000 / kΩ"),
                                              "kohm": ("microsiemens", "µS = 1000 / kΩ")}),
    ("*PPG*", Modality.PPG, {"mv": ("mV", "")}),
    ("*ECG_LL-RA*", Modality.ECG, {"mv": ("mV", "")}),
)  # fmt: skip


def _first_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.readline(64).decode("utf-8", "replace").strip().strip('"')
    except OSError:
        return ""


def sniff(path: Path) -> bool:
    if not _first_line(path).lower().startswith("sep="):
        return False
    try:
        with open(path, "rb") as f:
            f.readline()
            return b"Shimmer" in f.readline(4096) or b"Timestamp_Unix" in f.readline(4096)
    except OSError:
        return False


def _times(path: Path, t: np.ndarray) -> tuple[np.ndarray, float, tuple[str, ...]]:
    """Sample times (Unix s), rate (Hz) and notes. A file logged to the Shimmer's SD card has
    one timestamp per sample from its own crystal. A file streamed over Bluetooth carries the
    PC's arrival times: repeated and jittered stamps. Those are replaced by a straight line
    through them (the sensor samples at a fixed rate), and the notes say so."""
    if t.size < 2 or not np.all(np.isfinite(t)):
        raise DeviceFileError(path, "fewer than 2 timestamps, or a timestamp that is not a number")
    d = np.diff(t)
    if np.any(d < 0):
        k = int(np.argmax(d < 0))
        raise DeviceFileError(path, f"timestamps go back in time after sample {k + 1}")
    if np.all(d > 0) and np.std(d) <= 0.1 * np.mean(d):
        rate = check_rate(path, float(1.0 / np.median(d)), "sample rate (from the timestamps)")
        return t, rate, ()
    i = np.arange(t.size, dtype=float)
    slope, icpt = np.polyfit(i, t, 1)
    fit = icpt + slope * i
    rate = check_rate(path, float(1.0 / slope) if slope > 0 else 0.0,
                      "sample rate (from the timestamps)")  # fmt: skip
    sd_ms = float(np.std(t - fit) * 1000.0)
    return (
        fit,
        rate,
        (
            f"timestamps repeat or jitter (PC arrival times of a streamed recording): sample times "
            f"are a regular {rate:.2f} Hz fitted through them (residual SD {sd_ms:.0f} ms)",
        ),
    )


_ACC_GLOBS = ("*Accel_LN_{}*", "*Accel_WR_{}*", "*Low_Noise_Accelerometer_{}*",
              "*Wide_Range_Accelerometer_{}*")  # fmt: skip


def _accel(path: Path, names: list[str], units: list[str], data: np.ndarray, t: np.ndarray,
           rate: float) -> tuple[Signal, ...]:  # fmt: skip
    """The first complete accelerometer (low-noise before wide-range) as one (n, 3) signal."""
    for glob in _ACC_GLOBS:
        idx = [next((i for i, n in enumerate(names) if fnmatch.fnmatch(n, glob.format(a))), -1)
               for a in "XYZ"]  # fmt: skip
        if min(idx) < 0:
            continue
        unit = units[idx[0]]
        if unit.replace(" ", "").lower() not in ("m/(s^2)", "m/s^2", "m/s2", "g"):
            raise DeviceFileError(path, f"column {names[idx[0]]}: unit {unit!r}, expected m/(s^2)")
        label = ",".join(names[i].split("_", 2)[-1] for i in idx)
        return (Signal(Modality.ACC, label, unit, data[:, idx], t, rate),)
    return ()


def read(path: Path, spec) -> DeviceRecording:
    """Read a Consensys CSV (see the module docstring)."""
    text = read_text(path)
    lines = split_head(text, 4)[0]
    if not lines or not lines[0].strip().strip('"').lower().startswith("sep="):
        raise DeviceFileError(path, "missing the 'sep=' line of a Consensys export")
    sep = lines[0].strip().strip('"')[4:] or "\t"
    sep = "\t" if sep in ("\\t", "\t") else sep[0]
    if len(lines) < 3:
        raise DeviceFileError(path, "missing header rows (names, units)")
    names = [c.strip().strip('"') for c in lines[1].rstrip(sep).split(sep)]
    k = 2
    if {c.strip().strip('"').upper() for c in lines[2].rstrip(sep).split(sep)} <= {
        "CAL",
        "RAW",
        "UNCAL",
        "",
    }:
        k = 3
    if len(lines) <= k:
        raise DeviceFileError(path, "missing the units row")
    units = [c.strip().strip('"') for c in lines[k].rstrip(sep).split(sep)]
    if len(units) != len(names) or not any(fnmatch.fnmatch(n, "*Timestamp_Unix*") for n in names):
        raise DeviceFileError(
            path, "missing header row: no Timestamp_Unix column in the names row "
            f"({', '.join(names[:6])})" if len(units) == len(names) else
            f"names row has {len(names)} columns, units row {len(units)}",
        )  # fmt: skip
    data = numeric_rows(path, split_head(text, k + 1)[1], sep, len(names), k + 2)
    ti = next(i for i, n in enumerate(names) if fnmatch.fnmatch(n, "*Timestamp_Unix*"))
    if units[ti].lower() != "ms":
        raise DeviceFileError(
            path, f"timestamp unit {units[ti]!r}, expected ms (Unix milliseconds)"
        )
    t, rate, notes = _times(path, data[:, ti] / 1000.0)
    signals = []
    has_sc = any(fnmatch.fnmatch(n, "*GSR_Skin_Conductance*") for n in names)
    for i, (n, u) in enumerate(zip(names, units, strict=True)):
        for glob, mod, ok in _RULES:
            if mod is None or not fnmatch.fnmatch(n, glob):
                continue
            if has_sc and "Skin_Resistance" in glob:
                break  # Consensys exports both; the conductance is what the app uses
            if u.lower() not in ok:
                raise DeviceFileError(path, f"column {n}: unit {u!r} not one of {', '.join(ok)}")
            unit, conv = ok[u.lower()]
            x = data[:, i]
            if conv:
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.where(x > 0, 1000.0 / np.where(x > 0, x, 1.0), np.nan)
            signals.append(Signal(mod, n.split("_", 2)[-1], unit, x, t, rate, conv))
            break
    acc = _accel(path, names, units, data, t, rate)
    if not signals:
        raise DeviceFileError(
            path, f"unknown columns: no GSR, PPG or ECG column in {', '.join(names)}"
        )
    m = re.match(r"Shimmer_([A-Za-z0-9]+)_", names[ti])
    return DeviceRecording(
        path=str(path), reader="shimmer", device=spec.family, model="Shimmer3 (Consensys)",
        serial=m.group(1) if m else "", signals=tuple(signals) + acc,
        clock=ClockInfo(spec.clock, spec.clock_uncertainty_s), files=(str(path),),
        notes=notes,
    )  # fmt: skip
