"""Step-by-step building blocks of the live dyad engine: a pair buffer and a concordance stream.

:class:`PairBuffer` holds the last grid samples of a patient/clinician pair with absolute
sample indices; :class:`ConcordanceStream` turns them into slopes and slope correlations one
step at a time (O(1) per step) with running session sums for the session CI and KSI.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from dsp.concordance.indices import (
    _as_samples,
    _corr_values,
    marci_from_sums,
    rolling_pearson,
)

__all__ = ["ConcordanceStream", "PairBuffer"]


class PairBuffer:
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


class ConcordanceStream:
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

    def update(self, buf: PairBuffer) -> None:
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
        # running sums can leave a tiny residue after session-cap drops: clamp it at 0
        return float(marci_from_sums(max(self.pos_sum, 0.0), abs(self.neg_sum)))

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
