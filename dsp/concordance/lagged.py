"""The Marci CI at the pair's best lag, tested against every circular shift (max over lags).

A coupling in which one person follows the other by a few seconds lowers the lag-0 CI
(the slopes are compared at the same instant), while the coupling test
(:func:`~dsp.concordance.coupling.recent_lead_test`) searches lags up to ``+-lag_s``. This
module gives the CI the same search, honestly:

* the **observed** statistic is the largest CI over the lags ``-lag_s .. +lag_s`` (whole
  steps of the slope series), the second series circularly shifted by each lag;
* its **null** is the same maximum taken around **every** circular shift ``d`` of the second
  series with ``min_shift_s <= d <= duration - min_shift_s``: ``max_{|L| <= lag} CI(d + L)``.
  Searching the lags in the null as in the observed value keeps the test calibrated (a
  max-over-lags statistic against max-over-lags surrogates); using every distinct shift
  rather than a random draw makes the p exact for the circular-shift scheme and free of
  Monte Carlo noise.

The CI at every circular shift is computed once (one profile of ``k`` values for a series of
``k`` slopes), so the test costs about as much as ``k`` surrogates of the lag-0 test.

Input: two signals on the grid at ``fs`` (EDA in µS or HR in bpm), NaN where missing; times
are the grid's. Positive lag = the second series follows the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.concordance.indices import (
    _corr_values,
    _pair,
    marci_rows,
    rolling_pearson,
    slope_series,
)
from dsp.surrogates import SurrogateTest, empirical_test

__all__ = ["LaggedCiTest", "ci_lag_profile", "ci_lag_test"]

#: Values per chunk of the all-shifts profile (memory bound of one ``rolling_pearson`` call).
_CHUNK_VALUES = 2_000_000


@dataclass(frozen=True)
class LaggedCiTest:
    """The CI at the best lag and its test.

    Attributes
    ----------
    test : SurrogateTest
        ``observed`` = the largest CI over the searched lags (ln ratio); ``null`` = the same
        maximum around every allowed circular shift; one-sided p (greater = more together).
    lag_s : float
        Lag of the largest CI (s, positive = the second series follows the first).
    ci_lag0 : float
        The CI at lag 0 (the number the lag-0 statistics show), for comparison.
    """

    test: SurrogateTest
    lag_s: float
    ci_lag0: float

    @property
    def p_value(self) -> float:
        """One-sided p of the max-over-lags CI."""
        return self.test.p_value

    @property
    def observed(self) -> float:
        """The CI at the best lag (ln ratio)."""
        return self.test.observed


def ci_lag_profile(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
) -> np.ndarray:
    """Marci CI of ``x`` with ``y`` circularly shifted by every whole step.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` for ``k`` slopes: value ``d`` is the CI of the slope series of ``x`` with that
        of ``y`` shifted by ``d`` steps (``y``'s value ``i - d`` at ``i``, wrapping around),
        i.e. ``y`` delayed by ``d * step_s`` seconds; ``d = k - L`` is ``y`` advanced by ``L``.
        NaN where no correlation is finite. Empty when shorter than one correlation window.
    """
    x, y = _pair(x, y)
    m = _corr_values(corr_s, step_s)
    sx = slope_series(x, fs, slope_s, step_s)
    sy = slope_series(y, fs, slope_s, step_s)
    k = sx.size
    if k < m:
        return np.empty(0)
    out = np.empty(k)
    chunk = max(1, _CHUNK_VALUES // (k * m))
    base = np.arange(k)
    for d0 in range(0, k, chunk):
        d = np.arange(d0, min(k, d0 + chunk))
        idx = (base[None, :] - d[:, None]) % k
        out[d] = marci_rows(rolling_pearson(sx[None, :], sy[idx], m))
    return out


def ci_lag_test(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    lag_s: float = 5.0,
    min_shift_s: float = 60.0,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
) -> LaggedCiTest | None:
    """The largest CI within ``+-lag_s`` against the same maximum around every circular shift.

    Parameters
    ----------
    x, y : numpy.ndarray
        The two signals on the grid at ``fs`` (same length), NaN where missing.
    lag_s : float
        Largest lag searched (s), in whole ``step_s``; the coupling test's ``wcc_lag_s``.
    min_shift_s : float
        Smallest circular shift of the null (s): shifts ``d`` with
        ``min_shift_s <= d * step_s <= duration - min_shift_s``.
    slope_s, corr_s, step_s : float
        As :func:`~dsp.concordance.indices.slope_concordance`.

    Returns
    -------
    LaggedCiTest or None
        None when the series are too short for one shift of the null
        (``duration < 2 min_shift_s + 2 lag_s``) or have no finite CI.
    """
    prof = ci_lag_profile(x, y, fs, slope_s, corr_s, step_s)
    k = prof.size
    nl = int(round(lag_s / step_s))
    sh = int(round(min_shift_s / step_s))
    if k == 0 or k < 2 * sh + 2 * nl + 1 or not np.isfinite(prof).any():
        return None
    lags = np.arange(-nl, nl + 1)  # lag L (the second follows by L) is undone by d = -L
    near = prof[(-lags) % k]
    if not np.isfinite(near).any():
        return None
    best = int(np.nanargmax(near))
    d = np.arange(sh, k - sh + 1)
    around = np.where(np.isfinite(p := prof[(d[:, None] - lags[None, :]) % k]), p, -np.inf)
    null = around.max(axis=1)
    null[~np.isfinite(null)] = np.nan  # no finite CI around this shift: left out
    test = empirical_test(float(near[best]), null, "circular, every shift, max over lags")
    return LaggedCiTest(test, float(lags[best] * step_s), float(prof[0]))
