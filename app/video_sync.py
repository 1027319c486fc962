"""``attune video add``: attach a video recorded elsewhere, aligned by its sound (no Qt).

The session's own sound is the audio track Attunement recorded (``recording.mp4``), put on
the session's LSL clock by its ``AudioBlocks`` stamps (or the file's ``lsl_t0``). The other
video's audio is aligned to it with :func:`dsp.audio_align.audio_align`; the result is stored
with the session (:func:`app.video.store_video_offset`). Offsets are shown to the user as
seconds from the session's start (the recording's first sample), as review shows time.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.sessionfolder import resolve_recording
from app.video import store_video_offset, video_for_recording
from devices.media_devices import VideoError
from devices.video_file import video_probe, video_read_audio
from dsp.audio_align import MIN_RATIO, MIN_Z, AudioAlignment, audio_align

#: Rate both sounds are compared at (Hz): keeps the 300-3000 Hz band.
ALIGN_RATE = 8000


class VideoAttachError(ValueError):
    """Why a video cannot be attached (one line)."""


@dataclass(frozen=True)
class SessionAudio:
    """The session's recorded sound on the session clock.

    Attributes
    ----------
    samples : ndarray
        Mono at ``rate`` Hz.
    rate : int
    t_first : float
        Session (LSL) time of ``samples[0]`` (s).
    session_start : float
        The recording's first sample (s, LSL): time 0 of review.
    """

    samples: np.ndarray
    rate: int
    t_first: float
    session_start: float


@dataclass(frozen=True)
class AttachResult:
    """What ``attune video add`` found and stored."""

    video: Path
    offset_s: float  # session (LSL) time of the video's time 0
    from_start_s: float  # the same, in s from the session's start
    how: str
    alignment: AudioAlignment | None
    stored_in: Path

    def text(self) -> str:
        where = f"the video starts {fmt_offset(self.from_start_s)} into the session"
        if self.alignment is None:
            return f"{self.video.name}: {where} (set by hand); stored in {self.stored_in}"
        a = self.alignment
        return (
            f"{self.video.name}: {where} (aligned by sound: peak {a.peak_z:.0f} SD above "
            f"chance lags, {a.peak_ratio:.1f}x the next peak, {a.overlap_s / 60:.1f} min "
            f"overlap); stored in {self.stored_in}"
        )


def fmt_offset(s: float) -> str:
    sign = "-" if s < 0 else ""
    s = abs(s)
    return f"{sign}{int(s // 60)}:{s % 60:06.3f} (m:s)"


def session_audio(recording: Path) -> SessionAudio:
    """The session's recorded sound, on the session clock.

    Raises
    ------
    VideoAttachError
        The session has no recorded audio (or it cannot be read).
    """
    from devices.xdf_reader import XdfReadError, load_recording

    mp4 = video_for_recording(recording)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = load_recording(recording, dejitter=False)
    except XdfReadError as exc:
        raise VideoAttachError(str(exc)) from None
    if not mp4.is_file():
        raise VideoAttachError(
            f"the session has no recorded audio ({mp4.name} is missing) to align with: "
            "give the offset with --offset S"
        )
    try:
        info = video_probe(mp4)
        x, f0 = video_read_audio(mp4, ALIGN_RATE)
    except VideoError as exc:
        raise VideoAttachError(
            f"the session's audio: {exc}; give the offset with --offset S"
        ) from None
    blocks = [s for s in rec.streams if s.type == "AudioBlocks" and s.n_samples]
    if blocks:  # file time of sample index k is k / rate (module devices.video_capture)
        b = blocks[0]
        offset = float(np.median(b.timestamps - b.values[:, 0] / info.sample_rate))
    elif info.lsl_t0 is not None:
        offset = info.lsl_t0
    else:
        raise VideoAttachError(
            f"{mp4.name} carries no session clock; give the offset with --offset S"
        )
    return SessionAudio(x, ALIGN_RATE, offset + f0, rec.start)


def attach_video(
    session: str | Path, video: str | Path, offset_s: float | None = None
) -> AttachResult:
    """Attach ``video`` to ``session`` (folder or XDF) and store its offset.

    Parameters
    ----------
    offset_s : float, optional
        Seconds from the session's start at which the video starts (by hand); otherwise
        aligned by sound.

    Raises
    ------
    VideoAttachError
        Not a video, truncated beyond reading, no audio, the session has no audio, or the
        peak is not clear (e.g. another session's video): one line saying which.
    """
    rec = resolve_recording(session)
    if not rec.is_file():
        raise VideoAttachError(f"{session}: no recording found")
    vpath = Path(video)
    try:
        video_probe(vpath)
    except VideoError as exc:
        raise VideoAttachError(str(exc)) from None
    if offset_s is not None:
        start = _session_start(rec)
        stored = store_video_offset(rec, vpath, start + offset_s, "manual")
        return AttachResult(vpath, start + offset_s, float(offset_s), "manual", None, stored)
    audio = session_audio(rec)
    try:
        y, fy0 = video_read_audio(vpath, ALIGN_RATE)
    except VideoError as exc:
        raise VideoAttachError(
            f"{exc}: cannot align by sound; give the offset with --offset S"
        ) from None
    a = audio_align(audio.samples, y, ALIGN_RATE)
    if not a.clear:
        z = f"{a.peak_z:.1f}" if math.isfinite(a.peak_z) else "-"
        raise VideoAttachError(
            f"{vpath.name}: its sound does not match this session's (peak {z} SD, "
            f"{a.peak_ratio:.2f}x the next; needs >= {MIN_Z:g} SD and {MIN_RATIO:g}x): another "
            "session's video, or too little shared sound; not attached. Give --offset S if "
            "you are sure"
        )
    offset = audio.t_first + a.lag_s - fy0
    stored = store_video_offset(rec, vpath, offset, "audio", confidence=a.peak_z)
    return AttachResult(vpath, offset, offset - audio.session_start, "audio", a, stored)


def _session_start(rec: Path) -> float:
    from devices.xdf_reader import XdfReadError, load_recording

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_recording(rec, dejitter=False).start
    except XdfReadError as exc:
        raise VideoAttachError(str(exc)) from None
