"""What a device-file reader returns, and the checks every reader shares (no Qt, no app).

Every reader turns one wearable's own file (or zip, or folder of files) into a
:class:`DeviceRecording`: its signals with **absolute** sample times (Unix epoch seconds, UTC),
already converted to the unit the app computes in (EDA µS, IBI ms, ECG mV where the device
documents a transfer function; PPG in the device's unit, shape only), its markers, and where
everything came from. Problems are raised as :class:`DeviceFileError` with one line naming the
file and the problem.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np


class DeviceFileError(ValueError):
    """A device file that cannot be read (one line naming the file and the problem)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class Modality(StrEnum):
    """What a signal carries (the app's modalities)."""

    EDA = "eda"  # µS
    PPG = "ppg"  # device unit, shape only
    ECG = "ecg"  # mV where the device documents it
    IBI = "ibi"  # ms, one sample per beat (times = beat times)
    HR = "hr"  # bpm, shown only
    ACC = "acc"  # accelerometer, (n, 3) in the device's unit (g, 1/64 g, m/s²)
    OTHER = "other"


#: XDF stream type written for each modality (the generic profile recognises them).
STREAM_TYPE = {
    Modality.EDA: "EDA",
    Modality.PPG: "PPG",
    Modality.ECG: "ECG",
    Modality.IBI: "IBI",
    Modality.HR: "HR",
    Modality.ACC: "ACC",
    Modality.OTHER: "Misc",
}


@dataclass(frozen=True, eq=False)
class Signal:
    """One signal of a device file.

    Attributes
    ----------
    modality : Modality
    label : str
        The channel's name in the file (``EDA``, ``A3``, ``PPG:GRN`` ...).
    unit : str
        Unit of ``values`` (after ``conversion``): ``microsiemens``, ``ms``, ``mV`` ...
    values : ndarray, shape (n,)
        Samples (float64).
    times : ndarray, shape (n,)
        Unix epoch seconds (UTC) of each sample (beat times for IBI).
    rate : float
        Nominal sampling rate (Hz); 0 for event signals (IBI, device HR at beats).
    conversion : str
        What was done to the stored values ('' = as stored), e.g.
        ``µS = ADC / 2^10 x 3.3 V / 0.132``.
    step : float
        Quantisation step of ``values`` in ``unit`` (one ADC code after conversion); 0 when
        the file does not say.
    """

    modality: Modality
    label: str
    unit: str
    values: np.ndarray
    times: np.ndarray
    rate: float
    conversion: str = ""
    step: float = 0.0

    @property
    def t_first(self) -> float:
        return float(self.times[0]) if self.times.size else math.nan

    @property
    def t_last(self) -> float:
        return float(self.times[-1]) if self.times.size else math.nan


@dataclass(frozen=True)
class ClockInfo:
    """Where a file's absolute times come from and how far they may be off.

    Attributes
    ----------
    source : str
        E.g. "E4 internal clock, set from the phone/PC at each sync".
    uncertainty_s : float
        How far (s, either way) the file's absolute times may be from UTC (from the device
        profile's ``[files]`` table, or raised by the reader when the file says more).
    """

    source: str
    uncertainty_s: float


@dataclass(frozen=True, eq=False)
class DeviceRecording:
    """One device file read: signals, markers and provenance.

    Attributes
    ----------
    path : str
        The file (or folder) read.
    reader : str
        The reader that read it (``e4``, ``opensignals`` ...).
    device : str
        Device family (profile family: ``e4``, ``bitalino``, ``emotibit`` ...).
    model : str
        Model as the file names it ("Empatica E4", "bitalino_rev", "Shimmer3 GSR+" ...).
    serial : str
        Serial number / MAC address where the file gives one ('' otherwise).
    signals : tuple of Signal
    markers : tuple of (float, str)
        Unix epoch seconds and label (button presses, tags).
    clock : ClockInfo
    files : tuple of str
        Every file that contributed (members of a zip as ``zip!member``).
    notes : tuple of str
        What a user should know (time sync off, conversions assumed ...).
    """

    path: str
    reader: str
    device: str
    model: str
    serial: str
    signals: tuple[Signal, ...]
    markers: tuple[tuple[float, str], ...] = ()
    clock: ClockInfo = field(default_factory=lambda: ClockInfo("unknown", math.inf))
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def t_first(self) -> float:
        """Earliest sample (Unix s)."""
        return min((s.t_first for s in self.signals if s.times.size), default=math.nan)

    @property
    def t_last(self) -> float:
        """Latest sample (Unix s)."""
        return max((s.t_last for s in self.signals if s.times.size), default=math.nan)

    def signal(self, modality: Modality) -> Signal | None:
        """The first signal of ``modality``, or None."""
        return next((s for s in self.signals if s.modality is modality), None)


