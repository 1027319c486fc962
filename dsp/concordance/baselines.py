"""Offline chance baselines of slope concordance and the session summary of one signal.

See :mod:`dsp.surrogates` for the surrogate schemes and the empirical p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.concordance.coupling import recent_lead_test
from dsp.concordance.indices import (
    _corr_values,
    _nanmean_rows,
    _pair,
    kleinbub_index,
    marci_index,
    marci_rows,
    rolling_pearson,
    slope_concordance,
    slope_concordance_times,
    slope_series,
    slope_signal,
)
from dsp.concordance.lead import LEAD_GAP_S, LeadTest
from dsp.concordance.susy import susy, susy_es
from dsp.concordance.wcc import WCCResult, wcc, wcc_peak
from dsp.surrogates import (
    SurrogateTest,
    circular_shift_indices,
    empirical_test,
    random_shifts,
    segment_shuffle_indices,
)

__all__ = [
    "SessionConcordance",
    "analyze_session",
    "concordance_surrogate_test",
    "stat_rows",
    "susy_test",
]


_STATISTICS = {
    "ci": marci_index,
    "ksi": kleinbub_index,
    "mean_r": lambda r: float(np.nanmean(r)) if np.isfinite(r).any() else math.nan,
}


def stat_rows(r: np.ndarray, statistic: str) -> np.ndarray:
    """Apply a session statistic to each row of a 2-D array of r series."""
    if statistic == "ci":
        return marci_rows(r)
    if statistic == "mean_r":
        return _nanmean_rows(r)
    fn = _STATISTICS[statistic]
    return np.array([fn(row) for row in r])


def concordance_surrogate_test(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    n_surrogates: int = 200,
    method: str = "circular",
    min_shift_s: float = 60.0,
    segment_s: float = 30.0,
    statistic: str = "ci",
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> SurrogateTest:
    """Chance baseline for a session's slope-concordance statistic.

    The clinician's slope series is re-arranged while the patient's stays fixed, and the
    statistic is recomputed for each surrogate:

    * ``"circular"``: circular shift by a random amount in
      ``[min_shift_s, duration - min_shift_s]`` (default >= 60 s), which keeps each series'
      autocorrelation and only breaks the alignment;
    * ``"segment"``: ``segment_s`` blocks (default 30 s) shuffled so that no block stays in
      its place (Moulder et al. 2018).

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician signal (e.g. SC in µS) at ``fs``.
    n_surrogates : int
        Number of surrogates (>= 100 recommended).
    statistic : {"ci", "ksi", "mean_r"}
        Session statistic of the r series (Marci CI, Kleinbub KSI, or mean r).
    slope_s, corr_s, step_s : float
        As :func:`slope_concordance`.
    seed : int, Generator or None
        Random source (a fixed seed makes the p-value reproducible).

    Returns
    -------
    SurrogateTest
        Observed value, the null distribution, the one-sided empirical p
        ``(1 + #(null >= observed)) / (1 + n)``, effect size and percentile.
    """
    x, y = _pair(x, y)
    rng = np.random.default_rng(seed)
    m = _corr_values(corr_s, step_s)
    sx = slope_series(x, fs, slope_s, step_s)
    sy = slope_series(y, fs, slope_s, step_s)
    obs = stat_rows(rolling_pearson(sx, sy, m)[None, :], statistic)[0]
    k = sx.size
    if method == "circular":
        shift = int(round(min_shift_s / step_s))
        idx = circular_shift_indices(k, n_surrogates, shift, rng)
    elif method == "segment":
        seg = int(round(segment_s / step_s))
        idx = segment_shuffle_indices(k, seg, n_surrogates, rng)
    else:
        raise ValueError("method must be 'circular' or 'segment'")
    null = np.empty(n_surrogates)
    chunk = max(1, 2_000_000 // max(k * m, 1))
    for c0 in range(0, n_surrogates, chunk):
        sub = idx[c0 : c0 + chunk]
        null[c0 : c0 + chunk] = stat_rows(rolling_pearson(sx[None, :], sy[sub], m), statistic)
    return empirical_test(float(obs), null, method=method)


@dataclass(frozen=True)
class SessionConcordance:
    """Offline session summary of slope concordance, WCC and chance baseline.

    Attributes
    ----------
    r : numpy.ndarray
        Slope concordance r per step (see :func:`slope_concordance`).
    r_t_end : numpy.ndarray
        End time (s after the first sample) of the data behind each r.
    ci, ksi, mean_r : float
        Marci CI, Kleinbub KSI and mean r of the session.
    wcc : WCCResult
        WCC on the slope signals at the grid rate (``wcc_win_s`` windows, ``±wcc_lag_s``).
    median_best_lag_s : float
        Median over windows of the rMEA best lag (argmax; s, positive = patient leads).
    median_peak_lag_s : float
        Median lag of the clear peaks (:func:`wcc_peak` nearest lag 0, r >= 0.3, not at the lag
        limit) over windows; the recommended session lead estimate.
    median_peak_r : float
        Median r of those clear peaks.
    n_clear_windows : int
        Windows with a clear peak.
    lead_text : str
        Words of ``lead`` (a leader is named only when tested beyond chance).
    surrogate : SurrogateTest
        Chance baseline of the session CI.
    lead : LeadTest
        Lead test on the same slope signals (:func:`dsp.concordance.lead.lead_test`, WCC
        window and lags as above, circular shifts >= ``min_shift_s``).
    """

    r: np.ndarray
    r_t_end: np.ndarray
    ci: float
    ksi: float
    mean_r: float
    wcc: WCCResult
    median_best_lag_s: float
    median_peak_lag_s: float
    median_peak_r: float
    n_clear_windows: int
    lead_text: str
    surrogate: SurrogateTest
    lead: LeadTest


def analyze_session(
    x: np.ndarray,
    y: np.ndarray,
    fs: float = 4.0,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
    wcc_win_s: float = 30.0,
    wcc_lag_s: float = 5.0,
    wcc_inc_s: float = 5.0,
    n_surrogates: int = 200,
    method: str = "circular",
    min_shift_s: float = 60.0,
    seed: int | np.random.Generator | None = 0,
    lead_min_span_s: float = 150.0,
    lead_bridge_s: float = LEAD_GAP_S,
    wcc_result: WCCResult | None = None,
) -> SessionConcordance:
    """Offline EDA concordance of one session (patient ``x``, clinician ``y``, µS at ``fs``).

    Computes the slope-concordance r series, CI, KSI, mean r, a WCC on the slope signals,
    a surrogate test of the CI and the lead test of the whole session
    (:func:`~dsp.concordance.coupling.recent_lead_test`, whose shifts must spread over
    ``lead_min_span_s``, and which bridges holes up to ``lead_bridge_s``: the HR default;
    :data:`~dsp.concordance.lead.EDA_BRIDGE_S` for EDA), with the same functions the live
    engine uses. ``wcc_result``: the WCC of these slope signals with these settings when the
    caller has it already (:func:`~dsp.concordance.segments.segment_concordance` computes the
    same one).
    """
    x, y = _pair(x, y)
    r = slope_concordance(x, y, fs, slope_s, corr_s, step_s)
    _, t_end = slope_concordance_times(x.size, fs, slope_s, corr_s, step_s)
    sx, sy = slope_signal(x, fs, slope_s), slope_signal(y, fs, slope_s)
    w = wcc(sx, sy, fs, wcc_lag_s, wcc_win_s, wcc_inc_s) if wcc_result is None else wcc_result
    fin = np.isfinite(w.best_lag_s)
    med_lag = float(np.median(w.best_lag_s[fin])) if fin.any() else math.nan
    peaks = [wcc_peak(row, w.lags_s) for row in w.matrix]
    clear = np.array([(r, lag) for r, lag, ok in peaks if ok]).reshape(-1, 2)
    med_peak_r = float(np.median(clear[:, 0])) if clear.size else math.nan
    med_peak_lag = float(np.median(clear[:, 1])) if clear.size else math.nan
    test = concordance_surrogate_test(
        x, y, fs, n_surrogates, method, min_shift_s, statistic="ci",
        slope_s=slope_s, corr_s=corr_s, step_s=step_s, seed=seed,
    )  # fmt: skip
    lead_rng = np.random.default_rng([seed, 1]) if isinstance(seed, int) else seed
    lead = recent_lead_test(
        x, y, fs, slope_s, math.inf, wcc_win_s, wcc_lag_s, wcc_inc_s, n_surrogates, min_shift_s,
        lead_min_span_s, lead_rng, test_fs=fs, bridge_s=lead_bridge_s,
    )  # fmt: skip
    return SessionConcordance(
        r=r,
        r_t_end=t_end,
        ci=marci_index(r),
        ksi=kleinbub_index(r),
        mean_r=float(np.nanmean(r)) if np.isfinite(r).any() else math.nan,
        wcc=w,
        median_best_lag_s=med_lag,
        median_peak_lag_s=med_peak_lag,
        median_peak_r=med_peak_r,
        n_clear_windows=int(clear.shape[0]),
        lead_text=lead.text,
        surrogate=test,
        lead=lead,
    )


def susy_test(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    segment_s: float = 30.0,
    max_lag_s: float = 5.0,
    n_surrogates: int = 100,
    min_shift_s: float = 60.0,
    seed: int | np.random.Generator | None = 0,
) -> SurrogateTest:
    """SUSY effect size (Tschacher & Meier 2020) against circular shifts of the same session.

    SUSY's ES already compares real with shuffled segment pairs, but its spread on unrelated
    pairs is wide (5-95 % about -1.6 to 3.0 on simulated independent dyads), so a value is
    only readable beside its own chance distribution: the ES of ``n_surrogates`` pairings
    with the clinician's series circularly shifted by at least ``min_shift_s``.

    Returns
    -------
    SurrogateTest
        Observed ES, null, one-sided p and percentile; p NaN when the session is too short.
    """
    x, y = _pair(x, y)
    obs = susy(x, y, fs, segment_s, max_lag_s).es
    shift = int(round(min_shift_s * fs))
    if x.size < 2 * shift + 1:
        return empirical_test(obs, np.empty(0), "circular")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    null = []
    for d in random_shifts(x.size, n_surrogates, shift, rng):
        try:
            null.append(susy_es(x, np.roll(y, int(d)), fs, segment_s, max_lag_s))
        except ValueError:  # too few complete segments after the shift moved the gaps
            continue
    return empirical_test(obs, np.array(null), "circular")
