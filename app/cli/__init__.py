"""``attune`` command line.

Subcommands: ``simulate``, ``streams``, ``run``, ``demo`` (here), ``record``/``replay``
(:mod:`app.cli.sessions`), ``analyze``/``review``/``library`` (:mod:`app.cli.analysis`).

The commands import the project's modules inside their functions on purpose: pylsl must load
only after ``--local-only`` (or the demo) had the chance to confine LSL to this machine, and
each command (including every simulator child process) should load only what it uses (Qt,
matplotlib and the analysis take seconds to import).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any

from app import __version__
from app.cli import analysis, importing, remote, sessions
from app.cli import video as video_cli
from app.display import has_display, missing_qt_libraries, missing_qt_line


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _add_role_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=GLOB",
        help="assign streams whose name or source_id matches GLOB to ROLE "
        "(patient or clinician); repeat for both roles",
    )
    p.add_argument(
        "--map",
        metavar="FILE.toml",
        help="TOML stream map: [patient] eda = {stream = 'GLOB', channel = 'LABEL'} ...",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="S",
        help="for scripts: give up (exit status 2) when the streams the roles name are not "
        "all there after S seconds (default: wait for them as long as it runs, connecting "
        "each person's signal when its stream appears)",
    )


def _add_sim_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--coupling",
        type=float,
        default=0.8,
        metavar="0..1",
        help="probability that a shared arousal event reaches the clinician too (default 0.8)",
    )
    p.add_argument(
        "--lag",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds the clinician's responses follow the patient's (default 2)",
    )
    p.add_argument("--hr-patient", type=float, default=72.0, metavar="BPM")
    p.add_argument("--hr-clinician", type=float, default=64.0, metavar="BPM")
    p.add_argument("--ppg-rate", type=float, default=128.0, metavar="HZ", help="default 128")
    p.add_argument("--eda-rate", type=float, default=32.0, metavar="HZ", help="default 32")
    p.add_argument(
        "--ecg-rate",
        type=float,
        default=None,
        metavar="HZ",
        help="also publish an ECG stream per person at this rate (default: none)",
    )
    p.add_argument(
        "--artifacts", action="store_true", help="add motion artifacts every 2-3 minutes"
    )
    p.add_argument(
        "--name-prefix",
        default="AttuneSim",
        metavar="P",
        help="stream name and source_id prefix (default AttuneSim)",
    )


def _add_simulate_parser(sub: Any) -> None:
    """The ``attune simulate`` subcommand."""
    p = sub.add_parser(
        "simulate",
        help="publish a simulated dyad (EDA + PPG per person) as LSL streams",
        description="Publish two simulated wearables as LSL outlets: per person an EDA stream "
        "(type EDA, microsiemens) and a PPG stream (type PPG). Shared arousal events drive "
        "SCRs and HR rises in both people; the clinician follows the patient by --lag.",
    )
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    p.add_argument(
        "--device",
        choices=("emotibit", "e4", "e4b", "shimmer", "bitalino", "polar", "muse"),
        default=None,
        help="publish both people as this wearable's LSL bridge does (names, types, units, "
        "rates, bursts, Unix-epoch clocks, duplicate source_ids); e4 = E4 server style "
        "(bvp/gsr), e4b = Empatica<ID>PPG/EDA/IBI style",
    )
    _add_sim_options(p)
    from app.cli.group_sim import add_group_options  # --people / --couple (N people)

    add_group_options(p)
    p.add_argument(
        "--start-s",
        type=float,
        default=0.0,
        metavar="S",
        help="start publishing at simulator time S (the demo computed 0..S itself; default 0)",
    )
    p.add_argument(
        "--t0",
        type=float,
        default=None,
        metavar="LSL_TIME",
        help="LSL time of simulator time --start-s (waits for it; default: now)",
    )


def _add_streams_parser(sub: Any) -> None:
    """The ``attune streams`` subcommand."""
    p = sub.add_parser(
        "streams",
        help="list visible LSL streams and their role/modality assignment",
        description="List the LSL streams visible now and show which role and modality each "
        "was assigned, or why none.",
    )
    p.add_argument("--wait", type=float, default=2.0, metavar="S", help="resolve time (s)")
    p.add_argument("--role", action="append", default=[], metavar="ROLE=GLOB")
    p.add_argument("--map", metavar="FILE.toml")


def _add_run_parser(sub: Any) -> None:
    """The ``attune run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="run the live engine on LSL streams",
        description="Run the live engine. With --headless, print one line per second per "
        "person (HR, RMSSD, SCL, stream health) and one for the dyad; with 3-8 people (--role "
        "NAME=GLOB for each), one per pair and one for the group index too.",
    )
    p.add_argument("--headless", action="store_true", help="no window; print to stdout")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    p.add_argument(
        "--screenshot", metavar="FILE.png", help="save a window screenshot at the end (window)"
    )
    p.add_argument("--tick", type=float, default=1.0, metavar="S", help="DSP tick (default 1 s)")
    p.add_argument(
        "--remote",
        metavar="INVITE",
        help="receive the remote patient of this invite (file or session id) over its relay",
    )
    _add_role_options(p)
    video_cli.add_capture_options(p)  # recorded with each session started in the console


