"""One way to show a number to a person: fixed decimals, a unit, and one missing-value glyph.

Used by the console, the review window, the HTML report, the library table and the headless
lines. Machine-readable files (CSV, JSON) do not use it: they write an empty cell or null.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MISSING = "–"
"""Shown wherever a value is not available (en dash)."""


def fmt_value(v: Any, nd: int = 2, unit: str = "") -> str:
    """``v`` with ``nd`` decimals and ``unit`` (e.g. ``" ms"``); :data:`MISSING` if absent.

    None, NaN and infinities are missing; booleans read "yes"/"no"; integers keep no decimals;
    other objects are shown with ``str``.
    """
    if v is None:
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v)}{unit}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{nd}f}{unit}" if math.isfinite(float(v)) else MISSING
    return str(v)


def fmt_mmss(seconds: float | None) -> str:
    """Seconds as ``m:ss``, or ``h:mm:ss`` from one hour on (rounded to the second, negative
    values signed); :data:`MISSING` if not finite."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    r = int(round(float(seconds)))
    sign, r = ("-" if r < 0 else ""), abs(r)
    if r >= 3600:
        return f"{sign}{r // 3600}:{r % 3600 // 60:02d}:{r % 60:02d}"
    return f"{sign}{r // 60}:{r % 60:02d}"
