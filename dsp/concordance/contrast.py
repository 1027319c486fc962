"""Label contrasts: is the dyad more in step while listening than while talking?

Two per-label values side by side are not a comparison: on unrelated pairs the per-label CIs
differ by more than 0.5 in about a third of sessions. The difference is tested by **permuting
the labels between whole blocks** (each marker interval keeps its data and its internal time
structure; only which label it carries is exchanged, keeping the number of blocks per label).
The 95 % interval of the difference inverts the same permutation test (difference ± the 95th
percentile of the relabelled differences' size), so it excludes 0 exactly when p < 0.05 and
the two never disagree; a block bootstrap would be too narrow with five blocks a label.

What is compared (:class:`ContrastMeasure`):

* **EDA: shared SCRs above chance.** Skin-conductance responses are discrete sympathetic
  bursts, so the EDA contrast counts them: a patient SCR is *shared* when a clinician SCR
  starts the dyad's lag later within ±``scr_match_s`` (1.5 s). Per block, shared / sqrt(patient
  SCRs x clinician SCRs) (the normalisation of event synchronization, Quian Quiroga, Kreuz &
  Grassberger 2002; 0 = none shared, 1 = every SCR of both people has its partner) **minus the
  same share expected by chance** (the clinician's SCRs of the block rotated around it, over
  all rotations, exactly); a label's value is the mean over its blocks. SCRs come from
  :func:`dsp.eda.eda_scr` with each person's noise threshold (the person panels' rule for
  counting them), on the whole session once; a patient SCR belongs to the block its onset is in.
  Why counts: the size of each person's SCR to a shared event varies (log-normal), and one
  large private response swings a window's correlation, while the count does not care about
  sizes. Why above chance, block by block: more arousal means more SCRs and more chance
  coincidences; unrelated simulated pairs with three times the arousal events while talking
  were "more concordant while talking" in 67 % of sessions with the raw share and in 6 % with
  chance subtracted per block (lagged synchrony: 6 %). On simulated listening/talking dyads
  (coupling 0.8 vs 0.1, clinician following by 2 s, 20 minutes, 2-minute blocks) it found the
  difference in 89 % of sessions, lagged synchrony in 72 % and the Marci CI difference in
  31 %, with the same block permutation (``benchmarks/bench_honesty.py``).
* **HR: lagged synchrony** (HR has no discrete events): the windowed cross-correlation of the
  two people's slope signals (windows, lags and Fisher-z averaging of the lead test,
  :mod:`dsp.concordance.lead`) averaged over the label's windows and read at the dyad's lag,
  turned back into r.

**The dyad's lag** is the peak of the average lagged-synchrony profile of all the blocks of
both labels together, so it does not depend on which block carries which label and the
permutation test stays exact. Each label's pooled Marci CI is reported beside the tested value,
as a description.

A window or correlation belongs to a block when all the samples behind it lie inside the block,
as in :mod:`dsp.concordance.segments`; blocks without a complete window are left out. With too
few blocks for a p below 0.05 to be possible at all (fewer than 41 distinct relabellings), or
fewer than 5 SCRs of either person in either label, the answer is "not enough data for a
test", with no p.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

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
from dsp.eda import eda_noise_us, eda_scr, scr_threshold_us
from dsp.params import MethodParams

__all__ = [
    "ContrastBlock",
    "ContrastMeasure",
    "LabelContrast",
    "block_sums",
    "contrast_blocks",
    "contrast_statistic",
    "label_contrast",
    "scr_onsets",
]

#: Fewer distinct relabellings than this cannot give a two-sided p below 0.05.
MIN_RELABELLINGS = 41
#: Fewer SCRs than this from either person in either label: no shared-SCR test.
MIN_SCR = 5
_Z_CLIP = 0.999  # as in the lead test: one perfect window cannot dominate the average


class ContrastMeasure(enum.Enum):
    """What a label contrast compares (EDA: shared SCRs; HR: lagged synchrony)."""

    SHARED_SCR = "shared SCRs above chance"
    LAGGED_SYNCHRONY = "lagged synchrony r"


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
        profiles, at ``lags_s``.
    n_windows : int
        Those windows.
    lags_s : numpy.ndarray
        Lags of the profile (s, ascending from ``-lag_s``; positive = the clinician follows).
    measure : ContrastMeasure
        What :func:`label_contrast` tests on these blocks.
    scr_pairs : numpy.ndarray
        SHARED_SCR: at each of ``lags_s``, the patient SCRs starting inside the block with a
        clinician SCR starting that lag later within ±``scr_match_s`` (empty otherwise).
    scr_patient, scr_clinician : int
        SCRs of each person starting inside the block (0 for LAGGED_SYNCHRONY).
    scr_chance : float
        SHARED_SCR: the patient SCRs expected to find a partner by chance: the mean count
        over all rotations of the clinician's SCRs around the block (each keeps the
        clinician's own SCR rate and spacing in that block).
    """

    label: str
    pos: float
    neg: float
    n_r: int
    z_sum: np.ndarray
    n_windows: int
    lags_s: np.ndarray
    measure: ContrastMeasure = ContrastMeasure.LAGGED_SYNCHRONY
    scr_pairs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scr_patient: int = 0
    scr_clinician: int = 0
    scr_chance: float = 0.0


