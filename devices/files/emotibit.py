"""EmotiBit parsed CSV files (the DataParser's output of an SD-card recording).

One file per type tag, ``<base>_<TAG>.csv`` (``EA`` EDA µS, ``PG``/``PI``/``PR`` PPG green /
infrared / red, ``HR`` bpm, ``BI`` beat interval ms ...) with the columns
``LocalTimestamp, EmotiBitTimestamp, PacketNumber, DataLength, TypeTag, ProtocolVersion,
DataReliability, <TAG>``, plus ``<base>_info.json`` (device and sensor settings) and, when time
sync pulses were recorded, ``<base>_timeSyncMap.csv``. ``<base>`` is the SD card's start time,
``YYYY-MM-DD_HH-MM-SS-ffffff``. Give any one of the files; its siblings are read with it.
With LSL marker sync on, the parser puts ``LslMarkerSourceTimestamp, LslLocalTimestamp`` in
front. The samples of one packet share its timestamps (the packet's last sample); they are
spread 1/rate apart before it. User notes (``_UN.csv``) become markers.

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

_LSL_COLUMNS = ("LslMarkerSourceTimestamp", "LslLocalTimestamp")
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
            return b"LocalTimestamp,EmotiBitTimestamp,PacketNumber" in f.readline(300)
    except OSError:
        return False


def _start_from_name(base: str) -> float | None:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?", base)
    if not m:
        return None
    g = [int(x) for x in m.groups()[:6]]
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return _dt.datetime(*g, tzinfo=_dt.UTC).timestamp() + frac


def _rows(path: Path, lines: list[str], n: int, cols: tuple[int, int, int]) -> np.ndarray:
    """Columns LocalTimestamp, EmotiBitTimestamp and the value (indices ``cols``) of each row,
    shape (rows, 3): numpy's C parser when every row is well formed, else row by row naming
    the bad line."""
    body = [ln for ln in lines if ln.strip()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part = np.loadtxt(body, delimiter=",", usecols=cols, ndmin=2)
        if body and len(body[0].split(",")) == n and len(body[-1].split(",")) == n:
            return part
    except ValueError:
        pass
    out = np.empty((len(lines), 3))
    k = 0
    for i, ln in enumerate(lines, 2):
        if not ln.strip():
            continue
        cells = ln.split(",")
        if len(cells) != n:
            raise DeviceFileError(path, f"line {i}: {len(cells)} columns, expected {n}")
        try:
            out[k] = [float(cells[c]) for c in cols]
        except ValueError:
            raise DeviceFileError(path, f"line {i}: a timestamp or value is not a number") from None
        k += 1
    return out[:k]


def _header(path: Path, line: str, tag: str) -> tuple[int, tuple[int, int, int]]:
    """Number of columns and the indices of LocalTimestamp, EmotiBitTimestamp and the value.
    The DataParser puts ``LslMarkerSourceTimestamp, LslLocalTimestamp`` first when LSL marker
    sync was on; anything else is refused."""
    head = [h.strip() for h in line.split(",")]
    want = [*COLUMNS, tag]
    extra = head[: len(head) - len(want)]
    if head[len(extra) :] != want or not set(extra) <= set(_LSL_COLUMNS):
        raise DeviceFileError(path, f"unknown columns {head}; expected {want}")
    k = len(extra)
    return len(head), (k, k + 1, k + 7)


def _packet_times(t: np.ndarray, rate: float) -> np.ndarray:
    """Samples of one packet share its timestamp; the DataParser stamps a packet when its last
    sample is in, so the earlier ones are placed 1/rate apart before it."""
    new = np.r_[True, np.diff(t) != 0]
    if new.all():
        return t
    starts = np.flatnonzero(new)
    run = np.cumsum(new) - 1
    lens = np.diff(np.r_[starts, t.size])
    pos = np.arange(t.size) - starts[run]
    return t - (lens[run] - 1 - pos) / rate


def _one(path: Path, tag: str, synced: bool, t0_name: float | None, e0: list) -> Signal:
    lines = read_text(path).splitlines()
    if not lines:
        raise DeviceFileError(path, "empty file (missing header row)")
    n, cols = _header(path, lines[0], tag)
    data = _rows(path, lines[1:], n, cols)
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
        t = _packet_times(t, rate)
    return Signal(mod, tag, unit, data[:, 2], t, rate)


def _notes(path: Path, synced: bool, t0_name: float | None, e0: list) -> list[tuple[float, str]]:
    """User notes (``UN``, typed in the Oscilloscope while recording) as markers; a note the
    parser repeats within its packet is kept once."""
    lines = read_text(path).splitlines()
    if not lines:
        return []
    n, (il, ie, iv) = _header(path, lines[0], "UN")
    out: dict[tuple[float, str], None] = {}
    for i, ln in enumerate(lines[1:], 2):
        cells = ln.split(",")
        if len(cells) < n:
            continue
        try:
            t = float(cells[il]) if synced else (t0_name or 0.0) + (
                float(cells[ie]) - (e0[0] if e0 else float(cells[ie]))) / 1000.0  # fmt: skip
        except ValueError:
            raise DeviceFileError(path, f"line {i}: the timestamp is not a number") from None
        out[(t, ",".join(cells[iv:]).strip())] = None
    return [(t, text or "note") for t, text in out]


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
    if not info_p.is_file() and (folder / f"{base}.json").is_file():
        info_p = folder / f"{base}.json"  # the same, renamed
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
    un = folder / f"{base}_UN.csv"
    markers = _notes(un, synced, t0, e0) if un.is_file() else []
    unc = (
        spec.clock_uncertainty_s
        if synced
        else float(spec.extra.get("unsynced_uncertainty_s", 60.0))
    )
    return DeviceRecording(
        path=str(path), reader="emotibit", device=spec.family, model=model, serial=serial,
        signals=signals, markers=tuple(sorted(markers)), clock=ClockInfo(spec.clock if synced else "EmotiBit clock from the file name's start (no time sync)", unc),
        files=tuple(str(p) for p in present.values()) + ((str(info_p),) if info_p.is_file() else ())
        + ((str(un),) if un.is_file() else ()),
        notes=tuple(notes),
    )  # fmt: skip
