"""Record one camera and one microphone beside the physiology, stamped on the LSL clock.

Everything goes through PyAV (FFmpeg's libraries): the inputs, the H.264 + AAC encoders and
the MP4 muxer. Devices are named ``FORMAT:DEVICE`` (:mod:`devices.media_devices`):

- ``v4l2:/dev/video0``, ``alsa:default``, ``pulse:default`` (Linux),
- ``avfoundation:0`` (macOS), ``dshow:video=Integrated Camera`` (Windows),
- ``lavfi:testsrc=size=640x360:rate=30`` and ``lavfi:anoisesrc=...`` (virtual sources for tests
  and demos; a ``realtime`` / ``arealtime`` filter is appended so they run at the pace of a
  real device).

:class:`MediaCapture` reads each input in its own thread, stamps every frame and audio block
with its capture time on this machine's LSL clock and publishes the stamps on two LSL outlets
that a recorder writes into the session's XDF:

- type ``VideoFrames``: one sample per frame kept, channel 0 = the frame's index in the video
  file (0, 1, 2, ...), timestamp = the frame's capture time;
- type ``AudioBlocks``: one sample per audio block, channel 0 = the index (in the file's audio
  samples) of the block's first sample, timestamp = the block's capture time.

Only indices and times go on the network; pictures and sound stay in the file on this machine.

Capture time. A device stamps its frames on its own clock (``frame.pts``); the arrival time on
the LSL clock adds the scheduling delay of this process. The stamp is ``pts + offset``, where
``offset`` is a bounded-drift minimum of ``arrival - pts`` (it follows any drop at once and a
rise of at most 500 ppm of elapsed device time), so a late wake-up of the reading thread does
not move a stamp and a device clock that drifts against the LSL clock is still followed.
Without a device pts the arrival time is the stamp.

The MP4 is fragmented (a fragment per second of video, ``empty_moov``) and flushed at every
fragment, so after a crash or ``kill -9`` everything up to the last second or so plays. It is
created owner-only (0600). A file time ``t`` (s) corresponds to LSL time ``t0 + t`` (``t0`` in
the outlets' description and the file's ``comment`` tag); the ``VideoFrames`` stamps are the
exact per-frame mapping.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from devices.media_devices import MediaDevice, MediaKind, VideoError, _why, open_input
from devices.video_preview import PreviewTap

#: How long a frame may wait for the encoder (s of video) before frames are dropped.
QUEUE_S = 2.0
#: The most a device clock may gain on the LSL clock and still be followed (s per s).
DRIFT_MAX = 5e-4
#: Stamps of the LSL outlets: type names (recorded into the XDF).
VIDEO_STAMP_TYPE = "VideoFrames"
AUDIO_STAMP_TYPE = "AudioBlocks"


class _Stamper:
    """Capture time on the LSL clock from a device pts and the arrival time (module doc).

    Items wait for ``lookahead`` later ones before they are stamped, so the minimum of
    ``arrival - pts`` also covers the frames just after (a slow first frame, or one delayed
    wake-up, never sets a stamp too late).
    """

    def __init__(self, lookahead: int) -> None:
        self.lookahead = int(lookahead)
        self.offset: float | None = None
        self.last_pts: float | None = None
        self.pending: deque[tuple[Any, float | None, float]] = deque()

    def push(
        self, item: Any, pts_s: float | None, arrival: float
    ) -> list[tuple[Any, float, float]]:
        """Queue one item; returns the items now stamped as ``(item, stamp, arrival)``."""
        self.pending.append((item, pts_s, arrival))
        out = []
        while len(self.pending) > self.lookahead:
            out.append(self._release())
        return out

    def flush(self) -> list[tuple[Any, float, float]]:
        """Stamp every item still waiting (at the end)."""
        return [self._release() for _ in range(len(self.pending))]

    def _release(self) -> tuple[Any, float, float]:
        item, pts_s, arrival = self.pending.popleft()
        if pts_s is None:
            return item, arrival, arrival
        d = min([arrival - pts_s] + [a - p for _, p, a in self.pending if p is not None])
        if self.offset is None or self.last_pts is None:
            self.offset = d
        else:
            grown = self.offset + max(pts_s - self.last_pts, 0.0) * DRIFT_MAX
            self.offset = min(grown, d)
        self.last_pts = pts_s
        return item, pts_s + self.offset, arrival


@dataclass
class CaptureStats:
    """Counts of a running capture (read from any thread; ints only).

    ``frames_dropped`` counts frames the device skipped (gaps in its pts over 1.5 frame
    intervals) plus frames dropped because the encoder fell more than ``QUEUE_S`` behind.
    """

    frames_captured: int = 0
    frames_written: int = 0
    frames_dropped: int = 0
    audio_samples: int = 0
    audio_blocks: int = 0
    stamps: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)


class MediaCapture:
    """Capture a camera and/or a microphone into a fragmented MP4 with LSL-clock stamps.

    Parameters
    ----------
    path : str or Path
        The MP4 to create (must not exist; created 0600).
    video, audio : MediaDevice, optional
        The devices (at least one).
    source_id : str
        Prefix of the stamp outlets' source_ids (``<source_id>-video`` / ``-audio``).
    video_options : dict, optional
        FFmpeg input options for the camera (``video_size``, ``framerate``, ...).
    crf, preset : str
        libx264 quality (CRF) and speed preset.
    audio_bitrate : int
        AAC bit rate (bit/s).
    keep_stamps : bool
        Keep every stamp and arrival time in :attr:`stats` (benchmarks).
    wait_consumers_s : float
        Capture begins once both stamp outlets have a consumer (the recorder's inlet), so the
        XDF holds a stamp for every frame in the file; after this many seconds it begins
        anyway (the video is recorded, its first stamps may be missing from the XDF).
    on_error : callable, optional
        Called once from a capture thread with a one-line message when capture stops by
        itself (device gone, disk full). The physiology recording is not touched.
    clock : callable
        The LSL clock (``pylsl.local_clock``).
    preview : PreviewTap, optional
        Receives a small picture of the frames being recorded a few times a second (the
        console's live picture), made in the encoder thread.
    """

    def __init__(
        self,
        path: str | Path,
        video: MediaDevice | None = None,
        audio: MediaDevice | None = None,
        *,
        source_id: str = "attunement-media",
        video_options: dict[str, str] | None = None,
        crf: str = "26",
        preset: str = "ultrafast",
        audio_bitrate: int = 96_000,
        keep_stamps: bool = False,
        wait_consumers_s: float = 10.0,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
        preview: PreviewTap | None = None,
    ) -> None:
        if video is None and audio is None:
            raise VideoError("choose a camera (--video) or a microphone (--audio)")
        self.path = Path(path)
        self.video, self.audio = video, audio
        self.source_id = source_id
        self.video_options = video_options
        self.crf, self.preset, self.audio_bitrate = crf, preset, int(audio_bitrate)
        self.keep_stamps = keep_stamps
        self.wait_consumers_s = float(wait_consumers_s)
        self.on_error = on_error
        if clock is None:
            import pylsl

            clock = pylsl.local_clock
        self.clock = clock
        self.stats = CaptureStats()
        self.error: str | None = None
        self.t0: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the muxer is shared by both threads
        self._threads: list[threading.Thread] = []
        self._inputs: list[Any] = []
        self._out: Any = None
        self._vstream: Any = None
        self._astream: Any = None
        self._queue: queue.Queue = queue.Queue()
        self._outlets: dict[MediaKind, Any] = {}
        self._closed = False
        #: The latest small picture for the console (made in the encoder thread), or None.
        self.preview: PreviewTap | None = preview

    # ------------------------------------------------------------------ start / stop
    def start(self) -> MediaCapture:
        """Open the devices and the file, create the outlets, start the threads.

        Raises
        ------
        VideoError
            A device is missing or busy, the file exists or cannot be created.
        """

        vin = ain = None
        try:
            if self.video is not None:
                vin = open_input(self.video, MediaKind.VIDEO, self.video_options)
                self._inputs.append(vin)
            if self.audio is not None:
                ain = open_input(self.audio, MediaKind.AUDIO)
                self._inputs.append(ain)
            self._open_output(vin, ain)
        except BaseException:
            self._close_inputs()
            raise
        self._open_outlets(vin, ain)
        self._deadline = time.monotonic() + self.wait_consumers_s
        if vin is not None:
            self._spawn(self._video_reader, vin)
            self._spawn(self._video_encoder)
        if ain is not None:
            self._spawn(self._audio_reader, ain)
        return self

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=self._guard, args=(target, *args), daemon=True,
                             name=f"attune-{target.__name__.strip('_')}")  # fmt: skip
        self._threads.append(t)
        t.start()

    def stop(self, timeout: float = 10.0) -> CaptureStats:
        """Stop the threads, flush the encoders, close the file. Safe to call twice."""
        self._stop.set()
        readers = [t for t in self._threads if "reader" in t.name]
        for t in readers:  # they stamp what they hold, then the encoder drains its queue
            t.join(timeout)
        self._queue.put(None)
        for t in self._threads:
            t.join(timeout)
        with self._lock:
            if not self._closed:
                self._closed = True
                self._finish_output()
        self._close_inputs()
        # the stamp outlets live as long as this object: samples pushed just before stop()
        # still reach the recorder's inlet (an outlet destroyed at once may drop them)
        return self.stats

    def outlets(self) -> list[Any]:
        """The stamp outlets (``pylsl.StreamOutlet``), for a recorder to follow."""
        return list(self._outlets.values())

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> MediaCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ output
    def _open_output(self, vin: Any, ain: Any) -> None:
        import av

        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            raise VideoError(f"{self.path} already exists") from None
        except OSError as exc:
            raise VideoError(f"cannot create {self.path}: {exc.strerror}") from None
        opts = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
        out = av.open(str(self.path), "w", format="mp4", options=opts)
        try:
            if vin is not None:
                src = vin.streams.video[0]
                rate = src.average_rate or src.guessed_rate or Fraction(30)
                self.fps = float(rate)
                gop = str(max(int(round(self.fps)), 1))  # a key frame (and fragment) a second
                vs = out.add_stream("libx264", rate=rate, options={
                    "preset": self.preset, "tune": "zerolatency", "crf": self.crf,
                    "g": gop, "keyint_min": gop})  # fmt: skip
                vs.width, vs.height = src.codec_context.width, src.codec_context.height
                vs.pix_fmt = "yuv420p"
                # frames keep their capture times (variable frame rate): the encoder counts
                # in 1/90000 s, so two frames closer than 1/fps never share a pts
                vs.time_base = Fraction(1, 90000)
                vs.codec_context.time_base = Fraction(1, 90000)
                self._vstream = vs
            if ain is not None:
                src = ain.streams.audio[0]
                self.sample_rate = int(src.codec_context.sample_rate or 48000)
                self.channels = min(int(src.codec_context.channels or 1), 2)
                layout = "mono" if self.channels == 1 else "stereo"
                a = out.add_stream("aac", rate=self.sample_rate, layout=layout)
                a.bit_rate = self.audio_bitrate
                self._astream = a
                self._resampler = av.AudioResampler(
                    format="fltp", layout=layout, rate=self.sample_rate, frame_size=1024
                )
        except (av.FFmpegError, ValueError) as exc:
            out.close()
            self.path.unlink(missing_ok=True)
            raise VideoError(f"cannot set up the encoder: {_why(exc)}") from None
        self._out = out

    def _mux(self, packets: list[Any]) -> None:
        with self._lock:
            if self._closed:
                return
            for p in packets:
                self._out.mux(p)

    def _finish_output(self) -> None:
        if self._out is None:
            return
        try:
            if self._vstream is not None:
                for p in self._vstream.encode(None):
                    self._out.mux(p)
            if self._astream is not None:
                for fr in self._resampler.resample(None):
                    if self._apts is not None:
                        fr.pts, fr.time_base = self._apts, Fraction(1, self.sample_rate)
                        self._apts += fr.samples
                    for p in self._astream.encode(fr):
                        self._out.mux(p)
                for p in self._astream.encode(None):
                    self._out.mux(p)
        except Exception as exc:  # disk full at the very end: what was written stays
            self._fail(f"video file {self.path.name}: {_why(exc)}")
        try:
            self._out.close()
        except Exception as exc:
            self._fail(f"video file {self.path.name}: {_why(exc)}")
        self._out = None

    def _open_outlets(self, vin: Any, ain: Any) -> None:
        import pylsl

        def outlet(kind: MediaKind, stype: str, label: str, dev: MediaDevice, extra: dict) -> Any:
            info = pylsl.StreamInfo(f"Attunement-{stype}", stype, 1, 0.0, "double64",
                                    f"{self.source_id}-{kind.value}")  # fmt: skip
            desc = info.desc()
            desc.append_child_value("manufacturer", "Attunement")
            desc.append_child_value("file", self.path.name)
            for k, v in extra.items():
                desc.append_child_value(k, str(v))
            ch = desc.append_child("channels").append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "index")
            return pylsl.StreamOutlet(info, chunk_size=1, max_buffered=360)

        if vin is not None:
            self._outlets[MediaKind.VIDEO] = outlet(
                MediaKind.VIDEO, VIDEO_STAMP_TYPE, "frame_index", self.video,
                {"fps": f"{self.fps:g}", "width": self._vstream.width,
                 "height": self._vstream.height},
            )  # fmt: skip
        if ain is not None:
            self._outlets[MediaKind.AUDIO] = outlet(
                MediaKind.AUDIO, AUDIO_STAMP_TYPE, "sample_index", self.audio,
                {"sample_rate": self.sample_rate, "channels": self.channels},
            )  # fmt: skip

    # ------------------------------------------------------------------ threads
    def _guard(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except Exception as exc:
            if not self._stop.is_set():
                self._fail(_why(exc))
        finally:
            if target == self._video_reader:
                self._queue.put(None)

    def _fail(self, msg: str) -> None:
        first = self.error is None
        if first:
            self.error = msg
        self._stop.set()
        self._queue.put(None)
        if first and self.on_error is not None:
            self.on_error(msg)

    def _begun(self) -> bool:
        """True once capture has begun: both stamp outlets have a consumer (the recorder's
        inlet) or ``wait_consumers_s`` passed. Until then frames are read and dropped, so
        a device never bursts a backlog; the first thread through sets ``t0`` (file time 0).
        """
        if self.t0 is not None:
            return True
        if time.monotonic() < self._deadline and not all(
            o.have_consumers() for o in self._outlets.values()
        ):
            return False
        with self._lock:
            if self.t0 is None:
                t0 = self.clock()
                self._out.metadata["comment"] = f"attunement lsl_t0={t0:.6f}"
                # open both encoders and write the header here, once: left to the first mux,
                # one thread would open the other's encoder while that one encodes
                self._out.start_encoding()
                self.t0 = t0
        return True

    def _decoded(self, container: Any, src: Any) -> Iterator[tuple[Any, float | None, float]]:
        """Each decoded frame of ``src`` from the session's start on, with its device time
        (s, None without a pts) and its arrival on the LSL clock, until stopped."""
        tb = src.time_base
        for packet in container.demux(src):
            if self._stop.is_set():
                return
            for frame in packet.decode():
                arrival = self.clock()
                if not self._begun():
                    continue
                yield (
                    frame,
                    (float(frame.pts * tb) if frame.pts is not None and tb else None),
                    arrival,
                )

    def _video_reader(self, vin: Any) -> None:
        src = vin.streams.video[0]
        stamper = _Stamper(lookahead=max(int(self.fps / 2), 1))
        last_pts: float | None = None
        period = 1.0 / self.fps
        st = self.stats
        try:
            for frame, pts_s, arrival in self._decoded(vin, src):
                st.frames_captured += 1
                if pts_s is not None and last_pts is not None and pts_s - last_pts > 1.5 * period:
                    st.frames_dropped += int(round((pts_s - last_pts) / period)) - 1
                last_pts = pts_s
                for item in stamper.push(frame, pts_s, arrival):
                    self._accept_frame(*item)
        finally:
            for item in stamper.flush():
                self._accept_frame(*item)

    def _accept_frame(self, frame: Any, t: float, arrival: float) -> None:
        """Hand a stamped frame to the encoder and publish its stamp (or drop it)."""
        st = self.stats
        if self._queue.qsize() >= int(QUEUE_S * self.fps) + 1:  # encoder > QUEUE_S behind
            st.frames_dropped += 1
            return
        self._queue.put((frame, t))
        self._outlets[MediaKind.VIDEO].push_sample([float(self._accepted)], t)
        self._accepted += 1
        if self.keep_stamps:
            st.stamps.append(t)
            st.arrivals.append(arrival)

    _accepted = 0

    def _video_encoder(self) -> None:
        vs = self._vstream
        while True:
            item = self._queue.get()
            if item is None:
                return
            frame, t = item
            pts = int(round(max(t - self.t0, 0.0) * 90000))
            if pts <= self._last_vpts:
                pts = self._last_vpts + 1
            self._last_vpts = pts
            if self.preview is not None:  # the console's picture, a few per second
                self.preview.offer(frame, t, self.stats.frames_written)
            out = frame.reformat(width=vs.width, height=vs.height, format="yuv420p")
            out.pts, out.time_base = pts, Fraction(1, 90000)
            try:
                self._mux(list(vs.encode(out)))
            except Exception as exc:
                self._fail(f"video file {self.path.name}: {_why(exc)}")
                return
            self.stats.frames_written += 1

    _last_vpts = -1

    def _audio_reader(self, ain: Any) -> None:
        src = ain.streams.audio[0]
        stamper = _Stamper(lookahead=8)
        try:
            for frame, pts_s, arrival in self._decoded(ain, src):
                for item in stamper.push(frame, pts_s, arrival):
                    if not self._accept_audio(*item):
                        return
        finally:
            for item in stamper.flush():
                if not self._accept_audio(*item):
                    break

    def _accept_audio(self, frame: Any, t: float, arrival: float) -> bool:  # noqa: ARG002
        """Publish a block's stamp and encode it; False once the file failed."""
        st = self.stats
        if self._apts is None:  # the file's audio starts where it began on the clock
            self._apts = int(round(max(t - self.t0, 0.0) * self.sample_rate))
            st.audio_samples = self._apts
        self._outlets[MediaKind.AUDIO].push_sample([float(st.audio_samples)], t)
        frame.pts = None
        packets = []
        for fr in self._resampler.resample(frame):
            fr.pts, fr.time_base = self._apts, Fraction(1, self.sample_rate)
            self._apts += fr.samples
            packets.extend(self._astream.encode(fr))
        try:
            self._mux(packets)
        except Exception as exc:
            self._fail(f"video file {self.path.name}: {_why(exc)}")
            return False
        st.audio_samples += frame.samples
        st.audio_blocks += 1
        return True

    _apts: int | None = None

    def _close_inputs(self) -> None:
        for c in self._inputs:
            try:
                c.close()
            except Exception:  # closing a device that failed; nothing left to save
                pass
        self._inputs.clear()


def wait_frames(capture: MediaCapture, n: int, timeout: float = 10.0) -> bool:
    """Wait until ``capture`` has written ``n`` frames (tests, demos)."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if capture.stats.frames_written >= n or capture.error:
            return capture.stats.frames_written >= n
        time.sleep(0.02)
    return False
