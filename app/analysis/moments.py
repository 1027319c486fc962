"""The session's moments for supervision with video (no Qt): where concordance was highest and
lowest, the marked moments (M) with their notes, and the talking / listening blocks.

Concordance moments use the evidence the review and report already show, nothing new:

- **high** (EDA, HR): a stretch where the "above chance" highlight holds
  (:data:`dsp.concordance.dyad.HIGHLIGHT`: the coupling test of the last 10 minutes at the
  99th percentile of its time-shifted pairings, held 20 s); its smallest p is given. Ranked by
  that p, then length.
- **low** (EDA, HR): a stretch where the rolling 1-minute Marci CI sits at or below the 1st
  percentile of its circular-shift surrogates (below the chance band: the two people's skin
  conductance / heart rate moving apart) for at least the same 20 s; its lowest percentile is
  given. This mirrors the highlight's percentile and hold on the meter's own number; its
  session-level false-alarm rate has not been calibrated like the highlight's (a description
  with its percentile, not a tested claim of "discordance").

Times are LSL seconds, as in :class:`app.analysis.SessionAnalysis`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from app.analysis.tables import Table
from app.formatting import fmt_mmss
from app.video import find_session_video
from devices.media_devices import VideoError
from devices.video_file import FrameReader
from dsp.concordance.dyad import HIGHLIGHT

#: Rolling-CI percentile at or below which a low moment is counted (mirrors HIGHLIGHT).
LOW_PERCENTILE = 100.0 - HIGHLIGHT.percentile


class MomentKind(Enum):
    HIGH = "high concordance"
    LOW = "low concordance"
    MARKED = "marked moment"
    BLOCK = "block"


@dataclass(frozen=True)
class Moment:
    """One moment of a session.

    Attributes
    ----------
    kind : MomentKind
    signal : str
        ``"EDA"`` or ``"HR"`` for concordance moments, else ``""``.
    t0, t1 : float
        Start and end (s, LSL clock); equal for a marked instant.
    caption : str
        What was measured, in words, with its p or percentile.
    p : float
        Smallest coupling p in a high moment (NaN otherwise).
    percentile : float
        Lowest rolling-CI percentile in a low moment (NaN otherwise).
    """

    kind: MomentKind
    signal: str
    t0: float
    t1: float
    caption: str
    p: float = math.nan
    percentile: float = math.nan

    def as_json(self, t_start: float) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "signal": self.signal,
            "t0_s": self.t0 - t_start,
            "t1_s": self.t1 - t_start,
            "t0_lsl": self.t0,
            "t1_lsl": self.t1,
            "caption": self.caption,
            "p": None if math.isnan(self.p) else self.p,
            "percentile": None if math.isnan(self.percentile) else self.percentile,
        }


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` where ``mask`` is True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(int))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def concordance_moments(analysis: Any) -> list[Moment]:
    """High and low concordance moments of EDA and HR (see the module docstring)."""
    dyad = analysis.dyad
    if dyad is None:
        return []
    out: list[Moment] = []
    for name, sig in (("EDA", dyad.eda), ("HR", dyad.hr)):
        tl = getattr(sig, "timeline", None)
        if tl is None or tl.t.size == 0:
            continue
        t = np.asarray(tl.t, float)
        if tl.highlight is not None and tl.coupling_p is not None:
            for i, j in _runs(tl.highlight):
                p = (
                    float(np.nanmin(tl.coupling_p[i:j]))
                    if np.isfinite(tl.coupling_p[i:j]).any()
                    else math.nan
                )
                cap = (f"{name} concordance above chance for {fmt_mmss(t[j - 1] - t[i] + 1)} "
                       f"(coupling over the last 10 min, p = {p:.3f} at best)")  # fmt: skip
                out.append(Moment(MomentKind.HIGH, name, t[i], t[j - 1] + 1, cap, p=p))
        pct = np.asarray(tl.percentile, float)
        low = np.isfinite(pct) & (pct <= LOW_PERCENTILE)
        for i, j in _runs(low):
            if t[j - 1] + 1 - t[i] < HIGHLIGHT.hold_s:
                continue
            lo = float(np.nanmin(pct[i:j]))
            cap = (f"{name} moving apart for {fmt_mmss(t[j - 1] - t[i] + 1)}: last-minute CI "
                   f"below the chance band ({lo:.1f}th percentile of chance at lowest)")  # fmt: skip
            out.append(Moment(MomentKind.LOW, name, t[i], t[j - 1] + 1, cap, percentile=lo))
    return out


def _notes(recording: Path) -> dict[int, str]:
    path = recording.parent / "moment_notes.jsonl"
    notes: dict[int, str] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            notes[int(d["number"])] = str(d["text"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return notes


def marked_moments(analysis: Any) -> list[Moment]:
    """The clinician's moments (M) with their notes, and the talking / listening blocks."""
    notes = _notes(Path(analysis.path))
    out: list[Moment] = []
    for t, lab in analysis.markers:
        if not str(lab).startswith("M"):
            continue
        cap = "marked moment"
        if "note " in lab:
            try:
                n = int(str(lab).rsplit("note ", 1)[1].split()[0])
                cap = f"marked moment: {notes.get(n, f'note {n} (text not in this folder)')}"
            except ValueError:
                pass
        out.append(Moment(MomentKind.MARKED, "", float(t), float(t), cap))
    for a, b, lab in analysis.intervals:
        out.append(
            Moment(MomentKind.BLOCK, "", float(a), float(b), f"{lab} block, {fmt_mmss(b - a)}")
        )
    return out


