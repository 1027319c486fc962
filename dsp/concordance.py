"""Dyadic physiological concordance: slope concordance, WCC, SUSY, chance baselines, live engine.

All functions take two equal-length float arrays on one common grid (see :mod:`dsp.grid`),
``x`` = person 1 = s1 = **patient**, ``y`` = person 2 = s2 = **clinician**, sampled at ``fs`` Hz.
NaN marks missing or bad-quality samples. Times are seconds relative to the first sample of the
arrays unless stated otherwise.

These are statistical coupling indices between two physiological time series. They say how
much the two signals move together beyond chance; they do not measure any feeling.

Lag sign convention (fixed everywhere, as rMEA ``MEAccf``)
-----------------------------------------------------------
**A positive lag means the clinician follows the patient (the patient leads).** At lag
``+k`` the patient's sample at ``t`` is paired with the clinician's sample at ``t + k``.
Use :func:`lead_text` to turn a lag into words ("patient leads by 2.0 s").
SUSY's own lag axis is the R ``ccf`` axis (the opposite sign); :class:`SUSYResult` documents it
and its ``z_lead1`` always means "patient leads".

Measures
--------
* :func:`slope_concordance`, :func:`marci_index` (CI), :func:`kleinbub_index` (KSI):
  Marci et al. (2007) slope concordance with DyadSync's ``marciIndex`` / ``kleinbubIndex``.
* :func:`wcc`: windowed cross-lagged correlation, numerically identical to rMEA ``MEAccf``.
* :func:`susy`: Surrogate Synchrony (Tschacher & Meier 2020), identical to the SUSY R package
  (``permutation=FALSE``, ``restrict.surrogates=FALSE``).
* :func:`wcc_peak`, :func:`lead_text`: peak picking nearest lag 0 and its wording.
* :func:`slope_series`, :func:`slope_signal`, :func:`rolling_pearson`: the building blocks
  (per-second slopes, per-sample slopes for WCC, sliding Pearson r).
* :func:`concordance_surrogate_test`, :func:`analyze_session`: offline chance baselines
  (see :mod:`dsp.surrogates` for pseudo-dyads and :mod:`dsp.segments` for marker labels).
* :func:`hr_coherence`, :func:`analyze_hr_session`: HR synchrony (slope CI / WCC on HR and
  magnitude-squared coherence in the LF and HF bands).
* :class:`LiveDyad` / :class:`DyadConfig` / :class:`DyadMetrics`: the rolling engine, which
  uses exactly the same slope / correlation / WCC functions as the offline analysis.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from scipy import signal as _signal

from dsp.surrogates import (
    SurrogateTest,
    circular_shift_indices,
    empirical_test,
    percentile_of,
    random_shifts,
    segment_shuffle_indices,
)

__all__ = [
    "DyadConfig",
    "DyadMetrics",
    "HRCoherence",
    "HRSynchrony",
    "LiveDyad",
    "SUSYResult",
    "SessionConcordance",
    "WCCResult",
    "analyze_hr_session",
    "analyze_session",
    "concordance_surrogate_test",
    "hr_coherence",
    "kleinbub_index",
    "lead_text",
    "marci_index",
    "rolling_pearson",
    "slope_concordance",
    "slope_concordance_times",
    "slope_series",
    "slope_signal",
    "susy",
    "wcc",
    "wcc_peak",
]

#: Minimum peak correlation for a "clear" WCC peak / lead statement.
PEAK_THRESHOLD = 0.3
#: Clip applied by DyadSync ``marciIndex`` and by rMEA's Fisher z.
CI_CLIP = 10.0
FISHER_CLIP = 10.0


# --------------------------------------------------------------------------- helpers
def _as_samples(seconds: float, fs: float, name: str) -> int:
    """``seconds * fs`` as an int, refusing values that are not whole samples."""
    v = seconds * fs
    n = int(round(v))
    if abs(v - n) > 1e-9 * max(1.0, abs(v)):
        raise ValueError(f"{name} = {seconds} s is not a whole number of samples at {fs} Hz")
    return n


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("x (patient) and y (clinician) must be 1-D arrays of equal length")
    return x, y


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN; NaN for rows without finite values (R ``mean(na.rm=TRUE)``)."""
    ok = ~np.isnan(a)
    n = ok.sum(axis=-1)
    s = np.where(ok, a, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _nan_argmax_rows(a: np.ndarray) -> np.ndarray:
    """First index of the row maximum ignoring NaN (R ``which.max``); -1 for all-NaN rows."""
    filled = np.where(np.isnan(a), -np.inf, a)
    idx = np.argmax(filled, axis=-1)
    return np.where(np.isnan(a).all(axis=-1), -1, idx)


# --------------------------------------------------------------------------- slopes
def slope_series(x: np.ndarray, fs: float, slope_s: float = 5.0, step_s: float = 1.0) -> np.ndarray:
    """Average slope of ``x`` over ``slope_s`` windows, one value every ``step_s``.

    Slope ``k`` is ``(x[k*S + W] - x[k*S]) / slope_s`` with ``S = step_s * fs`` and
    ``W = slope_s * fs`` samples: last minus first sample of the window covering
    ``[k * step_s, k * step_s + slope_s]`` seconds (relative to ``x[0]``), divided by its
    duration. Units: unit of ``x`` per second (µS/s for EDA). A slope is NaN when any sample
    inside its window is NaN.

    Parameters
    ----------
    x : numpy.ndarray
        Signal on the grid.
    fs : float
        Grid rate (Hz).
    slope_s : float
        Slope window (s); must be a whole number of samples. Default 5 s (Marci et al. 2007).
    step_s : float
        Step between slopes (s); whole number of samples. Default 1 s.

    Returns
    -------
    numpy.ndarray
        ``floor((len(x) - 1 - W) / S) + 1`` slopes (empty when ``x`` is shorter than a window).
    """
    x = np.asarray(x, dtype=float)
    w = _as_samples(slope_s, fs, "slope_s")
    s = _as_samples(step_s, fs, "step_s")
    if w < 1 or s < 1:
        raise ValueError("slope_s and step_s must be at least one sample")
    n = x.shape[-1]
    if n - 1 < w:
        return np.empty(x.shape[:-1] + (0,))
    k = (n - 1 - w) // s + 1
    if s == 1 and not np.isnan(x).any():  # the live WCC input: plain slices, nothing masked
        return (x[..., w : w + k] - x[..., :k]) / slope_s
    starts = np.arange(k) * s
    out = (x[..., starts + w] - x[..., starts]) / slope_s
    bad = np.isnan(x).astype(np.int64)
    cb = np.concatenate([np.zeros(x.shape[:-1] + (1,), np.int64), np.cumsum(bad, axis=-1)], -1)
    nbad = cb[..., starts + w + 1] - cb[..., starts]
    return np.where(nbad > 0, np.nan, out)


def _last_axis_windows(x: np.ndarray, m: int) -> np.ndarray:
    """``sliding_window_view(x, m, axis=-1)`` (read-only) without its per-call overhead."""
    if x.shape[-1] == m:  # one window: a plain reshape
        return x[..., None, :]
    st = x.strides
    shape = x.shape[:-1] + (x.shape[-1] - m + 1, m)
    return as_strided(x, shape, st[:-1] + (st[-1], st[-1]), writeable=False)


def rolling_pearson(a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """Pearson r of ``a`` and ``b`` over sliding windows of ``m`` values (step 1).

    Works on the last axis and broadcasts leading axes (used to evaluate hundreds of
    surrogates at once). A window with any NaN, or in which either series is constant
    (variance below 1e-24 of its mean square), gives NaN. Results are clipped to [-1, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n - m + 1)``; element ``j`` correlates values ``j .. j + m - 1``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if m < 2:
        raise ValueError("a correlation window needs at least 2 values")
    n = a.shape[-1]
    if n < m:
        return np.empty(np.broadcast_shapes(a.shape[:-1], b.shape[:-1]) + (0,))
    wa = _last_axis_windows(a, m)
    wb = _last_axis_windows(b, m)
    # wa.mean(axis=-1, keepdims=True), without the wrapper: the same sum / count
    da = wa - np.add.reduce(wa, axis=-1, keepdims=True) / m
    db = wb - np.add.reduce(wb, axis=-1, keepdims=True) / m
    sab = np.einsum("...i,...i->...", da, db)
    saa = np.einsum("...i,...i->...", da, da)
    sbb = np.einsum("...i,...i->...", db, db)
    qa = np.einsum("...i,...i->...", wa, wa)
    qb = np.einsum("...i,...i->...", wb, wb)
    const = (saa <= 1e-24 * qa) | (sbb <= 1e-24 * qb)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sab / np.sqrt(saa * sbb)
    r = np.where(const, np.nan, r)
    return np.clip(r, -1.0, 1.0)


def _corr_values(corr_s: float, step_s: float) -> int:
    m = corr_s / step_s
    mi = int(round(m))
    if abs(m - mi) > 1e-9 or mi < 2:
        raise ValueError("corr_s must be a whole multiple (>= 2) of step_s")
    return mi


def slope_concordance(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
) -> np.ndarray:
    """Marci slope concordance r(t): correlation of the two people's slope series.

    Each person's signal becomes a slope series (:func:`slope_series`, ``slope_s`` windows in
    ``step_s`` steps); the Pearson r of the two slope series over ``corr_s / step_s`` consecutive
    slopes (15 by default) is computed in steps of one slope.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician signal (e.g. skin conductance, µS) on the same grid.
    fs : float
        Grid rate (Hz).
    slope_s : float
        Slope window (s), default 5.
    corr_s : float
        Correlation window (s) = number of slopes times ``step_s``, default 15.
    step_s : float
        Step (s) between slopes and between correlations, default 1.

    Returns
    -------
    numpy.ndarray
        One r per step. ``r[j]`` uses data from ``j * step_s`` to
        ``j * step_s + corr_s - step_s + slope_s`` seconds after the first sample (see
        :func:`slope_concordance_times`). NaN where either person has a NaN sample in that span
        or a constant slope series.
    """
    x, y = _pair(x, y)
    m = _corr_values(corr_s, step_s)
    sx = slope_series(x, fs, slope_s, step_s)
    sy = slope_series(y, fs, slope_s, step_s)
    return rolling_pearson(sx, sy, m)


def slope_concordance_times(
    n_samples: int,
    fs: float,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end time (s after the first sample) of the data behind each r of
    :func:`slope_concordance` for a signal of ``n_samples`` samples.

    The live engine time-stamps each r with its end time (the newest sample it uses).
    """
    w = _as_samples(slope_s, fs, "slope_s")
    s = _as_samples(step_s, fs, "step_s")
    m = _corr_values(corr_s, step_s)
    k = max((n_samples - 1 - w) // s + 1, 0) if n_samples - 1 >= w else 0
    nr = max(k - m + 1, 0)
    start = np.arange(nr) * step_s
    return start, start + (m - 1) * step_s + slope_s


def marci_index(r: np.ndarray) -> float:
    """Marci concordance index ``CI = ln(sum(r > 0) / |sum(r < 0)|)``, clipped to [-10, 10].

    Follows DyadSync ``marciIndex``: NaN values are dropped; only positive correlations
    -> +10, only negative -> -10; no non-zero values (or no values) -> NaN.
    Worked value: ``marci_index([0.5, 0.5, -0.25]) == ln 4 = 1.3863``.
    """
    a = np.asarray(r, dtype=float).ravel()
    a = a[~np.isnan(a)]
    pos = a[a > 0].sum()
    neg = abs(a[a < 0].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = float(np.log(pos / neg)) if neg != 0 else (math.inf if pos > 0 else math.nan)
    if math.isnan(ci):
        return math.nan
    return float(min(max(ci, -CI_CLIP), CI_CLIP))


def kleinbub_index(r: np.ndarray, threshold: float = 0.0) -> float:
    """Kleinbub session index ``KSI = median(r[r > t]) * count(r > t) / count(r)``.

    Follows DyadSync ``kleinbubIndex``: NaN values are dropped before counting; NaN when no
    values remain or none exceeds ``threshold``. Worked value:
    ``kleinbub_index([0.2, 0.4, -0.1, 0.6]) == 0.4 * 3 / 4 = 0.30``.
    """
    a = np.asarray(r, dtype=float).ravel()
    a = a[~np.isnan(a)]
    b = a[a > threshold]
    if a.size == 0 or b.size == 0:
        return math.nan
    v = np.sort(b)  # np.median(b), without its wrapper overhead
    h = v.size // 2
    med = v[h] if v.size % 2 else (v[h - 1] + v[h]) / 2.0
    return float(med * b.size / a.size)


# --------------------------------------------------------------------------- WCC (rMEA)
@dataclass(frozen=True)
class WCCResult:
    """Windowed cross-lagged correlation, rMEA ``MEAccf`` semantics.

    Attributes
    ----------
    matrix : numpy.ndarray
        ``(n_windows, n_lags)`` correlations (or Fisher z / absolute values if requested);
        columns are lags ascending from ``-lag_s`` to ``+lag_s`` in steps of one sample.
    lags_s : numpy.ndarray
        Lag of each column (s). Positive = clinician follows (patient leads).
    lag_zero : numpy.ndarray
        Column at lag 0, per window.
    s1_lead, s2_lead : numpy.ndarray
        Per window mean over positive lags (patient leads) / negative lags (clinician leads),
        NaN ignored; all NaN when ``lag_s == 0``.
    all_lags : numpy.ndarray
        Per window mean over all lags.
    best_lag_s : numpy.ndarray
        Per window lag (s) of the maximum (first maximum; NaN for all-NaN rows).
    grand_average : float
        Mean of all finite matrix values.
    window_start_s : numpy.ndarray
        Start of each window (s after the first sample); window ``w`` uses samples
        ``[w*inc, w*inc + (win + lag)*fs)``.
    win_s, lag_s, inc_s, fs : float
        Parameters used.
    fisher_z, absolute : bool
        Transformations applied to ``matrix`` (and hence to all summaries).
    """

    matrix: np.ndarray
    lags_s: np.ndarray
    lag_zero: np.ndarray
    s1_lead: np.ndarray
    s2_lead: np.ndarray
    all_lags: np.ndarray
    best_lag_s: np.ndarray
    grand_average: float
    window_start_s: np.ndarray
    win_s: float
    lag_s: float
    inc_s: float
    fs: float
    fisher_z: bool
    absolute: bool


@lru_cache(maxsize=32)
def _lag_gather(w: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Gather indices ``(2 * lag + 1, w)`` of the x and y blocks at lags ``-lag..lag``."""
    k = np.arange(w)
    off_a = np.concatenate([np.arange(lag, 0, -1), np.zeros(lag + 1, dtype=int)])
    off_b = np.concatenate([np.zeros(lag, dtype=int), np.arange(lag + 1)])
    ia, ib = off_a[:, None] + k, off_b[:, None] + k
    ia.setflags(write=False)
    ib.setflags(write=False)
    return ia, ib


def _lagged_block_corr(xw: np.ndarray, yw: np.ndarray, w: int, lag: int) -> np.ndarray:
    """Correlations of blocks ``(n, w + lag)`` at lags ``-lag..lag``, rMEA rules.

    Returns ``(n, 2 * lag + 1)``. Vectorised over lags, chunked over windows to bound memory.
    """
    n_win = xw.shape[0]
    n_lags = 2 * lag + 1
    out = np.full((n_win, n_lags), np.nan)
    chunk = max(1, 400_000 // (n_lags * w))
    for c0 in range(0, n_win, chunk):
        xs = xw[c0 : c0 + chunk]
        ys = yw[c0 : c0 + chunk]
        nb = xs.shape[0]
        # lags -lag..-1: x offset |k|, y offset 0; lags 0..lag: x offset 0, y offset k.
        ia, ib = _lag_gather(w, lag)
        a = xs.take(ia, axis=1)  # (nb, 2 * lag + 1, w), C-contiguous like a concatenation
        b = ys.take(ib, axis=1)
        if not (np.isnan(xs).any() or np.isnan(ys).any()):
            # no missing values: the same arithmetic without the masks
            differ = (a != b).sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                da = a - (a.sum(axis=2) / w)[..., None]
                db = b - (b.sum(axis=2) / w)[..., None]
                sab = np.einsum("ijk,ijk->ij", da, db)
                saa = np.einsum("ijk,ijk->ij", da, da)
                sbb = np.einsum("ijk,ijk->ij", db, db)
                r = sab / np.sqrt(saa * sbb)
            const = (a.max(axis=2) == a.min(axis=2)) | (b.max(axis=2) == b.min(axis=2))
            bad = (differ < 2) | const
            out[c0 : c0 + nb] = np.where(bad, np.nan, np.clip(r, -1.0, 1.0))
            continue
        m = ~(np.isnan(a) | np.isnan(b))
        # rMEA: fewer than 2 complete pairs with x != y -> NA.
        differ = (m & (a != b)).sum(axis=2)
        cnt = m.sum(axis=2)
        a0 = np.where(m, a, 0.0)
        b0 = np.where(m, b, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ma = a0.sum(axis=2) / cnt
            mb = b0.sum(axis=2) / cnt
            da = np.where(m, a0 - ma[..., None], 0.0)
            db = np.where(m, b0 - mb[..., None], 0.0)
            sab = np.einsum("ijk,ijk->ij", da, db)
            saa = np.einsum("ijk,ijk->ij", da, da)
            sbb = np.einsum("ijk,ijk->ij", db, db)
            r = sab / np.sqrt(saa * sbb)
        # R's cor: a zero standard deviation (constant complete values) -> NA.
        const = (np.where(m, a, -np.inf).max(axis=2) == np.where(m, a, np.inf).min(axis=2)) | (
            np.where(m, b, -np.inf).max(axis=2) == np.where(m, b, np.inf).min(axis=2)
        )
        bad = (differ < 2) | const
        out[c0 : c0 + nb] = np.where(bad, np.nan, np.clip(r, -1.0, 1.0))
    return out


def wcc(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    lag_s: float,
    win_s: float,
    inc_s: float,
    fisher_z: bool = False,
    absolute: bool = False,
) -> WCCResult:
    """Windowed cross-lagged correlation, numerically identical to rMEA ``MEAccf``.

    With ``W = win_s*fs``, ``L = lag_s*fs`` and ``I = inc_s*fs`` samples there are
    ``n_win = ceil((N - W - L + 1) / I)`` windows; window ``w`` is the block of samples
    ``[w*I, w*I + W + L)``. For lag ``k >= 0`` (samples, every sample from ``-L`` to ``L``)
    ``r = cor(x_block[0:W], y_block[k:k+W])`` - the clinician's later samples, so a high r at
    positive lag means the clinician follows the patient; for ``k < 0`` the roles swap.
    A block with more than half of its samples NaN in either series gives a NaN row;
    correlations use complete pairs; fewer than 2 complete pairs with ``x != y``, or a
    constant series, give NaN. ``fisher_z`` applies ``atanh`` with ``|z|`` clipped at 10,
    then ``absolute`` takes absolute values; all summaries use the transformed matrix.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series (use slopes / first differences, not raw SC levels).
    fs : float
        Rate (Hz).
    lag_s, win_s, inc_s : float
        Maximum lag, window and increment (s). rMEA requires whole seconds; here they only
        need to be whole numbers of samples.
    fisher_z, absolute : bool
        rMEA's ``r2Z`` and ``ABS`` (note: rMEA defaults both to True, we default to False).

    Returns
    -------
    WCCResult
        Empty (0 windows) when the series is shorter than one block. rMEA stops with an error
        in that case, and also (an rMEA defect) whenever a block is more than half NaN.
    """
    x, y = _pair(x, y)
    w = _as_samples(win_s, fs, "win_s")
    lag = _as_samples(lag_s, fs, "lag_s")
    inc = _as_samples(inc_s, fs, "inc_s")
    if w < 2 or inc < 1 or lag < 0:
        raise ValueError("need win_s >= 2 samples, inc_s >= 1 sample and lag_s >= 0")
    n = x.size
    lags = np.arange(-lag, lag + 1)
    n_win = max(math.ceil((n - w - lag + 1) / inc), 0)
    blk = w + lag
    if n_win > 0:
        xb = sliding_window_view(x, blk)[::inc][:n_win]
        yb = sliding_window_view(y, blk)[::inc][:n_win]
        mat = _lagged_block_corr(xb, yb, w, lag)
        too_many_nan = np.maximum(np.isnan(xb).sum(1), np.isnan(yb).sum(1)) > blk / 2
        mat[too_many_nan] = np.nan
    else:
        mat = np.empty((0, lags.size))
    if fisher_z:
        with np.errstate(divide="ignore"):
            mat = np.clip(np.arctanh(mat), -FISHER_CLIP, FISHER_CLIP)
    if absolute:
        mat = np.abs(mat)
    lags_s = lags / fs
    empty = np.empty(0)
    if lag > 0:
        s1 = _nanmean_rows(mat[:, lag + 1 :])
        s2 = _nanmean_rows(mat[:, :lag])
    else:
        s1 = s2 = np.full(n_win, np.nan)
    best = _nan_argmax_rows(mat) if n_win else empty.astype(int)
    best_lag = np.where(best >= 0, lags_s[np.clip(best, 0, None)], np.nan) if n_win else empty
    finite = mat[~np.isnan(mat)]
    return WCCResult(
        matrix=mat,
        lags_s=lags_s,
        lag_zero=mat[:, lag].copy(),
        s1_lead=s1,
        s2_lead=s2,
        all_lags=_nanmean_rows(mat) if n_win else empty,
        best_lag_s=best_lag,
        grand_average=float(finite.mean()) if finite.size else math.nan,
        window_start_s=np.arange(n_win) * (inc / fs),
        win_s=w / fs,
        lag_s=lag / fs,
        inc_s=inc / fs,
        fs=float(fs),
        fisher_z=bool(fisher_z),
        absolute=bool(absolute),
    )


def wcc_peak(
    row: np.ndarray, lags_s: np.ndarray, threshold: float = PEAK_THRESHOLD
) -> tuple[float, float, bool]:
    """Peak of one WCC row nearest lag 0.

    Local maxima of the lag profile (a point not below its finite neighbours) that reach
    ``threshold`` are candidates; the one with the smallest ``|lag|`` wins (ties: higher r).
    Without any candidate the global maximum is returned and the peak is not clear.

    Returns
    -------
    (peak_r, lag_s, clear)
        ``clear`` is False when the peak is below ``threshold``, sits at the lag limit, or the
        row is all NaN (then ``peak_r`` and ``lag_s`` are NaN). Lag sign: positive = patient
        leads.
    """
    r = np.asarray(row, dtype=float)
    lags_s = np.asarray(lags_s, dtype=float)
    if r.ndim == 1 and r.size <= 256 and lags_s.shape == r.shape:
        return _wcc_peak_small(r.tolist(), lags_s.tolist(), threshold)
    fin = np.isfinite(r)
    if not fin.any():
        return math.nan, math.nan, False
    v = np.where(fin, r, -np.inf)
    ninf = np.full(1, -np.inf)
    left = np.concatenate([ninf, v[:-1]])
    right = np.concatenate([v[1:], ninf])
    is_max = fin & (v >= left) & (v >= right)
    cand = np.flatnonzero(is_max & (v >= threshold))
    if cand.size:
        order = np.lexsort((-v[cand], np.abs(lags_s[cand])))
        i = int(cand[order[0]])
        clear = 0 < i < r.size - 1
    else:
        i = int(np.argmax(v))
        clear = False
    return float(r[i]), float(lags_s[i]), bool(clear)


def _wcc_peak_small(r: list, lags: list, threshold: float) -> tuple[float, float, bool]:
    """:func:`wcc_peak` of one short row in Python floats (same choice, same values)."""
    n = len(r)
    v = [x if math.isfinite(x) else -math.inf for x in r]
    if not any(math.isfinite(x) for x in r):
        return math.nan, math.nan, False
    best = None
    for i in range(n):
        if not math.isfinite(r[i]):
            continue
        left = v[i - 1] if i > 0 else -math.inf
        right = v[i + 1] if i < n - 1 else -math.inf
        if v[i] >= left and v[i] >= right and v[i] >= threshold:
            key = (abs(lags[i]), -v[i], i)  # nearest lag 0, then higher r, then first
            if best is None or key < best:
                best = key
    if best is not None:
        i = best[2]
        clear = 0 < i < n - 1
    else:
        i = max(range(n), key=lambda k: (v[k], -k))  # np.argmax: first maximum
        clear = False
    return float(r[i]), float(lags[i]), bool(clear)


def lead_text(
    lag_s: float,
    peak_r: float,
    threshold: float = PEAK_THRESHOLD,
    clear: bool | None = None,
) -> str:
    """Words for a lag: ``"patient leads by 2.0 s"``, ``"clinician leads by 1.5 s"``,
    ``"in step (no lead)"`` or ``"no clear lead"``.

    Parameters
    ----------
    lag_s : float
        Lag (s), positive = clinician follows = patient leads (rMEA convention).
    peak_r : float
        Correlation at that lag; below ``threshold`` (default 0.3) or NaN -> "no clear lead".
    clear : bool, optional
        Result of :func:`wcc_peak`; False (e.g. peak at the lag limit) -> "no clear lead".
    """
    if clear is False or not (math.isfinite(lag_s) and math.isfinite(peak_r)):
        return "no clear lead"
    if peak_r < threshold:
        return "no clear lead"
    if abs(lag_s) < 0.05:
        return "in step (no lead)"
    who = "patient" if lag_s > 0 else "clinician"
    return f"{who} leads by {abs(lag_s):.1f} s"


# --------------------------------------------------------------------------- SUSY
@dataclass(frozen=True)
class SUSYResult:
    """Surrogate Synchrony (SUSY R package, ``as.data.frame`` columns).

    Lag axis (``lags_s``, ascending ``-max_lag_s .. +max_lag_s``) is R ``ccf``'s: the value at
    lag ``k`` estimates ``cor(patient[t + k], clinician[t])``, so **negative lags = patient
    leads** here (opposite to :func:`wcc`). ``lead1`` = patient (s1) leads = negative lags,
    ``lead2`` = clinician (s2) leads = positive lags, as in SUSY.

    Attributes
    ----------
    z, z_pseudo : float
        Mean over lags of the real / pseudo profile of mean |Fisher z| (SUSY "Z", "Z-Pseudo").
    es : float
        ``(z - z_pseudo) / sd(pseudo profile)`` (sample SD over lags).
    z_lead1, z_lead2, es_lead1, es_lead2 : float
        Same over negative lags only (patient leads) / positive lags only (clinician leads).
    z_noabs, z_pseudo_noabs, es_noabs : float
        Signed Fisher z variants ("Z(noAbs)", "Z(Pseudo-noAbs)", "ES(noAbs)").
    sd_z, sd_z_pseudo : float
        SD over lags of the real / pseudo |z| profiles.
    pct_above_pseudo, pct_above_pseudo_noabs : float
        Percent of lags where the real profile exceeds the pseudo one ("%>Pseudo").
    z_in_phase, z_anti_phase : float
        Mean of the signed real profile over lags where it is >= 0 / < 0 (NaN if none).
    n_in_phase, n_anti_phase : int
        Number of such lags.
    n_segments : int
        Number of segments ("n(Segmente)").
    n_samples : int
        Complete sample pairs used ("n(data)").
    lags_s : numpy.ndarray
        Lag axis (s).
    profile_real, profile_pseudo, profile_real_noabs, profile_pseudo_noabs : numpy.ndarray
        Per-lag mean |z| (and signed z) of real and pseudo segment pairs.
    profile_real_r, profile_pseudo_r : numpy.ndarray
        Per-lag mean |r| of real and pseudo segment pairs.
    """

    z: float
    z_pseudo: float
    es: float
    z_lead1: float
    z_lead2: float
    es_lead1: float
    es_lead2: float
    z_noabs: float
    z_pseudo_noabs: float
    es_noabs: float
    sd_z: float
    sd_z_pseudo: float
    pct_above_pseudo: float
    pct_above_pseudo_noabs: float
    z_in_phase: float
    z_anti_phase: float
    n_in_phase: int
    n_anti_phase: int
    n_segments: int
    n_samples: int
    lags_s: np.ndarray
    profile_real: np.ndarray
    profile_pseudo: np.ndarray
    profile_real_noabs: np.ndarray
    profile_pseudo_noabs: np.ndarray
    profile_real_r: np.ndarray
    profile_pseudo_r: np.ndarray


def _sd(a: np.ndarray) -> float:
    """Sample SD (R ``sd``); NaN for fewer than 2 values."""
    a = np.asarray(a, dtype=float)
    return float(np.std(a, ddof=1)) if a.size >= 2 else math.nan


def _mean(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    return float(a.mean()) if a.size else math.nan


def susy(x: np.ndarray, y: np.ndarray, fs: float, segment_s: float, max_lag_s: float) -> SUSYResult:
    """Surrogate Synchrony (Tschacher & Meier 2020), as the SUSY R package computes it.

    Incomplete sample pairs are removed first (R ``complete.cases``), then the series is cut
    into ``round(n / (segment_s*fs) - 0.499999)`` non-overlapping segments (tail dropped).
    For every ordered segment pair ``(i, h)`` the R ``ccf`` (segment-wise demeaning, 1/n
    normalisation, lags ``-max_lag_s*fs .. +max_lag_s*fs``; value at lag k estimates
    ``cor(x_i[t + k], y_h[t])``) is Fisher-z transformed (``atanh``, unclipped). Real pairs are
    ``i == h``; surrogates are all ``i != h``. Pairs whose ccf is NaN (a constant segment) add
    nothing but still count in the denominators, as in SUSY.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series.
    fs : float
        Rate (Hz). SUSY takes whole Hz; here ``segment_s * fs`` and ``max_lag_s * fs`` only
        need to be whole numbers of samples.
    segment_s : float
        Segment length (s); at least ``2 * max_lag_s``.
    max_lag_s : float
        Maximum lag (s).

    Returns
    -------
    SUSYResult
    """
    x, y = _pair(x, y)
    rng_ = _as_samples(segment_s, fs, "segment_s")
    ml = _as_samples(max_lag_s, fs, "max_lag_s")
    if rng_ < 2 * ml or rng_ < 2:
        raise ValueError("segment_s must be at least 2 * max_lag_s")
    cc = ~(np.isnan(x) | np.isnan(y))
    a, b = x[cc], y[cc]
    size = a.size
    n_seg = int(np.round(size / rng_ - 0.499999))
    if n_seg < 2:
        raise ValueError("SUSY needs at least 2 complete segments")
    A = a[: n_seg * rng_].reshape(n_seg, rng_)
    B = b[: n_seg * rng_].reshape(n_seg, rng_)
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    sa = np.sqrt((A * A).sum(axis=1) / rng_)
    sb = np.sqrt((B * B).sum(axis=1) / rng_)
    lags = np.arange(-ml, ml + 1)
    # C[j, i, h] = ccf of segment i of x with segment h of y at lag lags[j].
    C = np.empty((lags.size, n_seg, n_seg))
    for j, k in enumerate(lags):
        if k >= 0:
            C[j] = A[:, k:] @ B[:, : rng_ - k].T
        else:
            C[j] = A[:, : rng_ + k] @ B[:, -k:].T
    with np.errstate(invalid="ignore", divide="ignore"):
        C = C / rng_ / (sa[:, None] * sb[None, :])
        C = np.clip(C, -1.0, 1.0)
        Z = 0.5 * np.log((1.0 + C) / (1.0 - C))
    valid = ~np.isnan(C[0])  # SUSY skips a pair when its first ccf value is NaN
    Zv = np.where(valid[None], Z, 0.0)
    Cv = np.where(valid[None], C, 0.0)
    eye = np.eye(n_seg, dtype=bool)[None]
    n_pseudo = n_seg * (n_seg - 1)
    real_z = np.where(eye, np.abs(Zv), 0.0).sum(axis=(1, 2)) / n_seg
    real_zs = np.where(eye, Zv, 0.0).sum(axis=(1, 2)) / n_seg
    real_r = np.where(eye, np.abs(Cv), 0.0).sum(axis=(1, 2)) / n_seg
    ps_z = np.where(~eye, np.abs(Zv), 0.0).sum(axis=(1, 2)) / n_pseudo
    ps_zs = np.where(~eye, Zv, 0.0).sum(axis=(1, 2)) / n_pseudo
    ps_r = np.where(~eye, np.abs(Cv), 0.0).sum(axis=(1, 2)) / n_pseudo
    lead1 = slice(0, ml)
    lead2 = slice(ml + 1, 2 * ml + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        es = (_mean(real_z) - _mean(ps_z)) / _sd(ps_z)
        es1 = (_mean(real_z[lead1]) - _mean(ps_z[lead1])) / _sd(ps_z[lead1])
        es2 = (_mean(real_z[lead2]) - _mean(ps_z[lead2])) / _sd(ps_z[lead2])
        es_na = (_mean(real_zs) - _mean(ps_zs)) / _sd(ps_zs)
    nl = lags.size
    inph = real_zs[real_zs >= 0]
    anti = real_zs[real_zs < 0]
    return SUSYResult(
        z=_mean(real_z),
        z_pseudo=_mean(ps_z),
        es=float(es),
        z_lead1=_mean(real_z[lead1]),
        z_lead2=_mean(real_z[lead2]),
        es_lead1=float(es1),
        es_lead2=float(es2),
        z_noabs=_mean(real_zs),
        z_pseudo_noabs=_mean(ps_zs),
        es_noabs=float(es_na),
        sd_z=_sd(real_z),
        sd_z_pseudo=_sd(ps_z),
        pct_above_pseudo=100.0 * float((real_z > ps_z).sum()) / nl,
        pct_above_pseudo_noabs=100.0 * float((real_zs > ps_zs).sum()) / nl,
        z_in_phase=_mean(inph),
        z_anti_phase=_mean(anti),
        n_in_phase=int(inph.size),
        n_anti_phase=int(anti.size),
        n_segments=n_seg,
        n_samples=int(size),
        lags_s=lags / fs,
        profile_real=real_z,
        profile_pseudo=ps_z,
        profile_real_noabs=real_zs,
        profile_pseudo_noabs=ps_zs,
        profile_real_r=real_r,
        profile_pseudo_r=ps_r,
    )


# --------------------------------------------------------------------------- offline baselines
_STATISTICS = {
    "ci": marci_index,
    "ksi": kleinbub_index,
    "mean_r": lambda r: float(np.nanmean(r)) if np.isfinite(r).any() else math.nan,
}


def _stat_rows(r: np.ndarray, statistic: str) -> np.ndarray:
    """Apply a session statistic to each row of a 2-D array of r series."""
    if statistic == "ci":
        ok = ~np.isnan(r)
        pos = np.where(ok & (r > 0), r, 0.0).sum(axis=1)
        neg = np.abs(np.where(ok & (r < 0), r, 0.0).sum(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = np.log(pos / neg)
        return np.clip(ci, -CI_CLIP, CI_CLIP)
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
    obs = _stat_rows(rolling_pearson(sx, sy, m)[None, :], statistic)[0]
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
        null[c0 : c0 + chunk] = _stat_rows(rolling_pearson(sx[None, :], sy[sub], m), statistic)
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
        Words for ``median_peak_lag_s``.
    surrogate : SurrogateTest
        Chance baseline of the session CI.
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


def slope_signal(x: np.ndarray, fs: float, slope_s: float = 5.0) -> np.ndarray:
    """Slope of ``x`` over ``slope_s`` at every grid sample (slope series with a one-sample
    step), aligned so that value ``i`` is the slope over ``[i, i + slope_s*fs]``.

    Used as WCC input at full grid resolution (lags in 1/fs steps). Units of ``x`` per second.
    """
    return slope_series(x, fs, slope_s, 1.0 / fs)


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
) -> SessionConcordance:
    """Offline EDA concordance of one session (patient ``x``, clinician ``y``, µS at ``fs``).

    Computes the slope-concordance r series, CI, KSI, mean r, a WCC on the slope signals
    and a surrogate test of the CI, with the same functions the live engine uses.
    """
    x, y = _pair(x, y)
    r = slope_concordance(x, y, fs, slope_s, corr_s, step_s)
    _, t_end = slope_concordance_times(x.size, fs, slope_s, corr_s, step_s)
    w = wcc(
        slope_signal(x, fs, slope_s),
        slope_signal(y, fs, slope_s),
        fs,
        wcc_lag_s,
        wcc_win_s,
        wcc_inc_s,
    )
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
        lead_text=lead_text(med_peak_lag, med_peak_r),
        surrogate=test,
    )


# --------------------------------------------------------------------------- HR coherence
@dataclass(frozen=True)
class HRCoherence:
    """Magnitude-squared coherence of two HR series (Welch, linear detrend per segment).

    Attributes
    ----------
    lf, hf : float
        Mean coherence (0..1) in the LF (0.04-0.15 Hz) and HF (0.15-0.40 Hz) bands.
    f, cxy : numpy.ndarray
        Frequency axis (Hz) and coherence.
    duration_s : float
        Length of the analysed stretch (s).
    n_segments : int
        Welch segments averaged. Coherence of unrelated signals is biased upward by about
        ``1 / n_segments``; compare with a surrogate baseline before interpreting.
    """

    lf: float
    hf: float
    f: np.ndarray
    cxy: np.ndarray
    duration_s: float
    n_segments: int


def _msc(
    a: np.ndarray, b: np.ndarray, fs: float, nper: int, nover: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Welch magnitude-squared coherence, same numbers as ``scipy.signal.coherence`` with a
    periodic Hann window, linear detrend per segment and mean averaging (vectorised, ~10x
    cheaper because it skips scipy's per-segment least squares)."""
    step = nper - nover
    sa = sliding_window_view(a, nper)[::step]
    sb = sliding_window_view(b, nper)[::step]
    t = np.arange(nper, dtype=float)
    u1 = np.full(nper, 1.0 / math.sqrt(nper))
    tc = t - t.mean()
    u2 = tc / np.sqrt(tc @ tc)
    sa = sa - np.outer(sa @ u1, u1) - np.outer(sa @ u2, u2)
    sb = sb - np.outer(sb @ u1, u1) - np.outer(sb @ u2, u2)
    win = _signal.get_window("hann", nper)
    fa = np.fft.rfft(sa * win, axis=1)
    fb = np.fft.rfft(sb * win, axis=1)
    pxx = (fa.real**2 + fa.imag**2).mean(axis=0)
    pyy = (fb.real**2 + fb.imag**2).mean(axis=0)
    pxy = (np.conj(fa) * fb).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.abs(pxy) ** 2 / (pxx * pyy)
    return np.fft.rfftfreq(nper, 1.0 / fs), c, int(sa.shape[0])


LF_BAND = (0.04, 0.15)
HF_BAND = (0.15, 0.40)


def hr_coherence(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    window_s: float = 300.0,
    min_s: float = 120.0,
    nperseg_s: float = 64.0,
) -> HRCoherence:
    """LF / HF magnitude-squared coherence of the two HR series over their last 2-5 minutes.

    Uses the last ``window_s`` seconds (default 300) of data; the analysed stretch is the
    longest NaN-free run inside that window and must last at least ``min_s`` (default 120 s),
    otherwise the result is NaN. Welch segments of ``nperseg_s`` (default 64 s, i.e.
    1/64 Hz resolution) with 50 % overlap.
    """
    a, b = _pair(hr_patient, hr_clinician)
    nwin = _as_samples(window_s, fs, "window_s")
    a, b = a[-nwin:], b[-nwin:]
    ok = ~(np.isnan(a) | np.isnan(b))
    if not ok.all():
        # longest gap-free run inside the window (the latest one on ties)
        edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
        starts, stops = edges[::2], edges[1::2]
        if starts.size == 0:
            a, b = a[:0], b[:0]
        else:
            lengths = stops - starts
            i = int(np.flatnonzero(lengths == lengths.max())[-1])
            a, b = a[starts[i] : stops[i]], b[starts[i] : stops[i]]
    dur = a.size / fs
    nper = _as_samples(nperseg_s, fs, "nperseg_s")
    if dur < min_s or a.size < nper:
        return HRCoherence(math.nan, math.nan, np.empty(0), np.empty(0), dur, 0)
    f, c, nseg = _msc(a, b, fs, nper, nper // 2)
    lf = (f >= LF_BAND[0]) & (f < LF_BAND[1])
    hf = (f >= HF_BAND[0]) & (f <= HF_BAND[1])
    return HRCoherence(float(c[lf].mean()), float(c[hf].mean()), f, c, dur, int(nseg))


@dataclass(frozen=True)
class HRSynchrony:
    """Offline HR synchrony of a session.

    Attributes
    ----------
    session : SessionConcordance
        Slope concordance, WCC and surrogate test on the HR series (``hr_slope_s`` slopes).
    coherence : HRCoherence
        LF / HF coherence over the last ``coherence_window_s``.
    """

    session: SessionConcordance
    coherence: HRCoherence


def analyze_hr_session(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    hr_slope_s: float = 1.0,
    wcc_win_s: float = 60.0,
    wcc_lag_s: float = 5.0,
    wcc_inc_s: float = 10.0,
    coherence_window_s: float = 300.0,
    n_surrogates: int = 200,
    seed: int | np.random.Generator | None = 0,
) -> HRSynchrony:
    """HR synchrony with the EDA machinery: slope concordance / CI / WCC on HR slopes.

    HR (bpm on the grid, from corrected IBIs) drifts like SC, so the two HR series are
    compared through their ``hr_slope_s`` slopes (default 1 s: first differences, bpm/s).
    """
    s = analyze_session(
        hr_patient, hr_clinician, fs, slope_s=hr_slope_s, wcc_win_s=wcc_win_s,
        wcc_lag_s=wcc_lag_s, wcc_inc_s=wcc_inc_s, n_surrogates=n_surrogates, seed=seed,
    )  # fmt: skip
    return HRSynchrony(s, hr_coherence(hr_patient, hr_clinician, fs, coherence_window_s))


# --------------------------------------------------------------------------- live engine
@dataclass(frozen=True)
class DyadConfig:
    """Settings of :class:`LiveDyad` (all times in seconds, rates in Hz).

    Attributes
    ----------
    fs : float
        Dyad grid rate (4 Hz).
    warmup_s : float
        Data needed before a chance baseline (percentile, chance band) is shown (150 s).
    rolling_n : int
        Number of most recent slope correlations in the rolling CI (60, i.e. the last minute).
    wcc_win_s, wcc_lag_s : float
        Live EDA WCC window (30 s) and maximum lag (±5 s), on the 5 s slope signal at ``fs``.
    hr_wcc_win_s : float
        Live HR WCC window (60 s), lags ±``wcc_lag_s``, on the HR slope signal.
    n_surrogates : int
        Circular-shift surrogates per baseline refresh (200).
    surrogate_every_s : float
        Baseline refresh interval (10 s).
    slope_s, corr_s, step_s : float
        Marci slope window (5 s), correlation window (15 s = 15 slopes), step (1 s).
    hr_slope_s : float
        Slope window for HR (1 s: first differences of HR, bpm/s); HR levels drift as SC does.
    hr_coherence_window_s, hr_coherence_min_s : float
        HR coherence (LF/HF) over the last 300 s, needing at least 120 s without gaps
        (:func:`hr_coherence`); refreshed with the baseline.
    min_shift_s : float
        Smallest circular shift of a surrogate (60 s).
    chance_lo_pct, chance_hi_pct : float
        Percentiles of the surrogate distribution reported as the chance band (5 and 95).
    peak_threshold : float
        Minimum WCC peak r for a clear peak / lead statement (0.3).
    min_valid_fraction : float
        Fraction of finite correlations required in the rolling window for ``valid``
        (1.0: any missing or bad sample of either person in the window makes it invalid).
    max_session_s : float
        Session memory cap (4 h); older steps leave the session indices.
    history_points : int
        Maximum points of the CI sparkline; when full, it is decimated by 2.
    history_every_s : float
        Initial sparkline spacing (10 s); doubles at each decimation.
    seed : int or None
        Seed of the surrogate shifts (None: non-reproducible).
    """

    fs: float = 4.0
    warmup_s: float = 150.0
    rolling_n: int = 60
    wcc_win_s: float = 30
    wcc_lag_s: float = 5
    hr_wcc_win_s: float = 60
    n_surrogates: int = 200
    surrogate_every_s: float = 10
    slope_s: float = 5.0
    corr_s: float = 15.0
    step_s: float = 1.0
    hr_slope_s: float = 1.0
    hr_coherence_window_s: float = 300.0
    hr_coherence_min_s: float = 120.0
    min_shift_s: float = 60.0
    chance_lo_pct: float = 5.0
    chance_hi_pct: float = 95.0
    peak_threshold: float = PEAK_THRESHOLD
    min_valid_fraction: float = 1.0
    max_session_s: float = 4 * 3600.0
    history_points: int = 720
    history_every_s: float = 10.0
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.fs <= 0 or self.rolling_n < 2 or self.n_surrogates < 1:
            raise ValueError("fs must be > 0, rolling_n >= 2 and n_surrogates >= 1")
        for name in ("slope_s", "step_s", "hr_slope_s", "wcc_win_s", "wcc_lag_s", "hr_wcc_win_s"):
            _as_samples(getattr(self, name), self.fs, name)
        _corr_values(self.corr_s, self.step_s)
        if self.warmup_s < 2 * self.min_shift_s + self.corr_s + self.slope_s:
            raise ValueError("warmup_s must leave room for circular shifts >= min_shift_s")


@dataclass(frozen=True)
class DyadMetrics:
    """One frozen snapshot of the live dyad (x = patient, y = clinician).

    Attributes
    ----------
    t : float
        Grid time (s, LSL clock) of the newest sample pushed; NaN before any data.
    elapsed_s : float
        Seconds of grid data pushed so far.
    slope_r : float
        Newest 15 s slope correlation r (patient vs clinician EDA slopes).
    ci_rolling, ksi_rolling, mean_r_rolling : float
        Marci CI, Kleinbub KSI, mean r over the last ``rolling_n`` correlations.
    ci_session, ksi_session : float
        Same over the session (capped at ``max_session_s``).
    percentile : float
        Percentile (0-100) of ``ci_rolling`` among circular-shift surrogates of the session so
        far; NaN while warming up or invalid.
    chance_lo, chance_hi : float
        ``chance_lo_pct`` / ``chance_hi_pct`` percentiles of that surrogate distribution.
    n_surrogates : int
        Finite surrogate values behind the baseline (0 while warming up).
    warming_up : bool
        True until ``warmup_s`` of data and the first baseline exist.
    valid : bool
        False when either person's EDA is missing/bad in the rolling window (fewer than
        ``min_valid_fraction`` finite correlations) or no correlation exists yet.
    wcc_peak_r, wcc_lag_s : float
        Live EDA WCC peak nearest lag 0 and its lag (s, positive = patient leads).
    wcc_clear : bool
        Peak >= ``peak_threshold`` and not at the lag limit.
    lead_text : str
        Words for the EDA lead ("patient leads by 2.0 s", "no clear lead", ...).
    hr_wcc_peak_r, hr_wcc_lag_s : float
        Same on HR (60 s window).
    hr_wcc_clear : bool
        Clear HR peak.
    hr_ci_rolling : float
        Rolling Marci CI of the HR slope correlations.
    hr_valid : bool
        HR rolling window complete for both people.
    hr_lead_text : str
        Words for the HR lead.
    hr_coherence_lf, hr_coherence_hf : float
        Magnitude-squared coherence of the two HR series in LF / HF over the last 2-5 min
        (refreshed every ``surrogate_every_s``; NaN with less than 2 min of gap-free HR).
    eda_history_t, eda_history_ci : numpy.ndarray
        Session sparkline of ``ci_rolling`` (time in s, LSL clock), bounded and decimated.
    n_correlations : int
        Finite EDA slope correlations in the session.
    """

    t: float
    elapsed_s: float
    slope_r: float
    ci_rolling: float
    ksi_rolling: float
    mean_r_rolling: float
    ci_session: float
    ksi_session: float
    percentile: float
    chance_lo: float
    chance_hi: float
    n_surrogates: int
    warming_up: bool
    valid: bool
    wcc_peak_r: float
    wcc_lag_s: float
    wcc_clear: bool
    lead_text: str
    hr_wcc_peak_r: float
    hr_wcc_lag_s: float
    hr_wcc_clear: bool
    hr_ci_rolling: float
    hr_valid: bool
    hr_lead_text: str
    hr_coherence_lf: float
    hr_coherence_hf: float
    eda_history_t: np.ndarray
    eda_history_ci: np.ndarray
    n_correlations: int


class _PairBuffer:
    """Last ``cap`` grid samples of a patient/clinician pair, with absolute sample indices."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.p = np.full(cap, np.nan)
        self.c = np.full(cap, np.nan)
        self.count = 0
        self.total = 0  # samples ever appended

    def append(self, p: np.ndarray, c: np.ndarray) -> None:
        n = n_in = p.size
        if n > self.cap:
            p, c = p[-self.cap :], c[-self.cap :]
            n = self.cap
        keep = min(self.count, self.cap - n)
        if keep < self.count:
            self.p[:keep] = self.p[self.count - keep : self.count]
            self.c[:keep] = self.c[self.count - keep : self.count]
        self.p[keep : keep + n] = p
        self.c[keep : keep + n] = c
        self.count = keep + n
        self.total += n_in

    def span(self, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples with absolute indices ``[i0, i1)`` (must still be held)."""
        base = self.total - self.count
        return self.p[i0 - base : i1 - base], self.c[i0 - base : i1 - base]

    def last(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.count)
        return self.p[self.count - n : self.count], self.c[self.count - n : self.count]


class _ConcordanceStream:
    """Slope series and slope correlations of one modality, step by step (O(1) per step)."""

    def __init__(self, fs: float, slope_s: float, step_s: float, corr_s: float, cap: int) -> None:
        self.fs = fs
        self.slope_s = slope_s
        self.step_s = step_s
        self.w = _as_samples(slope_s, fs, "slope_s")
        self.s = _as_samples(step_s, fs, "step_s")
        self.m = _corr_values(corr_s, step_s)
        self.cap = cap
        self.sp = np.full(cap, np.nan)
        self.sc = np.full(cap, np.nan)
        self.n_slopes = 0
        self.r = np.full(cap, np.nan)
        self.r_end = np.full(cap, np.nan)  # end sample index (absolute) of each r
        self.n_r = 0
        self.n_made = 0  # correlations ever made (n_r plus those dropped by the session cap)
        self.next_step = 0
        self.pos_sum = 0.0
        self.neg_sum = 0.0
        self.n_finite = 0
        self.pos_sorted: list[float] = []

    def _drop(self, arr_n: str, k: int) -> None:
        """Drop the oldest ``k`` slopes / correlations when the session cap is reached."""
        if arr_n == "slopes":
            self.sp[: self.n_slopes - k] = self.sp[k : self.n_slopes]
            self.sc[: self.n_slopes - k] = self.sc[k : self.n_slopes]
            self.n_slopes -= k
        else:
            gone = self.r[:k]
            fin = gone[~np.isnan(gone)]
            self.n_finite -= int(fin.size)
            self.pos_sum -= float(fin[fin > 0].sum())
            self.neg_sum -= float(fin[fin < 0].sum())
            self.r[: self.n_r - k] = self.r[k : self.n_r]
            self.r_end[: self.n_r - k] = self.r_end[k : self.n_r]
            self.n_r -= k
            kept = self.r[: self.n_r]
            self.pos_sorted = sorted(kept[kept > 0].tolist())

    def _account(self, v: float) -> None:
        """Add a new correlation to the running session sums (O(log n) + list insert)."""
        if math.isnan(v):
            return
        self.n_finite += 1
        if v > 0:
            self.pos_sum += v
            bisect.insort(self.pos_sorted, v)
        elif v < 0:
            self.neg_sum += v

    def update(self, buf: _PairBuffer) -> None:
        while self.next_step * self.s + self.w < buf.total:
            i0 = self.next_step * self.s
            p, c = buf.span(i0, i0 + self.w + 1)
            sp = (p[-1] - p[0]) / self.slope_s
            sc = (c[-1] - c[0]) / self.slope_s
            if np.isnan(p).any():
                sp = math.nan
            if np.isnan(c).any():
                sc = math.nan
            if self.n_slopes == self.cap:
                self._drop("slopes", max(1, self.cap // 10))
            self.sp[self.n_slopes] = sp
            self.sc[self.n_slopes] = sc
            self.n_slopes += 1
            self.next_step += 1
            if self.n_slopes >= self.m:
                a = self.sp[self.n_slopes - self.m : self.n_slopes]
                b = self.sc[self.n_slopes - self.m : self.n_slopes]
                r = float(rolling_pearson(a, b, self.m)[0])
                if self.n_r == self.cap:
                    self._drop("r", max(1, self.cap // 10))
                self.r[self.n_r] = r
                self.r_end[self.n_r] = i0 + self.w
                self.n_r += 1
                self.n_made += 1
                self._account(r)

    def recent_r(self, n: int) -> np.ndarray:
        return self.r[max(0, self.n_r - n) : self.n_r]

    def session_ci(self) -> float:
        if self.n_finite == 0:
            return math.nan
        neg = abs(self.neg_sum)
        if neg == 0:
            return CI_CLIP if self.pos_sum > 0 else math.nan
        if self.pos_sum <= 0:
            return -CI_CLIP
        return float(min(max(math.log(self.pos_sum / neg), -CI_CLIP), CI_CLIP))

    def session_ksi(self) -> float:
        k = len(self.pos_sorted)
        if self.n_finite == 0 or k == 0:
            return math.nan
        med = (
            self.pos_sorted[k // 2]
            if k % 2
            else 0.5 * (self.pos_sorted[k // 2 - 1] + self.pos_sorted[k // 2])
        )
        return float(med * k / self.n_finite)


class LiveDyad:
    """Rolling dyad concordance engine over the common 4 Hz grid (used by the DSP thread).

    Feed it consecutive grid samples of both people's EDA (µS) and HR (bpm) with
    :meth:`push`; read a frozen :class:`DyadMetrics` with :meth:`snapshot`. Every ``step_s``
    of new data it adds one slope per person and one 15 s slope correlation (the same
    :func:`slope_series` / :func:`rolling_pearson` arithmetic as :func:`slope_concordance`);
    every ``surrogate_every_s`` after ``warmup_s`` it rebuilds the chance baseline from
    ``n_surrogates`` circular shifts (>= ``min_shift_s``) of the clinician's session slope
    series against the patient's most recent ``rolling_n`` correlation span. A snapshot costs
    O(window): rolling indices, two single-window WCCs and a percentile lookup.

    Time of an r value: the grid time of the newest sample it uses. The session starts at
    the first pushed grid time. Not thread-safe: call :meth:`push` and :meth:`snapshot` from
    one thread (the engine's DSP thread); the returned snapshots may be shared freely.
    """

    def __init__(self, config: DyadConfig = DyadConfig()) -> None:  # noqa: B008
        self.config = cfg = config
        fs = cfg.fs
        self._rng = np.random.default_rng(cfg.seed)
        cap_steps = int(math.ceil(cfg.max_session_s / cfg.step_s)) + 1
        self._eda = _ConcordanceStream(fs, cfg.slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._hr = _ConcordanceStream(fs, cfg.hr_slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._lag_n = _as_samples(cfg.wcc_lag_s, fs, "wcc_lag_s")
        self._eda_wcc_n = _as_samples(cfg.wcc_win_s, fs, "wcc_win_s") + self._lag_n
        self._hr_wcc_n = _as_samples(cfg.hr_wcc_win_s, fs, "hr_wcc_win_s") + self._lag_n
        need = max(
            self._eda_wcc_n + self._eda.w, self._hr_wcc_n + self._hr.w, self._eda.w + self._eda.s
        )
        self._buf_cap = 2 * need + 8
        self._eda_buf = _PairBuffer(self._buf_cap)
        coh_n = _as_samples(cfg.hr_coherence_window_s, fs, "hr_coherence_window_s")
        self._hr_buf = _PairBuffer(max(self._buf_cap, coh_n + 8))
        self._coh = (math.nan, math.nan)
        self._k0: int | None = None  # grid index of the first sample
        self._k_next: int | None = None
        self._null: np.ndarray = np.empty(0)
        self._band = (math.nan, math.nan)
        self._last_refresh_k: int | None = None
        self._hist_t: list[float] = []
        self._hist_ci: list[float] = []
        self._hist_every = max(1, int(round(cfg.history_every_s / cfg.step_s)))
        self._hist_next_r = self._hist_every
        self._cached: DyadMetrics | None = None
        self._lags_s: np.ndarray | None = None  # lag axis of the live WCC rows (s)
        self._hist_arrays: tuple | None = None  # (history key, frozen t, frozen ci)

    # ------------------------------------------------------------------ input
    def push(
        self,
        t_grid: np.ndarray,
        eda_patient: np.ndarray,
        eda_clinician: np.ndarray,
        hr_patient: np.ndarray,
        hr_clinician: np.ndarray,
    ) -> None:
        """Append new grid samples (times ``k / fs`` in s, LSL clock) of both people.

        Samples at or before the last pushed grid time are ignored; a forward jump in
        ``t_grid`` is filled with NaN (missing data), so the grid stays consecutive. NaN marks
        missing or bad-quality samples. Cost: O(new samples) plus, every
        ``surrogate_every_s``, one baseline refresh (O(n_surrogates * rolling window)).
        """
        fs = self.config.fs
        t = np.asarray(t_grid, dtype=float)
        cols = [
            np.asarray(a, dtype=float)
            for a in (eda_patient, eda_clinician, hr_patient, hr_clinician)
        ]
        if any(c.shape != t.shape for c in cols) or t.ndim != 1:
            raise ValueError("t_grid and the four series must be 1-D arrays of equal length")
        if t.size == 0:
            return
        k = np.rint(t * fs).astype(np.int64)
        if self._k0 is None:
            self._k0 = int(k[0])
            self._k_next = int(k[0])
        keep = k >= self._k_next
        if not keep.any():
            return
        k = k[keep]
        cols = [c[keep] for c in cols]
        span = int(k.max()) - self._k_next + 1
        dense = np.full((4, span), np.nan)
        for i, c in enumerate(cols):
            dense[i, k - self._k_next] = c
        chunk = self._buf_cap // 2
        for c0 in range(0, span, chunk):
            part = dense[:, c0 : c0 + chunk]
            self._eda_buf.append(part[0], part[1])
            self._hr_buf.append(part[2], part[3])
            self._eda.update(self._eda_buf)
            self._hr.update(self._hr_buf)
            self._history()
        self._k_next += span
        self._maybe_refresh()
        self._cached = None

    def _history(self) -> None:
        """Append sparkline points (rolling CI every ``_hist_every`` correlations)."""
        cfg = self.config
        st = self._eda
        made = st.n_made
        while made >= self._hist_next_r:
            idx = self._hist_next_r - (made - st.n_r)  # array position after session-cap drops
            if idx >= 1:
                r = st.r[max(0, idx - cfg.rolling_n) : idx]
                self._hist_t.append((self._k0 + st.r_end[idx - 1]) / cfg.fs)
                self._hist_ci.append(marci_index(r))
            if len(self._hist_t) >= cfg.history_points:
                self._hist_t = self._hist_t[1::2]
                self._hist_ci = self._hist_ci[1::2]
                self._hist_every *= 2
            self._hist_next_r += self._hist_every

    # ------------------------------------------------------------------ baseline
    def _elapsed_s(self) -> float:
        return self._eda_buf.total / self.config.fs

    def _maybe_refresh(self) -> None:
        cfg = self.config
        if self._elapsed_s() < cfg.warmup_s:
            return
        k_now = self._eda_buf.total
        every = int(round(cfg.surrogate_every_s * cfg.fs))
        if self._last_refresh_k is not None and k_now - self._last_refresh_k < every:
            return
        self._last_refresh_k = k_now
        self.refresh_baseline()
        p, c = self._hr_buf.last(self._hr_buf.count)
        coh = hr_coherence(p, c, cfg.fs, cfg.hr_coherence_window_s, cfg.hr_coherence_min_s)
        self._coh = (coh.lf, coh.hf)

    def refresh_baseline(self) -> None:
        """Rebuild the surrogate distribution of the rolling CI now (normally automatic).

        The patient's slopes behind the last ``rolling_n`` correlations are paired with the
        clinician's session slope series circularly shifted by ``n_surrogates`` random shifts
        in ``[min_shift_s, session - min_shift_s]``; the rolling CI of each pairing forms the
        null distribution. Cost O(n_surrogates * rolling_n * corr window), independent of the
        session length.
        """
        cfg = self.config
        s = self._eda
        big_l = s.n_slopes
        m = s.m
        nwin = cfg.rolling_n + m - 1
        min_shift = int(round(cfg.min_shift_s / cfg.step_s))
        if big_l < max(nwin, 2 * min_shift + 1):
            self._null = np.empty(0)
            return
        shifts = random_shifts(big_l, cfg.n_surrogates, min_shift, self._rng)
        idx = (np.arange(big_l - nwin, big_l)[None, :] - shifts[:, None]) % big_l
        sp = s.sp[big_l - nwin : big_l]
        sc = s.sc[:big_l][idx]
        r = rolling_pearson(sp[None, :], sc, m)
        null = _stat_rows(r, "ci")
        self._null = np.sort(null[np.isfinite(null)])
        if self._null.size:
            self._band = (
                float(np.percentile(self._null, cfg.chance_lo_pct)),
                float(np.percentile(self._null, cfg.chance_hi_pct)),
            )

    # ------------------------------------------------------------------ output
    def _live_wcc(self, buf: _PairBuffer, slope_s: float, n_blk: int) -> tuple[float, float, bool]:
        cfg = self.config
        w_slope = _as_samples(slope_s, cfg.fs, "slope_s")
        if buf.count < n_blk + w_slope:
            return math.nan, math.nan, False
        p, c = buf.last(n_blk + w_slope)
        sp = slope_signal(p, cfg.fs, slope_s)
        sc = slope_signal(c, cfg.fs, slope_s)
        lag = self._lag_n
        w = n_blk - lag
        if w < 2 or sp.size != n_blk:  # unusual settings: the general (validating) path
            lag_s, win_s = lag / cfg.fs, w / cfg.fs
            res = wcc(sp, sc, cfg.fs, lag_s, win_s, win_s)
            if res.matrix.shape[0] == 0:
                return math.nan, math.nan, False
            return wcc_peak(res.matrix[-1], res.lags_s, cfg.peak_threshold)
        # the single window of wcc(sp, sc, fs, lag, win=w, inc=w): the whole block
        row = _lagged_block_corr(sp[None, :], sc[None, :], w, lag)[0]
        if max(np.count_nonzero(np.isnan(sp)), np.count_nonzero(np.isnan(sc))) > n_blk / 2:
            row[:] = np.nan
        if self._lags_s is None or self._lags_s.size != 2 * lag + 1:
            self._lags_s = np.arange(-lag, lag + 1) / cfg.fs
        return wcc_peak(row, self._lags_s, cfg.peak_threshold)

    def snapshot(self) -> DyadMetrics:
        """Current metrics (frozen). O(window); cached until the next :meth:`push`."""
        if self._cached is not None:
            return self._cached
        cfg = self.config
        s, h = self._eda, self._hr
        rec = s.recent_r(cfg.rolling_n)
        hrec = h.recent_r(cfg.rolling_n)
        fin = np.isfinite(rec)
        valid = rec.size > 0 and fin.mean() >= cfg.min_valid_fraction
        hvalid = hrec.size > 0 and np.isfinite(hrec).mean() >= cfg.min_valid_fraction
        ci_roll = marci_index(rec)
        warming = self._elapsed_s() < cfg.warmup_s or self._null.size == 0
        if warming:
            pct = lo = hi = math.nan
        else:
            pct = percentile_of(ci_roll, self._null) if valid else math.nan
            lo, hi = self._band
        pr, pl, pc = self._live_wcc(self._eda_buf, cfg.slope_s, self._eda_wcc_n)
        hpr, hpl, hpc = self._live_wcc(self._hr_buf, cfg.hr_slope_s, self._hr_wcc_n)
        t_last = (self._k_next - 1) / cfg.fs if self._k_next is not None else math.nan
        # the sparkline arrays are rebuilt only when the history changed (frozen, shareable)
        hk = (len(self._hist_t), self._hist_every, self._hist_next_r)
        if self._hist_arrays is None or self._hist_arrays[0] != hk:
            self._hist_arrays = (
                hk,
                _frozen(np.array(self._hist_t)),
                _frozen(np.array(self._hist_ci)),
            )
        hist_t, hist_ci = self._hist_arrays[1], self._hist_arrays[2]
        snap = DyadMetrics(
            t=t_last,
            elapsed_s=self._elapsed_s(),
            slope_r=float(rec[-1]) if rec.size else math.nan,
            ci_rolling=ci_roll,
            ksi_rolling=kleinbub_index(rec),
            mean_r_rolling=float(rec[fin].mean()) if fin.any() else math.nan,
            ci_session=s.session_ci(),
            ksi_session=s.session_ksi(),
            percentile=pct,
            chance_lo=lo,
            chance_hi=hi,
            n_surrogates=0 if warming else int(self._null.size),
            warming_up=bool(warming),
            valid=bool(valid),
            wcc_peak_r=pr,
            wcc_lag_s=pl,
            wcc_clear=pc,
            lead_text=lead_text(pl, pr, cfg.peak_threshold, pc),
            hr_wcc_peak_r=hpr,
            hr_wcc_lag_s=hpl,
            hr_wcc_clear=hpc,
            hr_ci_rolling=marci_index(hrec),
            hr_valid=bool(hvalid),
            hr_lead_text=lead_text(hpl, hpr, cfg.peak_threshold, hpc),
            hr_coherence_lf=self._coh[0],
            hr_coherence_hf=self._coh[1],
            eda_history_t=hist_t,
            eda_history_ci=hist_ci,
            n_correlations=int(s.n_finite),
        )
        self._cached = snap
        return snap

    def r_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Session EDA slope correlations held in memory: (end time in s on the LSL clock, r).

        For export and checks; O(session).
        """
        s = self._eda
        if self._k0 is None:
            return np.empty(0), np.empty(0)
        return (self._k0 + s.r_end[: s.n_r]) / self.config.fs, s.r[: s.n_r].copy()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a
