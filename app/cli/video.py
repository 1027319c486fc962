"""Session video on the command line: ``--video/--audio`` for ``record`` and ``run``, and
``attune video devices|add|clips``.

The project's modules are imported inside the functions (see :mod:`app.cli`).
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

VIDEO_EPILOG = """\
devices are named FORMAT:DEVICE (FFmpeg's input format of the platform):
  v4l2:/dev/video0   alsa:default   pulse:default      Linux
  avfoundation:0     avfoundation::0                   macOS (camera 0, microphone 0)
  dshow:video=NAME   dshow:audio=NAME                  Windows
  lavfi:testsrc=size=640x360:rate=30   lavfi:anoisesrc=sample_rate=48000   virtual sources

The video (H.264 + AAC, fragmented MP4, 0600) is written next to the recording with the same
name (recording.mp4), crash-safe: after a crash everything up to the last second plays. Each
frame's capture time goes into the XDF as a stream of type VideoFrames (channel 0 = frame
index in the file), each audio block's as AudioBlocks (sample index). Only these indices and
times are published on LSL; pictures and sound never leave this machine.
"""


#: ``--video virtual`` / ``--audio virtual``: the virtual sources of tests and the demo.
VIRTUAL = {
    "video": "lavfi:testsrc2=size=640x360:rate=30",
    "audio": "lavfi:anoisesrc=color=pink:amplitude=0.05:sample_rate=48000",
}


def _device_arg(kind: str):
    """``virtual`` = the lavfi source of ``kind``, ``none`` = no device, else FORMAT:DEVICE."""
    return lambda s: VIRTUAL[kind] if s == "virtual" else ("" if s == "none" else s)


def add_capture_options(p: argparse.ArgumentParser) -> None:
    """``--video DEVICE --audio DEVICE`` (no camera unless chosen; ``virtual`` = lavfi)."""
    p.add_argument(
        "--video", metavar="DEVICE", type=_device_arg("video"),
        help="also record this camera (FORMAT:DEVICE, see `attune video devices`; 'virtual' "
        "= a test pattern); none unless chosen",
    )  # fmt: skip
    p.add_argument(
        "--audio", metavar="DEVICE", type=_device_arg("audio"),
        help="also record this microphone (FORMAT:DEVICE; 'virtual' = pink noise)",
    )  # fmt: skip


def check_devices(args: argparse.Namespace) -> None:
    """``attune run --video/--audio``: the names are checked now (one line, exit 2); the
    console records them with each session. The headless view records nothing."""
    from app.cli import CliError
    from devices.media_devices import VideoError, parse_device

    names = [n for n in (getattr(args, "video", None), getattr(args, "audio", None)) if n]
    if names and getattr(args, "headless", False):
        raise CliError("--video/--audio record with the console's sessions; the headless view "
                       "records nothing (use attune record OUT.xdf --video DEVICE)")  # fmt: skip
    try:
        for n in names:
            parse_device(n)
    except VideoError as exc:
        raise CliError(str(exc)) from None


def video_path_for(recording: str | Path) -> Path:
    """Where the video of ``recording`` goes: the same name with ``.mp4``."""
    return Path(recording).with_suffix(".mp4")


def start_capture(args: argparse.Namespace, recording: Path, on_error=None) -> Any:
    """Start a :class:`devices.video_capture.MediaCapture` for ``--video/--audio`` (or None).

    Raises
    ------
    app.cli.CliError
        Bad device name, device missing or busy, video file exists.
    """
    from app.cli import CliError
    from devices.media_devices import VideoError, parse_device
    from devices.video_capture import MediaCapture

    if not (getattr(args, "video", None) or getattr(args, "audio", None)):
        return None
    try:
        video = parse_device(args.video) if args.video else None
        audio = parse_device(args.audio) if args.audio else None
        cap = MediaCapture(
            video_path_for(recording), video, audio,
            source_id=f"attunement-media-{uuid.uuid4().hex[:8]}", on_error=on_error,
        )  # fmt: skip
        return cap.start()
    except VideoError as exc:
        raise CliError(str(exc)) from None


def with_media(chosen: list, found: list, capture: Any) -> list:
    """``chosen`` plus the capture's stamp streams (found by their source_id)."""
    if capture is None:
        return chosen
    have = {d.uid for d, _ in chosen}
    mine = [
        f for f in found if f[0].source_id.startswith(capture.source_id) and f[0].uid not in have
    ]
    return list(chosen) + mine