def session_moments(analysis: Any, top: int | None = None) -> list[Moment]:
    """High moments (smallest p first), low moments (lowest percentile first), each capped
    at ``top`` per kind and signal, then marked moments and blocks, each group in time order
    within its rank."""
    conc = concordance_moments(analysis)
    high = sorted((m for m in conc if m.kind is MomentKind.HIGH), key=lambda m: (m.p, m.t0 - m.t1))
    low = sorted(
        (m for m in conc if m.kind is MomentKind.LOW), key=lambda m: (m.percentile, m.t0 - m.t1)
    )
    if top is not None:
        high = [m for s in ("EDA", "HR") for m in [x for x in high if x.signal == s][:top]]
        low = [m for s in ("EDA", "HR") for m in [x for x in low if x.signal == s][:top]]
    return high + low + marked_moments(analysis)


def moments_json(analysis: Any) -> list[dict[str, Any]]:
    """The moments for ``metrics.json`` (times also in s from the session start)."""
    return [m.as_json(analysis.t_start) for m in session_moments(analysis)]


def moments_table(analysis: Any, top: int = 3) -> Table | None:
    """The moments as the report's and review's table (None when there are none)."""
    ms = session_moments(analysis, top=top)
    if not ms:
        return None
    rows = []
    for m in ms:
        ev = f"p = {m.p:.3f}" if not math.isnan(m.p) else (
            f"{m.percentile:.1f}th percentile" if not math.isnan(m.percentile) else "")  # fmt: skip
        rows.append((fmt_mmss(m.t0 - analysis.t_start), fmt_mmss(m.t1 - m.t0), m.kind.value,
                     m.signal or "", m.caption, ev or "–"))  # fmt: skip
    return Table(
        "moments",
        "Moments (for review with video)",
        ("start (m:ss)", "length", "moment", "signal", "what was measured", "evidence"),
        tuple(rows),
        "High: the 'above chance' highlight held (smallest p of its coupling tests). Low: the "
        "last-minute CI at or below the 1st percentile of chance for 20 s or more (a "
        "description; its session-level false-alarm rate is not calibrated). Thumbnails of "
        "the video are left out of the report: faces are private.",
    )


def moments_thumbnails_html(analysis: Any, top: int = 3, width: int = 240) -> list[str]:
    """HTML: one frame of the session's video per moment (embedded PNG), or a line saying
    why there is none. Only for ``attune analyze --thumbnails``."""
    out = ["<h2>Moments: video frames</h2>"]
    try:
        video = find_session_video(analysis.path)
    except (VideoError, OSError, ValueError) as exc:
        return out + [f'<p class="note">No frames: {html.escape(str(exc))}</p>']
    if video is None:
        return out + ['<p class="note">No frames: the session has no video.</p>']
    from matplotlib import image as mpimg  # only for --thumbnails

    cells = []
    reader = FrameReader(video.path, width=width)
    try:
        for m in session_moments(analysis, top=top):
            f = video.to_file(m.t0)
            got = reader.frame_at(f) if f >= 0 else None
            if got is None:
                continue
            buf = io.BytesIO()
            mpimg.imsave(buf, np.ascontiguousarray(got[0]), format="png")
            src = base64.b64encode(buf.getvalue()).decode("ascii")
            cap = html.escape(f"{fmt_mmss(m.t0 - analysis.t_start)} {m.kind.value} {m.signal}")
            cells.append(f'<figure style="display:inline-block;margin:4px"><img alt="{cap}" '
                         f'src="data:image/png;base64,{src}"><figcaption class="small">{cap}'
                         "</figcaption></figure>")  # fmt: skip
    finally:
        reader.close()
    return out + ["<div>" + "".join(cells) + "</div>"]
