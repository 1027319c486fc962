"""What a device-file reader returns, and the checks every reader shares (no Qt, no app).

Every reader turns one wearable's own file (or zip, or folder of files) into a
:class:`DeviceRecording`: its signals with **absolute** sample times (Unix epoch seconds, UTC),
already converted to the unit the app computes in (EDA µS, IBI ms, ECG mV where the device
documents a transfer function; PPG in the device's unit, shape only), its markers, and where
everything came from. Problems are raised as :class:`DeviceFileError` with one line naming the
file and the problem.
"""

from __future__ import annotations

import math
import re
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
    OTHER = "other"


#: XDF stream type written for each modality (the generic profile recognises them).
STREAM_TYPE = {
    Modality.EDA: "EDA",
    Modality.PPG: "PPG",
    Modality.ECG: "ECG",
    Modality.IBI: "IBI",
    Modality.HR: "HR",
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


def numeric_rows(
    path: str | Path, lines: list[str], sep: str, n_cols: int, first_line: int
) -> np.ndarray:
    """Parse ``lines`` of ``n_cols`` numbers separated by ``sep`` (empty cells = NaN).

    Raises :class:`DeviceFileError` naming the first line that does not parse (``first_line``
    is the 1-based line number of ``lines[0]`` in the file). A trailing separator is allowed.
    """
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return np.zeros((0, n_cols))
    text = "\n".join(ln.rstrip().rstrip(sep) if sep != " " else ln.strip() for ln in body)
    try:
        arr = np.loadtxt(
            text.splitlines(), delimiter=None if sep in (" ", "\t") else sep, ndmin=2,
            dtype=float,
        )  # fmt: skip
    except ValueError:
        arr = None
    if arr is None or arr.shape[1] != n_cols:
        for k, ln in enumerate(body):
            cells = (
                re.split(r"\s+", ln.strip())
                if sep in (" ", "\t")
                else ln.rstrip().rstrip(sep).split(sep)
            )
            if len(cells) != n_cols:
                raise DeviceFileError(
                    path, f"line {first_line + k}: {len(cells)} columns, expected {n_cols}"
                )
            for c in cells:
                try:
                    float(c) if c.strip() else math.nan
                except ValueError:
                    raise DeviceFileError(
                        path, f"line {first_line + k}: {c.strip()[:30]!r} is not a number"
                    ) from None
        raise DeviceFileError(path, "rows of unequal length")
    return arr


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