def stop_after(
    capture: Any,
    stop: threading.Event,
    rec_stop: threading.Event,
    started: threading.Event,
    duration: float | None,
) -> threading.Thread:
    """Stop ``capture`` first (Ctrl-C or ``duration`` s after ``started``), then the recorder
    ``rec_stop`` 0.8 s later, so the last frames' stamps reach the XDF."""

    def run() -> None:
        while not started.wait(0.1):
            if stop.is_set():
                break
        stop.wait(duration)
        capture.stop()
        stop.wait(0.8)
        rec_stop.set()

    t = threading.Thread(target=run, daemon=True, name="attune-video-stop")
    t.start()
    return t


def report_capture(capture: Any) -> None:
    """One summary line (and the capture's error, as a warning: the physiology is safe)."""
    if capture is None:
        return
    st = capture.stats
    print(
        f"video {capture.path.name}: {st.frames_written} frames, {st.frames_dropped} dropped; "
        f"audio {st.audio_blocks} blocks",
        flush=True,
    )
    if capture.error:
        print(f"attune: warning: video stopped: {capture.error} (the XDF recording went on)",
              file=sys.stderr, flush=True)  # fmt: skip


# ------------------------------------------------------------------------------ attune video
def register(subparsers: Any) -> None:
    """``attune video devices|add|clips``."""
    p = subparsers.add_parser(
        "video",
        help="session video: list devices, attach an external video, export moment clips",
        description="Session video (see `attune record --video`).",
        epilog=VIDEO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="video_command", metavar="ACTION", required=True)
    d = sub.add_parser("devices", help="list the cameras and microphones found")
    d.set_defaults(func=cmd_devices)
    a = sub.add_parser(
        "add",
        help="attach a video recorded elsewhere, aligned by its sound",
        description="Attach VIDEO to SESSION. The offset is found by cross-correlating the "
        "video's audio with the session's recorded audio (band-limited envelopes); "
        "--offset S sets it by hand (S = session time at the video's start minus the "
        "recording's first sample, in seconds).",
    )
    a.add_argument("session", metavar="SESSION", help="session folder or its recording.xdf")
    a.add_argument("video", metavar="VIDEO", help="the video file")
    a.add_argument("--offset", type=float, metavar="S", help="set the offset by hand (s)")
    a.set_defaults(func=cmd_add)
    c = sub.add_parser(
        "clips",
        help="export the session's moments as short clips with a text of their numbers",
        description="Export the highest and lowest concordance moments (EDA and HR, by the "
        "review's evidence rules), the marked moments and the blocks of SESSION's video as "
        "clips (stream copy) with a sidecar .txt each, for supervision.",
    )
    c.add_argument("session", metavar="SESSION", help="session folder or its recording.xdf")
    c.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    c.add_argument("--top", type=int, default=3, metavar="N",
                   help="high and low moments per signal (default 3)")  # fmt: skip
    c.add_argument("--pad", type=float, default=5.0, metavar="S",
                   help="seconds added before and after each moment (default 5)")  # fmt: skip
    c.set_defaults(func=cmd_clips)


def cmd_devices(args: argparse.Namespace) -> int:  # noqa: ARG001
    from devices.media_devices import list_devices

    for d in list_devices():
        print(f"{d.kind.value:5}  {d.device.text:60}  {d.label}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from app.cli import CliError
    from app.video_sync import VideoAttachError, attach_video

    try:
        result = attach_video(args.session, args.video, offset_s=args.offset)
    except VideoAttachError as exc:
        raise CliError(str(exc)) from None
    print(result.text(), flush=True)
    return 0


def cmd_clips(args: argparse.Namespace) -> int:
    from app.analysis import AnalysisError, AnalysisOptions, analyze_file, cache_load, cache_store
    from app.cli import CliError
    from app.sessionfolder import resolve_recording
    from app.video import find_session_video
    from app.video_clips import export_clips
    from devices.media_devices import VideoError as VideoErrorAlias

    rec = resolve_recording(args.session)
    if not rec.is_file():
        raise CliError(f"{args.session}: no recording found")
    try:
        video = find_session_video(rec)
    except VideoErrorAlias as exc:
        raise CliError(str(exc)) from None
    if video is None:
        raise CliError(f"{args.session}: the session has no video (record with --video, or "
                       "attune video add SESSION VIDEO)")  # fmt: skip
    opts = AnalysisOptions()
    try:
        a = cache_load(rec, opts)
        if a is None:
            a = analyze_file(rec, opts)
            cache_store(rec, opts, a)
    except AnalysisError as exc:
        raise CliError(str(exc)) from None
    results = export_clips(a, video, args.out, top=args.top, pad_s=args.pad)
    for r in results:
        where = r.path.name if r.path else r.note
        print(f"{r.moment.kind.value:18} {r.moment.signal:3}  {where}: {r.moment.caption}")
    print(f"{sum(r.path is not None for r in results)} clips in {args.out}", flush=True)
    return 0
