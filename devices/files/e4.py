"""Empatica E4 session zip (E4 connect / E4 manager export).

Layout as Empatica documents it: ``EDA.csv`` (µS), ``BVP.csv``, ``HR.csv``, ``TEMP.csv`` (°C)
and ``ACC.csv`` (3 columns, 1/64 g) each have row 1 = the session start (Unix time, UTC;
repeated per column) and row 2 = the sample rate (Hz), then one row per sample.
``IBI.csv``: row 1 = start time and the word IBI, then ``offset s, interval s`` per beat.
``tags.csv``: one Unix time per button press (may be empty). The zip's name is usually
``<start>_<serial>.zip``. The same CSVs unzipped are read too: give the folder or any one of
its CSVs (the folder's name then gives the serial).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from devices.files.base import (
    ClockInfo,
    DeviceFileError,
    DeviceRecording,
    Modality,
    Signal,
    check_rate,
    decode_text,
    numeric_rows,
    parse_float,
    read_text,
    regular_times,
    split_head,
)

_SIGNALS = {
    "EDA.csv": (Modality.EDA, "EDA", "microsiemens"),
    "BVP.csv": (Modality.PPG, "BVP", "a.u."),
    "HR.csv": (Modality.HR, "HR", "bpm"),
    "TEMP.csv": (Modality.OTHER, "TEMP", "degC"),
    "ACC.csv": (Modality.ACC, "ACC", "1/64 g"),
}
_UNIX_MIN, _UNIX_MAX = 946684800.0, 4102444800.0  # 2000-01-01 .. 2100-01-01


def _members(path: Path) -> dict[str, str]:
    """Base name -> member name of the zip's CSVs (Empatica puts them at the top level)."""
    try:
        with zipfile.ZipFile(path) as z:
            return {Path(n).name: n for n in z.namelist() if n.lower().endswith(".csv")}
    except (zipfile.BadZipFile, OSError):
        return {}


_KEY = ("EDA.csv", "BVP.csv", "IBI.csv")


def _folder(path: Path) -> Path | None:
    """The unzipped session folder ``path`` is or lies in (None when it is not one)."""
    d = (
        path
        if path.is_dir()
        else path.parent
        if path.name in (*_SIGNALS, "IBI.csv", "tags.csv")
        else None
    )
    if d is None or not any((d / k).is_file() for k in _KEY):
        return None
    for k in _KEY:  # any one key file starting with a Unix time makes it an E4 folder
        try:
            with open(d / k, "rb") as f:
                if _UNIX_MIN <= float(f.readline(100).split(b",")[0]) <= _UNIX_MAX:
                    return d
        except (OSError, ValueError):
            continue
    return None


def sniff(path: Path) -> bool:
    """A zip holding E4's EDA.csv or BVP.csv or IBI.csv, or such a folder unzipped."""
    if path.is_dir() or path.suffix.lower() == ".csv":
        return _folder(path) is not None
    if not zipfile.is_zipfile(path):
        return False
    m = _members(path)
    return any(k in m for k in _KEY)


def _start(where: str, cell: str) -> float:
    t = parse_float(where, cell, "row 1 (session start, Unix time)")
    if not _UNIX_MIN <= t <= _UNIX_MAX:
        raise DeviceFileError(
            where, f"row 1 should be the session start as Unix time (s), found {cell.strip()!r}"
        )
    return t


def _signal(where: str, text: str, spec: tuple) -> Signal:
    modality, label, unit = spec
    lines, rest = split_head(text, 2)
    if len(lines) < 2:
        raise DeviceFileError(where, "missing header rows (row 1 start time, row 2 sample rate)")
    head = [c for c in lines[0].split(",") if c.strip()]
    if not head:
        raise DeviceFileError(where, "row 1 (session start) is empty")
    start = _start(where, head[0])
    rate = check_rate(where, parse_float(where, lines[1].split(",")[0], "row 2 (sample rate)"))
    n_cols = len(head)
    data = numeric_rows(where, rest, ",", n_cols, 3)
    values = data if n_cols > 1 else data[:, 0]
    labels = ("x", "y", "z")[:n_cols] if n_cols == 3 else ()
    return Signal(
        modality, label if not labels else ",".join(f"{label} {a}" for a in labels), unit,
        values, regular_times(start, data.shape[0], rate), rate,
        step=1.0 if modality is Modality.ACC else 0.0,
    )  # fmt: skip


