"""``attune import FILES... -o SESSION``: a session folder from the wearables' own files.

Also used by ``attune analyze`` and ``attune review`` when they are given device files
instead of XDF recordings (:func:`device_inputs`, :func:`import_to_temp`).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

IMPORT_EPILOG = """\
formats (recognised by content; --format forces one):
  Empatica E4 session zip, Empatica EmbracePlus Avro (.avro), EmotiBit parsed CSVs
  (*_EA.csv ... with *_info.json), PLUX OpenSignals / BITalino text (.txt), Shimmer Consensys
  CSV, Polar Sensor Logger RR / ECG text, Biopac AcqKnowledge (.acq), any CSV with a small
  TOML description next to it (<file>.toml)

examples:
  attune import A01234.zip B05678.zip --role patient=A01234.zip --role clinician=B05678.zip -o S1
  attune import p.txt c.txt --role patient=p.txt --role clinician=c.txt --sync-event 'tag 1' -o S2
  attune import A.zip B.zip --role patient=A.zip --role clinician=B.zip --sync-event clap@2:15 -o S3
"""


def register(subparsers: Any) -> None:
    """Add ``import`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "import",
        help="build a session folder from wearables' own files",
        description="Build a session folder (recording.xdf + session.json) from device files; "
        "analyze, review, report, library and replay then work on it.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="device files")
    p.add_argument("-o", "--out", required=True, metavar="SESSION", help="new session folder")
    p.add_argument("--role", action="append", default=[], metavar="NAME=FILE-or-GLOB",
                   help="whose file it is (patient / clinician); repeatable")  # fmt: skip
    add_sync_event(p)
    p.add_argument("--format", dest="reader", metavar="READER", default=None,
                   help="force a reader: e4, embraceplus, emotibit, opensignals, shimmer, "
                   "polar, biopac, csvtoml")  # fmt: skip
    p.add_argument("--patient", default="", metavar="CODE", help="pseudonymous patient code")
    p.add_argument("--clinician", default="", metavar="CODE", help="pseudonymous clinician code")
    p.set_defaults(func=cmd_import)


def add_sync_event(p: argparse.ArgumentParser) -> None:
    """``--sync-event``: for ``import``, and for ``analyze``/``review`` given device files."""
    p.add_argument("--sync-event", metavar="GLOB|clap@MM:SS",
                   help="device files: align the people on the first marker matching GLOB "
                   "(e.g. 'tag 1'), or on a clap near MM:SS from the start (clap@2:15, "
                   "clap@2:15±20)")  # fmt: skip


def _fail(msg: str) -> int:
    print(f"attune: error: {msg}", file=sys.stderr, flush=True)
    return 2


def cmd_import(args: argparse.Namespace) -> int:
    """``attune import``."""
    from app.importer import ImportFilesError, import_files
    from app.sessionfile import SessionFileError, check_code

    if not args.files and not args.role:
        return _fail("give the device files to import")
    try:
        patient = check_code(args.patient, "patient")
        clinician = check_code(args.clinician, "clinician")
        res = import_files(args.files, args.out, args.role, args.sync_event, patient,
                           clinician, args.reader)  # fmt: skip
    except (ImportFilesError, SessionFileError) as exc:
        return _fail(str(exc))
    for line in res.lines:
        print(line)
    print(f"wrote {res.folder}")
    return 0


def device_inputs(files: list[str]) -> bool:
    """True when ``files`` are device files (not XDF recordings or session folders)."""
    return bool(files) and all(
        Path(f).is_file() and not f.lower().endswith((".xdf", ".xdfz")) for f in files
    )


def import_to_temp(args: argparse.Namespace, files: list[str]) -> str:
    """Import device files into a temporary session folder; returns its recording.

    ``args.role`` (``ROLE=FILE``) names whose file is whose and is then cleared, since the
    imported streams carry the role in their names. The temporary folder is removed when the
    command ends. Raises ``ValueError`` (one line).
    """
    from app.importer import import_files

    tmp = Path(tempfile.mkdtemp(prefix="attune-import-"))
    # health data: the temporary session goes when the command ends (the outputs stay)
    atexit.register(shutil.rmtree, tmp, True)
    res = import_files(files, tmp / "session", list(getattr(args, "role", []) or []),
                       getattr(args, "sync_event", None))  # fmt: skip
    args.role = []
    for line in res.lines:
        print(line, file=sys.stderr)
    return str(res.recording)
