"""Coupling over the last minutes, tested against chance: the source of "above chance".

The live meter shows the rolling Marci CI of the last minute, but one minute of slope
correlations is too little to tell a coupled pair from an unrelated one reliably: on simulated
dyads coupled at 0.6 (the clinician follows by 2 s) a session-level rule on it found 45 % of
them within 5 minutes. The highlight therefore comes from the lead test's coupling part
(:func:`dsp.concordance.lead.lead_test`): the peak over lags (±5 s) of the mean Fisher-z
windowed cross-correlation of the two slope signals over the **last 10 minutes**, against
circular shifts of the clinician's whole session so far. It reads lagged synchrony, so a
clinician who follows by two seconds counts as coupled, which a lag-0 index misses.

* :func:`recent_lead_test`: that test on the last ``window_s`` of two raw series, as the live
  engine runs it every refresh and the offline analysis replays it;
* :func:`coupling_percentile`: its p as the percentile fed to the session-level rule
  (:class:`~dsp.concordance.evidence.HighlightRule`, 99 % held for three refreshes);
* :func:`coupling_timeline`: the offline replay at the live refresh instants;
* :func:`coupling_statement`: its words for the console and the headless view.

The slope signals are read at 1 Hz (:data:`LEAD_TEST_FS`): a 5 s (EDA) or 1 s (HR) slope
changes little within a second, lags keep a parabolic refinement, and the test is 16x
cheaper than on the 4 Hz grid, which is what lets it run every 10 s over 10 minutes live and
at every refresh instant of a one-hour recording offline.

Times in seconds; lags positive when the patient leads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsp.concordance.evidence import (
    HighlightRule,
    StatementStatus,
    not_yet_sustained,
    p_text,
    rule_needs,
    sustained_highlight,
)
from dsp.concordance.indices import slope_signal
from dsp.concordance.lead import LEAD_GAP_S, LeadTest, fill_short_gaps, lead_test
from dsp.concordance.shifts import ShiftTable
from dsp.params import MethodParams
from dsp.surrogates import random_shifts

__all__ = [
    "LEAD_TEST_FS",
    "CouplingTimeline",
    "coupling_percentile",
    "coupling_statement",
    "coupling_timeline",
    "recent_lead_test",
]

#: Rate (Hz) at which the coupling / lead test reads the slope signals.
LEAD_TEST_FS = 1.0
#: Largest table of windowed r (values) the offline replay keeps (32 MB of floats).
_TABLE_VALUES = 4_000_000
#: Checks whose surrogate sums are computed together (about 20 MB of temporaries at 200
#: shifts and 11 lags).
_BATCH_CHECKS = 64


def recent_lead_test(
    p: np.ndarray,
    c: np.ndarray,
    fs: float,
    slope_s: float,
    window_s: float,
    win_s: float,
    lag_s: float,
    inc_s: float,
    n_surrogates: int,
    min_shift_s: float,
    min_span_s: float,
    rng: np.random.Generator | int | None,
    test_fs: float = LEAD_TEST_FS,
    stop_early: bool = False,
    bridge_s: float = LEAD_GAP_S,
) -> LeadTest:
    """Coupling and lead test over the last ``window_s`` of two raw series.

    Holes up to ``bridge_s`` are bridged, both slope signals
    (``slope_s``) computed and read at ``test_fs`` (counting back from the newest value), and
    :func:`~dsp.concordance.lead.lead_test` run on the patient's last ``window_s`` against
    circular shifts of the clinician's **whole** series (``y_pool``).

    Parameters
    ----------
    p, c : numpy.ndarray
        Patient and clinician series on the grid at ``fs`` (µS or bpm), oldest first; NaN
        where missing. Live: the session so far; offline: the session up to a refresh
        instant, or all of it.
    window_s : float
        Seconds tested (``math.inf``: all of it).
    win_s, lag_s, inc_s : float
        WCC window, maximum lag and increment (s).
    n_surrogates, min_shift_s, min_span_s : float
        Circular shifts, their minimum and the spread they need (:func:`lead_test`).
    rng : Generator, int or None
        Random source of the shifts.
    test_fs : float
        Rate the slope signals are read at: :data:`LEAD_TEST_FS` for the checks repeated every
        10 s (live and their offline replay); the grid rate for the one whole-session test
        of a report (:func:`~dsp.concordance.baselines.analyze_session`), where the cost does
        not matter and the finer lags found the simulated 2 s lead in 90 % of coupled
        sessions against 87 % at 1 Hz.
    stop_early : bool
        Stop drawing shifts once the test cannot reach p <= 0.05 (same decisions; see
        :func:`~dsp.concordance.lead.lead_tests`): the offline replay, not the live words.
    bridge_s : float
        Longest hole (s) bridged linearly: :data:`~dsp.concordance.lead.LEAD_GAP_S` for HR,
        :data:`~dsp.concordance.lead.EDA_BRIDGE_S` (none) for EDA. Longer holes stay NaN and
        every window touching one is left out.
    """
    gap = int(round(bridge_s * fs))
    sp = slope_signal(fill_short_gaps(p, gap), fs, slope_s)
    sc = slope_signal(fill_short_gaps(c, gap), fs, slope_s)
    step = max(1, int(round(fs / test_fs)))
    start = (sp.size - 1) % step  # keep the newest value
    sp, sc = sp[start::step], sc[start::step]
    fs_t = fs / step
    n = sp.size if not math.isfinite(window_s) else min(int(round(window_s * fs_t)), sp.size)
    return lead_test(
        sp[sp.size - n :], sc[sc.size - n :], fs_t, win_s, lag_s, inc_s, n_surrogates,
        min_shift_s, rng=rng, y_pool=sc, min_span_s=min_span_s, stop_early=stop_early,
    )  # fmt: skip


def coupling_percentile(test: LeadTest) -> float:
    """The coupling test's standing among its shifted pairings, ``100 * (1 - p_strength)``
    (0-100), as fed to the highlight rule; NaN when the test could not be run.

    ``p <= 0.01`` (at most one of 200 shifted pairings as strong) is the 99th percentile.
    """
    if test.status is not StatementStatus.TESTED or not math.isfinite(test.p_strength):
        return math.nan
    return 100.0 * (1.0 - test.p_strength)


@dataclass(frozen=True, eq=False)
class CouplingTimeline:
    """The coupling test replayed at the live refresh instants.

    Attributes
    ----------
    t : numpy.ndarray
        Refresh instants (s after the first grid sample).
    p : numpy.ndarray
        One-sided p of the coupling (``LeadTest.p_strength``); NaN where not tested.
    highlight : numpy.ndarray of bool
        The rule (:class:`HighlightRule`) on ``coupling_percentile`` over the refreshes.
    tests : tuple of LeadTest
        The tests themselves.
    """

    t: np.ndarray
    p: np.ndarray
    highlight: np.ndarray
    tests: tuple[LeadTest, ...]


def coupling_timeline(
    p: np.ndarray,
    c: np.ndarray,
    fs: float,
    slope_s: float,
    win_s: float,
    inc_s: float,
    method: MethodParams,
    rule: HighlightRule,
    first_s: float,
    every_s: float,
    seed: int | None = 0,
    bridge_s: float = LEAD_GAP_S,
) -> CouplingTimeline:
    """Replay the live coupling test of a whole recording at the live refresh instants.

    The live engine re-runs :func:`recent_lead_test` on the session so far at ``first_s``
    (its warm-up) and every ``every_s`` after; this runs the same test on the same prefixes,
    so the review and the report show where the console would have said "above chance".
    Only the random shifts differ (seeded here), and a check stops drawing them once it
    cannot reach p <= 0.05 (its decisions unchanged, its p then from fewer shifts).

    The checks share their work: a prefix's gap-bridged slope signals are the first values
    of the whole recording's (unless the prefix ends inside a hole, then that check runs on
    its own), and every surrogate window is gathered from one table of windowed r
    (:class:`~dsp.concordance.shifts.ShiftTable`), built once per block of checks.

    Parameters
    ----------
    p, c : numpy.ndarray
        Both people's series on the grid at ``fs``.
    slope_s, win_s, inc_s : float
        Slope window, WCC window and increment of this signal (EDA or HR).
    method : MethodParams
        ``wcc_lag_s``, ``lead_window_s``, ``lead_surrogates``, ``min_shift_s``,
        ``lead_min_span_s``.
    rule : HighlightRule
        The live rule (``DyadConfig.highlight``); ``first_s`` / ``every_s``: the live
        ``warmup_s`` / ``surrogate_every_s``.
    bridge_s : float
        Longest hole bridged (s; :func:`recent_lead_test`).
    """
    p = np.asarray(p, dtype=float)
    c = np.asarray(c, dtype=float)
    n_every = int(round(every_s * fs))
    ends = np.arange(int(round(first_s * fs)), p.size + 1, max(n_every, 1))
    seeds = np.random.SeedSequence(seed).spawn(ends.size)  # one stream per check: any order
    tests: list[LeadTest | None] = [None] * ends.size
    args = (win_s, method.wcc_lag_s, inc_s, method.lead_surrogates, method.min_shift_s)
    gap = int(round(bridge_s * fs))
    sp = slope_signal(fill_short_gaps(p, gap), fs, slope_s)
    sc = slope_signal(fill_short_gaps(c, gap), fs, slope_s)
    step = max(1, int(round(fs / LEAD_TEST_FS)))
    fs_t = fs / step
    n_test = int(round(method.lead_window_s * fs_t))
    plan: dict[int, list[tuple[int, int]]] = {}
    for i, k in enumerate(int(v) for v in ends):
        size = k - (p.size - sp.size)  # slope values of the prefix p[:k]
        if size < 1 or np.isnan(p[k - 1]) or np.isnan(c[k - 1]):  # a hole not yet bridged
            tests[i] = recent_lead_test(
                p[:k], c[:k], fs, slope_s, method.lead_window_s, *args,
                method.lead_min_span_s, np.random.default_rng(seeds[i]), stop_early=True,
                bridge_s=bridge_s,
            )  # fmt: skip
            continue
        phase = (size - 1) % step
        plan.setdefault(phase, []).append((i, (size - 1 - phase) // step + 1))
    lag, win, inc = (int(round(v * fs_t)) for v in (method.wcc_lag_s, win_s, inc_s))
    for phase, checks in plan.items():
        x1, y1 = sp[phase::step], sc[phase::step]
        for block in _table_blocks(checks, n_test, win, lag, inc, y1.size):
            table = None
            if block.n_a > 0:
                table = ShiftTable(x1, y1, win, block.a0, inc, block.n_a, lag)
            sums = _block_sums(table, block.checks, n_test, lag, inc, win, seeds, method, fs_t)
            for i, pool in block.checks:
                t0 = pool - min(n_test, pool)
                src, obs = None, None
                if table is not None:
                    src = _table_source(table, t0, lag, inc, win, pool, sums.get(i))
                    obs = table.profiles(t0, _first_window(pool, n_test, win, lag, inc)[1], lag)
                tests[i] = lead_test(
                    x1[t0:pool], y1[t0:pool], fs_t, *args, rng=np.random.default_rng(seeds[i]),
                    y_pool=y1[:pool], min_span_s=method.lead_min_span_s, stop_early=True,
                    null_source=src, observed=obs if obs is not None and obs.shape[0] else None,
                )  # fmt: skip
    done = tuple(t for t in tests if t is not None)
    pct = np.array([coupling_percentile(t) for t in done])
    pv = np.where(np.isfinite(pct), [t.p_strength for t in done], np.nan)
    return CouplingTimeline(ends / fs, pv, sustained_highlight(pct, every_s, rule), done)


@dataclass(frozen=True)
class _Block:
    """Checks sharing one table: patient windows start at ``a0 + inc * i``, ``i < n_a``."""

    checks: list[tuple[int, int]]  # (check index, pool length)
    a0: int
    n_a: int


def _first_window(pool: int, n_test: int, win: int, lag: int, inc: int) -> tuple[int, int]:
    """First patient window start and number of windows of the check with this pool."""
    n = min(n_test, pool)
    n_win = (n - 2 * lag - win) // inc + 1 if n >= 2 * lag + win else 0
    return pool - n + lag, max(n_win, 0)


def _table_blocks(
    checks: list[tuple[int, int]], n_test: int, win: int, lag: int, inc: int, n_y: int
) -> list[_Block]:
    """Consecutive checks whose windows share a phase (mod ``inc``), grouped so that each
    block's tables stay near :data:`_TABLE_VALUES` (at least one check per block)."""
    cap = max(1, _TABLE_VALUES // (2 * n_y + 1))
    blocks: list[_Block] = []
    cur: list[tuple[int, int]] = []
    lo = hi = 0
    for i, pool in checks:
        a, nw = _first_window(pool, n_test, win, lag, inc)
        if cur and nw and ((a - lo) % inc or (max(hi, a + inc * nw) - min(lo, a)) // inc > cap):
            blocks.append(_Block(cur, lo, (hi - lo) // inc))
            cur = []
        if not cur or (hi == lo):
            lo, hi = a, a + inc * nw
        elif nw:
            lo, hi = min(lo, a), max(hi, a + inc * nw)
        cur.append((i, pool))
    if cur:
        blocks.append(_Block(cur, lo, (hi - lo) // inc))
    return blocks


_Sums = tuple[np.ndarray, np.ndarray, np.ndarray]  # shifts, z sums, counts of one check


def _block_sums(
    table: ShiftTable | None,
    checks: list[tuple[int, int]],
    n_test: int,
    lag: int,
    inc: int,
    win: int,
    seeds: list[np.random.SeedSequence],
    method: MethodParams,
    fs_t: float,
) -> dict[int, _Sums]:
    """Every surrogate sum of a block's checks, computed together (:meth:`ShiftTable.zsums_many`)
    with the shifts each check's :func:`lead_test` will draw (its first draws from its own
    seed); checks that will not draw shifts are left out. Computed in groups of
    :data:`_BATCH_CHECKS` checks to bound memory."""
    if table is None or method.lead_surrogates < 19:
        return {}
    min_shift = int(round(method.min_shift_s * fs_t))
    need = 2 * min_shift + int(round(method.lead_min_span_s * fs_t)) + 1
    todo = []
    for i, pool in checks:
        n_win = _first_window(pool, n_test, win, lag, inc)[1]
        if n_win > 0 and pool >= need:
            gen = np.random.default_rng(seeds[i])
            shifts = random_shifts(pool, method.lead_surrogates, min_shift, gen)
            todo.append((i, pool - min(n_test, pool), n_win, pool, shifts))
    out: dict[int, _Sums] = {}
    for k in range(0, len(todo), _BATCH_CHECKS):
        part = todo[k : k + _BATCH_CHECKS]
        t0, nw, pools = (np.array([c[j] for c in part]) for j in (1, 2, 3))
        shifts = np.stack([c[4] for c in part])
        zs, cnt = table.zsums_many(t0, nw, pools, shifts, lag)
        out.update({c[0]: (c[4], zs[j], cnt[j]) for j, c in enumerate(part)})
    return out


def _table_source(
    table: ShiftTable, t0: int, lag: int, inc: int, win: int, pool: int, sums: _Sums | None
) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    n = pool - t0
    n_win = (n - 2 * lag - win) // inc + 1 if n >= 2 * lag + win else 0

    def source(shifts: np.ndarray, first_row: int = 0) -> tuple[np.ndarray, np.ndarray]:
        if sums is not None:
            done, zs, cnt = sums
            rows = slice(first_row, first_row + shifts.size)
            if np.array_equal(done[rows], shifts):  # the shifts the batch computed
                return zs[rows], cnt[rows]
        return table.zsums(t0, n_win, lag, pool, shifts)

    return source


def coupling_statement(
    rule: HighlightRule,
    highlight: bool,
    test: LeadTest,
    hold_s: float,
    tested_s: float,
    starts_s: float,
    elapsed_s: float,
    every_s: float,
) -> str:
    """The meter's one verdict from the coupling test, naming the live rule and its threshold
    so that a p beside "not above chance" never reads as a contradiction.

    * the rule met: "above chance by the live rule (p = 0.005 over the last 7 min, held 20 s;
      the rule needs p <= 0.01 at every 10-s check for 20 s, see README)";
    * the newest test passes, the run is still short: "not yet above chance by the live rule
      (p = 0.005 over the last 7 min, held 10 of 20 s; the rule needs ..., see README)";
    * otherwise: "not above chance by the live rule (p = 0.045 over the last 6 min; the rule
      needs ..., see README)";
    * no test yet: "no verdict yet: the live rule's test starts 4:40 into the session (see
      README)"; no test later (too little good data): "no verdict: too little good data over
      the last 10 min for the live rule's test (see README)".

    Parameters
    ----------
    rule : HighlightRule
        The rule behind ``highlight`` (its percentile, as p <= 1 - percentile / 100, and its
        hold time are quoted).
    highlight : bool
        Whether the rule holds now.
    test : LeadTest
        The newest coupling / lead test (``p_strength`` is quoted).
    hold_s : float
        Time spanned by the current run of refreshes at or above the percentile (s).
    tested_s : float
        Seconds the test covers (the session so far, at most ``lead_window_s``).
    starts_s : float
        Session time from which the test can run (s; ``DyadConfig.coupling_from_s``).
    elapsed_s : float
        Session time now (s).
    every_s : float
        Seconds between the checks (``DyadConfig.surrogate_every_s``).
    """
    pct = coupling_percentile(test)
    span = f"over the last {max(tested_s, 0.0) / 60:.0f}\u00a0min"
    if not math.isfinite(pct):
        if elapsed_s < starts_s:
            m, s = divmod(int(round(starts_s)), 60)
            return f"no verdict yet: the live rule's test starts {m}:{s:02d} into the session (see README)"
        return f"no verdict: too little good data {span} for the live rule's test (see README)"
    pt = p_text(test.p_strength)
    needs = rule_needs(rule, every_s)
    held = float(hold_s) if math.isfinite(hold_s) else 0.0
    if highlight:
        return f"above chance by the live rule ({pt} {span}, held {held:.0f}\u00a0s; {needs}, see README)"
    if pct >= rule.percentile:
        return (
            f"not yet above chance by the live rule ({pt} {span}, "
            f"{not_yet_sustained(held, rule)}; {needs}, see README)"
        )
    return f"not above chance by the live rule ({pt} {span}; {needs}, see README)"
