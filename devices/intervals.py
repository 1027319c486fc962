"""Beat times from interval streams (E4 IBI in seconds, BLE RR in 1/1024 s).

Interval streams carry one sample per beat: the interval that ended at that beat. Their
stamps are not always the beat time: an E4 bridge stamps the beat, but BLE heart-rate bridges
stamp the notification's arrival (about once a second, one to three intervals per notification,
the same stamp for all of them). The beat times are therefore rebuilt by chaining the
intervals themselves (exact to the device's resolution) and anchored to the stamps only when
the chain starts or has drifted more than ``max_drift_s`` from them (missed notifications, a
reconnect); between anchors the intervals, not the arrival jitter, set the beat times.
"""

from __future__ import annotations

import numpy as np


class IntervalBeats:
    """Rebuilds beat times from intervals (stateful, one per stream).

    Parameters
    ----------
    max_drift_s : float
        Re-anchor the chain to the stamps when they disagree by more than this (s).
    """

    def __init__(self, max_drift_s: float = 2.0) -> None:
        self.max_drift_s = max_drift_s
        self.last: float | None = None
        self.anchors = 0

    def push(self, stamps: np.ndarray, ibi_ms: np.ndarray) -> np.ndarray:
        """Beat times (s) for new intervals.

        Parameters
        ----------
        stamps : ndarray
            Corrected LSL timestamps of the interval samples (s).
        ibi_ms : ndarray
            The intervals (ms, already converted from the device unit); non-finite or
            non-positive intervals are skipped.

        Returns
        -------
        ndarray
            One beat time per usable interval: the beat that ended it.
        """
        stamps = np.asarray(stamps, dtype=float).ravel()
        ibi = np.asarray(ibi_ms, dtype=float).ravel()
        out: list[float] = []
        for s, r in zip(stamps.tolist(), ibi.tolist(), strict=True):
            if not (np.isfinite(s) and np.isfinite(r) and r > 0):
                continue
            cand = s if self.last is None else self.last + r / 1000.0
            if abs(cand - s) > self.max_drift_s:
                cand = s
                self.anchors += 1
            elif self.last is None:
                self.anchors += 1
            self.last = cand
            out.append(cand)
        return np.asarray(out, dtype=float)