# ----------------------------------------------------------------------------- shared checks
def decode_text(path: str | Path, data: bytes) -> str:
    """``data`` as UTF-8 (a BOM is dropped), or :class:`DeviceFileError` naming the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeviceFileError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_text(path: str | Path) -> str:
    """A text file's content (strict UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DeviceFileError(path, f"cannot read it ({exc.strerror or exc})") from None
    return decode_text(path, data)


def check_rate(path: str | Path, rate: float, what: str = "sample rate") -> float:
    """A positive, finite sampling rate (Hz)."""
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise DeviceFileError(path, f"{what} is {rate!r}; it must be a positive number of Hz")
    return float(rate)


def parse_float(path: str | Path, text: str, what: str) -> float:
    """One number from a header cell."""
    try:
        v = float(text.strip())
    except ValueError:
        raise DeviceFileError(path, f"{what} {text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise DeviceFileError(path, f"{what} is {text.strip()!r}")
    return v


def split_head(text: str, n: int) -> tuple[list[str], str]:
    """The first ``n`` lines of ``text`` and the rest (one string, not split: fast to parse)."""
    parts = text.split("\n", n)
    head = [p.rstrip("\r") for p in parts[:n]]
    return head, parts[n] if len(parts) > n else ""


def numeric_rows(
    path: str | Path,
    body: str | list[str],
    sep: str,
    n_cols: int,
    first_line: int,
    usecols: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Parse rows of ``n_cols`` numbers separated by ``sep`` (empty cells = NaN).

    ``body`` is the text after the header (or its lines); ``first_line`` the 1-based line
    number of its first line in the file. Returns the columns ``usecols`` (default all).
    Well-formed rows go through numpy's C parser; otherwise the rows are checked one by one
    and :class:`DeviceFileError` names the first line that does not parse. A trailing
    separator is allowed.
    """
    text = body if isinstance(body, str) else "\n".join(body)
    cols = tuple(range(n_cols)) if usecols is None else tuple(usecols)
    if not text.strip():
        return np.zeros((0, len(cols)))
    ws = sep in (" ", "\t")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(io.StringIO(text), delimiter=None if ws else sep, usecols=cols,
                             ndmin=2, dtype=float)  # fmt: skip
        if _width_ok(text, sep, n_cols):
            return arr
    except ValueError:
        pass
    return _slow_rows(path, text.splitlines(), sep, n_cols, first_line)[:, list(cols)]


def _cells(line: str, sep: str) -> list[str]:
    if sep in (" ", "\t"):
        return re.split(r"\s+", line.strip())
    return line.rstrip().rstrip(sep).split(sep)


def _width_ok(text: str, sep: str, n_cols: int) -> bool:
    """Whether the first and last rows have ``n_cols`` cells (the C parser ignores extras)."""
    first = text[:4000].lstrip("\r\n").split("\n", 1)[0]
    last = text[-4000:].rstrip().rsplit("\n", 1)[-1]
    return all(len(_cells(ln, sep)) == n_cols for ln in (first, last) if ln.strip())


def _slow_rows(
    path: str | Path, lines: list[str], sep: str, n_cols: int, first_line: int
) -> np.ndarray:
    """Row by row, naming the first bad line; empty cells become NaN."""
    out = []
    for k, ln in enumerate(lines):
        if not ln.strip():
            continue
        cells = _cells(ln, sep)
        if len(cells) != n_cols:
            raise DeviceFileError(
                path, f"line {first_line + k}: {len(cells)} columns, expected {n_cols}"
            )
        try:
            out.append([float(c) if c.strip() else math.nan for c in cells])
        except ValueError:
            bad = next(c for c in cells if c.strip() and not _is_number(c))
            raise DeviceFileError(
                path, f"line {first_line + k}: {bad.strip()[:30]!r} is not a number"
            ) from None
    return np.array(out, dtype=float).reshape(-1, n_cols)


def _is_number(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


def regular_times(start: float, n: int, rate: float) -> np.ndarray:
    """``start + i / rate`` for i < n (s)."""
    return start + np.arange(n, dtype=float) / rate


def require_columns(path: str | Path, have: list[str], want: dict[str, str]) -> dict[str, int]:
    """Indices of required columns (``want``: name -> what it is); names the missing ones."""
    low = [h.strip().lower() for h in have]
    out, missing = {}, []
    for name, what in want.items():
        if name.lower() in low:
            out[name] = low.index(name.lower())
        else:
            missing.append(f"{name} ({what})")
    if missing:
        raise DeviceFileError(
            path,
            f"missing column(s) {', '.join(missing)}; columns found: {', '.join(have) or 'none'}",
        )
    return out
