"""Capture devices named ``FORMAT:DEVICE`` and opened with PyAV (no Qt).

FORMAT is FFmpeg's input format of the platform: ``v4l2:/dev/video0``, ``alsa:default``,
``pulse:default`` (Linux), ``avfoundation:0`` (macOS), ``dshow:video=NAME`` (Windows), and
``lavfi:testsrc=size=640x360:rate=30`` / ``lavfi:anoisesrc=...`` (virtual sources for tests and
demos; :func:`open_input` appends a ``realtime`` / ``arealtime`` filter so they run at the pace
of a real device). :mod:`devices.video_capture` records them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

#: FFmpeg input formats named in device strings, and what each platform offers.
KNOWN_FORMATS = ("lavfi", "v4l2", "alsa", "pulse", "avfoundation", "dshow")
_FFMPEG_FORMAT = {"v4l2": "video4linux2"}


class VideoError(RuntimeError):
    """A device, file or encoder problem, as one line for the user."""


class MediaKind(Enum):
    """What a device delivers."""

    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class MediaDevice:
    """A capture device named ``FORMAT:DEVICE``.

    Attributes
    ----------
    format : str
        FFmpeg input format (``lavfi``, ``v4l2``, ``alsa``, ``pulse``, ``avfoundation``,
        ``dshow``).
    device : str
        What the format opens (a filter graph, a device node, a device name or index).
    """

    format: str
    device: str

    @property
    def text(self) -> str:
        return f"{self.format}:{self.device}"


def parse_device(text: str) -> MediaDevice:
    """Parse ``FORMAT:DEVICE``.

    Raises
    ------
    VideoError
        No colon, an empty part, or a format FFmpeg's libraries here cannot open.
    """
    fmt, sep, dev = text.strip().partition(":")
    fmt = fmt.lower()
    if not sep or not fmt or not dev:
        raise VideoError(
            f"device {text!r}: name it FORMAT:DEVICE, e.g. v4l2:/dev/video0, alsa:default, "
            "avfoundation:0, dshow:video=NAME, lavfi:testsrc=size=640x360:rate=30"
        )
    import av

    ff = _FFMPEG_FORMAT.get(fmt, fmt)
    if ff not in av.formats_available:
        have = ", ".join(
            f for f in KNOWN_FORMATS if _FFMPEG_FORMAT.get(f, f) in av.formats_available
        )
        raise VideoError(f"device {text!r}: input format {fmt!r} is not available here ({have})")
    return MediaDevice(fmt, dev)


@dataclass(frozen=True)
class DeviceListing:
    """One device the console can offer."""

    device: MediaDevice
    kind: MediaKind
    label: str


def list_devices() -> list[DeviceListing]:
    """Capture devices found on this machine, then the virtual (``lavfi``) sources.

    Linux: every ``/dev/video*`` node (v4l2), ALSA's ``default`` and each capture card in
    ``/proc/asound/pcm``, PulseAudio's ``default`` when FFmpeg has it. macOS and Windows: the
    first camera and microphone (``avfoundation:0`` / ``:0``, ``dshow`` by name cannot be
    enumerated without FFmpeg's log, so those are typed).
    """
    import av

    fmts = av.formats_available
    out: list[DeviceListing] = []
    if "video4linux2" in fmts:
        for node in sorted(glob.glob("/dev/video*")):
            out.append(DeviceListing(MediaDevice("v4l2", node), MediaKind.VIDEO, f"camera {node}"))
    if "alsa" in fmts:
        out.append(DeviceListing(MediaDevice("alsa", "default"), MediaKind.AUDIO, "ALSA default"))
        try:
            lines = Path("/proc/asound/pcm").read_text().splitlines()
        except OSError:
            lines = []
        for line in lines:  # "00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1"
            if "capture" not in line:
                continue
            card_dev, _, rest = line.partition(":")
            card, _, dev = card_dev.partition("-")
            name = rest.split(":")[0].strip()
            hw = f"hw:{int(card)},{int(dev)}"
            out.append(DeviceListing(MediaDevice("alsa", hw), MediaKind.AUDIO, f"{name} ({hw})"))
    if "pulse" in fmts:
        out.append(DeviceListing(MediaDevice("pulse", "default"), MediaKind.AUDIO, "Pulse default"))
    if "avfoundation" in fmts:
        out.append(DeviceListing(MediaDevice("avfoundation", "0"), MediaKind.VIDEO, "camera 0"))
        out.append(
            DeviceListing(MediaDevice("avfoundation", ":0"), MediaKind.AUDIO, "microphone 0")
        )
    out.append(
        DeviceListing(
            MediaDevice("lavfi", "testsrc=size=1280x720:rate=30"),
            MediaKind.VIDEO,
            "virtual camera (test pattern with frame counter)",
        )
    )
    out.append(
        DeviceListing(
            MediaDevice("lavfi", "anoisesrc=color=pink:amplitude=0.1:sample_rate=48000"),
            MediaKind.AUDIO,
            "virtual microphone (pink noise)",
        )
    )
    return out


def open_input(dev: MediaDevice, kind: MediaKind, options: dict[str, str] | None = None) -> Any:
    """Open ``dev`` with PyAV (``av.open(device, format=FORMAT)``).

    Raises
    ------
    VideoError
        The device does not exist, is busy, or delivers no stream of ``kind``.
    """
    import av

    target = dev.device
    if dev.format == "lavfi":
        pace = "realtime" if kind is MediaKind.VIDEO else "arealtime"
        if pace not in target:
            target = f"{target},{pace}"
    try:
        with _quiet_c_stderr(dev.format == "alsa"):  # libasound prints its own error lines
            container = av.open(
                target, format=_FFMPEG_FORMAT.get(dev.format, dev.format), options=options or {}
            )
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{kind.value} device {dev.text}: {_why(exc)}") from None
    streams = container.streams.video if kind is MediaKind.VIDEO else container.streams.audio
    if not streams:
        container.close()
        raise VideoError(f"{kind.value} device {dev.text} delivers no {kind.value}")
    return container


@contextlib.contextmanager
def _quiet_c_stderr(active: bool) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null meanwhile (C libraries writing to it directly)."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _why(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split()) or type(exc).__name__
