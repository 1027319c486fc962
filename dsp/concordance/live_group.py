"""Live concordance of a group of 2-8 people: a tested pairwise matrix and a group index.

The live form of :mod:`dsp.concordance.group`, fed the people's EDA (µS) on the common 4 Hz
grid, one column per person, a few samples per engine tick. Each pair uses the live dyad's
own parts and rules:

* **strength** (a cell's colour): the rolling Marci CI of the last ``rolling_n`` slope
  correlations, made step by step by the dyad's :class:`~dsp.concordance.stream.ConcordanceStream`
  (the big meter's ``ci_rolling`` for the same pair, the same number);
* **evidence** (a cell's mark): the dyad's coupling and lead test over the last
  ``lead_window_s`` (:func:`~dsp.concordance.coupling.recent_lead_test`, slopes read at
  1 Hz, against circular shifts of the second person's whole session), re-run every
  ``surrogate_every_s`` (10 s) from ``warmup_s`` on. After each pair's run the latest raw p of
  **every** pair are Holm-adjusted (a pair not tested yet counts as p = 1, so the family is
  always all pairs), and the pair's adjusted p feeds the dyad's session-level highlight rule
  (:class:`~dsp.concordance.evidence.HighlightRule`: percentile ``100 (1 - p_holm)`` at or
  above 99 at refreshes spanning 60 s, :data:`GROUP_RULE`; the dyad's holds 20 s). A pair is
  **coupled** only while that rule holds, counting only refreshes at which the pair's own CI
  over the same 10 minutes is also above chance (p < 0.05): the offline matrix's
  intersection-union rule (never more marks than Holm alone). Without it, independent groups
  of four had a pair marked in 25 % of 12 fresh 15-minute sessions even at the 60-s hold
  (README). That CI is taken at the pair's **best lag** within the coupling test's
  ``+-wcc_lag_s`` and tested against the same maximum around every circular shift
  (:func:`~dsp.concordance.lagged.ci_lag_test`): the lag-0 CI let a 2-s lag hide the coupled
  pair of a triad in 3 of 10 sessions.
  The adjusted p can reach 0.01 only when ``P / (n + 1) <= 0.01`` (``P`` pairs, ``n``
  shifts), so each test draws ``max(lead_surrogates, ceil(2 P / q))`` shifts, capped by the
  distinct shifts the session has: with 4 people (6 pairs) no pair can be claimed before
  about 22 minutes, with 3 about 11 (:attr:`GroupMetrics.note` says so). Tests stop drawing
  once ``p <= 0.05`` is out of reach (Besag & Clifford, as the offline replay): a decision at
  ``q <= 0.05`` after Holm depends only on the p at or below 0.05, so every decision is
  that of the full test.
* **lead** per pair: the test's leader, named only while the pair is coupled.
* **group index**: the mean pairwise CI over the last ``lead_window_s`` against surrogate
  groups with every member shifted on their own, and the Kuramoto order parameter beside it
  (:func:`dsp.concordance.group.group_index_test`, the offline code on the recent span:
  every two members' shifts at least ``min(min_shift_s, span / 2N)`` apart, so the test
  starts once the span holds ``N min_shift_s``), re-run every ``surrogate_every_s`` and under
  the same highlight rule as the pairs.

The tests are **jobs**: :meth:`LiveGroup.due_jobs` hands out frozen inputs (copies of the
data) once per refresh, :func:`run_job` computes them (pure, any thread: the engine runs
them on a worker so the tick stays short), :meth:`LiveGroup.take` files the result. Run
synchronously after each push, results match a dyad's refresh cadence exactly.

A **paused** pair: one of its people has had no EDA for ``pause_s`` (a device dropped, or
not yet there). Its tests are not scheduled and its cell says "paused"; the other pairs go on.

**HR** (``signal=GroupSignal.HR``, the people's heart rate in bpm on the same grid): the same
class with the offline HR matrix's windows and claim (:class:`~dsp.concordance.group.GroupSignal`):
1-s slopes and 60-s WCC windows (the rolling CI and the tests), HR's lead increment
(``hr_lead_inc_s``) and gap bridging, and each pair's CI always at its best lag. The family
is Holm-adjusted on the larger of each pair's two p (coupling, best-lag CI), as
:func:`~dsp.concordance.group.group_concordance` does for HR, and that adjusted p feeds the
same 60-s rule. No group index (the EDA matrix's only). A pair pauses when one of its people
has had no HR for :data:`PAUSE_S`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.coupling import LEAD_TEST_FS
from dsp.concordance.evidence import HighlightRule, HighlightTracker
from dsp.concordance.group import (
    MAX_PEOPLE,
    GroupSignal,
    find_pair,
    holm_adjust,
    pair_leader,
    pair_matrix,
)
from dsp.concordance.indices import kleinbub_index, marci_index
from dsp.concordance.lagged import LaggedCiTest
from dsp.concordance.lead import NO_LEAD_TEST, LeadTest
from dsp.concordance.live_config import DyadConfig
from dsp.concordance.live_group_jobs import (
    GroupJob,
    JobKind,
    coupling_percentile_p,
    run_job,
    signal_windows,
)
from dsp.concordance.stream import ConcordanceStream, PairBuffer
from dsp.surrogates import SurrogateTest

__all__ = [
    "GroupJob",
    "GroupMetrics",
    "JobKind",
    "LiveGroup",
    "LiveGroupIndex",
    "LivePair",
    "run_job",
]

#: The group's rule: the Holm-adjusted p at the 99th percentile at every check for 60 s (the
#: dyad holds 20 s), a check counting only when the pair's CI at its best lag is above chance
#: too. Chosen on seeds 20000+ (``bench_group_live.py honesty``: independent triads 2/60,
#: groups of four 0/16, the coupled pair of a triad marked by 10 min in 21/22; the lag-0 CI
#: condition 17/22) and confirmed on fresh seeds 30000+ (triads 1/40, groups of four 0/12,
#: the coupled pair 21/21, the group index 2/40 and 0/12, all-coupled triads 12/12; at 40 s
#: 4/40 triads had a pair marked; README "Groups live").
GROUP_RULE = HighlightRule(99.0, 60.0)
#: Level of each pair's own CI test, the second condition of a mark (as offline).
CI_ALPHA = 0.05
#: A person with no EDA on the grid for this long pauses their pairs (s).
PAUSE_S = 5.0


@dataclass(frozen=True)
class LivePair:
    """One live cell of the pairwise matrix.

    Attributes
    ----------
    a, b : str
        The two people (``a`` takes the patient's place: positive lag = ``b`` follows ``a``).
    ci_rolling : float
        Rolling Marci CI (last ``rolling_n`` correlations, ln ratio); NaN before any.
    ksi_rolling : float
        Kleinbub's index over the same correlations.
    valid : bool
        Enough valid correlations for the CI (``min_valid_fraction``).
    coupling : LeadTest
        The latest coupling and lead test (``NO_LEAD_TEST`` before the first).
    tested_t : float
        Grid time (s) of the newest sample behind ``coupling``; NaN before.
    p_holm : float
        Holm-adjusted coupling p over all pairs at that test (NaN before).
    coupled : bool
        The highlight rule holds on ``p_holm``: the only source of "A and B move together
        above chance".
    coupled_ever : bool
    hold_s : float
        Time spanned by the current run of refreshes at or above the rule's percentile (s).
    paused : bool
        One of the two has had no EDA for :data:`PAUSE_S`; tests wait.
    ci_test : LaggedCiTest or None
        The CI over the same span as ``coupling`` at its best lag within the coupling test's
        ``+-wcc_lag_s``, against the same maximum around every circular shift
        (:func:`~dsp.concordance.lagged.ci_lag_test`; None before): a refresh counts for the
        rule only when its p < :data:`CI_ALPHA` too.
    waiting : bool
        Paused because one of the two has delivered no sample yet (the session's start, a
        device switched on late), not because a signal was lost.
    """

    a: str
    b: str
    ci_rolling: float
    ksi_rolling: float
    valid: bool
    coupling: LeadTest
    tested_t: float
    p_holm: float
    coupled: bool
    coupled_ever: bool
    hold_s: float
    paused: bool
    ci_test: LaggedCiTest | None = None
    waiting: bool = False

    @property
    def p(self) -> float:
        """Raw coupling p (NaN before a test)."""
        return coupling_percentile_p(self.coupling)

    @property
    def percentile(self) -> float:
        """Standing of the pair after Holm: ``100 (1 - p_holm)`` (NaN before a test)."""
        return 100.0 * (1.0 - self.p_holm) if math.isfinite(self.p_holm) else math.nan

    @property
    def leader(self) -> str | None:
        """Who leads: named only while coupled and the lead test names one."""
        return pair_leader(self.a, self.b, self.coupled, self.coupling)

    @property
    def lag_s(self) -> float:
        """Lag of the named lead (s, positive = ``b`` follows ``a``); NaN without one."""
        return self.coupling.lag_s if self.leader is not None else math.nan


@dataclass(frozen=True)
class LiveGroupIndex:
    """The group index, live.

    Attributes
    ----------
    mean_ci, kuramoto : SurrogateTest or None
        Latest mean pairwise CI and Kuramoto R over the last ``lead_window_s`` against
        surrogate groups (None before the first test).
    tested_t : float
        Grid time (s) of the newest sample behind them.
    above_chance : bool
        The highlight rule holds on the mean CI's percentile.
    hold_s : float
    """

    mean_ci: SurrogateTest | None
    kuramoto: SurrogateTest | None
    tested_t: float
    above_chance: bool
    hold_s: float


@dataclass(frozen=True)
class GroupMetrics:
    """Frozen state of the group at one tick.

    Attributes
    ----------
    people : tuple of str
    pairs : tuple of LivePair
        Every pair ``(people[i], people[j])``, ``i < j``.
    index : LiveGroupIndex
    t : float
        Newest grid time (s, LSL clock); NaN before any.
    elapsed_s : float
        Grid data so far (s).
    n_surrogates : int
        Shifts each coupling test draws now.
    rule : HighlightRule
    note : str
        Why no pair can be claimed yet ('' otherwise).
    waiting_jobs : int
        Tests handed out and not yet filed.
    signal : GroupSignal
        What the matrix is made of (EDA or HR).
    hr : GroupMetrics or None
        The HR matrix of the same people beside the EDA one (the group engine's snapshot;
        None otherwise, and in the HR matrix itself).
    """

    people: tuple[str, ...]
    pairs: tuple[LivePair, ...]
    index: LiveGroupIndex
    t: float
    elapsed_s: float
    n_surrogates: int
    rule: HighlightRule
    note: str
    waiting_jobs: int
    signal: GroupSignal = GroupSignal.EDA
    hr: GroupMetrics | None = None

    def pair(self, a: str, b: str) -> LivePair:
        """The cell of ``a`` and ``b`` (either order)."""
        return find_pair(self.pairs, a, b)

    def matrix(self, field: str = "ci_rolling") -> np.ndarray:
        """Symmetric ``(N, N)`` matrix of a per-pair number, NaN diagonal."""
        return pair_matrix(self.people, self.pairs, field)

    @property
    def any_coupled(self) -> bool:
        return any(pc.coupled and not pc.paused for pc in self.pairs)


class LiveGroup:
    """Rolling pairwise matrix and group index of 2-8 people over the 4 Hz grid.

    Parameters
    ----------
    people : sequence of str
        Distinct names, 2 to 8.
    config : DyadConfig
        The live dyad's parameters (windows, warm-up, refresh, surrogates).
    rule : HighlightRule, optional
        When a pair is claimed coupled and the group index above chance, from the
        Holm-adjusted p of each refresh (default :data:`GROUP_RULE`).
    signal : GroupSignal
        EDA (µS, the default) or HR (bpm; see the module docstring).

    Not thread-safe: call :meth:`push`, :meth:`due_jobs`, :meth:`take` and :meth:`snapshot`
    from one thread (the engine's DSP thread); :func:`run_job` may run anywhere.
    """

    def __init__(
        self,
        people: Sequence[str],
        config: DyadConfig = DyadConfig(),  # noqa: B008 - frozen
        rule: HighlightRule | None = None,
        signal: GroupSignal = GroupSignal.EDA,
    ) -> None:
        people = tuple(people)
        if not 2 <= len(people) <= MAX_PEOPLE:
            raise ValueError(f"a group has 2 to {MAX_PEOPLE} people, got {len(people)}")
        if len(set(people)) != len(people):
            raise ValueError("people must have distinct names")
        self.people = people
        self.signal = signal
        self.config = cfg = config
        self.rule = rule = rule if rule is not None else GROUP_RULE
        self.pair_idx = list(itertools.combinations(range(len(people)), 2))
        n_pairs = len(self.pair_idx)
        fs = cfg.fs
        cap_steps = int(math.ceil(cfg.max_session_s / cfg.step_s)) + 1
        self._streams = [
            ConcordanceStream(fs, signal_windows(cfg, signal)[0], cfg.step_s, cfg.corr_s, cap_steps)
            for _ in self.pair_idx
        ]
        need = self._streams[0].w + self._streams[0].s + 8
        self._bufs = [PairBuffer(2 * need) for _ in self.pair_idx]
        self._cap = int(math.ceil(cfg.max_session_s * fs)) + 1
        self._hist = np.full((len(people), min(self._cap, 4096)), np.nan)
        self._count = 0  # samples held
        self._seen = np.zeros(len(people), dtype=bool)  # delivered a sample, ever
        self._total = 0  # samples ever pushed
        self._k0: int | None = None
        self._k_next: int | None = None
        self.q = 1.0 - rule.percentile / 100.0
        self.n_surrogates = max(cfg.lead_surrogates, math.ceil(2 * n_pairs / self.q))
        self._tests: list[LeadTest] = [NO_LEAD_TEST] * n_pairs
        self._ci_tests: list[LaggedCiTest | None] = [None] * n_pairs
        self._tested_t = [math.nan] * n_pairs
        self._p_holm = [math.nan] * n_pairs
        self._tracks = [HighlightTracker(rule, cfg.surrogate_every_s) for _ in range(n_pairs)]
        self._gtrack = HighlightTracker(rule, cfg.surrogate_every_s)
        self._gtests: tuple = (None, None)
        self._gt = math.nan
        self._last_refresh: int | None = None
        self._pending = 0
        self._refresh_no = 0
        self._cached: GroupMetrics | None = None

    # ------------------------------------------------------------------ input
    def push(self, t_grid: np.ndarray, eda: np.ndarray) -> None:
        """Append grid samples: times ``t_grid`` (s, multiples of ``1 / fs``) and ``eda``
        ``(N, n)`` in µS (HR: bpm), NaN where a person is missing. Earlier times are ignored; a
        forward jump is filled with NaN."""
        fs = self.config.fs
        t = np.asarray(t_grid, dtype=float)
        x = np.asarray(eda, dtype=float)
        if t.ndim != 1 or x.shape != (len(self.people), t.size):
            raise ValueError(f"eda must be ({len(self.people)}, len(t_grid))")
        if t.size == 0:
            return
        k = np.rint(t * fs).astype(np.int64)
        if self._k0 is None:
            self._k0 = self._k_next = int(k[0])
        keep = k >= self._k_next
        if not keep.any():
            return
        k, x = k[keep], x[:, keep]
        self._seen |= np.isfinite(x).any(axis=1)
        span = int(k.max()) - self._k_next + 1
        dense = np.full((len(self.people), span), np.nan)
        dense[:, k - self._k_next] = x
        chunk = self._bufs[0].cap // 2
        for c0 in range(0, span, chunk):
            part = dense[:, c0 : c0 + chunk]
            for (i, j), buf, st in zip(self.pair_idx, self._bufs, self._streams, strict=True):
                buf.append(part[i], part[j])
                st.update(buf)
        self._append_hist(dense)
        self._k_next += span
        self._cached = None

    def _append_hist(self, dense: np.ndarray) -> None:
        n = dense.shape[1]
        if self._count + n > self._hist.shape[1]:
            if self._hist.shape[1] < self._cap:  # grow (amortised)
                size = min(self._cap, max(2 * self._hist.shape[1], self._count + n))
                grown = np.full((len(self.people), size), np.nan)
                grown[:, : self._count] = self._hist[:, : self._count]
                self._hist = grown
            drop = max(0, self._count + n - self._hist.shape[1])
            if drop:  # the session cap: the oldest leave
                self._hist[:, : self._count - drop] = self._hist[:, drop : self._count]
                self._count -= drop
        n = min(n, self._hist.shape[1])
        self._hist[:, self._count : self._count + n] = dense[:, -n:]
        self._count += n
        self._total += dense.shape[1]

    # ------------------------------------------------------------------ state
    def elapsed_s(self) -> float:
        """Grid data pushed so far (s)."""
        return self._total / self.config.fs

    def t_last(self) -> float:
        return (self._k_next - 1) / self.config.fs if self._k_next is not None else math.nan

    def present(self) -> np.ndarray:
        """Whether each person had EDA within the last :data:`PAUSE_S` of the grid."""
        n = int(round(PAUSE_S * self.config.fs))
        if self._count == 0:
            return np.zeros(len(self.people), dtype=bool)
        return np.isfinite(self._hist[:, max(0, self._count - n) : self._count]).any(axis=1)

    def session(self) -> tuple[float, np.ndarray]:
        """(time of the first held sample in s, ``(N, n)`` EDA held, a copy)."""
        if self._k0 is None:
            return math.nan, np.empty((len(self.people), 0))
        t0 = (self._k0 + self._total - self._count) / self.config.fs
        return t0, self._hist[:, : self._count].copy()

    # ------------------------------------------------------------------ jobs
    def due_jobs(self) -> list[GroupJob]:
        """The tests due now (once per ``surrogate_every_s`` of grid data after the
        warm-up, and only when the previous round is filed): one per pair whose two people
        are present, and one group index test."""
        cfg = self.config
        if self._pending or self.elapsed_s() < cfg.warmup_s:
            return []
        every = int(round(cfg.surrogate_every_s * cfg.fs))
        if self._last_refresh is not None and self._total - self._last_refresh < every:
            return []
        self._last_refresh = self._total
        self._refresh_no += 1
        here = self.present()
        t_end = self.t_last()
        seed = cfg.seed if cfg.seed is not None else 0
        n = self._n_surr_now()
        jobs = []
        for idx, (i, j) in enumerate(self.pair_idx):
            if here[i] and here[j]:
                x = self._hist[[i, j], : self._count].copy()
                sd = (seed, self._refresh_no, idx)
                jobs.append(GroupJob(JobKind.PAIR, idx, x, t_end, n, sd, self.signal))
        if here.sum() >= 2 and self.signal is GroupSignal.EDA:
            w = min(self._count, int(round(cfg.lead_window_s * cfg.fs)))
            x = self._hist[:, self._count - w : self._count].copy()
            x[~here] = np.nan
            jobs.append(
                GroupJob(
                    JobKind.GROUP, -1, x, t_end, cfg.n_surrogates, (seed, self._refresh_no, 999)
                )
            )
        self._pending = len(jobs)
        return jobs

    def _n_surr_now(self) -> int:
        """Shifts per coupling test: enough for Holm, never more than the session has."""
        cfg = self.config
        k = int((self._count / cfg.fs - signal_windows(cfg, self.signal)[0]) * LEAD_TEST_FS)
        distinct = k - 2 * int(cfg.min_shift_s * LEAD_TEST_FS) + 1
        return max(19, min(self.n_surrogates, distinct))

    def take(self, job: GroupJob, result) -> None:
        """File a job's result (the DSP thread, in any order)."""
        self._pending = max(0, self._pending - 1)
        self._cached = None
        if job.kind is JobKind.GROUP:
            self._gtests, self._gt = tuple(result), job.t_end
            t = self._gtests[0]
            pct = 100.0 * (1.0 - t.p_value) if t is not None else math.nan
            self._gtrack.update(pct)
            return
        self._tests[job.index], self._ci_tests[job.index] = result
        self._tested_t[job.index] = job.t_end
        raw = [coupling_percentile_p(tt) for tt in self._tests]
        if self.signal is GroupSignal.HR:  # offline HR: Holm on the larger of the two p
            ci_p = [c.p_value if c is not None else 1.0 for c in self._ci_tests]
            raw = [max(p, q) if math.isfinite(p) else p for p, q in zip(raw, ci_p, strict=True)]
        adj = holm_adjust([p if math.isfinite(p) else 1.0 for p in raw])
        for idx, p in enumerate(raw):
            self._p_holm[idx] = float(adj[idx]) if math.isfinite(p) else math.nan
        pa = self._p_holm[job.index]
        ci = self._ci_tests[job.index]
        ci_ok = ci is not None and ci.p_value < CI_ALPHA  # the intersection-union condition
        self._tracks[job.index].update(100.0 * (1.0 - pa) if ci_ok else math.nan)

    def run_due(self) -> int:
        """Run the due jobs here and now (tests, benchmarks, replays); their number."""
        jobs = self.due_jobs()
        for job in jobs:
            self.take(job, run_job(job, self.config))
        return len(jobs)

    # ------------------------------------------------------------------ output
    def snapshot(self) -> GroupMetrics:
        """Frozen metrics (cached until the next push or filed result)."""
        if self._cached is not None:
            return self._cached
        cfg = self.config
        here = self.present()
        step = cfg.surrogate_every_s
        pairs = []
        for idx, (i, j) in enumerate(self.pair_idx):
            rec = self._streams[idx].recent_r(cfg.rolling_n)
            valid = rec.size > 0 and np.isfinite(rec).mean() >= cfg.min_valid_fraction
            tr = self._tracks[idx]
            pairs.append(
                LivePair(
                    self.people[i],
                    self.people[j],
                    marci_index(rec),
                    kleinbub_index(rec),
                    bool(valid),
                    self._tests[idx],
                    self._tested_t[idx],
                    self._p_holm[idx],
                    tr.on,
                    tr.ever,
                    float(max(tr.run_steps - 1, 0) * step),
                    not (here[i] and here[j]),
                    self._ci_tests[idx],
                    not (self._seen[i] and self._seen[j]),
                )  # fmt: skip
            )
        g = self._gtrack
        index = LiveGroupIndex(
            self._gtests[0], self._gtests[1], self._gt, g.on,
            float(max(g.run_steps - 1, 0) * step),
        )  # fmt: skip
        snap = GroupMetrics(
            self.people, tuple(pairs), index, self.t_last(), self.elapsed_s(),
            self._n_surr_now(), self.rule, self._note(), self._pending, self.signal,
        )  # fmt: skip
        self._cached = snap
        return snap

    def _note(self) -> str:
        n_pairs = len(self.pair_idx)
        n = self._n_surr_now()
        if self.elapsed_s() < self.config.warmup_s:
            return f"tests start after {self.config.warmup_s:.0f} s"
        if n_pairs / (n + 1) > self.q:
            return (
                f"{len(self.people)} people: no pair can pass the correction for {n_pairs} "
                f"pairs yet (the session has {n} distinct shifts, {math.ceil(n_pairs / self.q)} "
                "needed)"
            )
        return ""
