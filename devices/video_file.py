"""Read session videos with PyAV: probe, audio track, frames by time, clips (no Qt).

Times here are **file times** in seconds (the video's own timeline, 0 = its start); mapping
them to the session's LSL clock is the caller's business (:mod:`app.video`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from devices.media_devices import VideoError, _why


@dataclass(frozen=True)
class VideoInfo:
    """What a media file holds.

    Attributes
    ----------
    path : Path
    duration_s : float
        Length of the longest stream (s).
    fps : float
        Average frame rate (0 without video).
    width, height : int
        Picture size (0 without video).
    has_video, has_audio : bool
    sample_rate : int
        Audio rate (Hz; 0 without audio).
    comment : str
        The container's ``comment`` tag (Attunement writes ``lsl_t0`` there).
    """

    path: Path
    duration_s: float
    fps: float
    width: int
    height: int
    has_video: bool
    has_audio: bool
    sample_rate: int
    comment: str = ""

    @property
    def lsl_t0(self) -> float | None:
        """The LSL time of file time 0 when Attunement recorded the file, else None."""
        for part in self.comment.split():
            if part.startswith("lsl_t0="):
                try:
                    return float(part.partition("=")[2])
                except ValueError:
                    return None
        return None


def _open(path: str | Path) -> Any:
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoError(f"{p}: no such file")
    try:
        return av.open(str(p))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{p.name} is not a video file FFmpeg can read ({_why(exc)})") from None


def _stream_seconds(s: Any) -> float:
    if s.duration is not None and s.time_base:
        return float(s.duration * s.time_base)
    return 0.0


def video_probe(path: str | Path) -> VideoInfo:
    """Open ``path`` and describe it (a truncated fragmented MP4 reads up to its last fragment).

    Raises
    ------
    VideoError
        Not a media file, or neither video nor audio in it.
    """
    c = _open(path)
    try:
        v = c.streams.video[0] if c.streams.video else None
        a = c.streams.audio[0] if c.streams.audio else None
        if v is None and a is None:
            raise VideoError(f"{Path(path).name} holds neither video nor audio")
        dur = float(c.duration / 1e6) if c.duration else 0.0
        dur = max([dur] + [_stream_seconds(s) for s in c.streams if s.type in ("video", "audio")])
        if dur <= 0:  # a fragmented file cut before its index: count what decodes
            dur = _decoded_length(c)
        return VideoInfo(
            path=Path(path),
            duration_s=dur,
            fps=float(v.average_rate or v.guessed_rate or 0) if v is not None else 0.0,
            width=int(v.codec_context.width) if v is not None else 0,
            height=int(v.codec_context.height) if v is not None else 0,
            has_video=v is not None,
            has_audio=a is not None,
            sample_rate=int(a.codec_context.sample_rate) if a is not None else 0,
            comment=str(c.metadata.get("comment", "")),
        )
    finally:
        c.close()


def _decoded_length(c: Any) -> float:
    end = 0.0
    for packet in c.demux():
        if packet.pts is not None and packet.time_base:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def video_read_audio(path: str | Path, rate: int = 8000) -> tuple[np.ndarray, float]:
    """The file's first audio track as mono float32 at ``rate`` Hz.

    Returns
    -------
    samples : ndarray, shape (n,)
        Mono (channel mean), gaps between packets filled with zeros so that sample ``i`` is at
        file time ``start_s + i / rate``.
    start_s : float
        File time of the first sample (s).

    Raises
    ------
    VideoError
        Unreadable file or no audio track ("has no audio").
    """
    import av

    c = _open(path)
    try:
        if not c.streams.audio:
            raise VideoError(f"{Path(path).name} has no audio track")
        s = c.streams.audio[0]
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        start: float | None = None
        n = 0
        try:
            for frame in c.decode(s):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else None
                for out in res.resample(frame):
                    x = out.to_ndarray().reshape(-1)
                    if start is None:
                        start = t if t is not None else 0.0
                    elif t is not None:  # keep samples on the file's timeline across gaps
                        gap = int(round((t - start) * rate)) - n
                        if gap > rate // 10:
                            chunks.append(np.zeros(gap, np.float32))
                            n += gap
                    chunks.append(x)
                    n += x.size
        except av.FFmpegError as exc:
            if not chunks:
                raise VideoError(
                    f"{Path(path).name}: audio cannot be decoded ({_why(exc)})"
                ) from None
        if not chunks:
            raise VideoError(f"{Path(path).name} has no audio samples")
        return np.concatenate(chunks).astype(np.float32), float(start or 0.0)
    finally:
        c.close()


def video_frame_times(path: str | Path, n: int | None = None) -> np.ndarray:
    """File times (s) of the video's frames in order (the first ``n``), from the container's
    packets without decoding: ``result[k]`` is frame index ``k``'s time.

    Raises
    ------
    VideoError
        Not a video file, or no video track.
    """
    import av

    c = _open(path)
    try:
        if not c.streams.video:
            raise VideoError(f"{Path(path).name} has no video track")
        s = c.streams.video[0]
        pts: list[int] = []
        try:
            pts.extend(p.pts for p in c.demux(s) if p.pts is not None)
        except av.FFmpegError:  # truncated: the frames before the damage
            pass
        pts.sort()
        return np.asarray(pts[:n] if n is not None else pts, float) * float(s.time_base)
    finally:
        c.close()


class FrameReader:
    """Frames of one video by file time, for review (open once, seek many times).

    ``frame_at(t)`` returns the frame shown at file time ``t``: the last frame whose pts is
    <= ``t`` (within half a frame), decoded from the nearest key frame before ``t``. Reading
    forward (playback) continues decoding without seeking.
    """

    def __init__(self, path: str | Path, width: int | None = None) -> None:
        self._c = _open(path)
        if not self._c.streams.video:
            self._c.close()
            raise VideoError(f"{Path(path).name} has no video track")
        self._s = self._c.streams.video[0]
        self._s.thread_type = "AUTO"
        self._tb = self._s.time_base
        self.fps = float(self._s.average_rate or self._s.guessed_rate or 30)
        self.width = width
        self._iter: Any = None
        self._pending: Any = None  # the next decoded frame (not yet shown)
        self._shown: Any = None
        self._shown_t = -1.0

    def close(self) -> None:
        self._c.close()

    def _t(self, frame: Any) -> float:
        return float(frame.pts * self._tb) if frame.pts is not None else 0.0

    def _next(self) -> Any:
        if self._pending is not None:
            f, self._pending = self._pending, None
            return f
        try:
            return next(self._iter)
        except StopIteration:
            return None

    def frame_at(self, t: float) -> tuple[np.ndarray, float] | None:
        """RGB picture ``(h, w, 3)`` uint8 and its file time (s) for file time ``t``."""
        half = 0.5 / self.fps
        if self._iter is None or t < self._shown_t - half or t > self._shown_t + 2.0:
            self._seek(t)
        frame = self._shown
        while True:
            nxt = self._next()
            if nxt is None:
                break
            if self._t(nxt) > t + half:
                self._pending = nxt
                break
            frame = nxt
        if frame is None:
            return None
        self._shown, self._shown_t = frame, self._t(frame)
        kw: dict[str, Any] = {"format": "rgb24"}
        if self.width and frame.width > self.width:
            kw["width"] = self.width
            kw["height"] = int(round(frame.height * self.width / frame.width / 2)) * 2
        return frame.to_ndarray(**kw), self._shown_t

    def _seek(self, t: float) -> None:
        target = max(int(t / self._tb), 0) if self._tb else 0
        self._c.seek(target, stream=self._s, backward=True, any_frame=False)
        self._iter = self._c.decode(self._s)
        self._pending = None
        self._shown, self._shown_t = None, -1.0


def video_export_clip(src: str | Path, out: str | Path, t0: float, t1: float) -> bool:
    """Write file times ``[t0, t1]`` (s) of ``src`` to ``out`` (0600).

    Stream copy from the key frame at or before ``t0`` (no re-encoding, so the clip may start
    up to one key-frame interval early); returns True when copied. When a stream cannot be
    copied into MP4, the clip is re-encoded (H.264 + AAC) and False is returned.
    """
    import av

    c = _open(src)
    out = Path(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        try:
            _copy_clip(c, out, t0, t1)
            return True
        except (av.FFmpegError, ValueError):
            c.close()
            c = _open(src)
            _reencode_clip(c, out, t0, t1)
            return False
    finally:
        c.close()


def _copy_clip(c: Any, out: Path, t0: float, t1: float) -> None:
    import av

    streams = [s for s in (c.streams.video[:1] + c.streams.audio[:1])]
    o = av.open(str(out), "w", format="mp4")
    try:
        omap = {s.index: o.add_stream_from_template(s) for s in streams}
        vid = c.streams.video[0] if c.streams.video else streams[0]
        c.seek(max(int(t0 / vid.time_base), 0), stream=vid, backward=True)
        base_s: float | None = None  # file time of the clip's first key frame
        for packet in c.demux(streams):
            if packet.dts is None or packet.pts is None:
                continue
            t = float(packet.pts * packet.time_base)
            if base_s is None:
                if packet.stream is not vid:
                    continue
                base_s = t
            if t < base_s:
                continue
            if t > t1:
                if packet.stream is vid:
                    break
                continue
            shift = int(round(base_s / packet.time_base))
            packet.pts -= shift
            packet.dts -= shift
            if packet.dts < 0:
                continue
            packet.stream = omap[packet.stream.index]
            o.mux(packet)
    finally:
        o.close()


def _reencode_clip(c: Any, out: Path, t0: float, t1: float) -> None:
    import av

    o = av.open(str(out), "w", format="mp4")
    try:
        v = c.streams.video[0] if c.streams.video else None
        ov = None
        if v is not None:
            ov = o.add_stream("libx264", rate=v.average_rate or Fraction(30))
            ov.width, ov.height, ov.pix_fmt = (
                v.codec_context.width,
                v.codec_context.height,
                "yuv420p",
            )
            c.seek(max(int(t0 / v.time_base), 0), stream=v, backward=True)
            for frame in c.decode(v):
                t = float(frame.pts * frame.time_base)
                if t < t0:
                    continue
                if t > t1:
                    break
                frame.pts = None
                for p in ov.encode(frame.reformat(format="yuv420p")):
                    o.mux(p)
            for p in ov.encode(None):
                o.mux(p)
    finally:
        o.close()
