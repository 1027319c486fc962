"""A session's video, without Qt: capture during a live session, find and map it afterwards.

Three ways a session gets a video:

- recorded by Attunement (``attune record --video``, the console's camera): ``recording.mp4``
  next to ``recording.xdf``, with the ``VideoFrames`` stream in the XDF giving each frame's
  LSL time;
- attached afterwards (``attune video add``): any file, aligned by its sound
  (:mod:`app.video_sync`), its offset stored in ``session.json`` under ``"video"``;
- set by hand (``--offset S`` or review's "Set sync here"), stored the same way.

:class:`SessionVideo` maps between session time (the LSL clock of the recording) and file
time (the video's own timeline) in both directions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.media_devices import VideoError, parse_device
from devices.video_capture import MediaCapture

#: session.json key of an attached or hand-synced video.
SESSION_KEY = "video"


@dataclass(frozen=True)
class MediaChoice:
    """The camera and microphone chosen for recording (empty: none; no camera unless chosen).

    Attributes
    ----------
    video, audio : str
        Device names ``FORMAT:DEVICE`` (see :mod:`devices.video_capture`).
    """

    video: str = ""
    audio: str = ""

    @property
    def any(self) -> bool:
        return bool(self.video or self.audio)

    def text(self) -> str:
        parts = [
            f"camera {self.video}" if self.video else "",
            f"mic {self.audio}" if self.audio else "",
        ]
        return ", ".join(p for p in parts if p) or "no camera"


def video_for_recording(recording: str | Path) -> Path:
    """Where Attunement writes the video of ``recording``: same name, ``.mp4``."""
    return Path(recording).with_suffix(".mp4")


def start_session_capture(
    choice: MediaChoice,
    recording: Path,
    acquisition: Any,
    on_error: Callable[[str], None],
    wait_s: float = 5.0,
    preview: Any = None,
) -> MediaCapture:
    """Start capturing beside a live recording and follow the stamp outlets in
    ``acquisition`` (so the session's recorder writes them into its XDF). ``preview`` (a
    :class:`devices.video_preview.PreviewTap`) receives the console's live picture.

    Raises
    ------
    VideoError
        A device name is wrong, a device is missing or busy, the file cannot be created.
    """
    import pylsl

    from devices.lsl import describe
    from devices.recorder import follow_new

    cap = MediaCapture(
        video_for_recording(recording),
        parse_device(choice.video) if choice.video else None,
        parse_device(choice.audio) if choice.audio else None,
        source_id=f"attunement-media-{uuid.uuid4().hex[:8]}",
        wait_consumers_s=wait_s,
        on_error=on_error,
        preview=preview,
    ).start()
    infos = pylsl.resolve_bypred(f"starts-with(source_id,'{cap.source_id}')",
                                 minimum=len(cap.outlets()), timeout=3.0)  # fmt: skip
    follow_new(acquisition, [(describe(i), i) for i in infos])
    return cap


# ------------------------------------------------------------------------------ session video
@dataclass(frozen=True)
class SessionVideo:
    """A video of a session and how its time maps to the session's.

    Attributes
    ----------
    path : Path
        The video file.
    frame_index : ndarray or None
        Recorded by Attunement: file frame indices from the ``VideoFrames`` stream.
    frame_time : ndarray or None
        Their LSL capture times (s, raw stamps of this machine).
    offset_s : float
        Otherwise: session (LSL) time of file time 0 (s).
    fps : float
        The file's frame rate.
    how : str
        ``"recorded"`` (frame stamps), ``"audio"`` (aligned by sound), ``"manual"``.
    confidence : float
        The alignment's peak ratio (``"audio"``), else NaN.
    """

    path: Path
    offset_s: float
    fps: float
    how: str
    frame_index: np.ndarray | None = None
    frame_time: np.ndarray | None = None
    file_time: np.ndarray | None = None
    confidence: float = float("nan")

    def to_file(self, t: float) -> float:
        """File time (s) of session time ``t`` (s, LSL clock)."""
        if self.frame_time is not None and self.file_time is not None and self.frame_time.size > 1:
            return float(np.interp(t, self.frame_time, self.file_time,
                                   left=t - self.offset_s, right=t - self.offset_s))  # fmt: skip
        return float(t - self.offset_s)

    def to_session(self, f: float) -> float:
        """Session time (s, LSL clock) of file time ``f`` (s)."""
        if self.frame_time is not None and self.file_time is not None and self.frame_time.size > 1:
            return float(np.interp(f, self.file_time, self.frame_time,
                                   left=f + self.offset_s, right=f + self.offset_s))  # fmt: skip
        return float(f + self.offset_s)

    def with_offset(self, offset_s: float, how: str = "manual") -> SessionVideo:
        """The same file mapped by a constant offset (hand sync); frame stamps dropped."""
        return SessionVideo(self.path, float(offset_s), self.fps, how)


def _stamp_stream(streams: list[dict], stype: str) -> dict | None:
    found = [s for s in streams if s["info"]["type"][0] == stype and len(s["time_stamps"])]
    return found[0] if found else None


def _read_session_json(folder: Path) -> dict:
    try:
        return json.loads((folder / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def find_session_video(
    recording: str | Path, streams: list[dict] | None = None
) -> SessionVideo | None:
    """The session's video: attached (``session.json``), else recorded (``<recording>.mp4``
    with its ``VideoFrames`` stamps), else None.

    Raises
    ------
    VideoError
        The session has a video but it cannot be used: the attached file is gone, or the
        file is not a video FFmpeg can read (one line, for the status bar or the CLI).

    Parameters
    ----------
    recording : path
        The session's XDF.
    streams : list of dict, optional
        The XDF's streams as pyxdf returns them (raw stamps); read when not given.
    """
    from devices.video_file import video_probe

    rec = Path(recording)
    entry = _read_session_json(rec.parent).get(SESSION_KEY) if rec.name == "recording.xdf" else None
    if entry is None:
        entry = _read_sidecar(rec).get(SESSION_KEY)
    if entry:
        path = Path(entry["file"])
        path = path if path.is_absolute() else rec.parent / path
        if not path.is_file():
            raise VideoError(f"the session's video {path} is not there (moved or deleted?)")
        info = video_probe(path)  # not a video, or truncated before its first frames: raises
        return SessionVideo(path, float(entry["offset_s"]), info.fps, str(entry.get("how", "manual")),
                            confidence=float(entry.get("confidence") or float("nan")))  # fmt: skip
    path = video_for_recording(rec)
    if not path.is_file():
        return None
    info = video_probe(path)  # e.g. a capture killed before its first fragment: raises
    if streams is None:
        import pyxdf

        streams, _ = pyxdf.load_xdf(str(rec), dejitter_timestamps=False,
                                    select_streams=[{"type": "VideoFrames"}])  # fmt: skip
    vf = _stamp_stream(streams, "VideoFrames")
    t0 = info.lsl_t0
    if vf is None:
        if t0 is None:
            return None
        return SessionVideo(path, t0, info.fps, "recorded")
    idx = np.asarray(vf["time_series"], float)[:, 0]
    stamps = np.asarray(vf["time_stamps"], float)
    file_t = _frame_file_times(path, idx.size)
    if file_t is None or file_t.size < idx.size:
        file_t = (stamps - stamps[0]) if t0 is None else stamps - t0
    else:
        file_t = file_t[idx.astype(int)]
    offset = float(np.median(stamps - file_t))
    return SessionVideo(path, offset, info.fps, "recorded", idx, stamps, file_t)


def _frame_file_times(path: Path, n: int) -> np.ndarray | None:
    """File times (s) of the first ``n`` frames, from the container's packets (no decoding)."""
    from devices.video_file import video_frame_times

    try:
        return video_frame_times(path, n)
    except VideoError:
        return None


def _sidecar(recording: Path) -> Path:
    return recording.with_name(f"{recording.name.split('.')[0]}_video.json")


def _read_sidecar(recording: Path) -> dict:
    try:
        return json.loads(_sidecar(recording).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def store_video_offset(recording: str | Path, video: str | Path, offset_s: float, how: str,
                       confidence: float = float("nan")) -> Path:  # fmt: skip
    """Store the video and its offset (session time of file time 0) with the session:
    ``session.json`` in a session folder, else ``<name>_video.json`` beside the file (0600)."""
    from devices.recorder import write_private_json

    rec = Path(recording)
    entry = {
        "file": str(Path(video).resolve()),
        "offset_s": float(offset_s),
        "how": how,
        "confidence": None if not np.isfinite(confidence) else float(confidence),
    }
    if rec.name == "recording.xdf" and (rec.parent / "session.json").is_file():
        record = _read_session_json(rec.parent)
        record[SESSION_KEY] = entry
        return write_private_json(rec.parent / "session.json", record)
    data = _read_sidecar(rec)
    data[SESSION_KEY] = entry
    return write_private_json(_sidecar(rec), data)
