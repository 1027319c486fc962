"""Offline analysis of a session with more than two people (or two people with other role
names): the tested pairwise matrix, the group index and each pair's label contrasts.

The numbers come from :func:`dsp.concordance.group.group_concordance` (no Qt, no I/O here):
each person's EDA on one common 4 Hz grid over the whole recording (NaN where a person has no
good data), every pair tested on the span both have data, Holm over the pairs, the group index
(mean pairwise CI) against surrogate groups in which every member is shifted on their own,
and the Kuramoto order parameter beside it. Label contrasts are the dyad's (shared SCRs per
label, labels permuted between blocks), computed for every pair that matters.

A pair whose data never overlap is one line in :attr:`GroupAnalysis.notes`; the other pairs
and the group index go on without it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.analysis.statements import json_number
from app.formatting import MISSING, fmt_value
from app.people import People
from dsp.concordance.contrast import ContrastMeasure, LabelContrast, contrast_blocks, label_contrast
from dsp.concordance.group import (
    GroupConcordance,
    GroupIndex,
    GroupSignal,
    PairConcordance,
    PairStatus,
)
from dsp.concordance.group import group_concordance as _group_concordance
from dsp.grid import make_grid
from dsp.session import PersonSession, SessionConfig

__all__ = [
    "GroupAnalysis",
    "analyze_group",
    "group_json",
    "pair_statement",
    "pairs_json",
]

#: Mark of a cell whose pair is coupled after Holm (the evidence; the colour is the CI).
COUPLED_MARK = "●"


@dataclass(frozen=True, eq=False)
class GroupAnalysis:
    """The group part of one session's analysis.

    Attributes
    ----------
    people : People
        Names, colours and the pairs that matter (display order).
    eda : GroupConcordance
        EDA pairwise matrix, group index and per-pair lead.
    contrasts : dict
        ``(a, b)`` -> tuple of :class:`LabelContrast` (empty without two labels).
    t0 : float
        First grid sample (s, LSL clock).
    notes : tuple of str
        One line per pair that could not be tested, and why the group index is missing.
    grid_eda : numpy.ndarray
        ``(N, n)`` each present person's EDA on the 4 Hz grid from ``t0`` (µS, NaN =
        missing), rows in ``eda.people`` order (for pseudo-groups).
    hr : GroupConcordance or None
        HR pairwise matrix (bpm; 1-s slopes, 60-s WCC windows, as the dyad's HR), its own
        coupling tests, Holm over its pairs and the CI at each pair's best lag as the claim's
        second condition; no group index. None when fewer than two people have HR.
    """

    people: People
    eda: GroupConcordance
    contrasts: dict
    t0: float
    notes: tuple[str, ...]
    grid_eda: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    hr: GroupConcordance | None = None

    def pairs(self) -> list[PairConcordance]:
        """The cells of the pairs that matter, in display order."""
        return [self.eda.pair(a, b) for a, b in self.people.pairs]

    def hr_pairs(self) -> list[PairConcordance]:
        """The HR cells of the pairs that matter, in display order (empty without HR)."""
        if self.hr is None:
            return []
        return [self.hr.pair(a, b) for a, b in self.people.pairs if a in self.hr.people
                and b in self.hr.people]  # fmt: skip


def _pair_contrasts(
    x: np.ndarray,
    y: np.ndarray,
    t0: float,
    intervals: Sequence[tuple[float, float, str]],
    cfg: SessionConfig,
) -> tuple[LabelContrast, ...]:
    """Shared-SCR label contrasts of one pair for every two of the first four labels."""
    labels = list(dict.fromkeys(str(lab) for _, _, lab in intervals))[:4]
    if len(labels) < 2:
        return ()
    blocks = contrast_blocks(
        x, y, cfg.grid_fs, intervals, t0, cfg.slope_s, cfg.corr_s, cfg.step_s, cfg.wcc_win_s,
        cfg.wcc_lag_s, cfg.wcc_inc_s, measure=ContrastMeasure.SHARED_SCR, method=cfg.method,
    )  # fmt: skip
    return tuple(
        label_contrast(blocks, a, b, seed=cfg.seed) for a, b in itertools.combinations(labels, 2)
    )


def analyze_group(
    persons: dict[str, PersonSession],
    people: People,
    intervals: Sequence[tuple[float, float, str]],
    cfg: SessionConfig,
) -> GroupAnalysis:
    """The pairwise matrix, group index and label contrasts of the people in ``persons``.

    Parameters
    ----------
    persons : dict
        role -> PersonSession (at least two of ``people``).
    people : People
        The session's people (only those in ``persons`` are analysed).
    intervals : sequence of (t0, t1, label)
        Marker blocks (s, LSL clock).
    cfg : SessionConfig
    """
    t0 = min(p.t_start for p in persons.values())
    t1 = max(p.t_end for p in persons.values())
    tg = make_grid(math.ceil(t0 - 1e-9), t1, cfg.grid_fs) if t1 > t0 else np.zeros(0)
    names = [n for n in people.names if n in persons]
    eda = np.array(
        [
            persons[n].eda_on_grid(tg) if persons[n].has_eda else np.full(tg.shape, np.nan)
            for n in names
        ]
    )
    gc = _group_concordance(eda, names, cfg)
    notes = _pair_notes(gc, "EDA")
    if gc.note:
        notes.append(gc.note)
    hr_gc = None
    hr_names = [n for n in names if persons[n].has_cardiac]
    if len(hr_names) >= 2:
        hr = np.array([persons[n].hr_on_grid(tg) for n in hr_names])
        try:
            hr_gc = _group_concordance(hr, hr_names, cfg, signal=GroupSignal.HR)
        except ValueError as exc:  # e.g. two people with the same HR series
            notes.append(f"HR pair matrix not computed: {exc}")
        else:
            notes = _merge_hr_notes(notes, _pair_notes(hr_gc, "HR"))
            if hr_gc.note:
                notes.append(f"HR matrix: {hr_gc.note}")
    idx = {n: i for i, n in enumerate(names)}
    contrasts: dict[tuple[str, str], tuple[LabelContrast, ...]] = {}
    start = float(tg[0]) if tg.size else t0
    for a, b in people.pairs:
        if a in idx and b in idx and gc.pair(a, b).status is PairStatus.TESTED and intervals:
            contrasts[(a, b)] = _pair_contrasts(eda[idx[a]], eda[idx[b]], start, intervals, cfg)
    present = People(
        tuple(p for p in people.persons if p.role in idx),
        tuple(pr for pr in people.pairs if pr[0] in idx and pr[1] in idx),
        people.declared,
    )
    return GroupAnalysis(present, gc, contrasts, start, tuple(notes), eda, hr_gc)


def _merge_hr_notes(eda: list[str], hr: list[str]) -> list[str]:
    """The EDA and HR notes with one line for a pair whose EDA and HR both never overlap."""
    out = list(eda)
    for line in hr:
        twin = line.replace("their HR never overlaps in time;", "their EDA never overlaps in time;")
        if twin != line and twin in out:
            out[out.index(twin)] = twin.replace("in time;", "in time, nor their HR;")
        else:
            out.append(line)
    return out


def _pair_notes(gc: GroupConcordance, signal: str) -> list[str]:
    """One line per pair of ``gc`` that could not be tested, and why."""
    notes = []
    for pc in gc.pairs:
        if pc.status is PairStatus.NO_OVERLAP:
            notes.append(
                f"{pc.a}-{pc.b}: their {signal} never overlaps in time; this pair is not tested"
            )
        elif pc.status is PairStatus.NOT_ENOUGH_DATA:
            notes.append(
                f"{pc.a}-{pc.b}: {pc.overlap_s:.0f} s of {signal} together, not enough for a test"
            )
    return notes


# --------------------------------------------------------------------------- words, JSON


def pair_statement(pc: PairConcordance, n_pairs: int, signal: GroupSignal = GroupSignal.EDA) -> str:
    """What the cell says, in words, with its evidence (HR: "heart rates")."""
    if pc.status is not PairStatus.TESTED:
        return f"not tested: {pc.status.value}"
    family = f"Holm over {n_pairs} pair{'s' if n_pairs != 1 else ''}"
    if pc.coupled:
        lead = ""
        if pc.leader is not None:
            other = pc.b if pc.leader == pc.a else pc.a
            lead = f"; {pc.leader} leads, {other} follows by {abs(pc.lag_s):.1f} s"
        who = f"{pc.a} and {pc.b}" + ("'s heart rates" if signal is GroupSignal.HR else "")
        return f"{who} move together above chance ({family}: p = {pc.p_claim:.3g}){lead}"
    return f"not above chance after {family} (p = {pc.p_claim:.3g})"


def _index_json(g: GroupIndex | None) -> dict[str, Any] | None:
    if g is None:
        return None
    t = g.test
    return {
        "name": g.name,
        "value": json_number(t.observed),
        "p_value": json_number(t.p_value),
        "percentile": json_number(t.percentile),
        "chance_median": json_number(np.median(t.null)) if t.null.size else None,
        "surrogates": int(t.null.size),
        "above_chance": bool(g.above_chance),
        "null": "surrogate groups: every member circularly shifted on their own",
    }


def pairs_json(g: GroupAnalysis, contrast_dict: Any) -> list[dict[str, Any]]:
    """``metrics.json`` ``pairs``: one entry per pair that matters, with its statements."""
    n = sum(1 for pc in g.eda.pairs if pc.status is PairStatus.TESTED)
    out = []
    for pc in g.pairs():
        out.append(
            {
                "people": [pc.a, pc.b],
                "signal": "eda",
                "status": pc.status.value,
                "overlap_s": json_number(pc.overlap_s),
                "ci": json_number(pc.ci),
                "ci_p_value": json_number(pc.ci_p),
                "p_coupling": json_number(pc.p),
                "p_holm": json_number(pc.p_holm),
                "p_claim": json_number(pc.p_claim) if pc.status is PairStatus.TESTED else None,
                "coupled": bool(pc.coupled),
                "statement": pair_statement(pc, n),
                "lead": _lead_json(pc),
                "contrasts": [contrast_dict(c) for c in g.contrasts.get((pc.a, pc.b), ())],
                "hr": _hr_pair_json(g.hr, pc.a, pc.b),
            }
        )
    return out


def _lead_json(pc: PairConcordance) -> dict[str, Any] | None:
    lead = pc.coupling
    if lead is None:
        return None
    return {
        "leader": pc.leader,
        "lag_s": json_number(pc.lag_s),
        "p_strength": json_number(lead.p_strength),
        "p_asymmetry": json_number(lead.p_asymmetry),
        "named": pc.leader is not None,
        "rule": "named only for a coupled pair whose lead test passes; "
        "positive lag: the second person follows the first",
    }


def _hr_pair_json(hr: GroupConcordance | None, a: str, b: str) -> dict[str, Any] | None:
    """The HR cell of pair ``a``-``b`` for ``pairs[].hr`` (None without both people's HR)."""
    if hr is None or a not in hr.people or b not in hr.people:
        return None
    pc = hr.pair(a, b)
    n = sum(1 for c in hr.pairs if c.status is PairStatus.TESTED)
    lag = pc.ci_lag
    return {
        "people": [pc.a, pc.b],
        "signal": "hr",
        "status": pc.status.value,
        "overlap_s": json_number(pc.overlap_s),
        "ci": json_number(pc.ci),
        "ci_p_value": json_number(pc.ci_p),
        "ci_best_lag": json_number(lag.observed) if lag is not None else None,
        "ci_best_lag_s": json_number(lag.lag_s) if lag is not None else None,
        "ci_best_lag_p_value": json_number(lag.p_value) if lag is not None else None,
        "ci_best_lag_chance_median": json_number(np.median(lag.test.null))
        if lag is not None and lag.test.null.size
        else None,
        "p_coupling": json_number(pc.p),
        "p_holm": json_number(pc.p_holm),
        "p_claim": json_number(pc.p_claim) if pc.status is PairStatus.TESTED else None,
        "coupled": bool(pc.coupled),
        "statement": pair_statement(pc, n, GroupSignal.HR),
        "lead": _lead_json(pc),
    }


def group_json(g: GroupAnalysis) -> dict[str, Any]:
    """``metrics.json`` ``group``: the group index and its test, and the matrix's rules."""
    gc = g.eda
    return {
        "signal": "eda",
        "people": list(gc.people),
        "index": _index_json(gc.mean_ci),
        "kuramoto": _index_json(gc.kuramoto),
        "alpha": gc.alpha,
        "correction": f"Holm over the {len(gc.pairs)} pairs of the matrix",
        "pair_surrogates": gc.n_pair_surrogates,
        "group_surrogates": gc.n_group_surrogates,
        "min_shift_gap_s": json_number(gc.min_gap_s),
        "coupled_pairs": [[pc.a, pc.b] for pc in gc.pairs if pc.coupled],
        "notes": list(g.notes),
        "hr": None
        if g.hr is None
        else {
            "people": list(g.hr.people),
            "correction": f"Holm over the {len(g.hr.pairs)} pairs of the HR matrix",
            "claim": "Holm over the pairs of the larger of each pair's coupling p and the p of "
            "its CI at the best lag (within +-5 s, against the same maximum around every "
            "circular shift), below alpha",
            "pair_surrogates": g.hr.n_pair_surrogates,
            "coupled_pairs": [[pc.a, pc.b] for pc in g.hr.pairs if pc.coupled],
        },
    }


# --------------------------------------------------------------------------- tables


def _cell_value(pc: PairConcordance, signal: GroupSignal) -> float:
    """The strength shown in a cell: the session CI (EDA), or the CI at the best lag minus
    its chance median (HR: a best lag is above zero even by chance)."""
    if signal is GroupSignal.EDA:
        return pc.ci
    lag = pc.ci_lag
    if lag is None or lag.test.null.size == 0:
        return math.nan
    return lag.observed - float(np.median(lag.test.null))


def matrix_cells(
    g: GroupAnalysis, signal: GroupSignal = GroupSignal.EDA
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and rows of the pair matrix as text: CI (HR: at the pair's best lag, minus its
    chance median) with :data:`COUPLED_MARK` where the pair is coupled after Holm."""
    gc = g.eda if signal is GroupSignal.EDA else g.hr
    if gc is None:
        return ("",), ()
    names = list(gc.people)
    rows = []
    for a in names:
        cells = [a]
        for b in names:
            if a == b:
                cells.append("")
                continue
            pc = gc.pair(a, b)
            if pc.status is not PairStatus.TESTED:
                cells.append(MISSING)
                continue
            v = _cell_value(pc, signal)
            text = fmt_value(v, 2) if signal is GroupSignal.EDA else f"{v:+.2f}"
            cells.append(text + (f" {COUPLED_MARK}" if pc.coupled else ""))
        rows.append(tuple(cells))
    return ("",) + tuple(names), tuple(rows)


def _lead_text(pc: PairConcordance) -> str:
    if pc.leader is not None:
        return f"{pc.leader} leads by {abs(pc.lag_s):.1f} s"
    return "no clear lead" if pc.coupled else MISSING


def pairs_rows(g: GroupAnalysis) -> tuple[tuple[str, ...], ...]:
    """One row per pair that matters: people, CI, p (Holm), coupled, lead, contrasts."""
    rows = []
    for pc in g.pairs():
        tested = pc.status is PairStatus.TESTED
        con = "; ".join(c.text for c in g.contrasts.get((pc.a, pc.b), ())) or MISSING
        rows.append(
            (
                f"{pc.a} – {pc.b}",
                fmt_value(pc.ci, 2) if tested else MISSING,
                fmt_value(pc.p_claim, 3) if tested else MISSING,
                ("yes " + COUPLED_MARK if pc.coupled else "no") if tested else pc.status.value,
                _lead_text(pc),
                con,
            )
        )
    return tuple(rows)


#: Header of :func:`hr_pairs_rows`.
HR_PAIRS_HEADER = ("pair", "CI at best lag", "chance median", "p (Holm)", "coupled", "lead")


def hr_pairs_rows(g: GroupAnalysis) -> tuple[tuple[str, ...], ...]:
    """One row per pair that matters with both people's HR: the CI at the pair's best lag
    (and that lag), its chance median, the claim's p (Holm), coupled, lead."""
    rows = []
    for pc in g.hr_pairs():
        lag = pc.ci_lag
        if pc.status is not PairStatus.TESTED or lag is None:
            rows.append((f"{pc.a} – {pc.b}", MISSING, MISSING, MISSING, pc.status.value, MISSING))
            continue
        med = float(np.median(lag.test.null)) if lag.test.null.size else math.nan
        rows.append(
            (
                f"{pc.a} – {pc.b}",
                f"{fmt_value(lag.observed, 2)} at {lag.lag_s:+.0f} s",
                fmt_value(med, 2),
                fmt_value(pc.p_claim, 3),
                "yes " + COUPLED_MARK if pc.coupled else "no",
                _lead_text(pc),
            )
        )
    return tuple(rows)


def index_text(gi: GroupIndex | None) -> str:
    """The group index in one line: value, chance median, p and the words."""
    if gi is None:
        return MISSING
    t = gi.test
    words = "above chance" if gi.above_chance else "not above chance"
    med = float(np.median(t.null)) if t.null.size else math.nan
    return (
        f"{fmt_value(t.observed, 3)} (chance median {fmt_value(med, 3)}, "
        f"p = {fmt_value(t.p_value, 3)}, {t.null.size} surrogate groups): {words}"
    )