def _ibi(where: str, text: str) -> Signal:
    lines, rest = split_head(text, 1)
    if not lines or not lines[0].strip():
        raise DeviceFileError(where, "missing header row (start time, IBI)")
    start = _start(where, lines[0].split(",")[0])
    data = numeric_rows(where, rest, ",", 2, 2)
    return Signal(
        Modality.IBI, "IBI", "ms", data[:, 1] * 1000.0, start + data[:, 0], 0.0,
        conversion="ms = s x 1000",
    )  # fmt: skip


def _tags(where: str, text: str) -> list[tuple[float, str]]:
    out = []
    for k, ln in enumerate(text.splitlines(), 1):
        if ln.strip():
            t = parse_float(where, ln.split(",")[0], f"line {k} (tag time)")
            if not _UNIX_MIN <= t <= _UNIX_MAX:
                raise DeviceFileError(where, f"line {k}: tag time {t!r} is not a Unix time")
            out.append((t, f"tag {len(out) + 1}"))
    return out


def read(path: Path, spec) -> DeviceRecording:
    """Read an E4 session zip or its unzipped folder (see the module docstring)."""
    folder = _folder(path) if (path.is_dir() or path.suffix.lower() == ".csv") else None
    if folder is not None:
        names = {p.name: p for p in folder.iterdir() if p.suffix.lower() == ".csv"}

        def text(name: str) -> tuple[str, str]:
            return str(names[name]), read_text(names[name])

        return _recording(path, folder.name, names, text, spec)
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DeviceFileError(path, "not a valid zip file (truncated or damaged)") from None
    except OSError as exc:
        raise DeviceFileError(path, f"cannot read it ({exc.strerror or exc})") from None
    with z:
        members = {Path(n).name: n for n in z.namelist() if n.lower().endswith(".csv")}

        def ztext(name: str) -> tuple[str, str]:
            where = f"{path}!{members[name]}"
            try:
                return where, decode_text(where, z.read(members[name]))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise DeviceFileError(where, f"damaged zip member ({exc})") from None

        return _recording(path, path.stem, members, ztext, spec)


def _recording(path: Path, stem: str, members: dict, text, spec) -> DeviceRecording:
    """The recording from the session's CSVs (``text(name) -> (where, content)``)."""
    if not any(k in members for k in _KEY):
        found = ", ".join(sorted(members)) or "no CSV files"
        raise DeviceFileError(
            path, f"not an Empatica E4 session zip: no EDA.csv, BVP.csv or IBI.csv ({found})"
        )
    signals, files, markers = [], [], []
    for name, sp in _SIGNALS.items():
        if name in members:
            where, t = text(name)
            files.append(where)
            if t.strip():
                signals.append(_signal(where, t, sp))
    if "IBI.csv" in members:
        where, t = text("IBI.csv")
        files.append(where)
        if t.strip():
            signals.append(_ibi(where, t))
    if "tags.csv" in members:
        where, t = text("tags.csv")
        files.append(where)
        markers = _tags(where, t)
    m = re.match(r"^\d+_([A-Za-z0-9]+)$", stem)
    return DeviceRecording(
        path=str(path), reader="e4", device=spec.family, model="Empatica E4",
        serial=m.group(1) if m else "", signals=tuple(signals), markers=tuple(markers),
        clock=ClockInfo(spec.clock, spec.clock_uncertainty_s), files=tuple(files),
        notes=() if signals else ("the zip holds no samples",),
    )  # fmt: skip
