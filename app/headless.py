"""Headless live view: one compact line per second per person, plus the dyad."""

from __future__ import annotations

import math
import time

from app.engine import EngineSnapshot, health_line
from app.formatting import MISSING


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
        if d.warming_up:
            pct = "warming up"
        else:
            pct = f"pct {_f(d.percentile, '3.0f')}"
        lines.append(
            f"{clock} dyad      EDA r {_f(d.slope_r, '+.2f')}  CI {_f(d.ci_rolling, '+.2f')}  "
            f"{pct}  {d.lead_text}  HR-sync r {_f(d.hr_wcc_peak_r, '+.2f')}"
        )
    for e in snap.errors:
        lines.append(f"{clock} ! {e}")
    return lines
