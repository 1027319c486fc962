"""The whole-session lead test's surrogate sums for every circular shift at once.

A whole-session lead test (:func:`~dsp.concordance.lead.lead_tests` when the pool is the
clinician's series itself) compares the patient's windows with up to 200 circular shifts of the
clinician's series, at every lag. Window ``j`` (start ``s_j``) at lag ``k`` against the series
shifted by ``d`` reads the clinician window starting at ``(s_j + k - d) mod N``: its offset
from the patient window, ``(k - d) mod N``, does not depend on ``j``. So the Pearson r of each
patient window against **every** circular clinician window is computed once (one matrix
product of the patient windows with the sliding windows of the wrapped series), turned into
Fisher z (r clipped to ±0.999, as the lead test does) and summed over windows along each
offset. A group of windows (a marker block, a label) is a set of runs of windows, and its sum
at any shift and lag is a difference of two running sums: O(runs * shifts * lags) per test
instead of O(windows * shifts * lags).

The statistic is that of :func:`~dsp.concordance.lead.lag_profiles` (r of complete windows,
NaN for a window with a missing sample or a constant series; such windows are not counted);
only the rounding differs (about 1e-13 in a sum).
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Z_CLIP", "circular_zsums", "constant_windows"]

#: r is clipped to ±Z_CLIP before Fisher z, so that one perfect window cannot dominate.
Z_CLIP = 0.999
_CONST = 1e-18  # a window whose sum of squares is below this x its length is constant
#: Values of the r table computed at a time (16 MB of floats).
_CHUNK_VALUES = 2_000_000
#: The running sums of the last series pair (key: content, window, lag, increment): the
#: per-block / per-label tests and the session test of one signal read the same table.
_LAST: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_LOCK = threading.Lock()


def _csum0(a: np.ndarray) -> np.ndarray:
    z = np.zeros(a.shape[:-1] + (1,))
    return np.concatenate([z, np.cumsum(a, axis=-1)], axis=-1)


def constant_windows(a: np.ndarray, starts: np.ndarray, win: int) -> np.ndarray:
    """Whether each window ``a[..., s : s + win]`` holds one value only (exactly), for the
    windows starting at ``starts`` (any shape); along the last axis of ``a``."""
    changes = _csum0((np.diff(a, axis=-1) != 0).astype(float))
    return changes[..., starts + win - 1] - changes[..., starts] == 0


def _runs(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the runs of True in ``keep``."""
    edges = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
    return edges[::2], edges[1::2]


