"""Label contrasts: is concordance different while listening than while talking?

Two per-label CIs side by side are not a comparison: on unrelated pairs they differ by more
than 0.5 in about a third of sessions. The difference is tested by **permuting the labels
between whole blocks** (each marker interval keeps its data and its internal time structure;
only which label it carries is exchanged, keeping the number of blocks per label). The 95 %
interval of the difference inverts the same permutation test (difference ± the 95th
percentile of the relabelled differences' size), so it excludes 0 exactly when p < 0.05
and the two never disagree; a block bootstrap would be too narrow with five blocks a label.

A slope correlation belongs to a block when all the samples behind it lie inside the block,
as in :mod:`dsp.concordance.segments`. The statistic is the difference of the pooled Marci CIs
(``CI(a) - CI(b)``, :func:`dsp.concordance.indices.marci_from_sums`). With too few blocks
for a p below 0.05 to be possible at all (fewer than 41 distinct relabellings), the answer is
"not enough data for a test", with no p.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.evidence import ALPHA, NOT_ENOUGH_DATA, StatementStatus, p_text
from dsp.concordance.indices import marci_from_sums

__all__ = ["LabelContrast", "block_sums", "label_contrast"]

#: Fewer distinct relabellings than this cannot give a two-sided p below 0.05.
MIN_RELABELLINGS = 41


@dataclass(frozen=True)
class LabelContrast:
    """Difference of concordance between two labels, tested by block permutation.

    Attributes
    ----------
    label_a, label_b : str
        The two labels; the difference is ``a - b``.
    status : StatementStatus
        NOT_ENOUGH_DATA when either label has fewer than 2 blocks with correlations or the
        blocks allow too few relabellings.
    ci_a, ci_b : float
        Pooled Marci CI of each label.
    difference, ci_low, ci_high : float
        ``ci_a - ci_b`` and its 95 % interval (permutation-test inversion).
    p : float
        Two-sided permutation p (NaN when not tested).
    n_blocks_a, n_blocks_b : int
        Blocks (marker intervals) of each label with at least one correlation.
    n_permutations : int
        Relabellings behind p (all of them when there are at most ``n_perm``).
    """

    label_a: str
    label_b: str
    status: StatementStatus
    ci_a: float
    ci_b: float
    difference: float
    ci_low: float
    ci_high: float
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


def _ci_diff(pos: np.ndarray, neg: np.ndarray, member_a: np.ndarray) -> np.ndarray:
    """CI(a) - CI(b) for each row of a boolean membership matrix ``(rows, blocks)``."""
    pa, na = member_a @ pos, member_a @ neg
    pb, nb = (~member_a) @ pos, (~member_a) @ neg
    return marci_from_sums(pa, na) - marci_from_sums(pb, nb)


def label_contrast(
    blocks: Sequence[tuple[str, float, float, int]],
    label_a: str,
    label_b: str,
    n_perm: int = 5000,
    seed: int | None = 0,
) -> LabelContrast:
    """Test ``CI(label_a) - CI(label_b)`` by permuting labels between blocks.

    Parameters
    ----------
    blocks : sequence of (label, pos_sum, neg_sum, count)
        From :func:`block_sums`; blocks of other labels and blocks without correlations are
        ignored.
    n_perm : int
        All relabellings are used when there are at most ``n_perm``; otherwise ``n_perm``
        random ones (plus the observed labelling).
    """
    use = [(lab, p, n) for lab, p, n, c in blocks if c > 0 and lab in (label_a, label_b)]
    pos = np.array([p for _, p, _ in use])
    neg = np.array([n for _, _, n in use])
    is_a = np.array([lab == label_a for lab, _, _ in use], dtype=bool)
    ka, kb = int(is_a.sum()), int((~is_a).sum())
    nan = math.nan
    ci_a = float(marci_from_sums(pos[is_a].sum(), neg[is_a].sum())) if ka else nan
    ci_b = float(marci_from_sums(pos[~is_a].sum(), neg[~is_a].sum())) if kb else nan
    diff = ci_a - ci_b
    n_rel = math.comb(ka + kb, ka) if ka and kb else 0
    if ka < 2 or kb < 2 or n_rel < MIN_RELABELLINGS or not math.isfinite(diff):
        return LabelContrast(
            label_a, label_b, StatementStatus.NOT_ENOUGH_DATA, ci_a, ci_b, diff, nan, nan, nan,
            ka, kb, 0,
        )  # fmt: skip
    rng = np.random.default_rng(seed)
    k = ka + kb
    if n_rel <= n_perm:
        rows = np.zeros((n_rel, k), dtype=bool)
        for i, comb in enumerate(itertools.combinations(range(k), ka)):
            rows[i, list(comb)] = True
        null = _ci_diff(pos, neg, rows)
        p = float(np.mean(np.abs(null) >= abs(diff) - 1e-12))
        n_used = n_rel
    else:
        rows = np.argsort(rng.random((n_perm, k)), axis=1) < ka
        null = _ci_diff(pos, neg, rows)
        p = (1.0 + float(np.sum(np.abs(null) >= abs(diff) - 1e-12))) / (1.0 + n_perm)
        n_used = n_perm + 1
    q = float(np.quantile(np.abs(null[np.isfinite(null)]), 0.95))
    lo, hi = diff - q, diff + q
    return LabelContrast(
        label_a, label_b, StatementStatus.TESTED, ci_a, ci_b, diff, lo, hi, p, ka, kb, n_used
    )
