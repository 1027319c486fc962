"""``attune analyze``, ``attune review`` and ``attune library``.

``register(subparsers)`` adds the three subcommands; each sets ``func`` (``args.func(args)``
returns the exit status). Exit status: 0 done; 2 bad input (unreadable / not XDF / empty /
missing file, no usable EDA/PPG/ECG, bad option), with one line per problem on stderr.

The project's modules are imported inside the command functions on purpose: ``attune`` starts
for every command (and for each simulator child process), and only the command that runs
should pay for loading the analysis, matplotlib or Qt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.importing import add_sync_event
from app.display import prepare_display

ANALYZE_EPILOG = """\
output (one file: directly in OUTDIR; several: OUTDIR/<file name>/ plus OUTDIR/summary.csv):
  metrics.json        every number of the session, the inputs used and all parameters
  beats_<role>.csv    LSL time (s), IBI (ms), corrected flag, used flag, artifact class
  timeseries.csv      1 Hz: HR and SCL of both people, rolling concordance, chance band,
                      percentile, WCC peak r and lag (positive lag = patient leads)
  report.html         one printable file with plots and tables (no network needed)

Streams are assigned as in `attune run`: --role, --map, the stream map the recording carries
(console recordings, `attune record --role`, `attune import`), or role words in the stream names.
A file with one person's streams is analysed as one person (no concordance). Marker streams
(type Markers) make blocks: each marker starts a block lasting until the next one, so
markers "listening" and "talking" give the talking-vs-listening table.

