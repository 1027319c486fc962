"""Label contrasts: is the dyad more in step while listening than while talking?

Two per-label CIs side by side are not a comparison: on unrelated pairs they differ by more
than 0.5 in about a third of sessions. The difference is tested by **permuting the labels
between whole blocks** (each marker interval keeps its data and its internal time structure;
only which label it carries is exchanged, keeping the number of blocks per label). The 95 %
interval of the difference inverts the same permutation test (difference ± the 95th
percentile of the relabelled differences' size), so it excludes 0 exactly when p < 0.05
and the two never disagree; a block bootstrap would be too narrow with five blocks a label.

The tested statistic is the **lagged synchrony** of each label: the windowed cross-correlation
of the two people's slope signals (the windows, lags and Fisher-z averaging of the lead test,
:mod:`dsp.concordance.lead`) averaged over the label's windows, its peak over lags turned back
into r; the contrast is ``sync(a) - sync(b)``. It was chosen over the difference of Marci CIs
because the Marci CI correlates the two people at lag 0 only and is a log ratio that a few
windows can swing: a clinician who follows by 2 s with coupling 0.8 while listening and 0.1
while talking is found in about 80 % of 20-minute sessions by this statistic and in about
30 % by the CI difference, with the same block permutation (``benchmarks/bench_honesty.py``).
Each label's pooled Marci CI is still reported beside it, as a description.

A window or correlation belongs to a block when all the samples behind it lie inside the block,
as in :mod:`dsp.concordance.segments`. With too few blocks for a p below 0.05 to be possible at
all (fewer than 41 distinct relabellings), the answer is "not enough data for a test", with
no p.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.evidence import ALPHA, NOT_ENOUGH_DATA, StatementStatus, p_text
from dsp.concordance.indices import (
    _as_samples,
    marci_from_sums,
    slope_concordance,
    slope_concordance_times,
    slope_signal,
)
from dsp.concordance.lead import lag_profiles

__all__ = [
    "ContrastBlock",
    "LabelContrast",
    "block_sums",
    "contrast_blocks",
    "contrast_statistic",
    "label_contrast",
]

#: Fewer distinct relabellings than this cannot give a two-sided p below 0.05.
MIN_RELABELLINGS = 41
_Z_CLIP = 0.999  # as in the lead test: one perfect window cannot dominate the average


@dataclass(frozen=True, eq=False)
class ContrastBlock:
    """One marker interval's share of the session.

    Attributes
    ----------
    label : str
        The interval's label.
    pos, neg : float
        Sum of the positive slope correlations and absolute sum of the negative ones inside
        it (the Marci CI's sums).
    n_r : int
        Finite slope correlations inside it.
    z_sum : numpy.ndarray
        Sum over the complete cross-correlation windows inside it of their Fisher-z lag
        profiles, lags ascending from ``-lag_s``.
    n_windows : int
        Those windows.
    """

    label: str
    pos: float
    neg: float
    n_r: int
    z_sum: np.ndarray
    n_windows: int


@dataclass(frozen=True)
class LabelContrast:
    """Difference of lagged synchrony between two labels, tested by block permutation.

    Attributes
    ----------
    label_a, label_b : str
        The two labels; the difference is ``a - b``.
    status : StatementStatus
        NOT_ENOUGH_DATA when either label has fewer than 2 blocks with a complete window or
        the blocks allow too few relabellings.
    ci_a, ci_b : float
        Pooled Marci CI of each label (a description; not what is tested).
    sync_a, sync_b : float
        Lagged synchrony r of each label (peak over lags of the average Fisher-z profile,
        back-transformed).
    difference, low, high : float
        ``sync_a - sync_b`` and its 95 % interval (permutation-test inversion).
    p : float
        Two-sided permutation p (NaN when not tested).
    n_blocks_a, n_blocks_b : int
        Blocks (marker intervals) of each label with at least one complete window.
    n_permutations : int
        Relabellings behind p (all of them when there are at most ``n_perm``).
    """

    label_a: str
    label_b: str
    status: StatementStatus
    ci_a: float
    ci_b: float
    sync_a: float
    sync_b: float
    difference: float
    low: float
    high: float
    p: float
    n_blocks_a: int
    n_blocks_b: int
    n_permutations: int

    @property
    def significant(self) -> bool:
        """True when tested and ``p < 0.05``."""
        return self.status is StatementStatus.TESTED and self.p < ALPHA

    @property
    def text(self) -> str:
        """ "more concordance while listening than talking (p = 0.01)", "no reliable difference
        between listening and talking (p = 0.40)" or "not enough data for a test"."""
        if self.status is StatementStatus.NOT_ENOUGH_DATA:
            return f"{self.label_a} vs {self.label_b}: {NOT_ENOUGH_DATA}"
        if not self.significant:
            return f"no reliable difference between {self.label_a} and {self.label_b} ({p_text(self.p)})"
        hi, lo = (
            (self.label_a, self.label_b) if self.difference > 0 else (self.label_b, self.label_a)
        )
        return f"more concordance while {hi} than {lo} ({p_text(self.p)})"


def block_sums(
    r: np.ndarray,
    r_start: np.ndarray,
    r_end: np.ndarray,
    intervals: Sequence[tuple[float, float, str]],
) -> list[tuple[str, float, float, int]]:
    """Per interval: ``(label, sum of positive r, |sum of negative r|, finite r count)``.

    ``r_start`` / ``r_end`` are the first and last sample times behind each r (same clock as
    the intervals); an r counts for an interval ``[a, b)`` when ``a <= r_start`` and
    ``r_end < b``.
    """
    r = np.asarray(r, dtype=float)
    out = []
    for a, b, lab in intervals:
        m = (r_start >= a - 1e-9) & (r_end < b - 1e-9) & np.isfinite(r)
        v = r[m]
        out.append((str(lab), float(v[v > 0].sum()), float(-v[v < 0].sum()), int(v.size)))
    return out


def contrast_blocks(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    intervals: Sequence[tuple[float, float, str]],
    t0: float = 0.0,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
    win_s: float = 30.0,
    lag_s: float = 5.0,
    inc_s: float = 5.0,
) -> list[ContrastBlock]:
    """Each interval's Marci sums and lagged-synchrony profile sums.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician signal (µS or bpm) on one grid at ``fs`` Hz; NaN = missing.
    intervals : sequence of (start_s, end_s, label)
        Blocks on the same clock as ``t0``, the time of ``x[0]``.
    slope_s, corr_s, step_s : float
        Marci slope and correlation windows and step (s), as the session's CI.
    win_s, lag_s, inc_s : float
        Cross-correlation window, maximum lag and increment (s) of the slope signals, as the
        session's lead test (EDA 30 / 5 / 5 s, HR 60 / 5 / 10 s).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    r = slope_concordance(x, y, fs, slope_s, corr_s, step_s)
    r_a, r_b = slope_concordance_times(x.size, fs, slope_s, corr_s, step_s)
    sums = block_sums(r, r_a + t0, r_b + t0, intervals)
    win, lag, inc = (
        _as_samples(v, fs, n) for v, n in ((win_s, "win"), (lag_s, "lag"), (inc_s, "inc"))
    )
    prof = lag_profiles(
        slope_signal(x, fs, slope_s), slope_signal(y, fs, slope_s)[None], win, lag, inc
    )[0]
    z = np.arctanh(np.clip(prof, -_Z_CLIP, _Z_CLIP))
    ok = np.isfinite(z).all(axis=1)
    first = t0 + np.arange(z.shape[0]) * inc / fs  # first clinician sample (lag -lag_s)
    last = first + (win + 2 * lag - 1) / fs + slope_s
    out = []
    for (a, b, _), (lab, pos, neg, n_r) in zip(intervals, sums, strict=True):
        k = ok & (first >= a - 1e-9) & (last < b - 1e-9)
        out.append(ContrastBlock(lab, pos, neg, n_r, z[k].sum(axis=0), int(k.sum())))
    return out


def _sync_rows(z_sum: np.ndarray, n_win: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Lagged synchrony r of the blocks in each row of a ``(rows, blocks)`` membership."""
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = (member @ z_sum) / (member @ n_win)[:, None]
    return np.tanh(zbar.max(axis=1))


def _diff_rows(z_sum: np.ndarray, n_win: np.ndarray, member_a: np.ndarray) -> np.ndarray:
    return _sync_rows(z_sum, n_win, member_a) - _sync_rows(z_sum, n_win, ~member_a)


def contrast_statistic(blocks: Sequence[ContrastBlock], label_a: str, label_b: str) -> float:
    """``sync(a) - sync(b)`` over the blocks of the two labels (NaN if either has none)."""
    use = [b for b in blocks if b.n_windows and b.label in (label_a, label_b)]
    is_a = np.array([b.label == label_a for b in use], dtype=bool)
    if not is_a.any() or is_a.all():
        return math.nan
    z = np.array([b.z_sum for b in use])
    n = np.array([b.n_windows for b in use], dtype=float)
    return float(_diff_rows(z, n, is_a[None, :])[0])


def _pooled_ci(blocks: Sequence[ContrastBlock], label: str) -> float:
    mine = [b for b in blocks if b.label == label and b.n_r]
    if not mine:
        return math.nan
    return float(marci_from_sums(sum(b.pos for b in mine), sum(b.neg for b in mine)))


def _relabellings(k: int, ka: int, n_perm: int, seed: int | None) -> tuple[np.ndarray, bool]:
    """All ``C(k, ka)`` memberships when at most ``n_perm``, else ``n_perm`` random ones."""
    n_rel = math.comb(k, ka)
    if n_rel <= n_perm:
        rows = np.zeros((n_rel, k), dtype=bool)
        for i, comb in enumerate(itertools.combinations(range(k), ka)):
            rows[i, list(comb)] = True
        return rows, True
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_perm, k)), axis=1) < ka, False