def circular_zsums(
    x: np.ndarray,
    y: np.ndarray,
    win: int,
    lag: int,
    inc: int,
    shifts: np.ndarray,
    keeps: list[np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fisher-z sums of ``x``'s windows against every circular shift of ``y``, per group.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series of equal length ``N`` (samples; NaN where missing).
    win, lag, inc : int
        Window, maximum lag and increment (samples); window ``j`` starts at ``lag + j * inc``.
    shifts : numpy.ndarray
        Circular shifts ``d`` of the clinician's series (``np.roll(y, d)``).
    keeps : list of numpy.ndarray of bool
        Each a mask over the windows: the windows a group's sums are over.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        Per group, ``(len(shifts), 2 * lag + 1)`` sums of Fisher z over its complete windows
        and their number (lags ascending from ``-lag``): what
        ``_zsums(lag_profiles(x, rolled)[:, keep])`` gives, for every rolled series at once.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    n_win = (n - 2 * lag - win) // inc + 1 if n >= 2 * lag + win else 0
    runs = [_runs(np.asarray(k, dtype=bool)) for k in keeps]
    bounds = np.unique(np.concatenate([np.r_[0, n_win]] + [np.r_[a, b] for a, b in runs]))
    key = (hashlib.blake2b(x.tobytes() + y.tobytes()).hexdigest(), n, win, lag, inc)
    with _LOCK:
        hit = _LAST.get(key)
    if hit is not None and np.isin(bounds, hit[0]).all():
        bounds, acc_z, acc_n = hit  # the same series' table, with these bounds among its own
    else:
        acc_z, acc_n = _running_sums(x, y, win, lag, inc, n_win, bounds)
        with _LOCK:
            _LAST.clear()
            _LAST[key] = (bounds, acc_z, acc_n)
    at = {int(b): i for i, b in enumerate(bounds)}
    cols = (np.arange(-lag, lag + 1)[None, :] - np.asarray(shifts, dtype=np.int64)[:, None]) % n
    out = []
    for a, b in runs:
        zs = np.zeros(cols.shape)
        cnt = np.zeros(cols.shape, dtype=np.int64)
        for s, e in zip(a, b, strict=True):
            zs += acc_z[at[int(e)], cols] - acc_z[at[int(s)], cols]
            cnt += acc_n[at[int(e)], cols] - acc_n[at[int(s)], cols]
        out.append((zs, cnt))
    return out


def _running_sums(
    x: np.ndarray, y: np.ndarray, win: int, lag: int, inc: int, n_win: int, bounds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Running sums over windows ``j < b`` (for each ``b`` in ``bounds``) of the Fisher z of
    window ``j`` against the circular clinician window at offset ``o`` from it, and the number
    of complete ones: two ``(len(bounds), N)`` arrays."""
    n = x.size
    acc_z = np.zeros((bounds.size, n))
    acc_n = np.zeros((bounds.size, n), dtype=np.int64)
    if n_win <= 0:
        return acc_z, acc_n
    starts = lag + inc * np.arange(n_win)
    yb = np.isnan(y)
    yz = np.where(yb, 0.0, y - (np.mean(y[~yb]) if (~yb).any() else 0.0))
    wrap = np.r_[np.arange(n), np.arange(win - 1)]  # every window of the series wrapped around
    yw = yz[wrap]
    cy, cyy, cny = _csum0(yw), _csum0(yw * yw), _csum0(yb[wrap].astype(float))
    sy = cy[win:] - cy[:-win]
    vy = cyy[win:] - cyy[:-win] - sy * sy / win
    bady = (cny[win:] - cny[:-win] > 0) | (vy <= _CONST * win)
    bady |= constant_windows(y[wrap], np.arange(n), win)
    xw = x[starts[:, None] + np.arange(win)[None, :]]
    with np.errstate(invalid="ignore"):
        xc = xw - xw.mean(axis=1, keepdims=True)
        vx = (xc * xc).sum(axis=1)
    badx = ~np.isfinite(vx) | (vx <= _CONST * win) | constant_windows(x, starts, win)
    xc[badx] = 0.0
    hank = np.ascontiguousarray(sliding_window_view(yw, win))  # (N, win): window at p
    z_run = np.zeros(n)
    n_run = np.zeros(n, dtype=np.int64)
    bi = 0
    rows = max(1, _CHUNK_VALUES // n)
    for c0 in range(0, n_win, rows):
        js = np.arange(c0, min(c0 + rows, n_win))
        r = xc[js] @ hank.T
        den = np.multiply(vx[js][:, None], vy[None, :])
        with np.errstate(invalid="ignore", divide="ignore"):
            r /= np.sqrt(den, out=den)
        np.clip(r, -1.0, 1.0, out=r)
        r[:, bady] = np.nan
        r[badx[js]] = np.nan
        np.clip(r, -Z_CLIP, Z_CLIP, out=r)
        z = np.arctanh(r, out=r)  # in place: the same values, no copies of the block
        ok = np.isfinite(z)
        np.copyto(z, 0.0, where=~ok)
        for i, j in enumerate(js):
            while bi < bounds.size and bounds[bi] == j:
                acc_z[bi], acc_n[bi] = z_run, n_run
                bi += 1
            s = starts[j] % n  # offset o reads the clinician window at (s_j + o) mod N
            z_run[: n - s] += z[i, s:]
            z_run[n - s :] += z[i, :s]
            n_run[: n - s] += ok[i, s:]
            n_run[n - s :] += ok[i, :s]
    while bi < bounds.size:
        acc_z[bi], acc_n[bi] = z_run, n_run
        bi += 1
    return acc_z, acc_n
