"""Common dyad time grid: put irregular or differently sampled series on one 4 Hz grid.

Both people's signals are compared sample by sample, so they must share one time base. The grid
is anchored on the clock's zero: grid times are ``k / fs`` for integer ``k`` (seconds on the LSL
clock), so two chunks built independently land on the same instants and a live stream can be
extended one tick at a time without re-sampling the past.

Interpolation is linear. A grid instant gets NaN when it lies outside the data, or when the two
data samples that surround it are more than ``max_gap_s`` apart (we never interpolate across a
gap), or when either surrounding sample is NaN (missing / bad quality).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_FS", "grid_index", "make_grid", "resample_to_grid"]

#: Default dyad grid rate in Hz.
DEFAULT_FS = 4.0


def grid_index(t: float | np.ndarray, fs: float = DEFAULT_FS) -> np.ndarray:
    """Integer grid index ``round(t * fs)`` of time(s) ``t`` in seconds."""
    return np.rint(np.asarray(t, dtype=float) * fs).astype(np.int64)


def make_grid(t0: float, t1: float, fs: float = DEFAULT_FS) -> np.ndarray:
    """Grid instants ``k / fs`` (s) with ``t0 <= k / fs <= t1``.

    Parameters
    ----------
    t0, t1 : float
        Closed time interval in seconds (LSL clock).
    fs : float
        Grid rate in Hz (default 4 Hz).

    Returns
    -------
    numpy.ndarray
        Ascending grid times in seconds; empty when the interval holds no grid instant.
    """
    if fs <= 0:
        raise ValueError("fs must be positive")
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
        return np.empty(0)
    # A tiny tolerance keeps instants that are equal up to float noise (e.g. 0.1 * 4 * 10).
    k0 = math.ceil(t0 * fs - 1e-9)
    k1 = math.floor(t1 * fs + 1e-9)
    if k1 < k0:
        return np.empty(0)
    return np.arange(k0, k1 + 1, dtype=np.int64) / fs


def resample_to_grid(
    t: np.ndarray,
    x: np.ndarray,
    t_grid: np.ndarray,
    max_gap_s: float = 1.0,
) -> np.ndarray:
    """Linearly interpolate samples ``(t, x)`` onto ``t_grid``, leaving gaps as NaN.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times in seconds, ascending (ties are allowed; the later sample wins).
    x : numpy.ndarray
        Sample values (any unit; EDA in µS, HR in bpm). NaN marks a missing or bad sample.
    t_grid : numpy.ndarray
        Target times in seconds (usually from :func:`make_grid`).
    max_gap_s : float
        Largest distance in seconds between two neighbouring valid samples that may be bridged
        by interpolation. A grid instant between two samples further apart than this is NaN.
        Default 1 s.

    Returns
    -------
    numpy.ndarray
        Values on ``t_grid`` (float). NaN outside ``[t[0], t[-1]]`` of the valid samples,
        across gaps longer than ``max_gap_s`` and next to NaN samples.
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    tg = np.asarray(t_grid, dtype=float)
    if t.shape != x.shape or t.ndim != 1:
        raise ValueError("t and x must be 1-D arrays of equal length")
    out = np.full(tg.shape, np.nan)
    if t.size == 0 or tg.size == 0:
        return out
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, x = t[order], x[order]
    ok = np.isfinite(t)
    t, x = t[ok], x[ok]
    if t.size == 0:
        return out
    # Index of the last sample at or before each grid time.
    right = np.searchsorted(t, tg, side="right")
    left = right - 1
    inside = (left >= 0) & (right <= t.size)
    exact = inside & (t[np.clip(left, 0, t.size - 1)] == tg)
    between = inside & ~exact & (right < t.size)
    # Exact hits take the sample itself (NaN stays NaN).
    li = left[exact]
    out[exact] = x[li]
    lo = left[between]
    hi = right[between]
    t_lo, t_hi = t[lo], t[hi]
    x_lo, x_hi = x[lo], x[hi]
    gap_ok = (t_hi - t_lo) <= max_gap_s + 1e-12
    w = (tg[between] - t_lo) / (t_hi - t_lo)
    vals = x_lo + w * (x_hi - x_lo)  # NaN if either neighbour is NaN
    vals[~gap_ok] = np.nan
    out[between] = vals
    return out
