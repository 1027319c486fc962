"""``attune video clips``: each moment of a session as a short clip with a sidecar text (no Qt).

Clips are stream-copied from the session's video (no re-encoding; a clip starts at the key
frame at or before its start, at most one second early for Attunement's own recordings) and
written owner-only (0600), each with ``<clip>.txt`` giving what was measured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.analysis.moments import Moment, session_moments
from app.formatting import fmt_mmss
from app.video import SessionVideo
from devices.video_file import video_export_clip, video_probe


@dataclass(frozen=True)
class ClipResult:
    """One exported clip (``path`` None when the moment lies outside the video)."""

    moment: Moment
    path: Path | None
    copied: bool
    note: str = ""


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def export_clips(
    analysis: Any, video: SessionVideo, out_dir: str | Path, top: int = 3, pad_s: float = 5.0
) -> list[ClipResult]:
    """Export the session's moments (``top`` high and low per signal, every marked moment and
    block) from ``video`` into ``out_dir``, each padded by ``pad_s`` s on both sides."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    length = video_probe(video.path).duration_s
    results = []
    for i, m in enumerate(session_moments(analysis, top=top), start=1):
        f0 = video.to_file(m.t0 - pad_s)
        f1 = video.to_file(m.t1 + pad_s)
        rel = m.t0 - analysis.t_start
        if f1 <= 0 or f0 >= length:
            results.append(ClipResult(m, None, False, "outside the video"))
            continue
        f0, f1 = max(f0, 0.0), min(f1, length)
        kind = m.kind.name.lower() + (f"_{m.signal.lower()}" if m.signal else "")
        name = f"{i:02d}_{kind}_{fmt_mmss(rel).replace(':', 'm')}s"
        clip = out / f"{name}.mp4"
        copied = video_export_clip(video.path, clip, f0, f1)
        lines = [
            f"moment: {m.kind.value}" + (f" ({m.signal})" if m.signal else ""),
            f"session time: {fmt_mmss(m.t0 - analysis.t_start)} to {fmt_mmss(m.t1 - analysis.t_start)}"
            f" (clip padded by {pad_s:g} s)",
            f"what was measured: {m.caption}",
            f"p: {m.p:.4f}" if m.p == m.p else "",
            f"percentile of chance: {m.percentile:.1f}" if m.percentile == m.percentile else "",
            f"video: {video.path.name} {f0:.2f}-{f1:.2f} s, aligned: {video.how}",
            "stream copy (may start up to one key-frame interval early)"
            if copied
            else "re-encoded",
            f"session: {analysis.path}",
        ]
        _write_private(clip.with_suffix(".txt"), "\n".join(x for x in lines if x) + "\n")
        results.append(ClipResult(m, clip, copied))
    return results
