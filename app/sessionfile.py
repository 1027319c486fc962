"""``session.json``: what a recorded session folder says about itself (no Qt).

Written when a session starts (so a crash still leaves it) and completed when it stops.
Holds pseudonymous participant codes only (never names), the stream map, every DSP parameter
the live engine used, the app version, baseline values and the clinician's notes. The file is
created owner-only (0600) like the recording, since it belongs to health data.

Keys read by :mod:`app.library`: ``patient``, ``clinician``, ``started_at``,
``baseline.<role>.ln_rmssd`` / ``rmssd_ms``, ``notes``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from pathlib import Path
from typing import Any

from app import __version__
from app.sessionfolder import RECORDING, SessionFolder
from devices.assign import Assignment, dump_map
from devices.recorder import write_private_json

SCHEMA_VERSION = 1
_CODE = re.compile(r"^[A-Za-z0-9._-]{0,32}$")


class SessionFileError(ValueError):
    """Bad participant code or unreadable session.json (one clear line)."""


def check_code(code: str, what: str) -> str:
    """A pseudonymous code: up to 32 letters, digits, '.', '_' or '-' (no names, no spaces)."""
    code = code.strip()
    if not _CODE.match(code):
        raise SessionFileError(
            f"{what} code {code!r}: use a pseudonymous code of up to 32 letters, digits, . _ -"
        )
    return code


def _params(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _params(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [_params(v) for v in obj]
    return obj


def start_record(
    *,
    patient: str,
    clinician: str,
    assignment: Assignment | None,
    engine_config: Any,
    source: str,
    baseline: dict[str, dict[str, float]] | None = None,
    notes: str = "",
    started_at: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The ``session.json`` content at session start."""
    started = (started_at or _dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    return {
        "schema_version": SCHEMA_VERSION,
        "app": "Attunement",
        "app_version": __version__,
        "patient": check_code(patient, "patient"),
        "clinician": check_code(clinician, "clinician"),
        "started_at": started,
        "ended_at": None,
        "source": source,
        **_streams(assignment),
        "dsp_parameters": _params(engine_config),
        "baseline": baseline or {},
        "notes": notes,
        "recording": RECORDING,
    }


def _streams(assignment: Assignment | None) -> dict[str, Any]:
    """``streams`` and ``stream_map_toml`` of session.json from an assignment."""
    streams = []
    for c in assignment.channels if assignment is not None else ():
        streams.append(
            {
                "role": c.role,
                "modality": c.modality,
                "stream": c.stream.name,
                "type": c.stream.type,
                "source_id": c.stream.source_id,
                "channel": c.channel,
                "channel_label": c.label,
                "nominal_srate": c.stream.nominal_srate,
            }
        )
    toml = dump_map(assignment) if assignment is not None else ""
    return {"streams": streams, "stream_map_toml": toml}


def write(folder: str | Path, record: dict[str, Any]) -> Path:
    """Write ``folder/session.json`` atomically with mode 0600."""
    return write_private_json(SessionFolder(Path(folder)).session_json, record)


def read(folder: str | Path) -> dict[str, Any]:
    """Read ``folder/session.json``."""
    path = SessionFolder(Path(folder)).session_json
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SessionFileError(f"cannot read {path}: {exc}") from None


def finish(
    folder: str | Path,
    *,
    baseline: dict[str, dict[str, float]] | None = None,
    notes: str | None = None,
    recording_summary: Any = None,
    ended_at: _dt.datetime | None = None,
    assignment: Assignment | None = None,
) -> Path:
    """Complete ``session.json`` when the session stops (end time, baseline, notes, counts).

    ``assignment``: the signals connected by the end (a session started before the
    wearables connects them as they appear), replacing the streams listed at the start.
    """
    record = read(folder)
    if assignment is not None:
        record.update(_streams(assignment))
    record["ended_at"] = (ended_at or _dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    if baseline:
        record["baseline"] = baseline
    if notes is not None:
        record["notes"] = notes
    if recording_summary is not None:
        record["recorded_samples"] = int(getattr(recording_summary, "total_samples", 0))
        err = getattr(recording_summary, "error", None)
        record["recording_error"] = str(err) if err else None
    return write(folder, record)
