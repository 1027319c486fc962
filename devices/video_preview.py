"""Small live pictures of a camera or a replayed video for the console (no Qt).

The console shows what the camera sees while a session runs, and a replayed recording's
video in step with its replayed physiology. Neither may block the window, the acquisition or
the DSP thread, so pictures are made here, in the threads that already hold the frames, at a
modest display rate (``rate_hz``, default 10 per second) and a small size (``width`` px):

- :class:`PreviewTap`: the latest small RGB picture with its time and frame index, offered by
  a producer thread (the capture's encoder thread, :class:`CameraPreview`'s reader,
  :class:`ReplayVideoFollower`'s decoder) and polled by the window's timer. Converting costs
  the producer about one small ``swscale`` call per displayed picture; frames in between are
  not converted.
- :class:`CameraPreview`: the chosen camera read without recording (before Start session), so
  the clinician can frame the picture. Recording closes it first (a camera opens once).
- :class:`ReplayVideoFollower`: follows a replayed ``VideoFrames`` stream over LSL (the
  replay re-publishes each frame's stamp when its time comes, channel 0 = frame index in the
  recording's MP4) and decodes that frame from the file, so the picture follows the replayed
  physiology frame by frame (at the display rate).

Times: :attr:`PreviewFrame.t` is the frame's time on this machine's LSL clock (capture time,
or the replayed stamp corrected by ``time_correction()``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.media_devices import MediaDevice, MediaKind, VideoError, _why, open_input

#: Width of the console's pictures (px) and how often a new one is made (per s).
PREVIEW_WIDTH = 320
PREVIEW_HZ = 10.0


@dataclass(frozen=True)
class PreviewFrame:
    """One picture for display.

    Attributes
    ----------
    picture : ndarray
        ``(h, w, 3)`` uint8 RGB, contiguous.
    t : float
        The frame's time on the LSL clock (s).
    index : int
        Frame index (in the file being recorded or replayed; in a preview, frames read).
    serial : int
        Increases with every new picture (the window redraws only when it changed).
    """

    picture: np.ndarray
    t: float
    index: int
    serial: int


def _small(frame: Any, width: int) -> np.ndarray:
    """RGB ``ndarray`` of a PyAV frame scaled to at most ``width`` px wide (even height)."""
    kw: dict[str, Any] = {"format": "rgb24"}
    if frame.width > width:
        kw["width"] = width
        kw["height"] = max(int(round(frame.height * width / frame.width / 2)) * 2, 2)
    return np.ascontiguousarray(frame.to_ndarray(**kw))


class PreviewTap:
    """The latest picture, made at most ``rate_hz`` times a second (thread-safe).

    Parameters
    ----------
    width : int
        Pictures are scaled down to this width (px).
    rate_hz : float
        The most pictures made per second (the rest of the frames are not converted).
    """

    def __init__(self, width: int = PREVIEW_WIDTH, rate_hz: float = PREVIEW_HZ) -> None:
        self.width = int(width)
        self.period = 1.0 / float(rate_hz)
        self._lock = threading.Lock()
        self._latest: PreviewFrame | None = None
        self._next = 0.0
        self.serial = 0
        #: Monotonic time of the newest picture (NaN before the first).
        self.last_put = float("nan")

    def due(self) -> bool:
        """True when a new picture is wanted now."""
        return time.monotonic() >= self._next

    def offer(self, frame: Any, t: float, index: int) -> bool:
        """Convert and keep a PyAV ``frame`` if a picture is due; True if it was kept."""
        if not self.due():
            return False
        self.put(_small(frame, self.width), t, index)
        return True

    def put(self, picture: np.ndarray, t: float, index: int) -> None:
        """Keep an RGB ``picture`` made elsewhere."""
        now = time.monotonic()
        with self._lock:
            self.last_put = now
            self._next = max(self._next + self.period, now)  # a steady rate, never a burst
            self.serial += 1
            self._latest = PreviewFrame(picture, float(t), int(index), self.serial)

    def latest(self) -> PreviewFrame | None:
        """The newest picture (None before the first)."""
        with self._lock:
            return self._latest


class CameraPreview:
    """Read a camera for display only (no file, no stamps outlet), in one thread.

    Parameters
    ----------
    device : MediaDevice
        The camera.
    on_error : callable, optional
        Called once from the reader thread with a one-line message when the camera stops by
        itself (unplugged).
    clock : callable
        The LSL clock (``pylsl.local_clock``); a frame's time is its arrival.
    """

    def __init__(
        self,
        device: MediaDevice,
        *,
        tap: PreviewTap | None = None,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.device = device
        self.tap = tap or PreviewTap()
        self.on_error = on_error
        if clock is None:
            import pylsl

            clock = pylsl.local_clock
        self.clock = clock
        self.error: str | None = None
        self.frames = 0
        self._stop = threading.Event()
        self._input: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> CameraPreview:
        """Open the camera and start reading.

        Raises
        ------
        VideoError
            The camera does not exist or is busy.
        """
        self._input = open_input(self.device, MediaKind.VIDEO)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="attune-camera-preview")  # fmt: skip
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and close the camera (so a recording can open it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._input is not None:
            try:
                self._input.close()
            except Exception:  # closing a camera that failed; nothing to keep
                pass
            self._input = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        src = self._input.streams.video[0]
        why = "stopped delivering pictures"
        try:
            for packet in self._input.demux(src):
                if self._stop.is_set():
                    return
                for frame in packet.decode():
                    self.tap.offer(frame, self.clock(), self.frames)
                    self.frames += 1
        except Exception as exc:  # unplugged, driver error
            why = _why(exc)
        if not self._stop.is_set():
            self.error = f"camera {self.device.text}: {why}"
            if self.on_error is not None:
                self.on_error(self.error)


class ReplayVideoFollower:
    """Show a replayed recording's video in step with its replayed ``VideoFrames`` stamps.

    Parameters
    ----------
    video : path
        The recording's MP4 (``recording.mp4``).
    source_id : str
        The recorded ``VideoFrames`` stream's source_id (the replay keeps it).
    file_times : ndarray
        File time (s) of each frame index in the MP4 (``file_times[k]`` for frame ``k``).
    on_error : callable, optional
        Called once with a one-line message when the stream or the file fails.
    """

    def __init__(
        self,
        video: str | Path,
        source_id: str,
        file_times: np.ndarray,
        *,
        tap: PreviewTap | None = None,
        on_error: Callable[[str], None] | None = None,
        resolve_s: float = 10.0,
    ) -> None:
        self.video = Path(video)
        self.source_id = source_id
        self.file_times = np.asarray(file_times, float)
        self.tap = tap or PreviewTap()
        self.on_error = on_error
        self.resolve_s = float(resolve_s)
        self.error: str | None = None
        #: (LSL time of the stamp, frame index, file time of the frame decoded, LSL time the
        #: picture was ready) of each picture made (tests, benchmarks).
        self.shown: deque[tuple[float, int, float, float]] = deque(maxlen=100_000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ReplayVideoFollower:
        self._thread = threading.Thread(target=self._guard, daemon=True,
                                        name="attune-replay-video")  # fmt: skip
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _guard(self) -> None:
        try:
            self._run()
        except Exception as exc:
            if not self._stop.is_set():
                self.error = f"replayed video {self.video.name}: {_why(exc)}"
                if self.on_error is not None:
                    self.on_error(self.error)

    def _inlet(self) -> Any:
        import pylsl

        t_end = time.monotonic() + self.resolve_s
        while not self._stop.is_set():
            found = pylsl.resolve_bypred(f"source_id='{self.source_id}'", minimum=1, timeout=0.5)
            if found:
                inlet = pylsl.StreamInlet(found[0], max_buflen=5, recover=True)
                inlet.open_stream(timeout=5.0)
                return inlet
            if time.monotonic() > t_end:
                raise VideoError(f"its VideoFrames stream {self.source_id!r} did not appear")
        return None

    def _run(self) -> None:
        import pylsl

        from devices.video_file import FrameReader

        inlet = self._inlet()
        if inlet is None:
            return
        reader = FrameReader(self.video, width=self.tap.width)
        n = self.file_times.size
        latest: tuple[int, float] | None = None
        last_index = -1
        try:
            while not self._stop.is_set():
                values, stamps = inlet.pull_chunk(timeout=0.0)
                if stamps:  # only the newest stamp matters: it is the frame due now
                    latest = (int(values[-1][0]), float(stamps[-1]))
                if latest is None or not self.tap.due():
                    self._stop.wait(0.01)
                    continue
                (index, stamp), latest = latest, None
                if index == last_index or not 0 <= index < n:
                    continue
                got = reader.frame_at(float(self.file_times[index]))
                if got is None:
                    continue
                t = stamp + inlet.time_correction()
                self.tap.put(np.ascontiguousarray(got[0]), t, index)
                self.shown.append((t, index, got[1], pylsl.local_clock()))
                last_index = index
        finally:
            reader.close()
            inlet.close_stream()
