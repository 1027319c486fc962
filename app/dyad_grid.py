"""The live dyad grid's two bookkeeping jobs: waiting for beats, and who is missing.

The engine puts both people's EDA and heart rate on the common 4 Hz grid a little behind the
newest data (:data:`app.engine.GRID_DELAY_S`). Heart rate at a grid time is known only once
the beat *closing* that interval is committed, which a PPG beat detector does up to about
one interval plus its look-ahead after the fact (measured on the simulator: 0.7-1.7 s behind
the newest sample at 40-120 bpm). A grid sample pushed before that beat carries a NaN heart
rate for good, and one NaN makes the rolling HR CI invalid for a minute: the HR meter said
"paused" while both heart rates were fine (issue 18). :func:`samples_ready` therefore holds
back the newest grid samples, for at most :data:`HR_WAIT_S`, while a person's cardiac data
are still arriving and their next beat has not been committed yet.

:class:`GridGaps` remembers which grid samples were missing for whom, so a paused meter can
say which person and which signal ("clinician's heart rate missing for 6 s of the last
75 s") from the very samples the dyad engine received.

Times are seconds on the LSL clock; grid samples are ``1 / fs`` apart.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.concordance import DyadConfig

__all__ = [
    "HR_RESTART_WAIT_S",
    "HR_WAIT_S",
    "SIGNALS",
    "GridGaps",
    "rolling_span_s",
    "samples_ready",
]

#: Longest extra wait (s) of the grid for a person's next committed beat.
HR_WAIT_S = 2.0
#: Longest wait (s) behind the grid's end for heart rate after a cardiac stream (re)starts:
#: the beat detector holds its first 4 s of beats, then commits them with a beat of
#: look-ahead (measured: the first beats after a 5 s PPG dropout committed 5-6 s after it).
HR_RESTART_WAIT_S = 8.0
#: The grid's four series, in :meth:`dsp.concordance.LiveDyad.push` order.
SIGNALS = ("patient/eda", "clinician/eda", "patient/hr", "clinician/hr")


def rolling_span_s(cfg: DyadConfig, signal: str) -> float:
    """Seconds of grid data behind a rolling CI (``signal`` 'eda' or 'hr'): ``rolling_n``
    correlations ``step_s`` apart, each over ``corr_s`` of slopes over ``slope_s``
    (``hr_slope_s``). 79 s for EDA and 75 s for HR by default."""
    slope = cfg.slope_s if signal == "eda" else cfg.hr_slope_s
    return (cfg.rolling_n - 1) * cfg.step_s + cfg.corr_s + slope


def samples_ready(
    tg: np.ndarray,
    hr: tuple[np.ndarray, ...],
    cardiac_last_t: tuple[float, ...],
    end: float,
    restart_t: tuple[float, ...] | None = None,
) -> int:
    """How many of the grid samples ``tg`` (oldest first, the newest at ``end``) to push now.

    From a person's first NaN heart rate within :data:`HR_WAIT_S` of ``end`` on, the grid
    waits while their cardiac data reach that far (``cardiac_last_t > end - HR_WAIT_S``:
    samples, or beats from a device, still arriving): the beat closing that interval may not
    be committed yet, or the newest intervals' correction not settled. After a person's
    cardiac waveform (re)started (``restart_t``: its start, or the end of a dropout) less than
    :data:`HR_RESTART_WAIT_S` before ``end``, every NaN from the restart on waits too: the
    beat detector holds its first beats, and a sample pushed before they are committed would
    stay NaN for good, longer than offline (issue 18: a gap excludes exactly the windows it
    touches, live and offline). Anything older, or a person whose cardiac signal stopped, is
    pushed as it is (missing stays missing).

    Parameters
    ----------
    tg : numpy.ndarray
        Candidate grid times (s).
    hr : tuple of numpy.ndarray
        Each person's heart rate at ``tg`` (bpm, NaN unknown).
    cardiac_last_t : tuple of float
        Each person's newest cardiac sample or beat time (s; NaN none).
    end : float
        Newest grid time the EDA allows (s).
    restart_t : tuple of float, optional
        Each person's :attr:`dsp.live_cardiac.LiveCardiac.cardiac_restart_t` (s; NaN none).
    """
    n = tg.size
    keep = n
    restarts = restart_t if restart_t is not None else (math.nan,) * len(hr)
    for h, last, r in zip(hr, cardiac_last_t, restarts, strict=True):
        if not (math.isfinite(last) and last > end - HR_WAIT_S):
            continue
        recent = int(np.searchsorted(tg, end - HR_WAIT_S, side="right"))
        if math.isfinite(r) and r > end - HR_RESTART_WAIT_S:
            recent = min(recent, int(np.searchsorted(tg, r, side="left")))
        gaps = np.flatnonzero(~np.isfinite(h[recent:]))
        if gaps.size:  # the first unknown value this recent waits, with all after it
            keep = min(keep, recent + int(gaps[0]))
    return keep


class GridGaps:
    """Which of the last grid samples were missing, per person and signal.

    Parameters
    ----------
    fs : float
        Grid rate (Hz).
    span_s : float
        Longest time asked about (s).
    """

    def __init__(self, fs: float, span_s: float) -> None:
        self.fs = fs
        self._cap = int(math.ceil(span_s * fs)) + 1
        self._missing = np.zeros((len(SIGNALS), self._cap), dtype=bool)
        self._n = 0  # samples recorded so far
        self._t_last = math.nan

    def add(self, tg: np.ndarray, series: tuple[np.ndarray, ...]) -> None:
        """Record grid samples ``tg`` (consecutive) and the four series at them."""
        m = np.array([~np.isfinite(np.asarray(s, dtype=float)) for s in series])[:, -self._cap :]
        k = m.shape[1]
        self._missing = np.roll(self._missing, -k, axis=1)
        self._missing[:, self._cap - k :] = m
        self._n += int(tg.size)
        self._t_last = float(tg[-1]) if tg.size else self._t_last

    def missing_s(self, span_s: float) -> dict[str, float]:
        """Seconds each of :data:`SIGNALS` was missing in the last ``span_s`` of the grid
        (only what the grid holds; an empty dict before any sample)."""
        if self._n == 0:
            return {}
        k = min(int(round(span_s * self.fs)), self._n, self._cap)
        counts = self._missing[:, self._cap - k :].sum(axis=1)
        return {s: float(c) / self.fs for s, c in zip(SIGNALS, counts, strict=True)}
