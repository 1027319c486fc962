"""``attune record`` and ``attune replay``: sessions on disk from the command line.

``register(subparsers)`` adds both subcommands to the ``attune`` parser; each sets
``func`` (``args.func(args) -> int`` exit status).

Exit status: 0 done; 1 the recording stopped on a write error (what was written is kept);
2 bad input (unreadable file, no matching stream, existing output, bad option), with one
line on stderr; 130 interrupted before anything started.
"""

from __future__ import annotations

import argparse
import fnmatch
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.cli import video as media

PROG = "attune"

RECORD_EPILOG = """\
which streams:
  default      the streams assigned to patient/clinician (by --role, --map, or role words in
               their names), plus every stream of type Markers, the engine's Metrics stream and
               a remote patient's ClockOffsets (the clock offsets applied to its samples)
  --all        every stream visible on the network
  --streams    streams whose name, type or source_id matches any GLOB

The file is XDF 1.0 (opens in pyxdf, MNE, EEGLAB, LabRecorder tools), created with owner-only
permissions (0600). Samples keep their raw LSL timestamps; clock offsets are recorded every
~5 s. Data reaches the disk at least every 0.25 s, so a crash loses at most about a second.
Ctrl-C or --duration ends the recording cleanly.

examples:
  attune record session.xdf --duration 600
  attune record s.xdf --role patient='Shimmer-A*' --role clinician='Shimmer-B*'
  attune record everything.xdf --all
"""

REPLAY_EPILOG = """\
Every recorded stream is published again with its original name, type, source_id and
description (channel labels, units), so `attune run` and the console treat it like the live
device. Timestamps are re-based to the current LSL clock keeping the original relative timing
(scaled by 1/--speed). Marker streams are replayed too; empty streams are skipped.

examples:
  attune replay session.xdf
  attune replay session.xdf --speed 4 --loop
  attune replay lab.xdf --streams 'Shimmer*' --streams Markers
"""


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def register(subparsers: Any) -> None:
    """Add the ``record`` and ``replay`` subcommands to an argparse subparsers object."""
    _register_record(subparsers)
    _register_replay(subparsers)


