"""What the group console says, in words, from one engine snapshot (no Qt).

The group console (:class:`app.gui.group_window.GroupWindow` and its widgets in
:mod:`app.gui.group_view`) and the group's headless view (:func:`app.headless.format_group_snapshot`)
both take their words and numbers from here, so the two cannot drift apart. Nothing is
computed here: every number is read from the :class:`app.engine.EngineSnapshot` and its
:class:`dsp.concordance.live_group.GroupMetrics` (the engine is the single source).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.formatting import MISSING, fmt_value
from devices.health import HealthState
from dsp.concordance.evidence import percentile_words
from dsp.concordance.group import GroupSignal
from dsp.concordance.live_group import GroupMetrics, LivePair
from dsp.person import PersonMetrics

__all__ = [
    "DELIVERING",
    "PERSON_COLUMNS",
    "GroupIndexWords",
    "group_index_words",
    "pair_verdict",
    "pair_words",
    "pause_words",
    "person_cells",
    "person_states",
    "status_words",
]

#: (attribute, validity attribute, header, decimals) of each person's numbers: the console's
#: table and the headless lines show a number only while its validity flag is set.
PERSON_COLUMNS = (
    ("hr_bpm", "hr_valid", "HR bpm", 0),
    ("rmssd_ms", "hrv_valid", "RMSSD ms", 0),
    ("scl_us", "scl_valid", "SCL \u00b5S", 2),
    ("scr_per_min", "scr_valid", "SCR /min", 1),
)
#: A person's signal state when every signal delivers.
DELIVERING = "delivering"
#: Seconds without EDA after which a person with paused pairs reads "EDA missing".
_EDA_MISSING_S = 5.0


def person_cells(pm: PersonMetrics | None) -> list[str]:
    """One person's numbers as the table shows them (:data:`PERSON_COLUMNS`; the missing
    glyph where the value is not valid or the person has no data yet)."""
    out = []
    for attr, valid, _header, nd in PERSON_COLUMNS:
        ok = pm is not None and getattr(pm, valid, False)
        out.append(fmt_value(getattr(pm, attr, math.nan) if ok else math.nan, nd))
    return out


def person_states(snap) -> dict[str, str]:
    """Per person what is not delivering ('' or absent: every signal delivers).

    A followed stream not connected reads ``"eda not delivering"``; a person whose pairs
    are paused and whose EDA is over 5 s old ``"EDA missing: pairs paused"``; a signal whose
    stream has not appeared ``"waiting for EDA: GLOB"`` (or the assignment's problem).
    """
    lost: dict[str, str] = {}
    for rm, key in snap.channels.items():
        role, mod = rm.split("/")
        h = snap.health.get(key)
        if h is None or h.state is not HealthState.CONNECTED:
            lost[role] = ", ".join(filter(None, (lost.get(role, ""), f"{mod} not delivering")))
    g = snap.group
    paused = {p for pc in g.pairs if pc.paused for p in (pc.a, pc.b)} if g else set()
    for name in paused - set(lost):
        pm = snap.persons.get(name)
        if pm is None or not np.isfinite(pm.eda_last_t) or snap.t - pm.eda_last_t > _EDA_MISSING_S:
            lost[name] = "EDA missing: pairs paused"
    waits: dict[str, list[str]] = {}
    for w in snap.waiting:  # signals whose streams have not appeared yet (start in any order)
        text = w.text if w.problem or w.impossible else f"waiting for {w.label}: {w.what}"
        waits.setdefault(w.role, []).append(text)
    lost.update({role: "; ".join(texts) for role, texts in waits.items()})
    return lost


def status_words(snap, people: tuple[str, ...]) -> str:
    """The console's status line: signals still awaited, the number of people and pairs,
    the pairs coupled above chance after Holm, the tick's cost."""
    g = snap.group
    n_pairs = len(people) * (len(people) - 1) // 2
    coupled = [f"{pc.a}\u2013{pc.b}" for pc in (g.pairs if g else ()) if pc.coupled]
    hr = g.hr if g is not None else None
    hr_coupled = [f"{pc.a}\u2013{pc.b}" for pc in (hr.pairs if hr else ()) if pc.coupled]
    hr_part = f"; HR: {', '.join(hr_coupled)}" if hr_coupled else ""
    n_wait = len(snap.waiting)
    waiting = (
        f"waiting for {n_wait} signal{'s' if n_wait > 1 else ''} (see the table); "
        if n_wait
        else ""
    )
    return (
        f"{waiting}{len(people)} people, {n_pairs} pairs; coupled above chance after Holm: "
        f"{', '.join(coupled) if coupled else 'none'}{hr_part}; "
        f"tick {snap.tick_cost_s * 1000:.1f} ms"
    )


def pair_verdict(pc: LivePair) -> str:
    """The pair's verdict: marked only while the group's rule holds after Holm."""
    if pc.coupled:
        return "coupled above chance"
    return "not claimed (not above chance after the correction)"


def pause_words(pc: LivePair, signal: str) -> str:
    """Why a paused pair's tests wait: nothing from one of the two yet, or a lost signal."""
    if pc.waiting:
        return f"waiting: no {signal} from one of the two yet (tests wait)"
    return f"paused: one of the two has had no {signal} for 5 s (tests wait)"


def pair_words(pc: LivePair, metrics: GroupMetrics) -> str:
    """One pair's cell in one line: the last minute's CI, the coupling test's raw and
    Holm-adjusted p, the verdict with how long the group's rule has held, and, only while
    coupled, who leads (the words of the cell's tooltip). An HR matrix's line also gives the
    best-lag CI test's p: its Holm runs over the larger of the two (the offline HR rule)."""
    hr = metrics.signal is GroupSignal.HR
    if pc.paused:
        return pause_words(pc, "HR" if hr else "EDA")
    ci = fmt_value(pc.ci_rolling, 2) if pc.valid else MISSING
    parts = [f"CI {ci} (last minute)"]
    if not math.isfinite(pc.p):
        parts.append("coupling test not run yet")
    elif hr:
        ci_p = pc.ci_test.p_value if pc.ci_test is not None else math.nan
        parts.append(
            f"p = {pc.p:.4f} raw, best-lag CI p = {ci_p:.4f}; the larger {pc.p_holm:.3f} "
            f"after Holm over {len(metrics.pairs)} pairs"
        )
    else:
        parts.append(
            f"p = {pc.p:.4f} raw, {pc.p_holm:.3f} after Holm over {len(metrics.pairs)} pairs"
        )
    mark = "\u2605 " if pc.coupled else ""
    held = (
        f" (rule held {pc.hold_s:.0f} of {metrics.rule.hold_s:.0f} s)"
        if math.isfinite(pc.p)
        else ""
    )
    parts.append(mark + pair_verdict(pc) + held)
    if pc.leader is not None:
        follower = pc.b if pc.leader == pc.a else pc.a
        parts.append(f"{pc.leader} leads, {follower} follows by {abs(pc.lag_s):.1f} s")
    return "  ".join(parts)


@dataclass(frozen=True)
class GroupIndexWords:
    """The group index panel's words.

    Attributes
    ----------
    value : str
        The mean pairwise CI and its verdict (the missing glyph before the first test).
    detail : str
        Percentile among the surrogate groups, p, Kuramoto R, the rule and how long it held;
        before the first test, when it starts (or why no pair can be claimed yet).
    note : str
        Why no pair can be claimed yet ('' otherwise; shown after ``detail`` once tested).
    """

    value: str
    detail: str
    note: str = ""


def group_index_words(m: GroupMetrics | None) -> GroupIndexWords:
    """The group index with its percentile among surrogate groups and the rule's verdict."""
    if m is None or m.index.mean_ci is None:
        n = len(m.people) if m is not None else 3
        start = 60 * n + 5
        if m is not None and m.note:
            wait = m.note
        elif m is not None and m.elapsed_s >= start:  # the worker has the first test
            wait = "first test being computed"
        else:
            wait = f"tested from {start} s on"
        return GroupIndexWords(MISSING, wait)
    t, k, idx = m.index.mean_ci, m.index.kuramoto, m.index
    verdict = "moving together above chance" if idx.above_chance else "not above chance"
    kur = (
        f"; Kuramoto R {k.observed:.2f} "
        f"({percentile_words(k.percentile, k.null.size, 'shifted groups')})"
        if k is not None
        else ""
    )
    detail = (
        f"last 10 min: {percentile_words(t.percentile, t.null.size, 'shifted groups')}"
        f" (p = {t.p_value:.3f}){kur}. Rule: {m.rule.percentile:.0f}th percentile at every "
        f"check for {m.rule.hold_s:.0f} s (held {idx.hold_s:.0f} s)."
    )
    return GroupIndexWords(f"{t.observed:+.2f} \u2013 {verdict}", detail, m.note)
