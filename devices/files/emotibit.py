"""EmotiBit parsed CSV files (the DataParser's output of an SD-card recording).

One file per type tag, ``<base>_<TAG>.csv`` (``EA`` EDA µS, ``PG``/``PI``/``PR`` PPG green /
infrared / red, ``HR`` bpm, ``BI`` beat interval ms ...) with the columns
``LocalTimestamp, EmotiBitTimestamp, PacketNumber, DataLength, TypeTag, ProtocolVersion,
DataReliability, <TAG>``, plus ``<base>_info.json`` (device and sensor settings) and, when time
sync pulses were recorded, ``<base>_timeSyncMap.csv``. ``<base>`` is the SD card's start time,
``YYYY-MM-DD_HH-MM-SS-ffffff``. Give any one of the files; its siblings are read with it.

Time: with time sync on, ``LocalTimestamp`` (Unix s, the PC's clock) is used. Without it,
LocalTimestamp is not tied to any PC: the times are the file name's start plus the device's
``EmotiBitTimestamp`` (ms since power-on), and the recording says so.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
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
)

COLUMNS = ["LocalTimestamp", "EmotiBitTimestamp", "PacketNumber", "DataLength", "TypeTag",
           "ProtocolVersion", "DataReliability"]  # fmt: skip
_TAGS = {
    "EA": (Modality.EDA, "microsiemens"),
    "PG": (Modality.PPG, "a.u."),
    "PI": (Modality.OTHER, "a.u."),
    "PR": (Modality.OTHER, "a.u."),
    "HR": (Modality.HR, "bpm"),
    "BI": (Modality.IBI, "ms"),
    "T1": (Modality.OTHER, "degC"),
    "AX": (Modality.ACC, "g"),
    "AY": (Modality.ACC, "g"),
    "AZ": (Modality.ACC, "g"),
}
_NAME = re.compile(r"^(?P<base>.+)_(?P<tag>[A-Z][A-Z0-9])\.csv$|^(?P<base2>.+)_info\.json$")


def _base(path: Path) -> str | None:
    m = _NAME.match(path.name)
    return (m.group("base") or m.group("base2")) if m else None


def sniff(path: Path) -> bool:
    base = _base(path)
    if base is None:
        return False
    ea = path.with_name(f"{base}_EA.csv")
    probe = ea if ea.is_file() else path if path.suffix == ".csv" else None
    if probe is None:
        return False
    try:
        with open(probe, "rb") as f:
            return f.readline(200).startswith(b"LocalTimestamp,EmotiBitTimestamp")
    except OSError:
        return False


def _start_from_name(base: str) -> float | None:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?", base)
    if not m:
        return None
    g = [int(x) for x in m.groups()[:6]]
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return _dt.datetime(*g, tzinfo=_dt.UTC).timestamp() + frac


def _rows(path: Path, lines: list[str], n: int) -> np.ndarray:
    """Columns LocalTimestamp, EmotiBitTimestamp and the value (0, 1, 7) of each row: numpy's
    C parser when every row is well formed, else row by row naming the bad line."""
    body = [ln for ln in lines if ln.strip()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part = np.loadtxt(body, delimiter=",", usecols=(0, 1, 7), ndmin=2)
        if body and len(body[0].split(",")) == n and len(body[-1].split(",")) == n:
            out = np.full((part.shape[0], 8), np.nan)
            out[:, [0, 1, 7]] = part
            return out
    except ValueError:
        pass
    out = np.empty((len(lines), 8))
    k = 0
    for i, ln in enumerate(lines, 2):
        if not ln.strip():
            continue
        cells = ln.split(",")
        if len(cells) != n:
            raise DeviceFileError(path, f"line {i}: {len(cells)} columns, expected {n}")
        try:
            out[k, 0], out[k, 1], out[k, 7] = float(cells[0]), float(cells[1]), float(cells[7])
        except ValueError:
            raise DeviceFileError(path, f"line {i}: a timestamp or value is not a number") from None
        k += 1
    return out[:k]


def _one(path: Path, tag: str, synced: bool, t0_name: float | None, e0: list) -> Signal:
    lines = read_text(path).splitlines()
    want = [*COLUMNS, tag]
    if not lines:
        raise DeviceFileError(path, "empty file (missing header row)")
    head = [h.strip() for h in lines[0].split(",")]
    if head != want:
        raise DeviceFileError(path, f"unknown columns {head}; expected {want}")
    data = _rows(path, lines[1:], len(want))
    if data.shape[0] < 2:
        raise DeviceFileError(path, "fewer than 2 samples")
    if synced:
        t = data[:, 0]
    else:
        if not e0:
            e0.append(float(data[0, 1]))
        t = (t0_name or 0.0) + (data[:, 1] - e0[0]) / 1000.0
    mod, unit = _TAGS[tag]
    if mod in (Modality.IBI, Modality.HR):
        rate = 0.0
    else:
        rate = check_rate(path, float((t.size - 1) / (t[-1] - t[0])) if t[-1] > t[0] else 0.0,
                          "sample rate (from the timestamps)")  # fmt: skip
    return Signal(mod, tag, unit, data[:, 7], t, rate)


def _merge_acc(signals: list[Signal]) -> tuple[Signal, ...]:
    """AX, AY and AZ as one (n, 3) signal on AX's times (the axes share packets; a
    differing length is cut to the shortest)."""
    acc = {s.label: s for s in signals if s.modality is Modality.ACC}
    rest = [s for s in signals if s.modality is not Modality.ACC]
    if set(acc) != {"AX", "AY", "AZ"}:
        return tuple(rest)
    n = min(s.values.size for s in acc.values())
    xyz = np.column_stack([acc[k].values[:n] for k in ("AX", "AY", "AZ")])
    ax = acc["AX"]
    return (*rest, Signal(Modality.ACC, "AX,AY,AZ", "g", xyz, ax.times[:n], ax.rate))


def read(path: Path, spec) -> DeviceRecording:
    """Read the parsed CSVs of one EmotiBit recording (see the module docstring)."""
    base = _base(path)
    if base is None:
        raise DeviceFileError(
            path, "not an EmotiBit parsed file (<base>_<TAG>.csv or <base>_info.json)"
        )
    folder = path.parent
    present = {
        t: folder / f"{base}_{t}.csv" for t in _TAGS if (folder / f"{base}_{t}.csv").is_file()
    }
    if "EA" not in present and "PG" not in present:
        raise DeviceFileError(path, f"no {base}_EA.csv or {base}_PG.csv beside it")
    info_p = folder / f"{base}_info.json"
    serial, model, notes = "", "EmotiBit", []
    if info_p.is_file():
        try:
            info = json.loads(read_text(info_p))
        except ValueError as exc:
            raise DeviceFileError(info_p, f"not valid JSON ({exc})") from None
        for item in info if isinstance(info, list) else [info]:
            d = item.get("info", item) if isinstance(item, dict) else {}
            serial = serial or str(d.get("device_id", "") or d.get("emotibit_device_id", ""))
            hw = d.get("hardware_version")
            if hw and model == "EmotiBit":
                model = f"EmotiBit {hw}"
    else:
        notes.append(f"{info_p.name} is missing: device and serial unknown")
    synced = (folder / f"{base}_timeSyncMap.csv").is_file()
    t0 = _start_from_name(base)
    if not synced:
        notes.append(
            "time sync was off (no _timeSyncMap.csv): times are the file name's start plus the "
            "EmotiBit's own clock, not LocalTimestamp"
        )
    e0: list = []
    signals = _merge_acc([_one(p, tag, synced, t0, e0) for tag, p in present.items()])
    unc = (
        spec.clock_uncertainty_s
        if synced
        else float(spec.extra.get("unsynced_uncertainty_s", 60.0))
    )
    return DeviceRecording(
        path=str(path), reader="emotibit", device=spec.family, model=model, serial=serial,
        signals=signals, clock=ClockInfo(spec.clock if synced else "EmotiBit clock from the file name's start (no time sync)", unc),
        files=tuple(str(p) for p in present.values()) + ((str(info_p),) if info_p.is_file() else ()),
        notes=tuple(notes),
    )  # fmt: skip
