"""``attune import``: a session folder built from the wearables' own files (no Qt).

Each file is read by its device reader (:mod:`devices.files`), given to a person by
``--role NAME=FILE-or-GLOB`` (or by a role word in its name, or as the only person), aligned
by absolute time, and written into ``recording.xdf`` of a new session folder with
``session.json`` saying where every stream came from. Nothing half-written is left: the folder
is built under a temporary name beside the target and renamed when complete.

Clocks: every device file carries absolute (UTC) times from the device's own clock, which its
profile states an uncertainty for. Two people's files are aligned by those times; the
alignment is then uncertain by up to the sum of the two clocks' uncertainties, and
``session.json`` and the command's output say so. ``--sync-event GLOB`` refines it: the first
marker whose label matches (a button press on both devices) is made simultaneous.
``--sync-event clap@MM:SS`` does the same with a clap near the marked time, found in each
file's accelerometer (or PPG / ECG / EDA) by :mod:`devices.files.clap`.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app import __version__
from app.people import people_model
from app.sessionfolder import RECORDING, SessionFolder
from devices.assign import MAX_PEOPLE, ROLES, MapError, role_name
from devices.files import DeviceFileError, DeviceRecording, read_device_file
from devices.files.clap import ClapSyncError, clap_shifts, is_clap
from devices.files.xdf_out import Placed, import_map, write_dyad_xdf
from devices.recorder import write_private_json
from devices.stream_map import map_header_xml, map_toml
from devices.xdf_writer import XdfWriteError


class ImportFilesError(ValueError):
    """The files cannot be imported (one line; exit status 2)."""


@dataclass(frozen=True)
class ImportResult:
    """What ``import_files`` built.

    Attributes
    ----------
    folder : Path
        The session folder.
    recording : Path
        Its ``recording.xdf``.
    placed : tuple of Placed
        Each device recording with its role and alignment shift (s).
    lines : tuple of str
        What to tell the user (per file, the alignment and its uncertainty).
    """

    folder: Path
    recording: Path
    placed: tuple[Placed, ...]
    lines: tuple[str, ...]


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).astimezone().isoformat(timespec="seconds")


def _utc(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat(timespec="seconds")


def assign_roles(files: Sequence[str], roles: Sequence[str]) -> list[tuple[str, Path]]:
    """``(role, path)`` for every file.

    ``roles``: ``NAME=FILE-or-GLOB`` items (glob on the path or the file name; NAME any
    one-word role name: patient, clinician, partner ..., at most 8 people). Files no
    ``--role`` names are given by a role word in their name (patient/client,
    clinician/therapist); a single file is the patient. Anything else is refused.
    """
    pairs: list[tuple[str, str]] = []
    for item in roles:
        name, sep, pat = item.partition("=")
        if not sep or not name.strip() or not pat.strip():
            raise ImportFilesError(f"--role {item!r}: use --role NAME=FILE-or-GLOB")
        try:
            name = role_name(name, f"--role {item!r}")
        except MapError as exc:
            raise ImportFilesError(str(exc)) from None
        pairs.append((name, pat.strip()))
    named = list(dict.fromkeys(n for n, _ in pairs))
    if len(named) > MAX_PEOPLE:
        raise ImportFilesError(
            f"--role names {len(named)} people ({', '.join(named)}); a session has at most "
            f"{MAX_PEOPLE}"
        )
    paths = [Path(f) for f in files]
    for role, pat in pairs:
        if not any(fnmatch.fnmatch(str(p), pat) or fnmatch.fnmatch(p.name, pat) for p in paths):
            if Path(pat).exists():
                paths.append(Path(pat))
            else:
                raise ImportFilesError(f"--role {role}={pat}: no such file among the inputs")
    out: list[tuple[str, Path]] = []
    words = {"patient": ("patient", "client"), "clinician": ("clinician", "therapist")}
    for p in paths:
        hit = [
            r for r, pat in pairs if fnmatch.fnmatch(str(p), pat) or fnmatch.fnmatch(p.name, pat)
        ]
        if not hit:
            low = p.name.lower()
            hit = [r for r, ws in words.items() if any(w in low for w in ws)]
        if len(set(hit)) > 1:
            raise ImportFilesError(f"{p}: given to both {' and '.join(sorted(set(hit)))}")
        if not hit:
            if len(paths) == 1:
                hit = ["patient"]
            else:
                raise ImportFilesError(
                    f"{p}: whose file is it? Name the people with --role patient=FILE "
                    "--role clinician=FILE"
                )
        out.append((hit[0], p))
    return out


def _sync_shifts(
    recs: list[tuple[str, DeviceRecording]], pattern: str
) -> tuple[list[float], list[str]]:
    """Shift per recording so that the first marker matching ``pattern`` coincides."""
    events = []
    for _role, r in recs:
        t = next((t for t, lab in r.markers if fnmatch.fnmatch(lab.lower(), pattern.lower())), None)
        if t is None:
            labels = ", ".join(dict.fromkeys(lab for _, lab in r.markers)) or "none"
            raise ImportFilesError(
                f"{r.path}: no marker matches --sync-event {pattern!r} (its markers: {labels})"
            )
        events.append(t)
    ref = events[0]
    shifts = [ref - t for t in events]
    lines = [
        f"sync event {pattern!r}: {role} {Path(r.path).name} at {_utc(t)}, shifted {s:+.3f} s"
        for (role, r), t, s in zip(recs, events, shifts, strict=True)
    ]
    return shifts, lines


def _span(r: DeviceRecording, shift: float) -> str:
    if not math.isfinite(r.clock.uncertainty_s):
        return f"{r.t_last - r.t_first:.1f} s, absolute time unknown"
    return f"{_utc(r.t_first + shift)} to {_utc(r.t_last + shift)}"


def _check_overlap(placed: list[Placed], synced: bool) -> None:
    roles = {p.role for p in placed}
    unknown = [p for p in placed if not math.isfinite(p.recording.clock.uncertainty_s)]
    if len(roles) == 2 and unknown and not synced:
        raise ImportFilesError(
            f"{unknown[0].recording.path}: its absolute time is unknown, so it cannot be "
            "aligned with the other person's file; give --sync-event GLOB with an event "
            "both files mark"
        )
    spans: dict[str, tuple[float, float, list[str]]] = {}
    for p in placed:
        a, b = p.recording.t_first + p.shift_s, p.recording.t_last + p.shift_s
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ImportFilesError(f"{p.recording.path}: holds no samples")
        lo, hi, names = spans.get(p.role, (a, b, []))
        spans[p.role] = (min(lo, a), max(hi, b), [*names, Path(p.recording.path).name])
    if len(spans) == 2:
        (r1, (a1, b1, n1)), (r2, (a2, b2, n2)) = spans.items()
        if min(b1, b2) <= max(a1, a2):
            raise ImportFilesError(
                f"the files do not overlap in time: {r1} ({', '.join(n1)}) {_utc(a1)} to "
                f"{_utc(b1)}, {r2} ({', '.join(n2)}) {_utc(a2)} to {_utc(b2)}"
            )


def _alignment_lines(placed: list[Placed], synced: bool) -> tuple[list[str], dict]:
    lines = []
    unc: dict[str, float] = {}
    for p in placed:
        r = p.recording
        unc[p.role] = max(unc.get(p.role, 0.0), r.clock.uncertainty_s)
        lines.append(
            f"{p.role}: {Path(r.path).name} ({r.model}{', serial ' + r.serial if r.serial else ''}) "
            f"{_span(r, p.shift_s)}, "
            f"{len(r.signals)} signal(s), {len(r.markers)} marker(s); clock: {r.clock.source} "
            f"(±{r.clock.uncertainty_s:g} s)"
        )
        lines.extend(f"  note: {n}" for n in r.notes)
    info: dict = {"method": "sync event" if synced else "absolute start times"}
    if len(unc) == 2 and not synced:
        total = sum(unc.values())
        info["uncertainty_s"] = total
        lines.append(
            f"aligned by the devices' absolute times: the two people's signals may be offset by "
            f"up to ±{total:g} s (the sum of the clocks' stated uncertainties)"
        )
    return lines, info


def import_files(
    files: Sequence[str],
    out: str | Path,
    roles: Sequence[str] = (),
    sync_event: str | None = None,
    patient: str = "",
    clinician: str = "",
    reader: str | None = None,
) -> ImportResult:
    """Build the session folder ``out`` from device files (see the module docstring).

    Raises
    ------
    ImportFilesError
        Unreadable files, unclear roles, no overlap, an existing target (one line).
    """
    target = Path(out)
    if target.exists():
        raise ImportFilesError(f"{target} already exists; choose a new session folder")
    try:
        recs = [(role, read_device_file(p, reader)) for role, p in assign_roles(files, roles)]
    except DeviceFileError as exc:
        raise ImportFilesError(str(exc)) from None
    order = [*ROLES, *dict.fromkeys(r.partition("=")[0].strip().lower() for r in roles)]
    recs.sort(key=lambda rr: order.index(rr[0]))  # patient, clinician, then as named
    shifts, sync_lines, clap_info = [0.0] * len(recs), [], None
    if is_clap(sync_event):
        known = [r.t_first for _, r in recs if math.isfinite(r.clock.uncertainty_s)]
        try:
            shifts, sync_lines, clap_info = clap_shifts(recs, str(sync_event),
                                                        min(known, default=math.nan))  # fmt: skip
        except ClapSyncError as exc:
            raise ImportFilesError(str(exc)) from None
    elif sync_event:
        shifts, sync_lines = _sync_shifts(recs, sync_event)
    placed = [Placed(role, r, s) for (role, r), s in zip(recs, shifts, strict=True)]
    _check_overlap(placed, bool(sync_event))
    lines, align = _alignment_lines(placed, bool(sync_event))
    lines.extend(sync_lines)
    if clap_info is not None:
        align = clap_info
    return _write_folder(target, placed, lines, align, patient, clinician)


def _write_folder(target: Path, placed: list[Placed], lines: list[str], align: dict,
                  patient: str, clinician: str) -> ImportResult:  # fmt: skip
    tmp = target.parent / f".{target.name}.importing-{os.getpid()}"
    mapping, why = import_map(placed)
    smap = None
    if mapping and len(mapping) >= 2:
        colours = {q.role: q.colour for q in people_model(tuple(mapping)).persons}
        smap = (map_header_xml(colours), map_toml(mapping))
        lines.append(
            f"stream map written: {', '.join(mapping)} (analyze and review need no --role)"
        )
    elif why:
        lines.append(f"no stream map written: {why}; analyse with --role NAME=GLOB")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(mode=0o700)
        folder = SessionFolder(tmp)
        streams = write_dyad_xdf(
            folder.recording, placed,
            {"recorder": f"attune import {__version__}", "source": "device files"}, smap,
        )  # fmt: skip
        known = all(math.isfinite(p.recording.clock.uncertainty_s) for p in placed)
        t0 = min(p.recording.t_first + p.shift_s for p in placed)
        t1 = max(p.recording.t_last + p.shift_s for p in placed)
        record = {
            "schema_version": 1, "app": "Attunement", "app_version": __version__,
            "patient": patient, "clinician": clinician,
            "started_at": _iso(t0) if known else None,
            "ended_at": _iso(t1) if known else None,
            "source": "import", "streams": streams,
            "stream_map_toml": smap[1] if smap is not None else "",
            "dsp_parameters": {}, "baseline": {}, "notes": "", "recording": RECORDING,
            "imported": {
                "files": [
                    {"role": p.role, "file": p.recording.path, "reader": p.recording.reader,
                     "device": p.recording.device, "model": p.recording.model,
                     "serial": p.recording.serial, "members": list(p.recording.files),
                     "clock": p.recording.clock.source,
                     "clock_uncertainty_s": p.recording.clock.uncertainty_s,
                     "time_shift_s": p.shift_s, "notes": list(p.recording.notes)}
                    for p in placed
                ],
                "alignment": align,
            },
        }  # fmt: skip
        write_private_json(folder.session_json, record)
        os.rename(tmp, target)
    except (OSError, XdfWriteError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ImportFilesError(
            f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(target, target / RECORDING, tuple(placed), tuple(lines))