@dataclass(frozen=True)
class LabelContrast:
    """Difference of shared SCRs or lagged synchrony between two labels, tested by block
    permutation.

    Attributes
    ----------
    label_a, label_b : str
        The two labels; the difference is ``a - b``.
    status : StatementStatus
        NOT_ENOUGH_DATA when either label has fewer than 2 blocks with a complete window, the
        blocks allow too few relabellings, or (SHARED_SCR) either person has fewer than
        :data:`MIN_SCR` SCRs in either label.
    measure : ContrastMeasure
        What ``value_a`` / ``value_b`` are.
    ci_a, ci_b : float
        Pooled Marci CI of each label (a description; not what is tested).
    value_a, value_b : float
        The tested value of each label: SHARED_SCR, the mean over its blocks of shared /
        sqrt(patient x clinician SCRs) at ``lag_s`` minus its chance expectation (0 = chance,
        up to 1); LAGGED_SYNCHRONY, r of the label's average Fisher-z profile at ``lag_s``.
    chance_a, chance_b : float
        SHARED_SCR: the mean over the label's blocks of the share expected by chance (so the
        share seen is ``value + chance``); NaN for LAGGED_SYNCHRONY.
    lag_s : float
        The dyad's lag (s, positive = the clinician follows): the peak of the average profile
        of the two labels' blocks together.
    difference, low, high : float
        ``value_a - value_b`` and its 95 % interval (permutation-test inversion).
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
    measure: ContrastMeasure
    ci_a: float
    ci_b: float
    value_a: float
    value_b: float
    chance_a: float
    chance_b: float
    lag_s: float
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


def scr_onsets(
    x: np.ndarray,
    fs: float,
    method: MethodParams = MethodParams(),  # noqa: B008 - frozen
) -> np.ndarray:
    """SCR onset times of one person's EDA (s from ``x[0]``).

    :func:`dsp.eda.eda_scr` on the (zero-phase cleaned) signal with the person's noise
    threshold, ``max(scr_min_amplitude_us, scr_noise_k x noise)`` (µS), as the person panels;
    NaN runs split the search.
    """
    x = np.asarray(x, dtype=float)
    if np.sum(np.isfinite(x)) < 4:
        return np.zeros(0)
    thr = scr_threshold_us(
        eda_noise_us(x, fs), fs, method.eda_cutoff_hz, method.scr_noise_k,
        method.scr_min_amplitude_us,
    )  # fmt: skip
    return eda_scr(x, fs, min_amplitude_us=thr).onsets


def _scr_pairs(
    on_p: np.ndarray, on_c: np.ndarray, lags_s: np.ndarray, match_s: float
) -> np.ndarray:
    """At each lag, how many of ``on_p`` have an ``on_c`` within ``match_s`` of onset + lag."""
    if not (on_p.size and on_c.size):
        return np.zeros(lags_s.size, dtype=int)
    d = on_c[None, :] - on_p[:, None]  # (patient, clinician) onset differences (s)
    hit = np.abs(d[:, :, None] - lags_s[None, None, :]) <= match_s + 1e-9
    return hit.any(axis=1).sum(axis=0)


def _rotation_chance(
    p_in: np.ndarray, c_in: np.ndarray, a: float, b: float, match_s: float
) -> float:
    """Patient SCRs of block ``[a, b)`` expected to have a clinician SCR within ``match_s``
    when the block's clinician SCRs are rotated (circularly shifted) by a uniform random
    amount around it.

    A rotation keeps the clinician's SCR rate and spacing in the block, so a block where both
    people simply have more SCRs (more arousal) gets a higher chance count; a Poisson formula
    would under-count chance for responses that cannot overlap. Exact, not sampled: a patient
    SCR is hit for a total rotation of ``sum over the circular gaps g between consecutive
    clinician SCRs of min(g, 2 match_s)``, the same for every patient SCR.
    """
    length = b - a
    if not (p_in.size and c_in.size) or length <= 0:
        return 0.0
    c = np.sort(c_in)
    gaps = np.diff(np.append(c, c[0] + length))  # circular gaps, summing to ``length``
    return float(p_in.size * np.minimum(gaps, 2.0 * match_s).sum() / length)


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
    *,
    measure: ContrastMeasure = ContrastMeasure.LAGGED_SYNCHRONY,
    method: MethodParams = MethodParams(),  # noqa: B008 - frozen
) -> list[ContrastBlock]:
    """Each interval's Marci sums, lagged-synchrony profile sums and (EDA) SCR counts.

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
    measure : ContrastMeasure
        SHARED_SCR for EDA (µS): SCRs are detected and counted per block; LAGGED_SYNCHRONY
        for HR.
    method : MethodParams
        SCR threshold (``scr_min_amplitude_us``, ``scr_noise_k``, ``eda_cutoff_hz``) and
        ``scr_match_s`` for SHARED_SCR.
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
    lags_s = np.arange(-lag, lag + 1) / fs
    scr = measure is ContrastMeasure.SHARED_SCR
    on_p = scr_onsets(x, fs, method) + t0 if scr else np.zeros(0)
    on_c = scr_onsets(y, fs, method) + t0 if scr else np.zeros(0)
    out = []
    for (a, b, _), (lab, pos, neg, n_r) in zip(intervals, sums, strict=True):
        k = ok & (first >= a - 1e-9) & (last < b - 1e-9)
        p_in = on_p[(on_p >= a) & (on_p < b)]
        pairs = _scr_pairs(p_in, on_c, lags_s, method.scr_match_s) if scr else np.zeros(0)
        c_in = on_c[(on_c >= a) & (on_c < b)]
        chance = _rotation_chance(p_in, c_in, a, b, method.scr_match_s) if scr else 0.0
        out.append(
            ContrastBlock(
                lab,
                pos,
                neg,
                n_r,
                z[k].sum(axis=0),
                int(k.sum()),
                lags_s,
                measure,
                pairs,
                int(p_in.size),
                int(c_in.size),
                float(chance),
            )  # fmt: skip
        )
    return out


