"""Windowed cross-lagged correlation (rMEA ``MEAccf``), its peak nearest lag 0 and lead words.

Lag sign convention (fixed everywhere, as rMEA ``MEAccf``): **a positive lag means the
clinician follows the patient (the patient leads).** At lag ``+k`` the patient's sample at
``t`` is paired with the clinician's sample at ``t + k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp.concordance.indices import _as_samples, _nan_argmax_rows, _nanmean_rows, _pair

__all__ = ["FISHER_CLIP", "PEAK_THRESHOLD", "WCCResult", "lead_text", "wcc", "wcc_peak"]

#: Minimum peak correlation for a "clear" WCC peak.
PEAK_THRESHOLD = 0.3
#: Clip of rMEA's Fisher z.
FISHER_CLIP = 10.0


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


def _wcc_matrix(x: np.ndarray, y: np.ndarray, w: int, lag: int, inc: int, n_win: int) -> np.ndarray:
    """The (n_win, 2 * lag + 1) correlation matrix; NaN rows for blocks more than half NaN.

    ``w``, ``lag`` and ``inc`` are in samples; block ``i`` is ``[i * inc, i * inc + w + lag)``.
    """
    blk = w + lag
    if n_win <= 0:
        return np.empty((0, 2 * lag + 1))
    xb = sliding_window_view(x, blk)[::inc][:n_win]
    yb = sliding_window_view(y, blk)[::inc][:n_win]
    mat = _lagged_block_corr(xb, yb, w, lag)
    too_many_nan = np.maximum(np.isnan(xb).sum(1), np.isnan(yb).sum(1)) > blk / 2
    mat[too_many_nan] = np.nan
    return mat


def _lead_means(mat: np.ndarray, lag: int, n_win: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-window means over positive lags (patient leads) and negative lags (clinician leads)."""
    if lag > 0:
        return _nanmean_rows(mat[:, lag + 1 :]), _nanmean_rows(mat[:, :lag])
    s1 = s2 = np.full(n_win, np.nan)
    return s1, s2


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
    mat = _wcc_matrix(x, y, w, lag, inc, n_win)
    if fisher_z:
        with np.errstate(divide="ignore"):
            mat = np.clip(np.arctanh(mat), -FISHER_CLIP, FISHER_CLIP)
    if absolute:
        mat = np.abs(mat)
    lags_s = lags / fs
    empty = np.empty(0)
    s1, s2 = _lead_means(mat, lag, n_win)
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
