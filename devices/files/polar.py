"""Polar Sensor Logger text files (Polar H10 / Verity via the phone app).

``*_RR.txt``: ``Phone timestamp;RR-interval [ms]``, one row per beat, the phone stamps
(ISO local time, ``2026-01-01T10:00:00.123``) batched as the packets arrive. The beat times are
therefore rebuilt from the cumulative RR intervals, anchored so that no beat comes after its
arrival stamp by less than the smallest delay seen (as the live RR bridge does).
``*_ECG.txt``: ``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]`` (130 Hz);
the sensor's own nanosecond clock gives the sample spacing, anchored the same way.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from pathlib import Path

import numpy as np

from devices.files.base import (
    ClockInfo,
    DeviceFileError,
    DeviceRecording,
    Modality,
    Signal,
    check_rate,
    read_text,
    split_head,
)


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.readline(200).decode("utf-8", "replace").strip().lower()
    except OSError:
        return ""


def sniff(path: Path) -> bool:
    h = _head(path)
    return h.startswith("phone timestamp;") and ("rr-interval" in h or "ecg [uv]" in h)


def _stamp(path: Path, k: int, text: str) -> float:
    try:
        d = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise DeviceFileError(
            path, f"line {k}: phone timestamp {text.strip()[:30]!r} is not ISO time"
        ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return d.timestamp()


def _stamps(path: Path, rows: list[list[str]]) -> np.ndarray:
    """Phone stamps (ISO, no zone: read as UTC) as Unix s, parsed by numpy in one go."""
    try:
        d = np.array([r[0].strip() for r in rows], dtype="datetime64[us]")
    except ValueError:
        return np.array([_stamp(path, k, r[0]) for k, r in enumerate(rows, 2)])
    return d.astype("int64") / 1e6


def _fast(path: Path, want: int, cols: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """(phone stamps Unix s, numeric columns ``cols``) through numpy's C parsers; None when the
    file needs the row-by-row reading (which names the bad line)."""
    text = read_text(path)
    head, rest = split_head(text, 1)
    if not head or len(head[0].split(";")) != want:
        return None
    lines = rest.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # Sensor Logger writes integers (ns, µV, ms): the integer parser is faster
                data = np.loadtxt(lines, delimiter=";", usecols=cols, ndmin=2, dtype=np.int64)
            except ValueError:
                data = np.loadtxt(lines, delimiter=";", usecols=cols, ndmin=2, dtype=float)
        stamps = [ln.partition(";")[0] for ln in lines]
        n = len(stamps)
        if n != data.shape[0] or n < 2:
            return None
        # a packet's samples share one phone stamp: parse each packet's stamp once
        starts = [0] + [k for k in range(1, n) if stamps[k] != stamps[k - 1]]
        first = np.array([stamps[k].strip() for k in starts], dtype="datetime64[us]")
    except ValueError:
        return None
    t = np.repeat(first.astype("int64") / 1e6, np.diff(np.array([*starts, n])))
    return t, data.astype(float)


def _rows(path: Path, want: int) -> tuple[list[str], list[list[str]]]:
    lines = read_text(path).splitlines()
    if not lines or not lines[0].lower().startswith("phone timestamp;"):
        raise DeviceFileError(path, "missing header row 'Phone timestamp;...'")
    head = [h.strip() for h in lines[0].split(";")]
    if len(head) != want:
        raise DeviceFileError(path, f"unknown columns {head}")
    rows = [ln.split(";") for ln in lines[1:] if ln.strip()]
    for k, r in enumerate(rows, 2):
        if len(r) != want:
            raise DeviceFileError(path, f"line {k}: {len(r)} columns, expected {want}")
    if len(rows) < 2:
        raise DeviceFileError(path, "fewer than 2 rows of data")
    return head, rows


def _num(path: Path, rows: list[list[str]], col: int) -> np.ndarray:
    try:
        return np.array([r[col] for r in rows], dtype=float)
    except ValueError:
        bad = next(k for k, r in enumerate(rows, 2) if not _isnum(r[col]))
        raise DeviceFileError(
            path, f"line {bad}: {rows[bad - 2][col].strip()[:30]!r} is not a number"
        ) from None


def _isnum(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read(path: Path, spec) -> DeviceRecording:
    """Read an RR or ECG file of Polar Sensor Logger (see the module docstring)."""
    h = _head(path)
    if "rr-interval" in h:
        fast = _fast(path, 2, (1,))
        if fast is not None:
            arrival, rr = fast[0], fast[1][:, 0]
        else:
            _, rows = _rows(path, 2)
            arrival, rr = _stamps(path, rows), _num(path, rows, 1)
        if np.any(rr <= 0):
            raise DeviceFileError(path, "an RR interval is 0 or negative")
        cum = np.cumsum(rr) / 1000.0
        delay = arrival - cum
        t = cum + float(np.min(delay))
        spread = float(np.percentile(delay, 95) - np.min(delay))
        sig = Signal(
            Modality.IBI, "RR", "ms", rr, t, 0.0, "beat times = first arrival + cumulative RR"
        )
        note = f"beat times rebuilt from cumulative RR (phone stamps arrive batched, 95 % within {spread:.2f} s)"
    elif "ecg [uv]" in h:
        fast = _fast(path, 4, (1, 3))
        if fast is not None:
            arrival, ns, ecg = fast[0], fast[1][:, 0], fast[1][:, 1] / 1000.0
        else:
            _, rows = _rows(path, 4)
            arrival = _stamps(path, rows)
            ns, ecg = _num(path, rows, 1), _num(path, rows, 3) / 1000.0
        if not np.all(np.diff(ns) > 0):
            raise DeviceFileError(path, "sensor timestamps are not increasing")
        rel = (ns - ns[0]) / 1e9
        rate = check_rate(path, float((rel.size - 1) / rel[-1]) if rel[-1] > 0 else 0.0)
        t = rel + float(np.min(arrival - rel))
        sig = Signal(Modality.ECG, "ECG", "mV", ecg, t, rate, "mV = µV / 1000")
        note = "sample times from the sensor clock, anchored to the earliest phone arrival"
    else:
        raise DeviceFileError(path, "not a Polar Sensor Logger RR or ECG file (header row)")
    return DeviceRecording(
        path=str(path), reader="polar", device=spec.family, model="Polar (Sensor Logger)",
        serial=path.name.split("_")[1] if path.name.lower().startswith("polar_") else "",
        signals=(sig,), clock=ClockInfo(spec.clock, spec.clock_uncertainty_s),
        files=(str(path),), notes=(note,),
    )  # fmt: skip
