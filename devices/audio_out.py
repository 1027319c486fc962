"""Play a video's sound from a given file time through FFmpeg's audio output (no Qt).

Review plays the session's sound with the picture where the platform allows it, with the
one library the app already has for video (PyAV): FFmpeg's ``alsa`` output device on Linux
(PulseAudio and PipeWire serve ALSA programs too). Only ALSA is tried (Qt Multimedia is not a
dependency: PySide6-Essentials lacks it), so on macOS and Windows, or without a sound card,
the review says in its status bar that sound is not played.

:class:`AudioPlayer` decodes the file's audio from file time ``t`` (s), resamples it to
16-bit stereo at ``rate`` and writes it to the output from its own thread, paced by the
same monotonic clock that moves review's cursor: at wall time ``w`` after :meth:`start`
the samples of file times up to ``t + w + lead_s`` have been written, never more, so the
sound neither runs ahead of nor lags the cursor (beyond the device's own buffer, a few tens
of ms), and every play or seek starts again at the cursor's time. The output is any FFmpeg
muxer: ``("alsa", "default")`` to hear it, ``("wav", "file.wav")`` to check what would
have been heard (tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from devices.media_devices import VideoError, _quiet_c_stderr, _why

#: FFmpeg audio output devices tried in order, with the device each opens.
OUTPUTS = (("alsa", "default"),)


def audio_output() -> tuple[str, str] | None:
    """The first audio output FFmpeg has here, as ``(format, device)``, else None."""
    import av

    for fmt, dev in OUTPUTS:
        try:
            if av.format.ContainerFormat(fmt).is_output:
                return fmt, dev
        except ValueError:
            continue
    return None


class AudioPlayer:
    """Sound of ``path`` from a file time, paced to the wall clock (module doc).

    Parameters
    ----------
    path : path
        The video (or sound) file.
    output : (format, device), optional
        FFmpeg output; default :func:`audio_output`.
    rate : int
        Output sample rate (Hz).
    lead_s : float
        How far ahead of the wall clock samples are written (s).
    on_error : callable, optional
        One line when the output cannot be opened or fails while playing (any thread).
    clock : callable
        Monotonic seconds (the review cursor's clock).

    Raises
    ------
    VideoError
        No audio output on this platform, or the file has no sound.
    """

    def __init__(
        self,
        path: str | Path,
        output: tuple[str, str] | None = None,
        *,
        rate: int = 48000,
        lead_s: float = 0.1,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from devices.video_file import video_probe

        self.output = output or audio_output()
        if self.output is None:
            raise VideoError("no audio output in FFmpeg's libraries on this platform")
        info = video_probe(path)
        if not info.has_audio:
            raise VideoError(f"{Path(path).name} has no sound")
        self.path = Path(path)
        self.rate = int(rate)
        self.lead_s = float(lead_s)
        self.on_error = on_error
        self.clock = clock
        self.error: str | None = None
        #: File time (s) of the first sample written by the current play, and samples since.
        self.start_t = 0.0
        self.samples_written = 0
        self.wall0 = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def position(self) -> float:
        """File time (s) of the newest sample written."""
        return self.start_t + self.samples_written / self.rate

    def start(self, t_file: float) -> None:
        """Play from file time ``t_file`` (s); a play in progress stops first."""
        self.stop()
        self._stop = threading.Event()
        self.start_t, self.samples_written = max(float(t_file), 0.0), 0
        self.wall0 = self.clock()
        self._thread = threading.Thread(target=self._guard, args=(self._stop,), daemon=True,
                                        name="attune-audio-out")  # fmt: skip
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop playing (returns within about ``lead_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _guard(self, stop: threading.Event) -> None:
        try:
            self._play(stop)
        except Exception as exc:
            if not stop.is_set():
                fmt, dev = self.output
                self.error = f"sound ({fmt}:{dev}): {_why(exc)}"
                if self.on_error is not None:
                    self.on_error(self.error)

    def _play(self, stop: threading.Event) -> None:
        import av

        fmt, dev = self.output
        with _quiet_c_stderr(fmt == "alsa"):  # libasound prints its own error lines
            sink = av.open(dev, "w", format=fmt)
        with av.open(str(self.path)) as c, sink as out:
            src = c.streams.audio[0]
            codec = "pcm_s16le"
            ost = out.add_stream(codec, rate=self.rate, layout="stereo")
            resampler = av.AudioResampler(format="s16", layout="stereo", rate=self.rate)
            c.seek(int(self.start_t / src.time_base), stream=src, backward=True)
            skip_until = self.start_t
            for frame in c.decode(src):
                if stop.is_set():
                    return
                t_frame = float(frame.pts * src.time_base) if frame.pts is not None else 0.0
                for r in resampler.resample(frame):
                    pcm = r.to_ndarray().reshape(-1, 2)  # interleaved s16 stereo
                    cut = int(round((skip_until - t_frame) * self.rate))
                    if cut > 0:  # the decoder starts at a packet before t: drop the excess
                        pcm = pcm[cut:]
                    t_frame += r.samples / self.rate
                    skip_until = max(skip_until, t_frame)
                    if pcm.size and not self._write(out, ost, pcm, stop):
                        return

    def _write(self, out: Any, ost: Any, pcm: np.ndarray, stop: threading.Event) -> bool:
        """Write ``pcm`` in pieces no earlier than their time; False when stopped."""
        import av

        step = max(int(self.rate * 0.02), 1)
        for i in range(0, len(pcm), step):
            piece = np.ascontiguousarray(pcm[i : i + step]).reshape(1, -1)
            while self.samples_written / self.rate > self.clock() - self.wall0 + self.lead_s:
                if stop.wait(0.01):
                    return False
            f = av.AudioFrame.from_ndarray(piece, format="s16", layout="stereo")
            f.sample_rate, f.pts = self.rate, self.samples_written
            for p in ost.encode(f):
                out.mux(p)
            self.samples_written += piece.shape[1] // 2
        return True
