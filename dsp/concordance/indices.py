"""Slope concordance indices (Marci et al. 2007; DyadSync): slopes, sliding Pearson r, CI, KSI.

``x`` = person 1 = **patient**, ``y`` = person 2 = **clinician**, equal-length float arrays on one
grid at ``fs`` Hz; NaN marks missing or bad samples. Times are seconds after the first sample.

The Marci concordance index ``CI = ln(sum of positive r / |sum of negative r|)``, clipped to
[-10, 10], is computed by :func:`marci_from_sums` and nowhere else: the session value
(:func:`marci_index`), per-row values of surrogate r series (:func:`marci_rows`), the trailing
rolling CI (:func:`rolling_marci`) and the live engine's running sums all call it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "CI_CLIP",
    "kleinbub_index",
    "marci_from_sums",
    "marci_index",
    "marci_rows",
    "rolling_marci",
    "rolling_pearson",
    "slope_concordance",
    "slope_concordance_times",
    "slope_series",
    "slope_signal",
]

#: Clip applied by DyadSync ``marciIndex``.
CI_CLIP = 10.0


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


def slope_signal(x: np.ndarray, fs: float, slope_s: float = 5.0) -> np.ndarray:
    """Slope of ``x`` over ``slope_s`` at every grid sample (slope series with a one-sample
    step), aligned so that value ``i`` is the slope over ``[i, i + slope_s*fs]``.

    Used as WCC input at full grid resolution (lags in 1/fs steps). Units of ``x`` per second.
    """
    return slope_series(x, fs, slope_s, 1.0 / fs)


# --------------------------------------------------------------------------- Marci CI
def marci_from_sums(pos: np.ndarray | float, neg: np.ndarray | float) -> np.ndarray:
    """The Marci CI from the sum of positive correlations and the absolute sum of negative ones.

    ``ln(pos / neg)`` clipped to [-10, 10]: only positive correlations (``neg == 0``) -> +10,
    only negative (``pos == 0``) -> -10, neither -> NaN. Works element-wise on arrays; the one
    place the CI formula lives.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = np.log(np.divide(pos, neg))
    return np.clip(ci, -CI_CLIP, CI_CLIP)


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
    return float(marci_from_sums(pos, neg))


def marci_rows(r: np.ndarray) -> np.ndarray:
    """Marci CI of each row of a 2-D array of r series (NaN ignored), e.g. one row per surrogate."""
    ok = ~np.isnan(r)
    pos = np.where(ok & (r > 0), r, 0.0).sum(axis=1)
    neg = np.abs(np.where(ok & (r < 0), r, 0.0).sum(axis=1))
    return marci_from_sums(pos, neg)


def rolling_marci(r: np.ndarray, n: int, min_valid: float) -> np.ndarray:
    """Trailing Marci CI over ``n`` values along the last axis (NaN before ``n`` values).

    Value ``j`` uses ``r[j - n + 1 .. j]``; it is NaN when fewer than ``min_valid * n`` of them
    are finite. Leading axes broadcast (one row per surrogate).
    """
    ok = np.isfinite(r)
    pos = np.where(ok & (r > 0), r, 0.0)
    neg = np.where(ok & (r < 0), -r, 0.0)

    def trail(a: np.ndarray) -> np.ndarray:
        c = np.cumsum(a, axis=-1)
        c = np.concatenate([np.zeros(a.shape[:-1] + (1,)), c], axis=-1)
        return c[..., n:] - c[..., :-n]

    out = np.full(r.shape, np.nan)
    if r.shape[-1] < n:
        return out
    sp, sn = trail(pos), trail(neg)
    cnt = trail(ok.astype(float))
    ci = marci_from_sums(sp, sn)
    ci = np.where((sp == 0) & (sn == 0), np.nan, ci)
    ci = np.where(cnt >= min_valid * n - 1e-9, ci, np.nan)
    out[..., n - 1 :] = ci
    return out


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