def _add_demo_parser(sub: Any) -> None:
    """The ``attune demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="simulated dyad -> live view (the window when a display is available)",
        description="Start the simulator in a child process and show it live. Without a display "
        "(or with --headless) the headless live view is printed instead.",
    )
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    p.add_argument("--headless", action="store_true", help="print instead of opening a window")
    p.add_argument("--screenshot", metavar="FILE.png", help="save a window screenshot at the end")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.add_argument("--coupling", type=float, default=0.8, metavar="0..1")
    p.add_argument("--lag", type=float, default=2.0, metavar="S")
    p.add_argument("--artifacts", action="store_true")
    p.add_argument(
        "--no-preroll",
        action="store_true",
        help="start with the full 150 s warm-up (default: the simulator's first 170 s are "
        "computed at start, labelled 'pre-rolled (simulated history)')",
    )
    video_cli.add_capture_options(p)  # e.g. --video virtual --audio virtual
    # the simulated dyad comes with a virtual camera (shown live, recorded with a session)
    p.set_defaults(video=video_cli.VIRTUAL["video"])
    p.epilog = "The window shows a virtual camera (a test pattern); --video none for none."
    from app.cli.group_sim import add_group_options  # --people / --couple: the group demo

    add_group_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attune",
        description="Attunement: real-time dyadic biofeedback over Lab Streaming Layer.",
    )
    parser.add_argument("--version", action="version", version=f"attune {__version__}")
    parser.add_argument(
        "--local-only",
        action="store_true",
        help="keep LSL on this machine (resolve scope 'machine', loopback peers only)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_simulate_parser(sub)
    _add_streams_parser(sub)
    _add_run_parser(sub)
    _add_demo_parser(sub)
    sessions.register(sub)
    analysis.register(sub)
    remote.register(sub)
    importing.register(sub)
    video_cli.register(sub)
    return parser


# ------------------------------------------------------------------------------ commands


def _install_sigint(stop: threading.Event) -> None:
    def handler(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def cmd_simulate(args: argparse.Namespace) -> int:
    from devices.source import SimulatorSource, serve_until_stopped
    from dsp.simulate import DyadSimConfig, PersonSimConfig

    if args.people is not None:  # a group of N people: app.cli.group_sim
        from app.cli.group_sim import simulate_group_cmd

        stop = threading.Event()
        _install_sigint(stop)
        try:
            return simulate_group_cmd(args, stop)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    base = DyadSimConfig()
    try:
        cfg = DyadSimConfig(
            seed=args.seed,
            coupling=args.coupling,
            lag_s=args.lag,
            ppg_fs=args.ppg_rate,
            eda_fs=args.eda_rate,
            ecg_fs=args.ecg_rate,
            artifacts=args.artifacts,
            patient=PersonSimConfig(**{**base.patient.__dict__, "hr_bpm": args.hr_patient}),
            clinician=PersonSimConfig(**{**base.clinician.__dict__, "hr_bpm": args.hr_clinician}),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not 20 <= args.hr_patient <= 220 or not 20 <= args.hr_clinician <= 220:
        raise CliError("heart rates must be within 20..220 bpm")
    stop = threading.Event()
    _install_sigint(stop)
    if args.device:
        return _simulate_device(args, cfg, stop)
    try:
        src = SimulatorSource(
            cfg, prefix=args.name_prefix, duration=args.duration, start_s=args.start_s, t0=args.t0
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    src.start()
    print(
        f"simulating: {args.name_prefix}-patient-EDA/PPG and {args.name_prefix}-clinician-EDA/PPG "
        f"(coupling {cfg.coupling}, clinician lag {cfg.lag_s} s); Ctrl-C to stop",
        flush=True,
    )
    error = serve_until_stopped(src, stop)
    if error is not None:
        raise CliError(f"simulator failed: {error}")
    return 0


def _simulate_device(args: argparse.Namespace, cfg, stop: threading.Event) -> int:
    from devices.device_sim import DeviceSimSource
    from devices.source import parent_gone

    src = DeviceSimSource(args.device, cfg, duration=args.duration)
    src.start()
    names = sorted({s.name for ss in src.streams.values() for s in ss})
    print(
        f"simulating two {args.device} wearables ({', '.join(names)}; device ids "
        f"{', '.join(f'{r}={i}' for r, i in src.ids.items())}); Ctrl-C to stop",
        flush=True,
    )
    while not stop.is_set() and src.running and not parent_gone():
        stop.wait(0.2)
    src.stop()
    if src.error is not None:
        raise CliError(f"simulator failed: {src.error}")
    return 0


def cmd_streams(args: argparse.Namespace) -> int:
    from app.live import discover
    from devices.assign import assign, explain, load_map, parse_role_options
    from devices.inventory import inventory

    roles = parse_role_options(args.role) if args.role else None
    mapping = load_map(args.map) if args.map and not roles else None
    found = discover(args.wait)
    descs = [d for d, _ in found]
    result = assign(descs, roles=roles, mapping=mapping)
    if not descs:
        print(f"no LSL streams visible (waited {args.wait:g} s)")
    for row in inventory(descs, result):
        print(row.text())
    line = explain(result, descs)
    if line:
        print(line)
    return 0


def _run_headless(choice, duration: float | None, tick_s: float, source=None) -> int:
    """The headless live view: a :class:`~app.controller.LiveController` printing one block
    of lines per engine tick until ``duration`` (s), Ctrl-C, or a failure."""
    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.headless import format_group_snapshot, format_snapshot
    from app.live import AssignmentError
    from devices.assign import MapError

    people = tuple(choice.people)
    if people:  # a group of 3-8: a line per person, per pair and for the group index

        def lines(snap) -> list[str]:
            return format_group_snapshot(snap, people)
    else:
        lines = format_snapshot
    stop = threading.Event()
    _install_sigint(stop)
    errors: list[str] = []

    def on_error(text: str) -> None:
        errors.append(text)
        stop.set()

    control = LiveController(EngineConfig(tick_s=tick_s))
    control.on_error = on_error
    control.on_started = lambda session: session.engine.subscribe(
        lambda snap: print("\n".join(lines(snap)), flush=True)
    )
    try:
        try:
            session = control.connect(choice, source)
        except (AssignmentError, MapError) as exc:
            raise CliError(str(exc)) from None
        t_end = None if duration is None else time.monotonic() + duration
        while not stop.is_set():
            if t_end is not None and time.monotonic() >= t_end:
                break
            err = control.check_source()
            if err:
                raise CliError(f"the source stopped: {err}")
            stop.wait(0.1)
        waiting = session.waiting
    finally:
        control.stop()
    if errors:
        raise CliError(errors[0])
    if waiting:  # ended (--duration, Ctrl-C) before every signal was there: say so
        lines = "; ".join(w.text for w in waiting)
        print(f"attune: warning: ended while {lines}", file=sys.stderr, flush=True)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if getattr(args, "remote", None):
        return _run_remote(args)
    return _cmd_run(args)


def _run_remote(args: argparse.Namespace) -> int:
    """``run --remote``: the patient's streams re-published here, then the usual run."""
    from devices.remote.invite import InviteError

    try:
        rx = remote.start_remote(args.remote)
    except InviteError as exc:
        raise CliError(str(exc)) from None
    print(f"remote session {rx.session_id[:8]}: waiting for the patient's streams", flush=True)
    stop = threading.Event()

    def report() -> None:
        seen, refused = 0, 0
        while not stop.wait(5.0):
            for line in rx.health.events[seen:] + rx.health.refused[refused:]:
                print(line, flush=True)
            seen, refused = len(rx.health.events), len(rx.health.refused)
            print(rx.health.line(), flush=True)

    threading.Thread(target=report, daemon=True).start()
    from pathlib import Path

    from app.remote import RemoteLink

    args.remote_link = RemoteLink(None, Path(args.remote), rx)  # the console shows and records it
    try:
        return _cmd_run(args)
    finally:
        stop.set()
        rx.stop()


