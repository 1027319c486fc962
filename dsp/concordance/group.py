"""Concordance of a group of 2-8 people: a tested pairwise matrix, a group index, per-pair lead.

Input: every person's signal (EDA in µS, or HR in bpm) on one common grid at ``fs`` Hz
(:mod:`dsp.grid`, 4 Hz), NaN where a person has no good data. Times are seconds after the
first grid sample.

What is computed, and why
-------------------------
1. **Pairwise matrix.** Each pair ``(A, B)`` (``A`` before ``B`` in the people's order, ``A``
   in the patient's place of the dyad functions) gets the two-person session tests, called as
   the dyad analysis calls them (:func:`~dsp.concordance.baselines.analyze_session`), on the
   span where both have data:

   * **strength**: the Marci CI of the slope concordance with its circular-shift test
     (:func:`~dsp.concordance.baselines.concordance_surrogate_test`): the cell's colour;
   * **evidence**: the whole-session coupling and lead test
     (:func:`~dsp.concordance.coupling.recent_lead_test`, the peak of the average lag profile
     over +-``wcc_lag_s`` against circular shifts), the project's source of "above chance".
     A lag-0 CI misses a coupling at a 2-s lag that the lag profile finds (on simulated triads
     with one pair coupled 0.8, 10 minutes: CI p < 0.0167 in 4 of 8 sessions, the coupling
     test in 8 of 8), so the coupling test carries the evidence.

   The coupling test reads the slopes at 1 Hz (:data:`~dsp.concordance.coupling.LEAD_TEST_FS`,
   as the live checks; the dyad's whole-session test reads them at 4 Hz, 16 times the cost).

   The pairs are one family: a pair is **coupled** only when its Holm-adjusted coupling p is
   below ``alpha`` (Holm 1979; valid under any dependence between the pairs, which share
   people) **and** its own CI test is below ``alpha`` too (an intersection-union rule: never
   more claims than Holm alone; the mark and the colour then agree). Why both: the
   circular-shift coupling test is right at 0.05 but its small p-values come about twice as
   often as they should (288 independent simulated pairs: p < 0.05 in 4.9 %, p <= 0.0083 in
   1.7 % against 0.83 %), and Holm acts in that tail: alone it claimed a pair in 17 % of 100
   independent groups of four, with the CI condition in 6 % (coupled pair of a triad found
   in 90 %, its independent pairs in 0 %; ``benchmarks/bench_groups.py``, README).

   Holm needs p-values that can be small: with ``P`` pairs the smallest raw p must reach
   ``alpha / P``, so each coupling test draws ``max(n_surrogates, ceil(2 P / alpha))`` shifts
   (200 for 2-3 people, 240 for 4, 1120 for 8), but never more than the session has distinct
   shifts (476 in 10 minutes): a 10-minute session of 8 people cannot show a pair after the
   correction, and :attr:`GroupConcordance.note` says so. With 2 people the CI cell is the
   dyad's number.
2. **Group index.** The mean pairwise CI over the pairs with data, tested against surrogate
   groups in which **every member** is circularly shifted on their own, by shifts at least
   ``min(min_shift_s, span / 2N)`` apart around the circle for every two members (so no
   surrogate pair keeps its real alignment, and at least as much slack again for the
   surrogate groups to differ; not tested on a span shorter than ``N min_shift_s``). It is the number a clinician already reads per pair, averaged, so
   "the group moves together" means the same as "this pair moves together" on average; one
   strong pair in an otherwise unrelated group raises it only by its share ``1 / P``.
   Beside it, the **Kuramoto order parameter** ``R = mean_t |mean_j exp(i phi_j(t))|`` of the
   members' slope series (phase by the Hilbert transform, as multiSyncPy computes it), with
   the same surrogate groups as null: the peer-comparable measure of phase alignment of all
   members at once. EDA slopes are broadband, so their Hilbert phase is loosely defined; the
   mean CI is the headline and R is reported with its own p for comparison with the
   literature.
3. **Lead per pair**, named only for coupled pairs (Holm) whose lead test also passes
   (``max(p_strength, p_asymmetry) < 0.05``, as for a dyad): positive lag means ``B``
   follows ``A``.

Cost (``benchmarks/bench_groups.py``, 10-minute sessions on this shared 2-core machine):
per pair one CI test (``n_surrogates`` shifts, vectorised over the shifts) and one coupling
test (vectorised over its shifts); the group null is vectorised over pairs and surrogate
groups. About 1 s for 3 people, 2 s for 4, 10-46 s for 8 (28 pairs, 476 shifts each): fine
for a report, too slow for a 1-s live tick with 8 people (a live version would test every
10 s, as the dyad's coupling checks do).
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.signal import hilbert

from dsp.concordance.baselines import concordance_surrogate_test
from dsp.concordance.coupling import LEAD_TEST_FS, recent_lead_test
from dsp.concordance.indices import _corr_values, marci_rows, rolling_pearson, slope_series
from dsp.concordance.lagged import LaggedCiTest, ci_lag_test
from dsp.concordance.lead import Leader, LeadTest
from dsp.person_session import SessionConfig
from dsp.surrogates import SurrogateTest, empirical_test

__all__ = [
    "MAX_PEOPLE",
    "GroupConcordance",
    "GroupIndex",
    "GroupSignal",
    "PairConcordance",
    "PairStatus",
    "group_concordance",
    "group_index_test",
    "group_shifts",
    "holm_adjust",
]

#: Largest group (28 pairs).
MAX_PEOPLE = 8
#: Whether the EDA matrix's claims take the CI at the pair's best lag (as the live matrix);
#: False: the lag-0 CI test, as measured in README "Groups" (``bench_groups.py``).
EDA_CI_AT_LAG = False
#: Values of one vectorised correlation chunk of the group null (about 16 MB of floats).
_CHUNK_VALUES = 2_000_000


class GroupSignal(enum.Enum):
    """Which signal a matrix is made of; it decides the slope and WCC windows (the dyad's)."""

    EDA = "eda"
    HR = "hr"

    def windows(self, cfg: SessionConfig) -> tuple[float, float]:
        """``(slope_s, wcc_win_s)`` of this signal: EDA 5 s and 30 s, HR 1 s and 60 s (as the
        dyad analysis: HR drifts like SC and is compared through its first differences)."""
        if self is GroupSignal.EDA:
            return cfg.slope_s, cfg.wcc_win_s
        return cfg.hr_slope_s, cfg.hr_wcc_win_s

    @property
    def ci_at_lag(self) -> bool:
        """Whether a claim's CI condition is the CI at the pair's best lag (HR: its 1-s slopes
        decorrelate within a 2-s lag, so the lag-0 CI misses what the coupling test finds)."""
        return self is GroupSignal.HR or EDA_CI_AT_LAG


class PairStatus(enum.Enum):
    """Whether a pair could be tested."""

    TESTED = "tested"
    NO_OVERLAP = "no overlap"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class PairConcordance:
    """One cell of the pairwise matrix.

    Attributes
    ----------
    a, b : str
        The two people (``a`` takes the patient's place of the dyad functions).
    status : PairStatus
    overlap_s : float
        Time both have data (s).
    ci_test : SurrogateTest or None
        Session Marci CI against circular shifts of ``b``: the strength shown (its own p is
        descriptive; None when not tested).
    coupling : LeadTest or None
        The dyad's whole-session coupling and lead test: ``coupling.p_strength`` is the cell's
        evidence, ``coupling.leader`` / ``lag_s`` its lead (positive lag: ``b`` follows ``a``).
    p_holm : float
        Holm-adjusted ``p_strength`` over the tested pairs (EDA), or Holm-adjusted
        ``max(p_strength, ci_lag p)`` (HR); NaN when not tested.
    coupled : bool
        ``p_holm < alpha`` and the claim's CI test below ``alpha`` too (:attr:`p_claim`): the
        only source of "A and B move together above chance".
    ci_lag : LaggedCiTest or None
        The CI at the pair's best lag within ``+-wcc_lag_s`` against the same maximum around
        every circular shift (:func:`~dsp.concordance.lagged.ci_lag_test`): when present, the
        claim's CI condition (:attr:`p_ci_claim`) instead of the lag-0 ``ci_test``.
    """

    a: str
    b: str
    status: PairStatus
    overlap_s: float
    ci_test: SurrogateTest | None
    coupling: LeadTest | None
    p_holm: float
    coupled: bool
    ci_lag: LaggedCiTest | None = None

    @property
    def ci(self) -> float:
        """Session Marci CI (NaN when not tested)."""
        return self.ci_test.observed if self.ci_test is not None else math.nan

    @property
    def ci_p(self) -> float:
        """p of the CI test (NaN when not tested)."""
        return self.ci_test.p_value if self.ci_test is not None else math.nan

    @property
    def p_ci_claim(self) -> float:
        """p of the claim's CI condition: the CI at the best lag when tested, else at lag 0."""
        return self.ci_lag.p_value if self.ci_lag is not None else self.ci_p

    @property
    def p_claim(self) -> float:
        """p of the "coupled" statement: ``max(p_holm, p_ci_claim)`` (intersection-union)."""
        return max(self.p_holm, self.p_ci_claim)

    @property
    def p(self) -> float:
        """Raw p of the coupling test (NaN when not tested)."""
        return self.coupling.p_strength if self.coupling is not None else math.nan

    @property
    def leader(self) -> str | None:
        """Who leads, named only for a coupled pair whose lead test passes; else None."""
        return pair_leader(self.a, self.b, self.coupled, self.coupling)

    @property
    def lag_s(self) -> float:
        """Lag of the named lead (s, positive = ``b`` follows ``a``); NaN without one."""
        return self.coupling.lag_s if self.leader is not None else math.nan


def find_pair(pairs: Sequence, a: str, b: str):
    """The pair of ``a`` and ``b`` (either order) among objects with ``.a`` and ``.b``
    (offline :class:`PairConcordance` or a live pair); KeyError when there is none."""
    for pc in pairs:
        if {pc.a, pc.b} == {a, b}:
            return pc
    raise KeyError(f"{a}-{b} is not a pair of this group")


def pair_matrix(people: Sequence[str], pairs: Sequence, field: str) -> np.ndarray:
    """Symmetric ``(N, N)`` matrix of the per-pair number ``field`` of ``pairs`` in the order
    of ``people``, NaN on the diagonal and for pairs not given."""
    n = len(people)
    out = np.full((n, n), np.nan)
    idx = {name: i for i, name in enumerate(people)}
    for pc in pairs:
        out[idx[pc.a], idx[pc.b]] = out[idx[pc.b], idx[pc.a]] = float(getattr(pc, field))
    return out


def pair_leader(a: str, b: str, coupled: bool, coupling: LeadTest | None) -> str | None:
    """The leader's name of pair ``(a, b)`` (its lead test's ``PATIENT`` side is ``a``), named
    only while the pair is coupled and the test names one; else None (offline and live)."""
    if not coupled or coupling is None or coupling.leader is Leader.NONE:
        return None
    return a if coupling.leader is Leader.PATIENT else b


@dataclass(frozen=True)
class GroupIndex:
    """A group statistic against surrogate groups (every member shifted on their own).

    Attributes
    ----------
    name : str
        "mean pairwise CI" or "Kuramoto order parameter".
    test : SurrogateTest
        Observed value, null, one-sided p (greater = more together), percentile.
    above_chance : bool
        ``p < alpha``.
    """

    name: str
    test: SurrogateTest
    above_chance: bool


@dataclass(frozen=True)
class GroupConcordance:
    """Pairwise matrix, group indices and per-pair lead of one session.

    Attributes
    ----------
    people : tuple of str
    pairs : tuple of PairConcordance
        Every pair ``(people[i], people[j])``, ``i < j``, in that order.
    mean_ci : GroupIndex
        Mean pairwise CI (the headline group index).
    kuramoto : GroupIndex
        Kuramoto order parameter of the slope series.
    alpha : float
        Family-wise level of the matrix and level of each group test.
    n_pair_surrogates, n_group_surrogates : int
        Surrogates per cell and surrogate groups.
    min_gap_s : float
        Smallest circular distance between two members' shifts in the surrogate groups (s).
    note : str
        Why the group index is missing ('' when computed).
    """

    people: tuple[str, ...]
    pairs: tuple[PairConcordance, ...]
    mean_ci: GroupIndex | None
    kuramoto: GroupIndex | None
    alpha: float
    n_pair_surrogates: int
    n_group_surrogates: int
    min_gap_s: float
    note: str = ""

    def pair(self, a: str, b: str) -> PairConcordance:
        """The cell of ``a`` and ``b`` (either order)."""
        return find_pair(self.pairs, a, b)

    def matrix(self, field: str = "ci") -> np.ndarray:
        """Symmetric ``(N, N)`` matrix of a per-pair number ('ci', 'p', 'p_holm'), NaN diagonal."""
        return pair_matrix(self.people, self.pairs, field)

    @property
    def any_coupled(self) -> bool:
        """Whether any pair is claimed coupled (family-wise)."""
        return any(pc.coupled for pc in self.pairs)


def holm_adjust(p: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and are not counted).

    ``p_adj(i) = max_{j <= i} min(1, (m - j + 1) p(j))`` over the ascending finite p; a
    hypothesis is rejected at family-wise level ``alpha`` when ``p_adj < alpha``.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    fin = np.flatnonzero(np.isfinite(p))
    if fin.size == 0:
        return out
    order = fin[np.argsort(p[fin], kind="stable")]
    m = order.size
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def group_shifts(
    k: int, n_people: int, n_surrogates: int, min_gap: int, rng: np.random.Generator
) -> np.ndarray:
    """Circular shifts ``(n_surrogates, n_people)`` of a length-``k`` series, every two
    members at least ``min_gap`` apart around the circle.

    Positions ``j * min_gap + u_(j)`` (``u`` sorted uniform integers in ``[0, slack]``,
    ``slack = k - n_people * min_gap``) keep consecutive members and the wrap-around at least
    ``min_gap`` apart; a uniform rotation and a random assignment of members to positions
    make every member's shift uniform on the circle.
    """
    slack = k - n_people * min_gap
    if slack < 0 or min_gap < 1:
        raise ValueError(f"{k} values cannot hold {n_people} shifts {min_gap} apart")
    u = np.sort(rng.integers(0, slack + 1, size=(n_surrogates, n_people)), axis=1)
    pos = np.arange(n_people)[None, :] * min_gap + u
    pos = (pos + rng.integers(0, k, size=(n_surrogates, 1))) % k
    perm = np.argsort(rng.random((n_surrogates, n_people)), axis=1)
    return np.take_along_axis(pos, perm, axis=1)


def _check(signals: np.ndarray, people: Sequence[str]) -> np.ndarray:
    x = np.asarray(signals, dtype=float)
    if x.ndim != 2:
        raise ValueError("signals must be a 2-D array: one row per person on a common grid")
    n = x.shape[0]
    if not 2 <= n <= MAX_PEOPLE:
        raise ValueError(f"a group has 2 to {MAX_PEOPLE} people, got {n}")
    if len(people) != n or len(set(people)) != n:
        raise ValueError("people must name each row once, with distinct names")
    for i, j in itertools.combinations(range(n), 2):
        both = np.isfinite(x[i]) & np.isfinite(x[j])
        if both.sum() > 1 and np.array_equal(x[i][both], x[j][both]):
            raise ValueError(
                f"{people[i]} and {people[j]} have the same signal "
                "(one stream mapped to two people?)"
            )
    return x


def _overlap(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Both series cut to the span from the first to the last sample both have, and the
    time both have data (s at ``fs`` = 1 sample per value; the caller scales)."""
    both = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if both.size == 0:
        return x[:0], y[:0], 0.0
    return x[both[0] : both[-1] + 1], y[both[0] : both[-1] + 1], float(both.size)


def _pair_cell(
    a: str,
    b: str,
    x: np.ndarray,
    y: np.ndarray,
    cfg: SessionConfig,
    n_surr: int,
    signal: GroupSignal = GroupSignal.EDA,
) -> PairConcordance:
    """Cell of ``a`` and ``b`` on the span where both have data: the dyad analysis' session CI
    test, and its whole-session coupling and lead test read at :data:`LEAD_TEST_FS` (as the
    live checks) with at most as many shifts as the session has distinct ones; the slope and
    WCC windows of ``signal``."""
    fs = cfg.grid_fs
    slope_s, wcc_win_s = signal.windows(cfg)
    x, y, n_both = _overlap(x, y)
    if n_both == 0:
        return PairConcordance(a, b, PairStatus.NO_OVERLAP, 0.0, None, None, math.nan, False)
    overlap = n_both / fs
    need = 2 * cfg.min_shift_s + cfg.corr_s + slope_s + cfg.step_s
    if x.size / fs < need or overlap < need / 2:
        st = PairStatus.NOT_ENOUGH_DATA
        return PairConcordance(a, b, st, overlap, None, None, math.nan, False)
    ci = concordance_surrogate_test(
        x, y, fs, cfg.n_surrogates, "circular", cfg.min_shift_s, statistic="ci",
        slope_s=slope_s, corr_s=cfg.corr_s, step_s=cfg.step_s, seed=cfg.seed,
    )  # fmt: skip
    # distinct circular shifts at the test rate: more draws would repeat shifts and give a
    # p floor below what the session can show
    k = int((x.size / fs - slope_s) * LEAD_TEST_FS)
    n_surr = max(19, min(n_surr, k - 2 * int(cfg.min_shift_s * LEAD_TEST_FS) + 1))
    coupling = recent_lead_test(
        x, y, fs, slope_s, math.inf, wcc_win_s, cfg.wcc_lag_s, cfg.wcc_inc_s, n_surr,
        cfg.min_shift_s, cfg.lead_min_span_s, np.random.default_rng([cfg.seed, 1]),
    )  # fmt: skip
    lagged = None
    if signal.ci_at_lag:
        lagged = ci_lag_test(
            x, y, fs, cfg.wcc_lag_s, cfg.min_shift_s, slope_s, cfg.corr_s, cfg.step_s
        )
    return PairConcordance(a, b, PairStatus.TESTED, overlap, ci, coupling, math.nan, False, lagged)


def _kuramoto(s: np.ndarray) -> np.ndarray:
    """Unit phasors ``exp(i phi)`` of each row's slope series (Hilbert phase, mean removed);
    0 where a slope is missing."""
    ok = np.isfinite(s)
    mean = np.nanmean(np.where(ok, s, np.nan), axis=-1, keepdims=True)
    z = hilbert(np.where(ok, s - mean, 0.0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = z / np.abs(z)
    return np.where(ok & np.isfinite(u), u, 0.0)


def _order_parameter(u: np.ndarray) -> np.ndarray:
    """Mean over time of ``|mean_j u_j(t)|`` over instants with >= 2 members (last axis time,
    second-last members); leading axes broadcast."""
    cnt = (u != 0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(u.sum(axis=-2)) / cnt
    r = np.where(cnt >= 2, r, np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmean(r, axis=-1) if r.size else np.full(r.shape[:-1], np.nan)


def _group_stats(
    s: np.ndarray, u: np.ndarray, ia: np.ndarray, ib: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean pairwise CI and Kuramoto R of slope series ``s`` ``(..., N, k)`` and phasors ``u``."""
    r = rolling_pearson(s[..., ia, :], s[..., ib, :], m)
    ci = marci_rows(r.reshape(-1, r.shape[-1])).reshape(r.shape[:-1])
    with np.errstate(invalid="ignore"):
        fin = np.isfinite(ci)
        mean_ci = np.where(fin, ci, 0.0).sum(-1) / np.where(fin.sum(-1) > 0, fin.sum(-1), np.nan)
    return mean_ci, _order_parameter(u)


def group_index_test(
    x: np.ndarray,
    cfg: SessionConfig,
    n_surr: int,
    alpha: float,
    rng: np.random.Generator | None = None,
) -> tuple[GroupIndex | None, GroupIndex | None, float, str]:
    """Mean pairwise CI and Kuramoto R of the rows of ``x`` (grid at ``cfg.grid_fs``) against
    ``n_surr`` surrogate groups with every member shifted on their own (point 2 of the module
    docstring); ``(mean CI, Kuramoto, smallest shift gap in s, note)``, the indices None and
    the note saying why when the data are too short. ``rng``: the shifts' random source
    (default: seeded by ``cfg.seed`` and the group size, as offline)."""
    n = x.shape[0]
    m = _corr_values(cfg.corr_s, cfg.step_s)
    s = slope_series(x, cfg.grid_fs, cfg.slope_s, cfg.step_s)
    k = s.shape[-1]
    # every two members at least min_shift_s apart, and as much slack again for the
    # surrogates to differ: with k // n (no slack) a short span left one configuration of
    # relative shifts, rotated, a null far too narrow (independent triads fed live were
    # above chance in 3 of 24, README "Groups live"); never closer than min_shift_s / 2
    gap = min(int(round(cfg.min_shift_s / cfg.step_s)), k // (2 * n))
    if k < m or gap * cfg.step_s < cfg.min_shift_s / 2:
        need = n * cfg.min_shift_s + cfg.slope_s
        return None, None, math.nan, f"group index needs at least {need:.0f} s of data"
    ia, ib = (np.array(v) for v in zip(*itertools.combinations(range(n), 2), strict=True))
    u = _kuramoto(s)
    obs_ci, obs_r = _group_stats(s, u, ia, ib, m)
    rng = rng if rng is not None else np.random.default_rng([cfg.seed, 2, n])
    d = group_shifts(k, n, n_surr, gap, rng)
    idx = (np.arange(k)[None, None, :] - d[:, :, None]) % k  # (S, N, k)
    null_ci, null_r = np.empty(n_surr), np.empty(n_surr)
    chunk = max(1, _CHUNK_VALUES // max(ia.size * k * m, 1))
    rows = np.arange(n)[None, :, None]
    for c0 in range(0, n_surr, chunk):
        sub = idx[c0 : c0 + chunk]
        null_ci[c0 : c0 + chunk], null_r[c0 : c0 + chunk] = _group_stats(
            s[rows, sub], u[rows, sub], ia, ib, m
        )
    t_ci = empirical_test(float(obs_ci), null_ci, "circular, every member")
    t_r = empirical_test(float(obs_r), null_r, "circular, every member")
    return (
        GroupIndex("mean pairwise CI", t_ci, bool(t_ci.p_value < alpha)),
        GroupIndex("Kuramoto order parameter", t_r, bool(t_r.p_value < alpha)),
        gap * cfg.step_s,
        "",
    )


def group_concordance(
    signals: np.ndarray,
    people: Sequence[str],
    config: SessionConfig = SessionConfig(),  # noqa: B008 - frozen
    alpha: float = 0.05,
    signal: GroupSignal = GroupSignal.EDA,
) -> GroupConcordance:
    """Pairwise matrix with Holm-corrected chance tests, group indices and per-pair lead.

    Parameters
    ----------
    signals : ndarray, shape (N, n)
        Each person's signal on the common grid at ``config.grid_fs`` (EDA in µS); NaN where
        missing. ``2 <= N <= 8``.
    people : sequence of str
        Names of the rows.
    config : SessionConfig
        Slope, correlation, surrogate and lead parameters (those of the dyad analysis).
    alpha : float
        Family-wise level of the matrix; level of each group test.
    signal : GroupSignal
        EDA (µS; the default) or HR (bpm): the slope and WCC windows of the dyad's analysis of
        that signal. The group index is the EDA matrix's only (None for HR, without a note).

    Returns
    -------
    GroupConcordance

    Raises
    ------
    ValueError
        Fewer than 2 or more than 8 people, rows and names that disagree, or two people with
        the same signal. A pair that never overlaps is a cell with ``PairStatus.NO_OVERLAP``.
    """
    x = _check(signals, people)
    people = tuple(people)
    pairs = list(itertools.combinations(range(x.shape[0]), 2))
    n_pair_surr = max(config.n_surrogates, math.ceil(2 * len(pairs) / alpha))
    cells = [
        _pair_cell(people[i], people[j], x[i], x[j], config, n_pair_surr, signal) for i, j in pairs
    ]
    # HR: Holm on the larger of the two p of each pair (both tests must pass, and the family
    # is controlled as long as either is valid): with Holm on the coupling p and the best-lag
    # CI below alpha, independent triads had a pair claimed in 7 of 120 (bench_group_hr.py)
    strict = signal is GroupSignal.HR
    adj = holm_adjust([float(np.max([c.p, c.p_ci_claim])) if strict else c.p for c in cells])
    out = tuple(
        replace(c, p_holm=float(pa), coupled=bool(max(pa, c.p_ci_claim) < alpha))
        for c, pa in zip(cells, adj, strict=True)
    )
    mean_ci, kur, gap_s, note = None, None, math.nan, ""
    if signal is GroupSignal.EDA:
        mean_ci, kur, gap_s, note = group_index_test(x, config, config.n_surrogates, alpha)
    n_used = [c.coupling.n_surrogates for c in cells if c.coupling is not None]
    if n_used and len(n_used) / (1 + max(n_used)) >= alpha:
        note = (note + "; " if note else "") + (
            f"{len(people)} people: the session is too short for any pair to pass the "
            f"correction for {len(n_used)} pairs (at most {max(n_used)} distinct shifts)"
        )
    return GroupConcordance(
        people, out, mean_ci, kur, alpha, n_pair_surr, config.n_surrogates, gap_s, note
    )