def _register_record(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "record",
        help="record LSL streams to an XDF file (headless)",
        description="Record LSL streams to a crash-safe XDF file, like LabRecorder.",
        epilog=RECORD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("out", metavar="OUT.xdf", help="output file (must not exist, see --overwrite)")
    p.add_argument(
        "--duration", type=_positive, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    sel = p.add_mutually_exclusive_group()
    sel.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=GLOB",
        help="record the streams whose name or source_id matches GLOB as ROLE (patient, "
        "clinician or any one-word name: partner, child, ...); repeat for each of 2-8 people",
    )
    sel.add_argument(
        "--map", metavar="FILE.toml", help="TOML stream map choosing the streams (see attune run)"
    )
    sel.add_argument(
        "--all",
        action="store_true",
        help="record every stream, including those that appear after the recording started",
    )
    sel.add_argument(
        "--streams",
        action="append",
        default=[],
        metavar="GLOB",
        help="record streams whose name, type or source_id matches GLOB (repeatable)",
    )
    p.add_argument(
        "--wait",
        type=_positive,
        default=2.0,
        metavar="S",
        help="--role/--map: seconds to wait for the required streams before giving up "
        "(their samples are kept from the moment they appear); --all/--streams: seconds to "
        "look before the first status line (default 2)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT.xdf if it exists")
    p.add_argument(
        "--fsync",
        action="store_true",
        help="force data to the disk at every write (power-loss safe)",
    )
    media.add_capture_options(p)
    p.set_defaults(func=cmd_record)


def _register_replay(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay an XDF recording as live LSL streams",
        description="Publish the streams of an XDF file as LSL outlets in real time.",
        epilog=REPLAY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE.xdf", help="recording to replay (.xdf, .xdfz)")
    p.add_argument(
        "--speed",
        type=_positive,
        default=1.0,
        metavar="X",
        help="playback speed factor (default 1; 2 = twice as fast)",
    )
    p.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    p.add_argument(
        "--wait-consumers",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for every stream to have a consumer (e.g. a recorder "
        "started first) before the first sample (default 0: start at once)",
    )
    p.add_argument(
        "--streams",
        action="append",
        default=[],
        metavar="GLOB",
        help="replay only streams whose name, type or source_id matches GLOB (repeatable)",
    )
    p.add_argument(
        "--duration", type=_positive, metavar="S", help="stop after S seconds of wall-clock time"
    )
    p.add_argument(
        "--raw-timestamps",
        action="store_true",
        help="use the file's timestamps as recorded (default: clock-synced and dejittered)",
    )
    p.set_defaults(func=cmd_replay)


def _fail(msg: str, code: int = 2) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr, flush=True)
    return code


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: Any) -> None:  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _glob_any(patterns: list[str], *values: str) -> bool:
    return any(fnmatch.fnmatchcase(v.lower(), p.lower()) for p in patterns for v in values)


def select_for_recording(
    args: argparse.Namespace, found: list[tuple[Any, Any]]
) -> tuple[list[tuple[Any, Any]], str]:
    """Choose the streams to record from ``found``; returns (chosen, warning line or '')."""
    from devices.assign import assign, explain, load_map, parse_role_options

    if args.all:
        return list(found), ""
    if args.streams:
        return [
            f for f in found if _glob_any(args.streams, f[0].name, f[0].type, f[0].source_id)
        ], ""
    descs = [d for d, _ in found]
    roles = parse_role_options(args.role) if args.role else None
    mapping = load_map(args.map) if args.map else None
    result = assign(descs, roles, mapping)
    if not result.channels:
        return [], explain(result, descs)
    wanted = {c.stream.identity for c in result.channels}
    chosen = [
        (d, i)
        for d, i in found
        if d.identity in wanted
        or d.type.lower() in ("markers", "clockoffsets")
        or (d.type.lower() == "metrics" and d.name.lower().startswith("attunement"))
    ]
    warning = explain(result, descs) if result.problems else ""
    return chosen, warning


def _literal_names(args: argparse.Namespace) -> set[str]:
    """Stream names the options give without glob characters."""
    from devices.assign import load_map

    names = list(args.streams or [])
    if args.map:
        names += [str(spec["stream"]) for e in load_map(args.map).values() for spec in e.values()]
    for opt in args.role or []:
        names.append(opt.partition("=")[2].split("@")[0])
    return {n for n in names if n and not any(c in n for c in "*?[")}


def _required(args: argparse.Namespace):
    """``ready(descs)`` for --streams/--role/--map, else None (--all waits for nothing).

    Required are the streams the options name: with ``--streams`` one per glob, with
    ``--map`` every entry's stream, with ``--role`` at least one signal stream per named role
    (and no ambiguity).
    """
    from devices.assign import assign, load_map, parse_role_options

    if args.all:
        return None
    if args.streams:  # every glob names a required stream
        return lambda descs: all(
            any(_glob_any([g], d.name, d.type, d.source_id) for d in descs) for g in args.streams
        )
    roles = parse_role_options(args.role) if args.role else None
    mapping = load_map(args.map) if args.map else None
    wanted = (
        [(r, m) for r, entries in mapping.items() for m in entries] if mapping and not roles else []
    )
    named = list(roles or mapping or {})

    def ready(descs) -> bool:
        a = assign(list(descs), roles, mapping)
        if any(p.blocks_assigned for p in a.problems):
            return False
        if wanted:
            return all(a.get(r, m) is not None for r, m in wanted)
        return all(any(c.role == r for c in a.channels) for r in named)

    return ready


def _stream_map(args: argparse.Namespace):
    """``stream_map(descs)`` of ``attune record --role/--map``: the people, their colours
    and streams, written into the recording (:mod:`devices.stream_map`); None for
    ``--all`` / ``--streams`` (nobody is named)."""
    from app.people import people_model
    from devices.assign import assign, load_map, map_pairs, parse_role_options
    from devices.stream_map import assignment_map, map_header_xml, map_toml

    if not (args.role or args.map):
        return None
    roles = parse_role_options(args.role) if args.role else None
    mapping = load_map(args.map) if args.map and not roles else None
    pairs = tuple(map_pairs(args.map)) if mapping else ()

    def made(descs: list) -> tuple[str, str] | None:
        a = assign(list(descs), roles, mapping)
        streams = assignment_map(a)
        if len(streams) < 2:  # a map names 2-8 people
            return None
        model = people_model(a.people, pairs)
        colours = {p.role: p.colour for p in model.persons}
        shown = [f"{x}-{y}" for x, y in model.pairs] if pairs else []
        return map_header_xml(colours, shown), map_toml(streams, pairs)

    return made


def cmd_record(args: argparse.Namespace) -> int:
    """``attune record``: wait for the required streams, record until --duration / Ctrl-C.

    Streams that match the selection and appear later (``--all``: any stream) are added to
    the running recording; every stream is written from its first sample after it appeared.
    """
    from devices.assign import MapError
    from devices.lsl import resolve_named, resolve_streams
    from devices.recorder import Recorder, record_streams
    from devices.xdf_writer import XdfWriteError

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        return _fail(f"{out} already exists (use --overwrite to replace it)")
    if out.parent and not out.parent.is_dir():
        return _fail(f"folder {out.parent} does not exist")
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        ready = _required(args)
        select_for_recording(args, [])  # bad --role/--map fail here, before any waiting
    except MapError as exc:
        return _fail(str(exc))
    capture = media.start_capture(args, out)  # a missing camera fails here, in one line
    found = resolve_streams(min(args.wait, 1.0))
    chosen = media.with_media(select_for_recording(args, found)[0], found, capture)

    literal = _literal_names(args)

    def watch() -> list:
        found = resolve_streams(0.0)
        seen = {d.name for d, _ in found}
        # streams named exactly (map file, --streams NAME) are also asked for by name: a
        # targeted query is answered even when a busy machine drops broadcast replies
        for name in literal - seen:
            found.extend(resolve_named(name, 0.2))
        return media.with_media(select_for_recording(args, found)[0], found, capture)

    writing = threading.Event()
    rec_stop = stop
    if capture is not None:  # the camera stops first, so its last stamps reach the file
        rec_stop = threading.Event()
        media.stop_after(capture, stop, rec_stop, writing, args.duration)

    def started(descs: list) -> None:
        writing.set()
        what = ", ".join(f"{d.name} [{d.type}]" for d in descs) or "no stream yet"
        more = " (and any stream that appears)" if args.all else ""
        print(f"recording {len(descs)} stream(s) to {out}{more}: {what}", flush=True)

    if ready is not None and not ready([d for d, _ in chosen]):
        print(f"waiting up to {args.wait:g} s for the required streams", flush=True)
    t0 = time.monotonic()

    def status(rec: Recorder) -> None:
        n = sum(s.sample_count for s in rec.stats())
        print(f"  {time.monotonic() - t0:7.1f} s  {n} samples", flush=True)

    from app import __version__

    try:
        summary = record_streams(
            out,
            chosen,
            duration=args.duration if capture is None else None,
            stop_event=rec_stop,
            overwrite=args.overwrite,
            fsync=args.fsync,
            header_fields={"recorder": f"attunement {__version__}"},
            on_status=status,
            watch=watch,
            ready=ready,
            ready_timeout=args.wait,
            on_ready=started,
            stream_map=_stream_map(args),
        )
    except XdfWriteError as exc:
        return _fail(str(exc))
    finally:
        if capture is not None:
            writing.set()
            capture.stop()
            media.report_capture(capture)
    if summary is None and capture is not None:  # nothing recorded: no video either
        capture.path.unlink(missing_ok=True)
    if summary is None:
        if stop.is_set():
            return _fail("stopped while waiting for the required streams; nothing recorded")
        found = resolve_streams(0.0)
        _, warning = select_for_recording(args, found)
        names = "; ".join(f"{d.name} [{d.type}] sid={d.source_id or '-'}" for d, _ in found)
        why = warning or f"streams visible: {names or 'none'}"
        return _fail(f"the required streams did not appear within {args.wait:g} s. {why}")
    return _report(out, summary)


def _report(out: Path, summary) -> int:
    for s in summary.streams:
        print(f"  {s.name}: {s.sample_count} samples", flush=True)
    for line in summary.warnings:
        print(f"{PROG}: warning: {line}", file=sys.stderr, flush=True)
    lost = sum(summary.lost.values())
    if lost:
        print(
            f"{PROG}: warning: {lost} samples were overwritten before they could be written",
            file=sys.stderr,
        )
    if summary.error:
        return _fail(summary.error, code=1)
    print(
        f"wrote {out} ({summary.bytes_written / 1e6:.2f} MB, {summary.total_samples} samples, "
        f"{summary.duration:.1f} s)",
        flush=True,
    )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """``attune replay``: publish a recording until it ends, --duration or Ctrl-C."""
    import warnings

    from devices.replay import Replay
    from devices.source import parent_gone
    from devices.xdf_reader import XdfReadError, XdfTruncatedWarning, load_recording

    stop = threading.Event()
    _stop_on_signals(stop)
    raw = bool(getattr(args, "raw_timestamps", False))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XdfTruncatedWarning)
            rec = load_recording(args.file, sync_clocks=not raw, dejitter=not raw)
        replay = Replay(
            rec,
            speed=args.speed,
            loop=args.loop,
            streams=args.streams,
            lead_s=0.5,
            wait_consumers_s=args.wait_consumers,
        )
    except XdfReadError as exc:
        return _fail(str(exc))
    if rec.truncated:
        print(f"{PROG}: warning: {rec.warnings[0]}", file=sys.stderr, flush=True)
    replay.start()
    try:
        print(
            f"replaying {args.file} ({replay.duration:.1f} s per pass at x{args.speed:g}"
            f"{', looping' if args.loop else ''}):",
            flush=True,
        )
        for s in replay.streams:
            rate = f"{s.nominal_srate:g} Hz" if s.nominal_srate else "irregular"
            print(
                f"  {s.name} [{s.type}] sid={s.source_id or '-'} {s.n_channels} ch {rate}, "
                f"{s.n_samples} samples",
                flush=True,
            )
        t_end = time.monotonic() + args.duration if args.duration else float("inf")
        while (
            not stop.is_set() and not replay.finished and time.monotonic() < t_end
        ) and not parent_gone():
            stop.wait(0.1)
        if replay.finished and replay.error is None and not stop.is_set():
            stop.wait(1.0)  # let inlets fetch the last samples before the outlets go
    finally:
        replay.stop()
    if replay.error is not None:
        return _fail(f"replay stopped: {replay.error}", code=1)
    print(f"replay done: {replay.samples_pushed} samples published", flush=True)
    return 0