def _cmd_run(args: argparse.Namespace) -> int:
    from devices.assign import parse_role_options

    roles = parse_role_options(args.role) if args.role else None
    video_cli.check_devices(args)
    if _group_people(roles, getattr(args, "map", None)):
        return _run_group(args, roles)
    missing = [] if args.headless else missing_qt_libraries()
    if missing:
        print(missing_qt_line(missing), flush=True)
    elif not args.headless:
        from app.gui import launch  # Qt loads only when the window opens

        return launch.run_live(args)
    from app.sources import SourceChoice

    choice = SourceChoice(roles=roles, map_path=args.map or "", wait_s=args.wait,
                          description="LSL streams")  # fmt: skip
    return _run_headless(choice, args.duration, args.tick)


def cmd_demo(args: argparse.Namespace) -> int:
    from app.sources import simulated_dyad
    from devices.lsl import use_local_lsl

    use_local_lsl()
    if getattr(args, "people", None):
        return _group_demo(args)
    missing = [] if args.headless or args.screenshot else missing_qt_libraries()
    if missing:
        print(missing_qt_line(missing), flush=True)
    elif not args.headless and (has_display() or args.screenshot):
        from app.gui import launch  # Qt loads only when the window opens

        return launch.run_demo(args)
    elif not args.headless:
        print("no display is available: showing the headless live view (attune run --headless)",
              flush=True)  # fmt: skip
    source, choice = simulated_dyad(
        f"AttuneDemo{os.getpid()}", args.seed, args.coupling, args.lag, args.artifacts,
        preroll=not args.no_preroll,
    )  # fmt: skip
    return _run_headless(choice, args.duration, 1.0, source=source)


