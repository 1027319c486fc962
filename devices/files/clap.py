"""Align device files on a marked clap (``--sync-event clap@MM:SS``; no Qt, no app).

A lab engineer asks both people to clap once (or clap the two wrists' devices together) and
notes roughly when. Each file's sharpest transient near that time (:mod:`dsp.transient`) is
the clap as its own clock saw it; shifting each file so the claps coincide removes the clocks'
offset down to the sampling resolution.

The marked time is either elapsed time from the session start (``clap@2:15``, ``clap@1:02:15``,
``clap@135.5``; the start is the earliest file's first sample by the devices' clocks, or a
file's own first sample when its absolute time is unknown) or a local date and time
(``clap@2026-01-01T10:02:15``). ``±SECONDS`` (or ``+-SECONDS``) after it says how roughly it
was noted (default 10 s). Each file is searched within the marked time ± (that + the file's
clock uncertainty).

The signal searched is the file's accelerometer; without one its PPG, then ECG, then EDA (a
motion artefact). A file in which the largest transient is not clearly sharper than the
ordinary movement, or not clearly larger than the next one, is refused: a wrong clap would
misalign the people by seconds without saying so.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

from devices.files.base import DeviceRecording, Modality
from dsp.transient import TransientFind, transient_find

DEFAULT_TOLERANCE_S = 10.0
SEARCH_ORDER = (Modality.ACC, Modality.PPG, Modality.ECG, Modality.EDA)
_SPEC = re.compile(r"^clap@(?P<when>[^±+]+?)\s*(?:(?:±|\+-|\+/-)\s*(?P<tol>[0-9.]+)\s*s?)?$",
                   re.IGNORECASE)  # fmt: skip


class ClapSyncError(ValueError):
    """No clear clap (one line naming the file and what was seen)."""


@dataclass(frozen=True)
class ClapMark:
    """The marked clap: ``elapsed_s`` from the session start, or ``absolute_s`` (Unix s)."""

    elapsed_s: float | None
    absolute_s: float | None
    tolerance_s: float
    text: str


@dataclass(frozen=True)
class ClapFound:
    """The clap in one file: the signal searched, its window (file clock, Unix s), the find."""

    label: str
    modality: Modality
    lo: float
    hi: float
    find: TransientFind


def is_clap(spec: str | None) -> bool:
    """Whether a ``--sync-event`` value asks for a clap (``clap@...``)."""
    return bool(spec) and spec.strip().lower().startswith("clap@")


def clap_parse(spec: str) -> ClapMark:
    """Parse ``clap@WHEN[±TOL]`` (see the module docstring)."""
    m = _SPEC.match(spec.strip())
    bad = (f"--sync-event {spec!r}: use clap@MM:SS (time from the session start), "
           "clap@H:MM:SS, clap@SECONDS or clap@YYYY-MM-DDTHH:MM:SS, optionally ±SECONDS")  # fmt: skip
    if not m:
        raise ClapSyncError(bad)
    when, tol = m.group("when").strip(), m.group("tol")
    tol_s = float(tol) if tol else DEFAULT_TOLERANCE_S
    if not (math.isfinite(tol_s) and tol_s > 0):
        raise ClapSyncError(bad)
    if "T" in when.upper() and "-" in when:
        try:
            t = _dt.datetime.fromisoformat(when)
        except ValueError:
            raise ClapSyncError(bad) from None
        t = t.astimezone() if t.tzinfo is None else t  # no zone given: local time
        return ClapMark(None, t.timestamp(), tol_s, spec)
    parts = when.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ClapSyncError(bad) from None
    if len(nums) > 3 or any(v < 0 or not math.isfinite(v) for v in nums):
        raise ClapSyncError(bad)
    secs = 0.0
    for v in nums:
        secs = secs * 60.0 + v
    return ClapMark(secs, None, tol_s, spec)


def _signal(rec: DeviceRecording):
    for mod in SEARCH_ORDER:
        sig = rec.signal(mod)
        if sig is not None and sig.times.size >= 3 and sig.rate > 0:
            return sig
    return None


def clap_find(rec: DeviceRecording, mark: ClapMark, session_start: float) -> ClapFound:
    """The clap in one recording (file clock); :class:`ClapSyncError` when it is unclear."""
    name = Path(rec.path).name
    sig = _signal(rec)
    if sig is None:
        raise ClapSyncError(f"{rec.path}: no accelerometer, PPG, ECG or EDA samples to find "
                            "the clap in")  # fmt: skip
    unc = rec.clock.uncertainty_s
    if mark.absolute_s is not None:
        if not math.isfinite(unc):
            raise ClapSyncError(f"{rec.path}: its absolute time is unknown; mark the clap as "
                                "time from the start (clap@MM:SS)")  # fmt: skip
        centre = mark.absolute_s
    else:
        start = session_start if math.isfinite(unc) else rec.t_first
        centre = start + float(mark.elapsed_s or 0.0)
    half = mark.tolerance_s + (unc if math.isfinite(unc) else 0.0)
    lo, hi = centre - half, centre + half
    f = transient_find(sig.values, sig.times, lo, hi, step=sig.step)
    what = f"its {sig.label.split(',')[0].split(' ')[0]} ({sig.modality.value})"
    if not f.found:
        if math.isnan(f.peak_s):
            raise ClapSyncError(f"{name}: no samples of {what} within ±{half:g} s of the marked "
                                f"clap ({mark.text})")  # fmt: skip
        raise ClapSyncError(
            f"{name}: no clear clap within ±{half:g} s of the marked time in {what} "
            f"({f.problem.value}): its sharpest change is {f.strength:.1f}x the ordinary movement (needs 8) and "
            f"{f.clarity:.2f}x the next largest (needs 2); mark the time more closely, widen "
            "the window (e.g. ±30) if the clocks are further apart, or use a tag"
        )
    return ClapFound(sig.label.split(",")[0].split(" ")[0], sig.modality, lo, hi, f)


def clap_shifts(recs: list[tuple[str, DeviceRecording]], spec: str,
                session_start: float) -> tuple[list[float], list[str], dict]:  # fmt: skip
    """Shift per recording (s) so that the claps coincide with the first recording's.

    Returns the shifts, lines for the user and the alignment record for ``session.json``
    (``uncertainty_s``: the worst pair's sum of the two onsets' resolutions, one sample
    interval each).
    """
    mark = clap_parse(spec)
    found = [clap_find(r, mark, session_start) for _, r in recs]
    ref = found[0].find
    shifts = [ref.onset_s - c.find.onset_s for c in found]
    unc = max((ref.resolution_s + c.find.resolution_s for c in found[1:]), default=0.0)
    lines = []
    for (role, r), c, s in zip(recs, found, shifts, strict=True):
        f = c.find
        when = (
            f"{_dt.datetime.fromtimestamp(f.onset_s, _dt.UTC).strftime('%H:%M:%S.%f')[:-3]} UTC "
            "by its clock"
            if math.isfinite(r.clock.uncertainty_s)
            else f"{f.onset_s - r.t_first:.3f} s into the file (its absolute time is unknown)"
        )
        lines.append(
            f"clap: {role} {Path(r.path).name}: {c.label} at {when} (±{f.resolution_s:.3f} s), {f.strength:.0f}x the ordinary movement, "
            f"{f.clarity:.1f}x the next largest within the window; shifted {s:+.3f} s"
        )
    if len(found) > 1:
        lines.append(f"aligned on the clap: the people's signals are offset by at most "
                     f"±{unc:.3f} s (one sample of each device)")  # fmt: skip
    info = {
        "method": "clap",
        "marked": mark.text,
        "uncertainty_s": round(unc, 6),
        "claps": [{"file": r.path, "signal": c.label,
                   "modality": c.modality.value, "onset_unix_s": c.find.onset_s,
                   "strength": round(c.find.strength, 2), "clarity": round(c.find.clarity, 2)
                   if math.isfinite(c.find.clarity) else None,
                   "resolution_s": c.find.resolution_s}
                  for (_, r), c in zip(recs, found, strict=True)],
    }  # fmt: skip
    return shifts, lines, info
