"""PLUX OpenSignals text files (BITalino, biosignalsplux).

Layout (OpenSignals "Text File Format"): ``# OpenSignals Text File Format``, then ``# `` and a
JSON object keyed by device (MAC address) with ``sensor``, ``column``, ``label``,
``resolution``, ``sampling rate``, ``date``, ``time``, ``device`` ..., then
``# EndOfHeader`` and tab-separated rows: ``nSeq``, digital ``I1 I2 O1 O2``, analog ``A1``...
Raw ADC codes are converted by the sensor's transfer function (the ``[[files.transfer]]``
entries of the bitalino profile) with the column's resolution; values that are not integers
were exported already converted and are kept.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import math
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
    regular_times,
    split_head,
)

MAGIC = "# OpenSignals Text File Format"


def sniff(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)).decode("utf-8", "replace") == MAGIC
    except OSError:
        return False


def _header(path: Path, lines: list[str]) -> tuple[dict, int]:
    if not lines or lines[0].strip() != MAGIC:
        raise DeviceFileError(path, f"not an OpenSignals text file (line 1 is not {MAGIC!r})")
    end = next((i for i, ln in enumerate(lines[:50]) if ln.strip() == "# EndOfHeader"), None)
    if end is None:
        raise DeviceFileError(path, "missing '# EndOfHeader' line (header incomplete)")
    js = next(
        (ln.lstrip("#").strip() for ln in lines[1:end] if ln.lstrip("#").strip().startswith("{")),
        None,
    )
    if js is None:
        raise DeviceFileError(path, "missing the JSON header line after '#'")
    try:
        head = json.loads(js)
    except ValueError as exc:
        raise DeviceFileError(path, f"header JSON does not parse ({exc})") from None
    if (
        not isinstance(head, dict)
        or not head
        or not all(isinstance(v, dict) for v in head.values())
    ):
        raise DeviceFileError(path, "header JSON is not {device: {...}}")
    return head, end + 1


def _start(dev: dict) -> float | None:
    d, t = str(dev.get("date", "")), str(dev.get("time", ""))
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", d.strip())
    n = re.fullmatch(r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?", t.strip())
    if not (m and n):
        return None
    frac = float("0." + n.group(4)) if n.group(4) else 0.0
    dt = _dt.datetime(*map(int, m.groups()), *map(int, n.groups()[:3]), tzinfo=_dt.UTC)
    return dt.timestamp() + frac


def _transfer(spec, sensor: str, device: str) -> dict | None:
    for tr in spec.extra.get("transfer", []):
        if any(fnmatch.fnmatchcase(sensor.upper(), g.upper()) for g in tr["sensor"]) and any(
            fnmatch.fnmatchcase(device.lower(), g.lower())
            or fnmatch.fnmatchcase(sensor.upper(), g.upper())
            for g in tr["device"]
        ):
            return tr
    return None


_MOD = {"eda": Modality.EDA, "ecg": Modality.ECG, "ppg": Modality.PPG}


def read(path: Path, spec) -> DeviceRecording:
    """Read one OpenSignals text file (the first device of a multi-device file)."""
    text = read_text(path)
    head, first = _header(path, split_head(text, 50)[0])
    mac, dev = next(iter(head.items()))
    sensors = [str(s) for s in dev.get("sensor", [])]
    chans = list(dev.get("channels", []))
    cols = [str(c) for c in dev.get("column", [])] or (
        ["nSeq", "I1", "I2", "O1", "O2"] + [f"A{c}" for c in chans]
    )
    res = list(dev.get("resolution", [])) or [0] * len(cols)
    rate = check_rate(path, dev.get("sampling rate", 0), "header 'sampling rate'")
    known = {"nseq"} | {c.lower() for c in ("I1", "I2", "O1", "O2")}
    analog = [c for c in cols if c.lower() not in known]
    bad = [c for c in analog if not re.fullmatch(r"A\d+|[A-Za-z0-9_]+", c)]
    if bad or len(analog) != len(sensors):
        raise DeviceFileError(
            path, f"unknown columns: {len(analog)} analog column(s) {analog} for "
            f"{len(sensors)} sensor(s) {sensors} in the header",
        )  # fmt: skip
    keep = tuple(i for i, c in enumerate(cols) if c.lower() not in known - {"nseq"})
    part = numeric_rows(path, split_head(text, first)[1], "\t", len(cols), first + 1, keep)
    data = np.full((part.shape[0], len(cols)), np.nan)
    data[:, list(keep)] = part
    if data.shape[0] < 2:
        raise DeviceFileError(path, "no samples after the header")
    start = _start(dev)
    model = str(dev.get("device", "")) or (
        "bitalino" if any(s.endswith("BIT") for s in sensors) else "plux"
    )
    notes, signals = [], []
    t = regular_times(start if start is not None else 0.0, data.shape[0], rate)
    if "nSeq" in cols:
        seq = data[:, cols.index("nSeq")]
        period = 16 if model.lower().startswith("bitalino") else 65536 if seq.max() > 15 else 16
        lost = int(np.sum((np.diff(seq) % period) != 1)) if seq.max() > 0 else 0
        if lost:
            notes.append(
                f"{lost} break(s) in the sequence numbers: samples were lost in transmission"
            )
    for col, sensor in zip(analog, sensors, strict=True):
        k = cols.index(col)
        x = data[:, k]
        n_bits = int(res[k]) if k < len(res) and res[k] else 0
        tr = _transfer(spec, sensor, model)
        mod = _MOD.get(tr["modality"]) if tr else Modality.OTHER
        integer = bool(np.all(np.isfinite(x)) and np.all(x == np.round(x)))
        conv, unit, step = "", "ADC" if integer else "", 0.0
        if tr and integer:
            if not n_bits:
                raise DeviceFileError(
                    path, f"column {col}: no resolution in the header to convert {sensor}"
                )
            full = float(2**n_bits)
            x = (x / full - tr["offset"]) * tr["vcc"] / tr["gain"] * tr["scale"]
            conv, unit = tr["text"].replace("{n}", str(n_bits)), tr["unit"]
            step = tr["vcc"] / tr["gain"] * tr["scale"] / full
        elif tr:
            unit = "as exported"
            notes.append(
                f"{col} ({sensor}) holds converted values, not ADC codes: kept as exported"
            )
        label = f"{col} {sensor}" if sensor and sensor != "RAW" else col
        signals.append(Signal(mod, label.replace(" ", "_"), unit, x, t, rate, conv, step))
    if start is None:
        notes.append("the header has no date/time: the recording's absolute time is unknown")
    clock = ClockInfo(spec.clock, spec.clock_uncertainty_s if start is not None else math.inf)
    if len(head) > 1:
        notes.append(f"{len(head)} devices in the file; only {mac} was read")
    return DeviceRecording(
        path=str(path), reader="opensignals", device=spec.family, model=model,
        serial=str(dev.get("device name", mac if ":" in mac else "")),
        signals=tuple(signals), clock=clock, files=(str(path),), notes=tuple(notes),
    )  # fmt: skip
