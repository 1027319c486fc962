"""Headless live view: one compact line per second per person, plus the dyad."""

from __future__ import annotations

import math
import time

from app.engine import EngineSnapshot, health_line
from app.formatting import MISSING
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
        health = " ".join(
            f"{rm.split('/')[1]}:{health_line(snap.health[snap.channels[rm]])}"
            for rm in mine
            if snap.channels[rm] in snap.health
        )
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


def dyad_lines(d, clock: str, snap: EngineSnapshot | None = None) -> list[str]:
    """The dyad's lines, in the console meters' words: per meter its verdict (the live rule,
    its p and threshold, or "paused" naming whose signal is missing), then the last minute
    as a description with the tested lead; HR coherence against its chance level, and the
    shared-breathing note. ``snap`` supplies who is missing when a meter is paused."""
    if d.warming_up:
        return [f"{clock} dyad      warming up ({_f(d.elapsed_s, '.0f')} s of data)"]
    if snap is not None:
        eda, hr = meter_states(snap, LIVE.warmup_s)
    else:
        eda, hr = concordance_state(d, LIVE.warmup_s), hr_sync_state(d, LIVE.warmup_s)
    out = []
    for name, st, lead in (("EDA", eda, f"lead: {d.lead_text}"), ("HR ", hr, hr.lead)):
        out.append(f"{clock} dyad      {name} {st.verdict}")
        if st.active:
            out.append(f"{clock} dyad      {name} {st.status}  {lead}")
    coh = coherence_lines(d)
    out.append(f"{clock} dyad      {coh.numbers}" + (f"  {coh.words}" if coh.words else ""))
    if d.breathing_note:
        out.append(f"{clock} dyad      {d.breathing_note}")
    return out