def label_contrast(
    blocks: Sequence[ContrastBlock],
    label_a: str,
    label_b: str,
    n_perm: int = 5000,
    seed: int | None = 0,
) -> LabelContrast:
    """Test ``sync(label_a) - sync(label_b)`` by permuting labels between blocks.

    Parameters
    ----------
    blocks : sequence of ContrastBlock
        From :func:`contrast_blocks`; blocks of other labels and blocks without a complete
        window are left out of the test.
    n_perm : int
        All relabellings are used when there are at most ``n_perm``; otherwise ``n_perm``
        random ones (plus the observed labelling).
    """
    use = [b for b in blocks if b.n_windows and b.label in (label_a, label_b)]
    z = np.array([b.z_sum for b in use]) if use else np.zeros((0, 1))
    n_win = np.array([b.n_windows for b in use], dtype=float)
    is_a = np.array([b.label == label_a for b in use], dtype=bool)
    ka, kb = int(is_a.sum()), int((~is_a).sum())
    nan = math.nan
    ci_a, ci_b = _pooled_ci(blocks, label_a), _pooled_ci(blocks, label_b)
    sync_a = float(_sync_rows(z, n_win, is_a[None, :])[0]) if ka else nan
    sync_b = float(_sync_rows(z, n_win, ~is_a[None, :])[0]) if kb else nan
    diff = sync_a - sync_b
    n_rel = math.comb(ka + kb, ka) if ka and kb else 0
    if ka < 2 or kb < 2 or n_rel < MIN_RELABELLINGS or not math.isfinite(diff):
        return LabelContrast(
            label_a, label_b, StatementStatus.NOT_ENOUGH_DATA, ci_a, ci_b, sync_a, sync_b, diff,
            nan, nan, nan, ka, kb, 0,
        )  # fmt: skip
    rows, exact = _relabellings(ka + kb, ka, n_perm, seed)
    null = _diff_rows(z, n_win, rows)
    hits = float(np.sum(np.abs(null) >= abs(diff) - 1e-12))
    p = hits / rows.shape[0] if exact else (1.0 + hits) / (1.0 + rows.shape[0])
    q = float(np.quantile(np.abs(null[np.isfinite(null)]), 0.95))
    return LabelContrast(
        label_a, label_b, StatementStatus.TESTED, ci_a, ci_b, sync_a, sync_b, diff,
        diff - q, diff + q, p, ka, kb, rows.shape[0] + (0 if exact else 1),
    )  # fmt: skip