examples:
  attune analyze session.xdf -o out/
  attune analyze sessions/*/recording.xdf -o out/ --format json,csv
  attune analyze lab.xdf -o out/ --map nplab.toml
"""


def _formats(text: str) -> tuple[str, ...]:
    from app.analysis import FORMATS

    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in FORMATS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(
            f"--format takes a comma list of {', '.join(FORMATS)}; got {text!r}"
        )
    return parts


def register(subparsers: Any) -> None:
    """Add ``analyze``, ``review`` and ``library`` to an argparse subparsers object."""
    _register_analyze(subparsers)
    _register_review(subparsers)
    _register_library(subparsers)


def _register_analyze(subparsers: Any) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "analyze",
        help="analyse XDF recordings: metrics.json, CSVs and an HTML report",
        description="Analyse recorded sessions offline with the live engine's DSP: per person "
        "beats, HRV, EDA; per dyad EDA and HR concordance with chance baselines; per-block "
        "tables from markers.",
        epilog=ANALYZE_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("files", nargs="+", metavar="FILE.xdf", help="recording(s) to analyse")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")
    add_sync_event(p)
    sel = p.add_mutually_exclusive_group()
    sel.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=GLOB",
        help="streams whose name or source_id matches GLOB belong to ROLE (patient, "
        "clinician, or any word: partner, cotherapist, mother ...); one per person, 2-8 people",
    )
    sel.add_argument(
        "--map",
        metavar="FILE.toml",
        help="TOML stream map: [patient] eda = {stream = 'GLOB', channel = 'LABEL' or index}; "
        "one [ROLE] table per person",
    )
    p.add_argument(
        "--pairs",
        action="append",
        default=[],
        metavar="A-B,...",
        help="with 3 or more people: the pairs that matter, in the order shown (default: "
        "every pair, the clinician's first)",
    )
    p.add_argument(
        "--segments-from",
        metavar="STREAM",
        help="marker stream (glob on name, type or source_id) defining the blocks "
        "(default: every stream of type Markers)",
    )
    p.add_argument(
        "--format",
        type=_formats,
        default=("json", "csv", "html"),
        metavar="LIST",
        help="comma list of json, csv, html (default: all)",
    )
    p.add_argument(
        "--thumbnails",
        action="store_true",
        help="the report shows a frame of the session's video per moment (off by default: "
        "faces are private)",
    )
    _add_method_options(p)
    p.set_defaults(func=cmd_analyze)


def _add_method_options(p: argparse.ArgumentParser) -> None:
    """``analyze``'s method and execution options: surrogates, seed, EDA scale, cores."""
    p.add_argument(
        "--surrogates",
        type=_surrogates,
        default="circular",
        metavar="circular|segment",
        help="surrogates of the EDA session CI test: circular shifts (>= 60 s) or segment "
        "shuffles (30 s segments); the HR CI test, the chance band and the lead tests always "
        "use circular shifts (segment shuffles were optimistic for HR) (default circular; a "
        "number is read as --n-surrogates, as before)",
    )
    p.add_argument(
        "--n-surrogates",
        type=int,
        default=None,
        metavar="N",
        help="surrogates per test (default 200)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the pseudo-dyad study on an existing Dask distributed scheduler "
        "(e.g. tcp://10.0.0.5:8786; needs the optional extra 'dask'); default: local cores",
    )
    p.add_argument("--seed", type=int, default=0, help="surrogate seed (default 0)")
    p.add_argument(
        "--eda-scale",
        type=float,
        default=None,
        metavar="F",
        help="multiply EDA values by F to get µS (for streams storing skin conductance in "
        "other units; by default EDA must be in µS)",
    )
    p.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="parallel processes (default: cores)"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="print where the time went (seconds per stage, imports included) on stderr",
    )


def _register_review(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "review",
        help="open a recorded session in the trainer's review window",
        description="Whole-session timeline of both people with zoom, concordance with the "
        "chance band, markers, block table, HRV table, notes and export.",
    )
    p.add_argument("file", metavar="FILE.xdf", help="recording (or a session folder)")
    p.add_argument("more", nargs="*", metavar="FILE", help="more device files (see attune import)")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--role", action="append", default=[], metavar="ROLE=GLOB")
    sel.add_argument("--map", metavar="FILE.toml")
    p.add_argument("--segments-from", metavar="STREAM")
    p.add_argument("--eda-scale", type=float, default=None, metavar="F",
                   help="multiply EDA values by F to get µS (see attune analyze)")  # fmt: skip
    p.add_argument("--screenshot", metavar="FILE.png", help="save a screenshot and quit")
    add_sync_event(p)
    p.set_defaults(func=cmd_review)


def _register_library(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "library",
        help="list recorded sessions and a clinician's progress across sessions",
        description="The sessions folder: one line per session (date, participant codes, "
        "duration, key numbers); with --clinician, that clinician's trend across sessions.",
    )
    p.add_argument("--dir", metavar="DIR", help="sessions folder (default: the platform data dir)")
    p.add_argument("--clinician", metavar="CODE", help="show the trend of one clinician code")
    p.add_argument("--list", action="store_true", help="print the list instead of a window")
    p.add_argument(
        "--analyze",
        action="store_true",
        help="first analyse sessions that have a recording but no metrics.json",
    )
    p.add_argument("--screenshot", metavar="FILE.png", help="save a screenshot and quit")
    p.set_defaults(func=cmd_library)


class UsageError(Exception):
    """A one-line user error (printed as ``attune: error: ...``, exit status 2)."""


def _fail(msg: str) -> int:
    # printed here rather than raised as app.cli.CliError: under ``python -m app.cli`` that
    # module runs as __main__, so a CliError imported from app.cli would be another class
    print(f"attune: error: {msg}", file=sys.stderr, flush=True)
    return 2


def _surrogates(text: str) -> str | int:
    """``circular`` / ``segment``, or a number (the old ``--surrogates N``)."""
    if text.isdigit():
        return int(text)
    if text not in ("circular", "segment"):
        raise argparse.ArgumentTypeError("must be circular or segment")
    return text


def _options(args: argparse.Namespace) -> Any:
    from app.analysis import AnalysisOptions
    from app.people import people_model
    from devices.assign import MapError, load_map, map_pairs, parse_role_options, people_of
    from dsp.params import MethodParams
    from dsp.session import SessionConfig

    try:
        roles = parse_role_options(args.role) if args.role else {}
    except MapError as exc:
        raise UsageError(str(exc)) from None
    if args.map and not Path(args.map).is_file():
        raise UsageError(f"map file {args.map} not found")
    try:
        pairs = tuple(getattr(args, "pairs", None) or (map_pairs(args.map) if args.map else ()))
        if pairs:  # the names are checked against the file's people by the analysis
            people_model(people_of(roles, load_map(args.map) if args.map else None), pairs)
    except MapError as exc:
        raise UsageError(str(exc)) from None
    sur = getattr(args, "surrogates", "circular")
    n_sur = getattr(args, "n_surrogates", None)
    if isinstance(sur, int):  # the old spelling: --surrogates N
        sur, n_sur = "circular", n_sur or sur
    n_sur = 200 if n_sur is None else n_sur
    if n_sur < 20:
        raise UsageError("--n-surrogates must be at least 20")
    cfg = SessionConfig(method=MethodParams(n_surrogates=n_sur), seed=getattr(args, "seed", 0))
    scale = getattr(args, "eda_scale", None)
    if scale is not None and not (scale > 0 and scale < float("inf")):
        raise UsageError("--eda-scale must be a positive number")
    return AnalysisOptions(
        eda_scale=scale,
        roles=roles,
        map_path=args.map,
        segments_from=args.segments_from,
        formats=tuple(getattr(args, "format", ("json", "csv", "html"))),
        config=cfg,
        surrogate_method=sur,
        thumbnails=bool(getattr(args, "thumbnails", False)),
        pairs=pairs,
    )


#: Stages ``attune analyze --profile`` reports: (function name, file ending, label).
PROFILE_STAGES = (
    ("_load", "pipeline.py", "read the XDF file"),
    ("analyze_person", "session.py", "per person: beats, HRV, EDA"),
    ("analyze_dyad", "dyad.py", "dyad (all concordance below)"),
    ("analyze_session", "baselines.py", "  session CI test + session lead test"),
    ("susy_test", "baselines.py", "  SUSY and its shifted pairings"),
    ("coupling_timeline", "coupling.py", "  coupling replay at every 10 s check"),
    ("_rolling_timeline", "dyad.py", "  rolling CI and its chance band"),
    ("segment_concordance", "segments.py", "  per-block tables and lead tests"),
    ("_contrasts", "dyad.py", "  label contrasts"),
    ("hr_coherence_session_test", "hr.py", "  HR coherence test"),
    ("analyze_group", "group.py", "group (3-8 people: everything below)"),
    ("group_concordance", "group.py", "  pair matrix tests and group index"),
    ("_pair_contrasts", "group.py", "  label contrasts per pair"),
    ("_heartpy_peers", "pipeline.py", "heartpy second opinion"),
    ("_heartpy_start", "pipeline.py", "heartpy second opinion (started before the dyad)"),
    ("_prepare_report", "pipeline.py", "the report's imports (matplotlib)"),
    ("write_outputs", "export.py", "metrics.json, CSVs, report.html"),
)


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (the analysis's second process)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _print_profile(
    prof: Any, wall_s: float, cpu_s: float, import_s: float, helper_s: float = float("nan")
) -> None:
    """Where the time of ``attune analyze`` went (CPU seconds per stage), to stderr."""
    import pstats

    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    cum: dict[tuple[str, str], float] = {}
    for (file, _, name), (_, _, _, ct, _) in stats.items():
        key = (name, Path(file).name)
        cum[key] = max(cum.get(key, 0.0), ct)
    helper = (
        f"; the second process {helper_s:.2f} s CPU (the clinician's part, the HR concordance "
        "and both coupling replays, not in the list below)"
        if helper_s > 0.05
        else ""
    )
    lines = [f"where the time went: {wall_s:.2f} s wall in the command after interpreter start "
             f"(of which imports {import_s:.2f} s), {cpu_s:.2f} s CPU in the analysis{helper}; "
             "CPU seconds per stage of this process (the profiler adds some):"]  # fmt: skip
    for name, file, label in PROFILE_STAGES:
        if (name, file) in cum:
            lines.append(f"  {label:<44} {cum[(name, file)]:6.2f} s")
    print("\n".join(lines), file=sys.stderr)


def cmd_analyze(args: argparse.Namespace) -> int:
    """``attune analyze`` (with ``--profile``: then where the time went, on stderr)."""
    if not getattr(args, "profile", False):
        return _analyze(args)
    import cProfile
    import time

    t0 = time.perf_counter()
    import app.analysis  # noqa: F401  (timed on its own: imports are a stage)

    t1 = time.perf_counter()
    c0 = time.process_time()
    h0 = _children_cpu_s()
    prof = cProfile.Profile(time.process_time)  # CPU seconds: a busy machine barely moves them
    try:
        return prof.runcall(_analyze, args)
    finally:
        _print_profile(prof, time.perf_counter() - t0, time.process_time() - c0, t1 - t0,
                       _children_cpu_s() - h0)  # fmt: skip


class _ReadAhead:
    """The recording read by a forked process while this one imports the analysis (~0.3 s
    of a 60-min dyad off the single-core start); :meth:`result` is None when that process
    failed, then the analysis reads the file itself (with its own error messages)."""

    def __init__(self, path: str) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_read_recording, args=(path, send), daemon=True)
        self._proc.start()
        send.close()

    def result(self) -> Any:
        try:
            rec = self._recv.recv()
        except (EOFError, OSError):
            rec = None
        self._proc.join()
        return rec


def _read_recording(path: str, send: Any) -> None:
    """(In the read-ahead process.) The recording, or None on any error."""
    import warnings

    from devices.xdf_reader import XdfTruncatedWarning, load_recording

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XdfTruncatedWarning)
            rec = load_recording(path)
    except Exception:  # noqa: BLE001 - the analysis reads it again and says why
        rec = None
    send.send(rec)
    send.close()


def _read_ahead(files: list[str]) -> _ReadAhead | None:
    """A :class:`_ReadAhead` of a single ``.xdf`` / ``.xdfz`` file, where forking is safe
    (one thread, a platform with fork), else None."""
    import multiprocessing
    import threading

    if (
        len(files) != 1
        or not files[0].lower().endswith((".xdf", ".xdfz"))
        or not Path(files[0]).is_file()
        or threading.active_count() != 1
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return None
    try:
        return _ReadAhead(files[0])
    except OSError:
        return None


def _analyze(args: argparse.Namespace) -> int:
    from app.cli.importing import device_inputs, import_to_temp

    ahead = None if device_inputs(args.files) else _read_ahead(args.files)
    from app.analysis import AnalysisError, analyze_paths

    if device_inputs(args.files):  # the wearables' own files: imported first
        try:
            args.files = [import_to_temp(args, args.files)]
        except ValueError as exc:
            return _fail(str(exc))
    try:
        opts = _options(args)
    except UsageError as exc:
        return _fail(str(exc))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"{out} exists and is not a folder")
    if len(args.files) == 1:
        try:
            rec = ahead.result() if ahead is not None else None
            analyze_paths(args.files, out, opts, jobs=args.jobs, recording=rec)
        except AnalysisError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot write to {out}: {exc.strerror or exc}")
        print(f"wrote {out}")
        return 0
    try:
        failed, rows = analyze_paths(
            args.files, out, opts, jobs=args.jobs, scheduler=args.scheduler
        )
    except (RuntimeError, OSError) as exc:
        return _fail(str(exc))
    print(
        f"analysed {len(rows) - failed} of {len(args.files)} files; summary in {out / 'summary.csv'}"
    )
    return 2 if failed else 0


def cmd_review(args: argparse.Namespace) -> int:
    """``attune review``."""
    from app.cli.importing import device_inputs, import_to_temp
    from app.review.launch import run_review

    if device_inputs([args.file, *getattr(args, "more", [])]):
        try:
            args.file = import_to_temp(args, [args.file, *getattr(args, "more", [])])
        except ValueError as exc:
            return _fail(str(exc))
    try:
        opts = _options(args)
    except UsageError as exc:
        return _fail(str(exc))
    return run_review(args, opts)


def cmd_library(args: argparse.Namespace) -> int:
    """``attune library``: the sessions table (``--list``) or the library window."""
    from app.library import (
        analyze_missing,
        clinicians,
        default_sessions_dir,
        format_table,
        format_trend,
        scan_sessions,
    )

    root = Path(args.dir) if args.dir else default_sessions_dir()
    if args.dir and not root.is_dir():
        print(f"attune: error: sessions folder {root} does not exist", file=sys.stderr)
        return 2
    entries = scan_sessions(root)
    if getattr(args, "analyze", False):
        failed = analyze_missing(entries, log=lambda s: print(s, file=sys.stderr, flush=True))
        entries = scan_sessions(root)
        if failed:
            print(f"attune: warning: {failed} session(s) could not be analysed", file=sys.stderr)
    if args.clinician and not any(e.clinician.lower() == args.clinician.lower() for e in entries):
        known = ", ".join(clinicians(entries)) or "none"
        print(
            f"attune: error: no session of clinician {args.clinician!r} in {root} "
            f"(clinician codes: {known})",
            file=sys.stderr,
        )
        return 2
    why = "" if (args.screenshot or not args.list) else "list requested"
    if not why:
        why = prepare_display(bool(args.screenshot))
    if args.list or why:
        print(f"{len(entries)} session(s) in {root}")
        for line in format_table(entries):
            print(line)
        if args.clinician:
            print("\n" + "\n".join(format_trend(entries, args.clinician)))
        return 0
    # imported on demand: Qt loads only when a window is drawn (``--list`` works without it)
    from app.review.library_view import run_library_window

    return run_library_window(root, entries, args.clinician, args.screenshot)