@dataclass(frozen=True)
class _Blocks:
    """The blocks of a contrast as arrays (rows = blocks)."""

    measure: ContrastMeasure
    z_sum: np.ndarray
    n_win: np.ndarray
    pairs: np.ndarray
    n_p: np.ndarray
    n_c: np.ndarray
    chance_pairs: np.ndarray

    @classmethod
    def of(cls, use: Sequence[ContrastBlock]) -> _Blocks:
        m = use[0].measure if use else ContrastMeasure.LAGGED_SYNCHRONY
        n_lag = use[0].z_sum.size if use else 1
        scr = m is ContrastMeasure.SHARED_SCR
        return cls(
            m,
            np.array([b.z_sum for b in use]).reshape(len(use), n_lag),
            np.array([b.n_windows for b in use], dtype=float),
            np.array([b.scr_pairs if scr else np.zeros(n_lag) for b in use], dtype=float).reshape(
                len(use), n_lag
            ),
            np.array([b.scr_patient for b in use], dtype=float),
            np.array([b.scr_clinician for b in use], dtype=float),
            np.array([b.scr_chance for b in use], dtype=float),
        )

    def lag_index(self) -> int:
        """Index of the peak of the average profile of all the blocks (label-blind)."""
        return int(np.argmax(self.z_sum.sum(axis=0) / self.n_win.sum()))

    def _per_block(self, counts: np.ndarray) -> np.ndarray:
        """SHARED_SCR: ``counts / sqrt(patient x clinician SCRs)`` per block (0 without SCRs)."""
        den = np.sqrt(self.n_p * self.n_c)
        return np.divide(counts, den, out=np.zeros(den.shape), where=den > 0)

    def values(self, member: np.ndarray, k: int) -> np.ndarray:
        """The tested value at lag index ``k`` of the blocks in each row of a ``(rows, blocks)``
        membership: SHARED_SCR, the mean over the blocks of their shared SCRs above chance;
        LAGGED_SYNCHRONY, r of the pooled Fisher-z profile."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.measure is ContrastMeasure.SHARED_SCR:
                excess = self._per_block(self.pairs[:, k] - self.chance_pairs)
                return (member @ excess) / member.sum(axis=-1)
            return np.tanh((member @ self.z_sum[:, k]) / (member @ self.n_win))

    def chance_share(self, member: np.ndarray) -> float:
        """SHARED_SCR: the mean over one membership row's blocks of the share expected by
        chance (NaN otherwise)."""
        if self.measure is not ContrastMeasure.SHARED_SCR or not member.any():
            return math.nan
        return float(member @ self._per_block(self.chance_pairs)) / float(member.sum())

    def diffs(self, member_a: np.ndarray, k: int) -> np.ndarray:
        return self.values(member_a, k) - self.values(~member_a, k)

    def too_few_scrs(self, is_a: np.ndarray) -> bool:
        if self.measure is not ContrastMeasure.SHARED_SCR:
            return False
        counts = [c[m].sum() for c in (self.n_p, self.n_c) for m in (is_a, ~is_a)]
        return min(counts) < MIN_SCR


def _used(blocks: Sequence[ContrastBlock], label_a: str, label_b: str) -> list[ContrastBlock]:
    return [b for b in blocks if b.n_windows and b.label in (label_a, label_b)]


def contrast_statistic(blocks: Sequence[ContrastBlock], label_a: str, label_b: str) -> float:
    """``value(a) - value(b)`` at the dyad's lag over the blocks of the two labels (NaN if
    either has none)."""
    use = _used(blocks, label_a, label_b)
    is_a = np.array([b.label == label_a for b in use], dtype=bool)
    if not is_a.any() or is_a.all():
        return math.nan
    arr = _Blocks.of(use)
    return float(arr.diffs(is_a[None, :], arr.lag_index())[0])


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
    """Test ``value(label_a) - value(label_b)`` at the dyad's lag by permuting labels between
    blocks.

    Parameters
    ----------
    blocks : sequence of ContrastBlock
        From :func:`contrast_blocks` (their ``measure`` says what is tested); blocks of other
        labels and blocks without a complete window are left out of the test.
    n_perm : int
        All relabellings are used when there are at most ``n_perm``; otherwise ``n_perm``
        random ones (plus the observed labelling).
    """
    use = _used(blocks, label_a, label_b)
    arr = _Blocks.of(use)
    is_a = np.array([b.label == label_a for b in use], dtype=bool)
    ka, kb = int(is_a.sum()), int((~is_a).sum())
    nan = math.nan
    ci_a, ci_b = _pooled_ci(blocks, label_a), _pooled_ci(blocks, label_b)
    k = arr.lag_index() if use else 0
    lag_s = float(use[0].lags_s[k]) if use else nan
    val_a = float(arr.values(is_a[None, :], k)[0]) if ka else nan
    val_b = float(arr.values(~is_a[None, :], k)[0]) if kb else nan
    chance = (arr.chance_share(is_a), arr.chance_share(~is_a))
    diff = val_a - val_b
    n_rel = math.comb(ka + kb, ka) if ka and kb else 0
    if (
        ka < 2
        or kb < 2
        or n_rel < MIN_RELABELLINGS
        or not math.isfinite(diff)
        or arr.too_few_scrs(is_a)
    ):
        return LabelContrast(
            label_a, label_b, StatementStatus.NOT_ENOUGH_DATA, arr.measure, ci_a, ci_b, val_a,
            val_b, *chance, lag_s, diff, nan, nan, nan, ka, kb, 0,
        )  # fmt: skip
    rows, exact = _relabellings(ka + kb, ka, n_perm, seed)
    null = arr.diffs(rows, k)
    hits = float(np.sum(np.abs(null) >= abs(diff) - 1e-12))
    p = hits / rows.shape[0] if exact else (1.0 + hits) / (1.0 + rows.shape[0])
    q = float(np.quantile(np.abs(null[np.isfinite(null)]), 0.95))
    return LabelContrast(
        label_a, label_b, StatementStatus.TESTED, arr.measure, ci_a, ci_b, val_a, val_b,
        *chance, lag_s, diff, diff - q, diff + q, p, ka, kb, rows.shape[0] + (0 if exact else 1),
    )  # fmt: skip
