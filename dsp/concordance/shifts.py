"""Circular-shift lag profiles of many coupling tests from sums computed once.

The coupling test is replayed at every refresh instant of a recording
(:func:`~dsp.concordance.coupling.coupling_timeline`): each check correlates the patient's
last minutes, window by window and lag by lag, with up to 200 circular shifts of the
clinician's session so far (:func:`~dsp.concordance.lead.lead_tests`). Every surrogate
window is a window of the clinician's series, except the few that straddle the point where a
shift wraps around the end of the check's pool. So the windowed Pearson r of each patient
window against **every** clinician window is computed once, as one matrix product of the
patient windows with the sliding windows of the clinician series (:class:`ShiftTable`), and
each check gathers its surrogates from that table; straddling windows are computed directly.

The statistic is that of :func:`~dsp.concordance.lead.lag_profiles` (Pearson r of complete
windows, NaN for a window with a missing sample or a constant series, clipped to [-1, 1]);
only the rounding differs (about 1e-15).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from dsp.concordance.lead import _Z_CLIP, constant_windows

__all__ = ["ShiftTable"]

_CONST = 1e-18  # a window whose sum of squares is below this x its length is constant


class ShiftTable:
    """Fisher z of patient windows against every clinician window, summed along the lags.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series of the whole session at the test rate (the slope
        signals a test reads; NaN where missing), oldest first, of equal length ``N``.
    win : int
        Window (samples).
    a0, inc, n_a : int
        The patient windows covered start at ``a0 + inc * i``, ``i < n_a``.
    lag : int
        Largest lag (samples) of the observed profiles kept (:meth:`profiles`).

    Notes
    -----
    ``r[i, b]`` (the windowed Pearson r of ``x[a_i : a_i + win]`` with ``y[b : b + win]``) is
    computed for every clinician window ``b`` by one matrix product, and its Fisher z (r
    clipped to ±0.999; 0 and not counted where r is NaN) accumulated over ``i`` along each
    offset ``b - a_i``: a test's sum over its windows at one lag and shift is then the
    difference of two entries. With ``lag``, the r of each patient window at lags
    ``-lag..lag`` is kept too (:meth:`profiles`: a test's observed profiles). Memory: two ``(n_a + 1, 2 N + 1)`` tables; callers cover
    long recordings in blocks of checks.
    """

    def __init__(
        self, x: np.ndarray, y: np.ndarray, win: int, a0: int, inc: int, n_a: int, lag: int = 0
    ):
        self.x = x = np.asarray(x, dtype=float)
        self.y = y = np.asarray(y, dtype=float)
        self.win, self.a0, self.inc, self.lag = win, a0, inc, lag
        n = y.size
        a = a0 + inc * np.arange(n_a)
        self._xs = _x_windows(x, win, a)  # the straddling windows' r reuses them
        r = _table_r(x, y, win, a, self._xs)
        # the observed profiles: patient window i against the clinician window at a_i + k
        b = a[:, None] + np.arange(-lag, lag + 1)[None, :]
        inside = (b >= 0) & (b < r.shape[1])
        self.band = np.where(inside, r[np.arange(n_a)[:, None], np.clip(b, 0, r.shape[1] - 1)],
                             np.nan)  # fmt: skip
        np.clip(r, -_Z_CLIP, _Z_CLIP, out=r)
        z = np.arctanh(r, out=r)
        ok = np.isfinite(z)
        z[~ok] = 0.0
        # row i + 1, column b - a_i + N holds window i against clinician window b: row i's
        # values start inc columns left of row i - 1's, so one strided view places them all
        cz = np.zeros((n_a + 1, 2 * n + 1))
        cn = np.zeros((n_a + 1, 2 * n + 1), dtype=np.int32)
        if n_a:
            _diagonal_view(cz, n - a0, inc, z.shape)[...] = z
            _diagonal_view(cn, n - a0, inc, ok.shape)[...] = ok
        self.cz = np.cumsum(cz, axis=0, out=cz)
        self.cn = np.cumsum(cn, axis=0, out=cn)
        self._straddle_key: tuple[int, int, int] | None = None
        self._straddle_z = np.zeros((0, 0))

    def profiles(self, t0: int, n_win: int, lag: int) -> np.ndarray:
        """The observed ``(n_win, 2 * lag + 1)`` lag profiles of the test of
        :meth:`zsums` (``x[t0 : pool_size]`` against ``y[t0 : pool_size]``, windows from
        ``t0 + lag``): what :func:`~dsp.concordance.lead.lag_profiles` gives, from the same r
        (rounded differently, about 1e-15)."""
        i0 = (t0 + lag - self.a0) // self.inc
        if lag != self.lag or (t0 + lag - self.a0) % self.inc or i0 < 0:
            raise ValueError("the table does not cover these patient windows")
        if i0 + n_win > self.band.shape[0]:
            raise ValueError("the table does not cover these patient windows")
        return self.band[i0 : i0 + n_win]

    def zsums(
        self, t0: int, n_win: int, lag: int, pool_size: int, shifts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per shift and lag: the Fisher-z sum over the complete windows and their number.

        The test: patient ``x[t0 : pool_size]``, window ``j`` starting at
        ``t0 + lag + j * inc``, against the pool ``y[:pool_size]`` circularly shifted by each
        of ``shifts`` (row ``i`` of a shifted series is ``pool[(t0 + i - shift) % pool_size]``,
        as :func:`~dsp.concordance.lead.lead_tests` builds its surrogates).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``(len(shifts), 2 * lag + 1)`` sums and counts, lags ascending from ``-lag``.
        """
        win, inc, n = self.win, self.inc, self.y.size
        aj0 = t0 + lag
        i0 = (aj0 - self.a0) // inc
        if (aj0 - self.a0) % inc or i0 < 0 or i0 + n_win > self.cz.shape[0] - 1:
            raise ValueError("the table does not cover these patient windows")
        dk = np.asarray(shifts, dtype=np.int64)[:, None] - np.arange(-lag, lag + 1)[None, :]
        # windows j >= j1 read y[a_j - dk:] unwrapped; j < j2 wrapped whole; between: straddle
        j1 = np.clip(-((aj0 - dk) // inc), 0, n_win)
        j2 = np.clip((dk - win - aj0) // inc + 1, 0, j1)
        c1 = n - dk
        c2 = c1 + pool_size
        e = i0 + n_win
        zs = self.cz[e, c1] - self.cz[i0 + j1, c1] + self.cz[i0 + j2, c2] - self.cz[i0, c2]
        cnt = self.cn[e, c1] - self.cn[i0 + j1, c1] + self.cn[i0 + j2, c2] - self.cn[i0, c2]
        m = j1 - j2
        if m.any():
            self._add_straddles(zs, cnt, m, j2, dk, aj0, n_win, pool_size)
        return zs, cnt

    def zsums_many(
        self, t0: np.ndarray, n_win: np.ndarray, pool_size: np.ndarray, shifts: np.ndarray,
        lag: int,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """:meth:`zsums` of many tests at once, one per row: ``t0``, ``n_win``, ``pool_size``
        of shape ``(C,)``, ``shifts`` ``(C, S)``; returns ``(C, S, 2 * lag + 1)`` sums and
        counts. Every entry is computed as :meth:`zsums` computes it (the straddling windows'
        r rounded differently, about 1e-16)."""
        win, inc, n = self.win, self.inc, self.y.size
        t0, n_win, pool = (np.asarray(v, dtype=np.int64) for v in (t0, n_win, pool_size))
        aj0 = t0 + lag
        i0 = (aj0 - self.a0) // inc
        if (
            np.any((aj0 - self.a0) % inc)
            or np.any(i0 < 0)
            or np.any(i0 + n_win > self.cz.shape[0] - 1)
        ):
            raise ValueError("the table does not cover these patient windows")
        col = (slice(None), None, None)
        dk = np.asarray(shifts, dtype=np.int64)[:, :, None] - np.arange(-lag, lag + 1)
        j1 = np.clip(-((aj0[col] - dk) // inc), 0, n_win[col])
        j2 = np.clip((dk - win - aj0[col]) // inc + 1, 0, j1)
        c1 = n - dk
        c2 = c1 + pool[col]
        w = self.cz.shape[1]  # flat indices into both tables, computed once
        e, b = (i0 + n_win)[col] * w, i0[col] * w
        at = (e + c1, (b + j1 * w) + c1, (b + j2 * w) + c2, b + c2)
        cz, cn = self.cz.reshape(-1), self.cn.reshape(-1)
        zs = cz.take(at[0]) - cz.take(at[1]) + cz.take(at[2]) - cz.take(at[3])
        cnt = cn.take(at[0]) - cn.take(at[1]) + cn.take(at[2]) - cn.take(at[3])
        m = j1 - j2
        if m.any():
            z = self._straddle_tables(i0, n_win, pool)
            flat = np.repeat(np.arange(m.size), m.ravel())
            first = np.cumsum(m.ravel()) - m.ravel()
            j = j2.ravel()[flat] + (np.arange(flat.size) - first[flat])
            cc = np.repeat(np.arange(m.shape[0]), m[0].size)[flat]
            s = aj0[cc] + inc * j - dk.ravel()[flat] + win - 1
            zz = z[cc, j, s]
            ok = np.isfinite(zz)
            zs += np.bincount(flat, np.where(ok, zz, 0.0), m.size).reshape(zs.shape)
            cnt += np.bincount(flat, ok, m.size).astype(cnt.dtype).reshape(cnt.shape)
        return zs, cnt

    def _straddle_tables(self, i0: np.ndarray, n_win: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """``z[c, j, s]``: Fisher z of test ``c``'s patient window ``j`` against straddling
        window ``s`` of its pool (as :meth:`_add_straddles`, all tests at once; rows past a
        test's windows are filler)."""
        win = self.win
        ext = self.y[(pool[:, None] + np.arange(1 - win, win - 1)[None, :]) % pool[:, None]]
        yb = np.isnan(ext)
        ym = np.mean(np.where(yb, 0.0, ext), axis=1)
        for k in np.flatnonzero(yb.any(axis=1)):  # as _table_r: the mean of the valid values
            ym[k] = float(np.mean(ext[k][~yb[k]])) if (~yb[k]).any() else 0.0
        yz = np.where(yb, 0.0, ext - ym[:, None])
        zero = np.zeros((ext.shape[0], 1))
        cy = np.concatenate([zero, np.cumsum(yz, axis=1)], axis=1)
        cyy = np.concatenate([zero, np.cumsum(yz * yz, axis=1)], axis=1)
        cny = np.concatenate([zero, np.cumsum(yb, axis=1)], axis=1)
        sy = cy[:, win:] - cy[:, :-win]
        vy = cyy[:, win:] - cyy[:, :-win] - sy * sy / win
        bady = (cny[:, win:] - cny[:, :-win] > 0) | (vy <= _CONST * win)
        bady |= constant_windows(ext, np.arange(win - 1), win)
        xc, vx, badx = self._xs
        rows = np.minimum(i0[:, None] + np.arange(max(int(n_win.max()), 1)), xc.shape[0] - 1)
        sxy = np.matmul(xc[rows], sliding_window_view(yz, win, axis=1).transpose(0, 2, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = sxy / np.sqrt(vx[rows][:, :, None] * vy[:, None, :])
        np.clip(r, -1.0, 1.0, out=r)
        r[badx[rows]] = np.nan
        r[np.broadcast_to(bady[:, None, :], r.shape)] = np.nan
        np.clip(r, -_Z_CLIP, _Z_CLIP, out=r)
        return np.arctanh(r, out=r)

    def _add_straddles(self, zs, cnt, m, j2, dk, aj0, n_win, pool_size) -> None:  # noqa: ANN001
        """Add the windows that straddle the wrap point of the pool.

        Only ``win - 1`` clinician windows straddle it (the last ``k`` samples of the pool
        followed by its first ``win - k``); their r with every patient window of the test is
        one small table, from which each straddling window is read.
        """
        win, inc = self.win, self.inc
        key = (aj0, n_win, pool_size)
        if self._straddle_key != key:
            ext = self.y[np.arange(pool_size - win + 1, pool_size + win - 1) % pool_size]
            i0 = (aj0 - self.a0) // inc  # the test's windows are rows i0.. of the table
            xs = tuple(v[i0 : i0 + n_win] for v in self._xs)
            r = _table_r(self.x, ext, win, aj0 + inc * np.arange(n_win), xs)
            z = np.arctanh(np.clip(r, -_Z_CLIP, _Z_CLIP))
            self._straddle_key, self._straddle_z = key, z
        z = self._straddle_z
        flat = np.repeat(np.arange(m.size), m.ravel())
        first = np.cumsum(m.ravel()) - m.ravel()
        j = j2.ravel()[flat] + (np.arange(flat.size) - first[flat])
        s = aj0 + inc * j - dk.ravel()[flat] + win - 1  # index among the straddling windows
        zz = z[j, s]
        ok = np.isfinite(zz)
        zs += np.bincount(flat, np.where(ok, zz, 0.0), m.size).reshape(zs.shape)
        cnt += np.bincount(flat, ok, m.size).astype(cnt.dtype).reshape(cnt.shape)


def _diagonal_view(t: np.ndarray, c0: int, inc: int, shape: tuple[int, int]) -> np.ndarray:
    """Writable view ``v[i, b] = t[i + 1, c0 - inc * i + b]`` of a C-contiguous table."""
    row = t.strides[0] // t.itemsize
    flat = t.reshape(-1)
    return as_strided(
        flat[row + c0 :], shape=shape, strides=((row - inc) * t.itemsize, t.itemsize),
        writeable=True,
    )  # fmt: skip


def _x_windows(x: np.ndarray, win: int, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The patient windows ``x[a_i : a_i + win]`` centred (zero where unusable), their sums of
    squares and whether each is unusable (a missing sample, or constant)."""
    xw = x[a[:, None] + np.arange(win)[None, :]]
    with np.errstate(invalid="ignore"):
        xc = xw - xw.mean(axis=1, keepdims=True)
        vx = (xc * xc).sum(axis=1)
    badx = ~np.isfinite(vx) | (vx <= _CONST * win) | constant_windows(x, a, win)
    xc[badx] = 0.0
    return xc, vx, badx


def _table_r(
    x: np.ndarray,
    y: np.ndarray,
    win: int,
    a: np.ndarray,
    xs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``r[i, b]``: Pearson r of ``x[a_i : a_i + win]`` with ``y[b : b + win]``, every ``b``;
    NaN as :func:`~dsp.concordance.lead.lag_profiles`. ``xs``: :func:`_x_windows` of these
    windows when computed already (the same values)."""
    yb = np.isnan(y)
    ym = float(np.mean(y[~yb])) if (~yb).any() else 0.0
    yz = np.where(yb, 0.0, y - ym)
    cy = np.concatenate([[0.0], np.cumsum(yz)])
    cyy = np.concatenate([[0.0], np.cumsum(yz * yz)])
    cny = np.concatenate([[0], np.cumsum(yb)])
    sy = cy[win:] - cy[:-win]
    vy = cyy[win:] - cyy[:-win] - sy * sy / win
    nb = y.size - win + 1
    bady = (cny[win:] - cny[:-win] > 0) | (vy <= _CONST * win)
    bady |= constant_windows(y, np.arange(nb), win)
    xc, vx, badx = _x_windows(x, win, a) if xs is None else xs
    # sum over the window of (x - its mean) * y: y's own mean cancels
    r = xc @ sliding_window_view(yz, win).T  # (patient windows, clinician windows)
    den = np.multiply(vx[:, None], vy[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        r /= np.sqrt(den, out=den)  # in place: the same values, no copies of the table
    np.clip(r, -1.0, 1.0, out=r)
    r[badx] = np.nan
    r[:, bady] = np.nan
    return r
