"""The live EDA noise floor (:func:`dsp.eda.eda_noise_us` of the kept history), kept up to date.

:func:`dsp.eda.eda_noise_us` takes the robust SD (``1.4826 * MAD / sqrt(6)``) of the second
differences of the valid raw EDA. Live, it is asked for the whole kept history (5 min) every
2 s, and two medians of ~10 000 values are most of the SCR update's cost. Almost all of those
second differences are the same as 2 s before: only the newest samples are added, the oldest
trimmed, and the validity mask changes only within its last seconds (:meth:`LiveEda._eda_mask`
re-evaluates a fixed context). :class:`NoiseFloor` keeps the second differences of the settled
part sorted, adds and removes only what changed, and takes both medians by selection in two
sorted arrays (the settled part and the few unsettled values). The values are those of
:func:`dsp.eda.eda_noise_us` on the same samples, bit for bit: the same multiset of second
differences, the same order statistics, the same arithmetic for an even count's midpoint.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NoiseFloor"]

_MIN_D2 = 20  # fewer usable second differences: NaN (as eda_noise_us)


def _kth2(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (0-based) of the union of the sorted arrays ``a`` and ``b``."""
    lo, hi = max(0, k + 1 - b.size), min(k + 1, a.size)
    while lo < hi:  # i values from a and k + 1 - i from b: the smallest valid i
        i = (lo + hi) // 2
        if a[i] < b[k - i]:
            lo = i + 1
        else:
            hi = i
    j = k + 1 - lo
    va = float(a[lo - 1]) if lo > 0 else -math.inf
    vb = float(b[j - 1]) if j > 0 else -math.inf
    return max(va, vb)


def _median2(a: np.ndarray, b: np.ndarray) -> float:
    """``np.median`` of the union of the sorted arrays ``a`` and ``b`` (same value)."""
    n = a.size + b.size
    h = n // 2
    if n % 2:
        return _kth2(a, b, h)
    return (_kth2(a, b, h - 1) + _kth2(a, b, h)) / 2.0


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted union of two sorted arrays (one linear merge of two runs)."""
    if not b.size:
        return a
    if not a.size:
        return b
    m = np.concatenate([a, b])
    m.sort(kind="stable")  # timsort: two runs, one merge
    return m


def _d2(raw: np.ndarray, mask: np.ndarray, c0: int, c1: int) -> np.ndarray:
    """Second differences at local centres ``c0 <= c < c1`` of the masked raw signal (NaN
    where a sample of the triple is invalid or missing)."""
    if c1 <= c0:
        return np.zeros(0)
    x = np.where(mask[c0 - 1 : c1 + 1], raw[c0 - 1 : c1 + 1], np.nan)
    return x[2:] - 2.0 * x[1:-1] + x[:-2]


class NoiseFloor:
    """:func:`dsp.eda.eda_noise_us` of a front-trimmed, growing signal (see the module
    docstring). Call :meth:`reset` when the settled samples may change (a restart, another
    validity context)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (the next call rebuilds from the whole signal)."""
        self._lo = -1  # global centre of _seq[0]
        self._seq = np.zeros(0)  # second differences of the settled centres, in order
        self._srt = np.zeros(0)  # their finite values, sorted

    def noise_us(self, raw: np.ndarray, mask: np.ndarray, g0: int, settled: int) -> float:
        """Noise SD (µS) of ``np.where(mask, raw, nan)``, as :func:`dsp.eda.eda_noise_us`.

        Parameters
        ----------
        raw, mask : ndarray
            The kept raw EDA (µS) and its validity, local index 0 = global sample ``g0``.
        g0 : int
            Samples trimmed from the front so far (global index of ``raw[0]``).
        settled : int
            Local index before which neither ``raw`` nor ``mask`` will change again.
        """
        n = raw.size
        if n < 3:
            return math.nan
        c_end = max(1, min(settled, n) - 1)  # settled centres: local [1, c_end)
        if self._lo < 0 or self._lo > g0 + 1:  # first call (or trimmed past what we hold)
            self.reset()
            self._lo = g0 + 1
        self._drop(g0 + 1 - self._lo)
        have = self._lo + self._seq.size - g0  # first local centre not yet held
        if have < c_end:
            new = _d2(raw, mask, have, c_end)
            self._seq = np.concatenate([self._seq, new])
            add = new[np.isfinite(new)]
            add.sort()
            self._srt = _merge(self._srt, add)
        tail = _d2(raw, mask, max(c_end, have), n - 1)
        tail = tail[np.isfinite(tail)]
        tail.sort()
        srt = self._srt
        if srt.size + tail.size < _MIN_D2:
            return math.nan
        med = _median2(srt, tail)
        # |d2 - med|, sorted: below the median m - d2 (ascending once reversed), above d2 - m
        i = int(srt.searchsorted(med))
        j = int(tail.searchsorted(med))
        dev_s = _merge((med - srt[:i])[::-1], srt[i:] - med)
        dev_t = _merge((med - tail[:j])[::-1], tail[j:] - med)
        mad = _median2(dev_s, dev_t)
        return 1.4826 * mad / float(np.sqrt(6.0))

    def _drop(self, d: int) -> None:
        """Forget the ``d`` oldest centres (their samples were trimmed)."""
        if d <= 0:
            return
        gone = self._seq[:d]
        self._seq = self._seq[d:]
        self._lo += d
        gone = np.sort(gone[np.isfinite(gone)])
        if not gone.size:
            return
        # one entry of the sorted values per value gone (equal values: consecutive entries)
        first = self._srt.searchsorted(gone, side="left")
        rank = np.arange(gone.size) - gone.searchsorted(gone, side="left")
        keep = np.ones(self._srt.size, dtype=bool)
        keep[first + rank] = False
        self._srt = self._srt[keep]
