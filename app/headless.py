"""Headless live view: one compact block per tick, a line per person plus the dyad, or for a
group of 3-8 people (:func:`format_group_snapshot`) a line per person, per pair and for the
group index, in the group console's words (:mod:`app.group_words`)."""

from __future__ import annotations

import math
import time

from app.engine import EngineSnapshot, health_line
from app.formatting import MISSING, fmt_mmss
from app.group_words import (
    DELIVERING,
    PERSON_COLUMNS,
    group_index_words,
    pair_words,
    person_cells,
    person_states,
    status_words,
)
from app.meter_state import (
    LIVE,
    coherence_lines,
    concordance_state,
    hr_sync_state,
    meter_states,
)
from app.preroll import PREROLL_LABEL


def _f(v, fmt: str, unit: str = "") -> str:
    """``v`` in a fixed-width format spec (aligned columns), else the missing glyph."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return MISSING
    return MISSING if not math.isfinite(x) else f"{x:{fmt}}{unit}"


def format_snapshot(snap: EngineSnapshot) -> list[str]:
    """Text lines for one snapshot: a line per person, one for the dyad."""
    clock = time.strftime("%H:%M:%S")
    lines = []
    for role in ("patient", "clinician"):
        pm = snap.persons.get(role)
        mine = sorted(rm for rm in snap.channels if rm.startswith(role + "/"))
        waits = [w for w in snap.waiting if w.role == role]
        # what is not connected yet, per signal ("waiting for the patient's EDA: X*")
        lines += [f"{clock} {role:<9} {w.text}" for w in waits]
        if waits and not mine:
            continue  # nothing of this person is connected: no numbers to show
        health = _health(snap, mine)
        if pm is None:
            lines.append(f"{clock} {role:<9} (no data yet)  {health}")
            continue
        lines.append(
            f"{clock} {role:<9} HR {_f(pm.hr_bpm, '5.1f')} bpm  "
            f"RMSSD {_f(pm.rmssd_ms, '4.0f')} ms  "
            f"SCL {_f(pm.scl_us, '5.2f')} uS  SCR {_f(pm.scr_per_min, '4.1f')}/min  "
            f"q:{pm.cardiac_quality}/{pm.eda_quality}  {health}"
        )
    d = snap.dyad
    if d is not None:
        lines += dyad_lines(d, clock, snap)
    if snap.preroll_s > 0:
        lines.append(
            f"{clock} dyad      {PREROLL_LABEL}: the first {snap.preroll_s:.0f} s were "
            "computed at start (demo)"
        )
    for e in (*snap.notes, *snap.errors):
        lines.append(f"{clock} ! {e}")
    return lines


def _health(snap: EngineSnapshot, mine: list[str]) -> str:
    """Stream health of one person's connected signals ("eda:connected/32Hz ...")."""
    return " ".join(
        f"{rm.split('/')[1]}:{health_line(snap.health[snap.channels[rm]])}"
        for rm in mine
        if snap.channels[rm] in snap.health
    )


def dyad_lines(d, clock: str, snap: EngineSnapshot | None = None, who: str = "dyad") -> list[str]:
    """The dyad's lines, in the console meters' words: per meter its verdict (the live rule,
    its p and threshold, or "paused" naming whose signal is missing), then the last minute
    as a description with the tested lead; HR coherence against its chance level, and the
    shared-breathing note. ``snap`` supplies who is missing when a meter is paused; ``who``
    heads each line (a group's selected pair: its two names)."""
    head = f"{clock} {who:<9}"
    if d.warming_up:
        return [f"{head} warming up ({_f(d.elapsed_s, '.0f')} s of data)"]
    if snap is not None:
        eda, hr = meter_states(snap, LIVE.warmup_s)
    else:
        eda, hr = concordance_state(d, LIVE.warmup_s), hr_sync_state(d, LIVE.warmup_s)
    out = []
    for name, st, lead in (("EDA", eda, f"lead: {d.lead_text}"), ("HR ", hr, hr.lead)):
        out.append(f"{head} {name} {st.verdict}")
        if st.active:
            out.append(f"{head} {name} {st.status}  {lead}")
    coh = coherence_lines(d)
    out.append(f"{head} {coh.numbers}" + (f"  {coh.words}" if coh.words else ""))
    if d.breathing_note:
        out.append(f"{head} {d.breathing_note}")
    return out


def format_group_snapshot(snap: EngineSnapshot, people: tuple[str, ...]) -> list[str]:
    """Text lines of one group snapshot (3-8 people), the group console's words and numbers
    (:mod:`app.group_words`; nothing recomputed):

    * per person the table's row: HR, RMSSD, SCL, SCR rate (shown only while valid) and
      the signal state (``delivering``, what is not, or what it waits for), with the
      streams' health; a person none of whose signals is connected yet: what it waits for;
    * the big meter's pair (the selected pair's dyad lines, headed by its two names);
    * per pair the matrix cell: the last minute's CI, the coupling test's raw and
      Holm-adjusted p, whether it is coupled above chance, who leads while it is; below it
      the same pair's HR cell ("HR: ...", the HR matrix's words);
    * the group index with its percentile, p and verdict, and the status line.
    """
    clock = time.strftime("%H:%M:%S")
    width = max(9, *(len(p) for p in people))
    states = person_states(snap)
    heads = "  ".join(h for _a, _v, h, _n in PERSON_COLUMNS)
    lines = [f"{clock} {'person':<{width}} {heads}  signals"]
    for role in people:
        mine = sorted(rm for rm in snap.channels if rm.startswith(role + "/"))
        state = states.get(role, "") or DELIVERING
        if not mine:  # nothing of this person connected: only what it waits for
            lines.append(f"{clock} {role:<{width}} {state}")
            continue
        cells = person_cells(snap.persons.get(role))
        nums = "  ".join(
            f"{c:>{len(h)}}" for c, (_a, _v, h, _n) in zip(cells, PERSON_COLUMNS, strict=True)
        )
        lines.append(f"{clock} {role:<{width}} {nums}  {state}  {_health(snap, mine)}")
    g = snap.group
    if snap.dyad is not None and snap.pair is not None:
        lines += dyad_lines(snap.dyad, clock, snap, who="\u2013".join(snap.pair))
    if g is not None:
        elapsed = fmt_mmss(g.elapsed_s)
        lines.append(f"{clock} pairs     EDA concordance, {elapsed} of grid data")
        pw = max(len(pc.a) + len(pc.b) + 1 for pc in g.pairs)
        for pc in g.pairs:
            name = f"{pc.a}\u2013{pc.b}"
            lines.append(f"{clock}   {name:<{pw}} {pair_words(pc, g)}")
            if g.hr is not None:  # the same pair's HR cell
                hr_pc = g.hr.pair(pc.a, pc.b)
                lines.append(f"{clock}   {'':<{pw}} HR: {pair_words(hr_pc, g.hr)}")
        words = group_index_words(g)
        lines.append(f"{clock} group     mean pairwise CI {words.value}")
        lines.append(f"{clock} group     {words.detail}")
        if words.note:
            lines.append(f"{clock} group     Pairs: {words.note}.")
    if snap.preroll_s > 0:
        lines.append(
            f"{clock} group     includes {snap.preroll_s / 60:.0f} min of simulated history"
        )
    lines.append(f"{clock} status    {status_words(snap, people)}")
    for e in (*snap.notes, *snap.errors):
        lines.append(f"{clock} ! {e}")
    return lines
