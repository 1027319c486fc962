"""A generic CSV with a time column and named columns, described by a small TOML file.

The description is ``<file>.toml`` beside ``<file>.csv`` (``data.csv`` -> ``data.csv.toml``
or ``data.toml``)::

    device = "Lab amplifier"          # free text
    serial = "A-17"                   # optional
    separator = ","                   # optional (default ",")
    [time]
    column = "time"
    unit = "s"                        # s or ms
    start = "2026-01-01T10:00:00Z"    # when the times are relative; omit for Unix times
    clock_uncertainty_s = 1.0
    [[signal]]
    column = "eda"
    modality = "eda"                  # eda, ppg, ecg, ibi, hr, other
    unit = "microsiemens"             # microsiemens / uS, kOhm (converted), mV, ms, ...
    resolution = 0.01                 # optional quantisation step in that unit

The first row holds the column names.
"""

from __future__ import annotations

import datetime as _dt
import math
import tomllib
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
    require_columns,
    split_head,
)

_US = {"microsiemens", "us", "µs", "μs"}
_KOHM = {"kohm", "kohms", "kω"}


def description(path: Path) -> Path | None:
    """The TOML description of ``path`` (``<name>.toml`` or ``<stem>.toml``), or None."""
    for cand in (path.with_name(path.name + ".toml"), path.with_suffix(".toml")):
        if cand.is_file() and cand != path:
            return cand
    return None


def sniff(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".txt", ".tsv") and description(path) is not None


def _desc(path: Path) -> tuple[Path, dict]:
    d = description(path)
    if d is None:
        raise DeviceFileError(
            path, f"no description {path.name}.toml beside it (see attune import --help)"
        )
    try:
        return d, tomllib.loads(read_text(d))
    except tomllib.TOMLDecodeError as exc:
        raise DeviceFileError(d, f"not valid TOML ({exc})") from None


def read(path: Path, spec) -> DeviceRecording:
    """Read a described CSV (see the module docstring)."""
    dpath, desc = _desc(path)
    tdesc, sigs = desc.get("time"), desc.get("signal")
    if (
        not isinstance(tdesc, dict)
        or "column" not in tdesc
        or not isinstance(sigs, list)
        or not sigs
    ):
        raise DeviceFileError(dpath, "needs [time] column = ... and at least one [[signal]]")
    sep = str(desc.get("separator", ","))
    lines, rest = split_head(read_text(path), 1)
    if not lines or not lines[0].strip():
        raise DeviceFileError(path, "empty file (missing header row)")
    names = [c.strip().strip('"') for c in lines[0].split(sep)]
    want = {tdesc["column"]: "time"} | {s.get("column", "?"): s.get("modality", "?") for s in sigs}
    idx = require_columns(path, names, want)
    data = numeric_rows(path, rest, sep, len(names), 2)
    if data.shape[0] < 2:
        raise DeviceFileError(path, "fewer than 2 rows of data")
    t = data[:, idx[tdesc["column"]]] * {"s": 1.0, "ms": 1e-3}.get(
        str(tdesc.get("unit", "s")), math.nan
    )
    if not np.all(np.isfinite(t)):
        raise DeviceFileError(dpath, "time.unit must be s or ms, and every time must be a number")
    if "start" in tdesc:
        try:
            st = _dt.datetime.fromisoformat(str(tdesc["start"]).replace("Z", "+00:00"))
        except ValueError:
            raise DeviceFileError(dpath, f"time.start {tdesc['start']!r} is not ISO 8601") from None
        t = t + (st if st.tzinfo else st.replace(tzinfo=_dt.UTC)).timestamp()
    if not np.all(np.diff(t) > 0):
        raise DeviceFileError(path, "times are not increasing")
    rate = check_rate(path, float((t.size - 1) / (t[-1] - t[0])), "sample rate (from the times)")
    out = []
    for s in sigs:
        try:
            mod = Modality(str(s.get("modality", "")))
        except ValueError:
            raise DeviceFileError(
                dpath, f"signal {s.get('column')!r}: unknown modality {s.get('modality')!r}"
            ) from None
        x, unit, conv = data[:, idx[s["column"]]], str(s.get("unit", "")), ""
        if mod is Modality.EDA and unit.lower() in _KOHM:
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(x > 0, 1000.0 / np.where(x > 0, x, 1.0), np.nan)
            unit, conv = "microsiemens", "µS = 1000 / kΩ"
        elif mod is Modality.EDA and unit.lower() not in _US:
            raise DeviceFileError(
                dpath, f"signal {s['column']!r}: EDA unit {unit!r} is not µS or kΩ"
            )
        ev = mod in (Modality.IBI, Modality.HR)
        out.append(Signal(mod, str(s["column"]), unit, x, t, 0.0 if ev else rate, conv,
                          float(s.get("resolution", 0.0))))  # fmt: skip
    unc = float(tdesc.get("clock_uncertainty_s", spec.clock_uncertainty_s))
    return DeviceRecording(
        path=str(path), reader="csvtoml", device=spec.family, model=str(desc.get("device", "CSV")),
        serial=str(desc.get("serial", "")), signals=tuple(out),
        clock=ClockInfo(str(tdesc.get("clock", spec.clock)), unc), files=(str(path), str(dpath)),
    )  # fmt: skip
