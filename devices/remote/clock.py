"""The patient's clock against the clinician's: NTP-style probes, minimum-RTT filter, drift.

Each probe is sent at clinic time ``t0``, answered with the patient's clock ``tp`` and received
at ``t1``. If the answer was taken at the midpoint, ``offset = tp - (t0 + t1) / 2``; whatever the
path's asymmetry, the true offset lies within ``± (t1 - t0) / 2`` of that (the classic NTP bound).
Probes delayed by queueing have a larger RTT and a worse bound, so the estimate uses the probes
with the smallest RTT in a sliding window and fits a line through them (the drift between two
crystal oscillators, tens of ppm). The stated uncertainty is half the smallest RTT in the window
plus the fit's residual spread.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class ClockEstimate:
    """The mapping patient clock -> clinic clock at one moment.

    Attributes
    ----------
    offset_s : float
        Patient clock minus clinic clock (s) at ``at_s`` (clinic time).
    drift : float
        d(offset)/d(clinic time), dimensionless (1e-6 = 1 ppm).
    uncertainty_s : float
        Bound on the offset error (s): min RTT / 2 plus the fit residual.
    rtt_s : float
        Smallest round-trip time in the window (s).
    at_s : float
        Clinic time of the estimate (s).
    n_probes : int
        Probes in the window.
    """

    offset_s: float
    drift: float
    uncertainty_s: float
    rtt_s: float
    at_s: float
    n_probes: int

    def offset_at(self, t_clinic: float) -> float:
        return self.offset_s + self.drift * (t_clinic - self.at_s)

    def to_clinic(self, t_patient: np.ndarray) -> np.ndarray:
        """Patient timestamps (s) on the clinic's clock."""
        t_patient = np.asarray(t_patient, dtype=float)
        # t_c = t_p - (off + drift (t_c - at))  =>  t_c = (t_p - off + drift at) / (1 + drift)
        return (t_patient - self.offset_s + self.drift * self.at_s) / (1.0 + self.drift)


class ClockTracker:
    """Sliding-window estimator of the patient's clock offset and drift.

    Parameters
    ----------
    window_s : float
        Probes older than this (clinic time) are forgotten (default 120 s).
    best_fraction : float
        Fraction of the window's probes with the smallest RTT that enter the fit (default 0.25).
    step_s : float
        A probe whose bound excludes the current estimate by more than this is a clock step
        (default 0.05 s); three in a row reset the window.
    """

    def __init__(self, window_s: float = 120.0, best_fraction: float = 0.25, step_s: float = 0.05):
        self.window_s = window_s
        self.best_fraction = best_fraction
        self.step_s = step_s
        self._probes: deque[tuple[float, float, float]] = deque()  # (mid, offset, rtt)
        self._outliers = 0
        self.estimate: ClockEstimate | None = None
        self.steps: list[float] = []

    def add(self, t0: float, tp: float, t1: float) -> ClockEstimate | None:
        """Add one probe (clinic send time, patient clock, clinic receive time); return the fit.

        A step of the patient's (or clinic's) clock shows as probes far outside the current
        estimate's bound; after three such probes the window restarts and the step size is
        appended to :attr:`steps`.
        """
        rtt = t1 - t0
        if rtt < 0:
            return self.estimate
        mid = 0.5 * (t0 + t1)
        off = tp - mid
        est = self.estimate
        if (
            est is not None
            and abs(off - est.offset_at(mid)) > rtt / 2 + est.uncertainty_s + self.step_s
        ):
            self._outliers += 1
            if self._outliers < 3:
                return est
            self.steps.append(off - est.offset_at(mid))
            self._probes.clear()
        self._outliers = 0
        self._probes.append((mid, off, rtt))
        while self._probes and self._probes[0][0] < mid - self.window_s:
            self._probes.popleft()
        self.estimate = self._fit(mid)
        return self.estimate

    @property
    def suspect(self) -> bool:
        """Whether the last probe fell outside the estimate's bound (a step may be under way)."""
        return self._outliers > 0

    def shift(self, jump_s: float) -> None:
        """The clinic's own clock jumped by ``jump_s`` (s): move the probes and the estimate to
        its new time scale (the offset patient - clinic changes by ``-jump_s``)."""
        self._probes = deque((mid + jump_s, off - jump_s, rtt) for mid, off, rtt in self._probes)
        est = self.estimate
        if est is not None:
            self.estimate = replace(est, offset_s=est.offset_s - jump_s, at_s=est.at_s + jump_s)

    def _fit(self, now: float) -> ClockEstimate:
        arr = np.array(self._probes)
        mids, offs, rtts = arr[:, 0], arr[:, 1], arr[:, 2]
        k = max(1, int(np.ceil(len(arr) * self.best_fraction)))
        best = np.argsort(rtts, kind="stable")[:k]
        span = mids[best].max() - mids[best].min() if k > 1 else 0.0
        if k >= 4 and span >= 10.0:
            drift, intercept = np.polyfit(mids[best] - now, offs[best], 1)
            resid = offs[best] - (intercept + drift * (mids[best] - now))
            spread = float(np.max(np.abs(resid)))
        else:
            drift = 0.0
            i = best[np.argmin(rtts[best])]
            intercept, spread = offs[i], 0.0
        rtt_min = float(rtts.min())
        return ClockEstimate(
            float(intercept), float(drift), rtt_min / 2 + spread, rtt_min, now, len(arr)
        )


def clock_minus_wall(clock: Callable[[], float], tries: int = 3) -> float | None:
    """``clock() - time.time()`` (s) read tightly, or None when no read was tight.

    The wall clock is read between two reads of ``clock``; a read where those are more than
    5 ms apart (the thread was descheduled in between) is discarded, so a busy machine is not
    taken for a clock that jumped.
    """
    for _ in range(tries):
        c1 = clock()
        wall = time.time()
        c2 = clock()
        if c2 - c1 < 0.005:
            return 0.5 * (c1 + c2) - wall
    return None
