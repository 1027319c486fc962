"""The console's live picture, without Qt: the chosen camera, or a replayed recording's video.

:class:`LiveVideo` owns one :class:`devices.video_preview.PreviewTap` that the window polls
(a few pictures a second, never waiting) and decides what feeds it:

- a camera chosen, no session recorded: :class:`devices.video_preview.CameraPreview` reads it
  for display only, so the clinician can frame the picture before Start;
- while a session records: the recording's :class:`devices.video_capture.MediaCapture` feeds
  the same tap from its encoder thread (the preview closes the camera first: a camera opens
  once);
- a replayed recording with a recorded video (``recording.mp4`` and its ``VideoFrames``
  stamps): :class:`devices.video_preview.ReplayVideoFollower` follows the replayed stamps
  and decodes each frame from the file, so the picture keeps step with the replayed
  physiology. A video attached afterwards (``attune video add``) has no stamps to follow and
  is shown in review only.

Failures (camera missing, busy, unplugged; a replayed video that cannot be read) reach the
user as one line through ``on_error``; the physiology is never touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.media_devices import VideoError, parse_device
from devices.video_preview import CameraPreview, PreviewTap, ReplayVideoFollower


@dataclass(frozen=True)
class ReplayedVideo:
    """What the console needs to show a replayed recording's video.

    Attributes
    ----------
    path : Path
        The recording's MP4.
    source_id : str
        The recorded ``VideoFrames`` stream's source_id (the replay keeps it).
    file_times : ndarray
        File time (s) of frame index ``k`` (``file_times[k]``).
    """

    path: Path
    source_id: str
    file_times: np.ndarray


def replayed_video(recording: str | Path) -> ReplayedVideo | None:
    """The recorded video of ``recording`` with its ``VideoFrames`` stream, or None.

    Raises
    ------
    VideoError
        The MP4 is there but cannot be read.
    """
    import pyxdf

    from app.video import video_for_recording
    from devices.video_file import video_frame_times

    rec = Path(recording)
    path = video_for_recording(rec)
    if not path.is_file():
        return None
    streams, _ = pyxdf.load_xdf(str(rec), dejitter_timestamps=False,
                                select_streams=[{"type": "VideoFrames"}])  # fmt: skip
    found = [s for s in streams if len(s["time_stamps"])]
    if not found:
        return None
    return ReplayedVideo(path, str(found[0]["info"]["source_id"][0]), video_frame_times(path))


def _camera_words(device: str) -> str:
    """``camera v4l2:/dev/video0``; a lavfi source is a virtual camera (a test pattern)."""
    if device.startswith("lavfi:"):
        return "virtual camera (test pattern)"
    return f"camera {device}"


class LiveVideo:
    """What the console's picture shows (module doc). All methods return at once.

    Parameters
    ----------
    on_error : callable(str)
        One line when a camera or a replayed video fails (any thread).
    """

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self.tap = PreviewTap()
        self.on_error = on_error
        self.camera = ""  # the chosen camera (FORMAT:DEVICE), "" for none
        self.recording = False
        self.recorded = ""  # the camera the running recording captures (chosen at its Start)
        self.preview: CameraPreview | None = None
        self.follower: ReplayVideoFollower | None = None
        self.replay_name = ""
        self._lock = threading.Lock()
        self._generation = 0
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ what is shown
    def describe(self) -> str:
        """What the picture is, in words (the caption under it); a picture older than 2 s
        says how old it is (a camera or a replay that stalled)."""
        words = self._source_words()
        age = time.monotonic() - self.tap.last_put
        if words and age > 2.0:
            words += f" · no new picture for {age:.0f} s"
        return words

    def _source_words(self) -> str:
        if self.recording and self.recorded:
            return f"{_camera_words(self.recorded)} · recording"
        if self.preview is not None and self.preview.running:
            return f"{_camera_words(self.camera)} · preview, not recorded until Start"
        if self.follower is not None and self.follower.running:
            return f"replayed video {self.replay_name} · in step with the replayed streams"
        return ""

    @property
    def active(self) -> bool:
        """A camera or a replayed video feeds the picture (a camera unplugged or a replay
        that failed no longer does: its line went to ``on_error``)."""
        return bool(self.recording and self.recorded) or bool(self._source_words())

    # ------------------------------------------------------------------ camera
    def choose_camera(self, device: str) -> None:
        """The camera to show (and record with each session); "" for none. While a session
        records, the change applies from its Stop (the recording keeps its camera)."""
        if device == self.camera and (self.preview is not None or self.recording):
            return
        self._stop_preview()
        self.camera = device
        if device and not self.recording:
            self._start_preview()

    def _start_preview(self) -> None:
        try:
            self.preview = CameraPreview(parse_device(self.camera), tap=self.tap,
                                         on_error=self.on_error).start()  # fmt: skip
        except VideoError as exc:
            self.preview = None
            self.on_error(f"camera preview: {exc}")

    def _stop_preview(self) -> None:
        preview, self.preview = self.preview, None
        if preview is not None:
            preview.stop()

    def before_recording(self) -> PreviewTap:
        """Release the camera for the recording; returns the tap the capture should feed."""
        self._stop_preview()
        self.recording, self.recorded = True, self.camera
        return self.tap

    def after_recording(self) -> None:
        """The recording stopped: show the camera again (preview)."""
        self.recording, self.recorded = False, ""
        if self.camera:
            self._start_preview()

    # ------------------------------------------------------------------ replay
    def follow_replay(self, recording: str | Path, resolve_s: float = 60.0) -> None:
        """Show ``recording``'s video in step with its replay (if it has a recorded one).

        The XDF is read in a thread; the follower then waits up to ``resolve_s`` for the
        replayed ``VideoFrames`` stream.
        """
        self.stop_replay()
        with self._lock:
            self._generation += 1
            gen = self._generation
        t = threading.Thread(target=self._locate, args=(Path(recording), gen, resolve_s),
                             daemon=True, name="attune-replay-video-find")  # fmt: skip
        self._threads.append(t)
        t.start()

    def _locate(self, recording: Path, gen: int, resolve_s: float) -> None:
        try:
            found = replayed_video(recording)
        except Exception as exc:  # a damaged XDF or MP4: say so, the replay goes on
            self.on_error(f"replayed video of {recording.name}: {exc}")
            return
        if found is None:
            return
        follower = ReplayVideoFollower(found.path, found.source_id, found.file_times,
                                       tap=self.tap, on_error=self.on_error,
                                       resolve_s=resolve_s)  # fmt: skip
        with self._lock:
            if gen != self._generation:  # stopped meanwhile
                return
            self.follower, self.replay_name = follower, found.path.name
        follower.start()

    def stop_replay(self) -> None:
        with self._lock:
            self._generation += 1
            follower, self.follower = self.follower, None
        if follower is not None:
            follower.stop()

    def stop(self) -> None:
        """Stop the preview and the replay follower (the window closes)."""
        self._stop_preview()
        self.stop_replay()
        for t in self._threads:
            t.join(5.0)
        self._threads = []

    def frame(self) -> Any:
        """The newest :class:`devices.video_preview.PreviewFrame` (None before the first)."""
        return self.tap.latest() if self.active else None
