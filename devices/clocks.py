"""Clock checks for one live stream: far clocks re-anchored, the real sampling rate measured.

Some bridges stamp samples with a clock that is not LSL's: muselsl and bitalino-lsl use Unix
epoch seconds (``time.time()``), one E4 bridge passes on the E4 server's Unix stamps. LSL's
``time_correction`` cannot see that (both ends run on one machine), so the newest sample of a
chunk then looks ~1.7e9 s old or new. :class:`StreamClock` notices any such clock (newest
sample more than ``far_s`` from its arrival on this machine's LSL clock), and re-anchors it:
the anchor is the smallest arrival delay seen during the first ``anchor_window_s`` seconds
(the least-delayed sample is closest to the true offset). The ring buffer keeps the raw stamps
next to the corrected ones, and the recorder writes ``time_correction + anchor`` as the clock
offset, so an XDF reader maps the file onto this machine's clock as well.

The real rate is measured by a least-squares line through (sample counter, stamp) at the end
of every chunk, so packet bursts (EmotiBit WiFi, Polar BLE: many samples, one stamp) and arrival
jitter average out. After ``settle_s`` seconds of stamps the DSP rate is fixed: the measured
rate when the declared one is 0 or more than 1 % off, else the declared one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

FAR_S = 10.0
ANCHOR_WINDOW_S = 10.0
SETTLE_S = 20.0
RATE_TOLERANCE = 0.01


class ClockState(StrEnum):
    """Whether a stream's stamps are on this machine's LSL clock."""

    UNDECIDED = "undecided"  # no data yet
    NATIVE = "native"  # LSL clock (after time_correction)
    ANCHORING = "anchoring"  # far clock found, anchor still being refined
    ANCHORED = "anchored"  # far clock, anchor fixed


@dataclass(frozen=True)
class RateDecision:
    """The rate the DSP uses for a stream.

    Attributes
    ----------
    rate : float
        Hz; 0 while undecided for a stream without a declared rate.
    measured : float
        Rate measured from the timestamps (Hz), NaN before there is enough.
    settled : bool
        True once the decision is final (it never changes afterwards).
    note : str
        What the user should know ('' when the declared rate is used as is).
    """

    rate: float
    measured: float
    settled: bool
    note: str = ""


class StreamClock:
    """Clock state and rate measurement of one stream (owned by the acquisition thread).

    Parameters
    ----------
    nominal_rate : float
        The declared rate (Hz; 0 = irregular).
    events : bool
        One sample per event (beats): no sampling rate is measured.
    far_s, anchor_window_s, settle_s : float
        See the module docstring.
    """

    def __init__(
        self,
        nominal_rate: float,
        events: bool = False,
        far_s: float = FAR_S,
        anchor_window_s: float = ANCHOR_WINDOW_S,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.nominal = float(nominal_rate)
        self.events = events
        self.far_s = far_s
        self.anchor_window_s = anchor_window_s
        self.settle_s = settle_s
        self.state = ClockState.UNDECIDED
        self.anchor = 0.0
        self.far_by = 0.0
        self._anchor_until = np.inf
        self._points: deque[tuple[int, float]] = deque(maxlen=2048)
        self._count = 0
        self._decision: RateDecision | None = None
        self._lock = threading.Lock()  # observe() and decision() run on different threads

    # -- per chunk ------------------------------------------------------------------------
    def observe(self, raw: np.ndarray, offset: float, arrival: float) -> None:
        """Account for one pulled chunk.

        Parameters
        ----------
        raw : ndarray
            The chunk's raw timestamps (sender clock, s).
        offset : float
            The current ``time_correction`` (s).
        arrival : float
            This machine's LSL clock when the chunk was pulled (s).
        """
        if raw.size == 0:
            return
        newest = float(raw[-1])
        delay = arrival - (newest + offset)
        if self.state is ClockState.UNDECIDED:
            if abs(delay) > self.far_s:
                self.state = ClockState.ANCHORING
                self.anchor, self.far_by = delay, -delay
                self._anchor_until = arrival + self.anchor_window_s
            else:
                self.state = ClockState.NATIVE
        elif self.state is ClockState.ANCHORING:
            self.anchor = min(self.anchor, delay)
            if arrival >= self._anchor_until:
                self.state = ClockState.ANCHORED
        with self._lock:
            if self._points and newest < self._points[-1][1] - 1.0:
                self._points.clear()  # the sender's clock jumped back: measure afresh
            self._count += raw.size
            self._points.append((self._count - 1, newest))

    @property
    def decided(self) -> bool:
        """True once it is known whether the clock is native or re-anchored."""
        return self.state is not ClockState.UNDECIDED

    @property
    def note(self) -> str:
        """One line about a re-anchored clock ('' for a native one)."""
        if self.state not in (ClockState.ANCHORING, ClockState.ANCHORED):
            return ""
        kind = "Unix-epoch " if abs(self.far_by) > 1e8 else ""
        return (
            f"{kind}timestamps {self.far_by:+.3g} s from this machine's LSL clock; "
            f"re-anchored by the arrival delay ({self.anchor:+.6g} s)"
        )

    # -- rate -----------------------------------------------------------------------------
    def measured_rate(self) -> tuple[float, float]:
        """(rate in Hz, seconds of stamps it is based on); NaN rate when too little data."""
        with self._lock:
            pts = np.asarray(self._points, dtype=float)
        if len(pts) < 3:
            return float("nan"), 0.0
        span = float(pts[-1, 1] - pts[0, 1])
        if span <= 0:
            return float("nan"), 0.0
        k = pts[:, 0] - pts[0, 0]
        t = pts[:, 1] - pts[0, 1]
        slope = float(np.polyfit(k, t, 1)[0])  # seconds per sample
        return (1.0 / slope if slope > 0 else float("nan")), span

    def decision(self) -> RateDecision:
        """The DSP rate now (final once ``settled``)."""
        if self._decision is not None:
            return self._decision
        if self.events:
            self._decision = RateDecision(0.0, float("nan"), True)
            return self._decision
        measured, span = self.measured_rate()
        if span < self.settle_s or not np.isfinite(measured):
            return RateDecision(self.nominal, measured, False)
        if self.nominal <= 0:
            note = f"declared rate 0: using {measured:.4g} Hz measured from the timestamps"
            self._decision = RateDecision(measured, measured, True, note)
        elif abs(measured / self.nominal - 1.0) > RATE_TOLERANCE:
            pct = 100.0 * (measured / self.nominal - 1.0)
            note = (
                f"declared {self.nominal:g} Hz but the timestamps say {measured:.4g} Hz "
                f"({pct:+.1f} %); using {measured:.4g} Hz"
            )
            self._decision = RateDecision(measured, measured, True, note)
        else:
            self._decision = RateDecision(self.nominal, measured, True)
        return self._decision