def _group_people(roles, map_path) -> tuple[str, ...]:
    """The people of a group session (3-8, or two not named patient and clinician); empty
    for the two-person session, which runs unchanged."""
    from devices.assign import ROLES, MapError, load_map, people_of

    try:
        mapping = load_map(map_path) if map_path and not roles else None
    except MapError as exc:
        raise CliError(str(exc)) from None
    people = people_of(roles, mapping)
    return () if people == ROLES else people


def _run_group(args: argparse.Namespace, roles) -> int:
    """``attune run --role A=GLOB --role B=GLOB --role C=GLOB ...``: the group console, or
    with ``--headless`` (or without Qt's libraries) the group's headless view."""
    from app.live import AssignmentError

    missing = [] if args.headless else missing_qt_libraries()
    if missing:
        print(missing_qt_line(missing), flush=True)
    if args.headless or missing:
        from app.group_live import group_run_choice

        try:
            choice = group_run_choice(roles, args.map, args.wait)
        except AssignmentError as exc:
            raise CliError(str(exc)) from None
        return _run_headless(choice, args.duration, args.tick)
    from app.gui import launch

    try:
        return launch.run_group_live(args, roles)
    except AssignmentError as exc:
        raise CliError(str(exc)) from None


def _group_demo(args: argparse.Namespace) -> int:
    """``attune demo --people N``: the group console, or the group's headless view with
    ``--headless``, without a display or without Qt's libraries (as the two-person demo)."""
    from app.group_live import demo_people

    try:
        demo_people(args.people)  # bad input: one line before anything starts
    except ValueError as exc:
        raise CliError(str(exc)) from None
    missing = [] if args.headless or args.screenshot else missing_qt_libraries()
    if missing:
        print(missing_qt_line(missing), flush=True)
    elif not args.headless and (has_display() or args.screenshot):
        from app.gui import launch

        try:
            return launch.run_group_demo(args)
        except ValueError as exc:  # a --couple naming nobody, a bad coupling
            raise CliError(str(exc)) from None
    elif not args.headless:
        print("no display is available: showing the headless live view (attune run --headless)",
              flush=True)  # fmt: skip
    return _group_demo_headless(args)


def _group_demo_headless(args: argparse.Namespace) -> int:
    """The group demo's simulator (this process) shown by the group's headless view."""
    from app.group_live import group_demo_choice
    from app.live import AssignmentError

    try:
        choice, source, _people = group_demo_choice(args)
    except (ValueError, AssignmentError) as exc:  # a --couple naming nobody, no streams
        raise CliError(str(exc)) from None
    try:
        return _run_headless(choice, args.duration, 1.0)
    finally:
        source.stop()


COMMANDS = {"simulate": cmd_simulate, "streams": cmd_streams, "run": cmd_run, "demo": cmd_demo}


def _hard_exit(code: int) -> None:
    """End the process without the interpreter's teardown of every module (0.1-0.3 s once
    ``attune analyze`` has imported scipy and matplotlib), as mypy does: the exit handlers
    (temporary folders, process pools) run and the output is flushed first."""
    import atexit

    atexit._run_exitfuncs()  # noqa: SLF001
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The ``attune`` command; ``argv`` None: this process's own (then ``attune analyze``
    ends the process at once when done, see :func:`_hard_exit`)."""
    whole_process = argv is None
    code = _main(argv)
    if whole_process and sys.argv[1:2] == ["analyze"]:
        _hard_exit(code)
    return code


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from devices.lsl import use_local_lsl, use_quiet_lsl

    if "--local-only" in argv or (argv and argv[0] == "demo"):
        use_local_lsl()  # the demo's simulator never needs the network
    use_quiet_lsl()
    parser = build_parser()
    # `attune [--duration S] [--screenshot F] ...` with no command means `attune run ...`
    rest = [a for a in argv if a != "--local-only"]
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001
    if not rest or (rest[0] not in commands and rest[0] not in ("-h", "--help", "--version")):
        argv = ["--local-only", "run", *rest] if "--local-only" in argv else ["run", *rest]
    args = parser.parse_args(argv)
    func = COMMANDS.get(args.command) or getattr(args, "func", None)
    from devices.assign import MapError

    try:
        return int(func(args) or 0)
    except (CliError, MapError) as exc:
        print(f"attune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
