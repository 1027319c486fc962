"""Write device recordings of a dyad into one XDF file with the project's writer.

Each signal becomes one stream named ``<role>-<family>-<label>`` (the role word lets the
analysis assign it exactly as a live stream), typed by its modality (``EDA``, ``PPG``, ``ECG``,
``IBI``, ``HR``, ``Misc``; the generic device profile recognises them), ``double64`` values in
the unit the reader converted to, and Unix-epoch timestamps (s, UTC) plus the alignment shift.
Each device's markers become a ``Markers`` stream ``<role>-<family>-tags``.

The stream description carries where the stream came from::

    <desc>
      <channels><channel><label/><unit/><type/><resolution/></channel>...</channels>
      <acquisition><manufacturer/><model/><serial_number/></acquisition>
      <attunement_import>
        <file/><reader/><device/><conversion/><clock/><clock_uncertainty_s/><time_shift_s/>
      </attunement_import>
    </desc>

``<resolution>`` is the quantisation step in the channel's unit (0: not stated).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from devices.files.base import STREAM_TYPE, DeviceRecording, Signal
from devices.markers import MARKER_TEXT
from devices.stream_map import glob_literal
from devices.xdf_writer import XdfWriter

CHUNK = 20000  # samples per Samples chunk


@dataclass(frozen=True)
class Placed:
    """One device recording of one person, with the shift that aligns its clock (s)."""

    role: str
    recording: DeviceRecording
    shift_s: float = 0.0


def _labels(sig: Signal) -> list[str]:
    n = 1 if sig.values.ndim == 1 else sig.values.shape[1]
    parts = sig.label.split(",") if n > 1 else [sig.label]
    return parts if len(parts) == n else [f"{sig.label} {i + 1}" for i in range(n)]


def _prov(p: Placed, conversion: str) -> str:
    r = p.recording
    fields = {
        "file": r.path,
        "reader": r.reader,
        "device": r.device,
        "conversion": conversion or "as stored",
        "clock": r.clock.source,
        "clock_uncertainty_s": f"{r.clock.uncertainty_s:g}",
        "time_shift_s": f"{p.shift_s:.6f}",
    }
    return "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())


def header_xml(p: Placed, name: str, stype: str, fmt: str, labels: Sequence[str], unit: str,
               rate: float, resolution: float, conversion: str) -> str:  # fmt: skip
    """The LSL-style stream header of one imported stream."""
    r = p.recording
    chans = "".join(
        f"<channel><label>{escape(lab.strip())}</label><unit>{escape(unit)}</unit>"
        f"<type>{stype}</type><resolution>{resolution:.9g}</resolution></channel>"
        for lab in labels
    )
    sid = f"import:{r.device}:{r.serial or Path(r.path).stem}:{p.role}"
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{escape(name)}</name><type>{stype}</type>"
        f"<channel_count>{len(labels)}</channel_count><channel_format>{fmt}</channel_format>"
        f"<source_id>{escape(sid)}</source_id><nominal_srate>{rate:.9g}</nominal_srate>"
        f"<version>1.1</version><created_at>0</created_at><uid>{escape(sid)}:{escape(name)}</uid>"
        f"<session_id>import</session_id><hostname>import</hostname><desc>"
        f"<channels>{chans}</channels><acquisition><manufacturer>{escape(r.device)}</manufacturer>"
        f"<model>{escape(r.model)}</model><serial_number>{escape(r.serial)}</serial_number>"
        f"</acquisition><attunement_import>{_prov(p, conversion)}</attunement_import>"
        "</desc></info>"
    )


def marker_text(role: str, label: str) -> str:
    """The text written for a device marker: an unnamed button press (``tag N``) is a moment
    (``M: moment: <role> tag N``, as the console's M key: it starts no block); a named event
    marker (AcqKnowledge's "Baseline", ...) starts a block, ``<role>: <label>``."""
    if re.fullmatch(r"tag \d+", label):
        return f"M: {MARKER_TEXT['M']}: {role} {label}"
    return f"{role}: {label}"


def stream_name(role: str, rec: DeviceRecording, label: str) -> str:
    return f"{role}-{rec.device}-{label.split(',')[0].split(' ')[0]}"


def write_dyad_xdf(path: str | Path, placed: Sequence[Placed],
                   header_fields: Mapping[str, str] | None = None,
                   stream_map: tuple[str, str] | None = None) -> list[dict]:  # fmt: skip
    """Write every signal and marker of ``placed`` to a new XDF file at ``path``.

    ``stream_map``: ``(header XML, TOML text)`` of the session's stream map
    (:mod:`devices.stream_map`), written as one sample at the recording's start.

    Returns one dict per stream written (name, type, role, file, device, serial, conversion,
    samples), for ``session.json``.
    """
    out: list[dict] = []
    fields = dict(header_fields or {})
    t0 = min((p.recording.t_first + p.shift_s for p in placed), default=float("nan"))
    if t0 == t0 and t0 > 0:  # the recording's start, not the import's (review shows it)
        fields.setdefault("datetime", _dt.datetime.fromtimestamp(t0, _dt.UTC).isoformat())
    with XdfWriter(path, header_fields=fields, flush_interval=1e9) as w:
        for p in placed:
            rec = p.recording
            for sig in rec.signals:
                labels = _labels(sig)
                stype = STREAM_TYPE[sig.modality]
                name = stream_name(p.role, rec, sig.label)
                hdr = header_xml(p, name, stype, "double64", labels, sig.unit, sig.rate,
                                 sig.step, sig.conversion)  # fmt: skip
                sid = w.add_stream(hdr)
                t = sig.times + p.shift_s
                vals = sig.values.reshape(len(t), -1)
                if len(t):
                    w.write_clock_offset(sid, float(t[0]), 0.0)
                for a in range(0, len(t), CHUNK):
                    w.write_samples(sid, vals[a : a + CHUNK], t[a : a + CHUNK])
                if len(t):
                    w.write_clock_offset(sid, float(t[-1]), 0.0)
                out.append(_entry(p, name, stype, sig.conversion, len(t), sig.unit))
            if rec.markers:
                name = f"{p.role}-{rec.device}-tags"
                hdr = header_xml(p, name, "Markers", "string", ["label"], "", 0.0, 0.0, "")
                sid = w.add_stream(hdr)
                mt = np.array([t for t, _ in rec.markers]) + p.shift_s
                w.write_samples(sid, [[marker_text(p.role, lab)] for _, lab in rec.markers], mt)
                out.append(_entry(p, name, "Markers", "", len(mt), ""))
        if stream_map is not None and t0 == t0:
            sid = w.add_stream(stream_map[0])
            w.write_samples(sid, [[stream_map[1]]], np.array([t0]))
    return out


def import_map(placed: Sequence[Placed]) -> tuple[dict, str]:
    """The stream map of imported recordings: per person their EDA and one cardiac signal
    (ECG, else PPG, else beat intervals) by the exact stream name written, as ``attune
    analyze --role NAME=NAME-*`` would choose them; or ``({}, why)`` when a person has two
    streams of one signal (two devices: which one is theirs is not guessed)."""
    found: dict[str, dict[str, list[str]]] = {}
    for p in placed:
        for sig in p.recording.signals:
            if sig.modality in ("eda", "ecg", "ppg", "ibi"):
                name = stream_name(p.role, p.recording, sig.label)
                found.setdefault(p.role, {}).setdefault(str(sig.modality), []).append(name)
    out: dict[str, dict[str, dict[str, str | int]]] = {}
    for role, mods in found.items():
        for group in (("eda",), ("ecg", "ppg", "ibi")):
            m = next((m for m in group if m in mods), None)
            if m is None:
                continue
            if len(mods[m]) > 1:
                return {}, f"{role} has {len(mods[m])} {m.upper()} streams ({', '.join(mods[m])})"
            out.setdefault(role, {})[m] = {"stream": glob_literal(mods[m][0]), "channel": 0}
    return out, ""


def _entry(p: Placed, name: str, stype: str, conversion: str, n: int, unit: str) -> dict:
    r = p.recording
    return {
        "role": p.role,
        "stream": name,
        "type": stype,
        "unit": unit,
        "file": r.path,
        "reader": r.reader,
        "device": r.device,
        "model": r.model,
        "serial": r.serial,
        "conversion": conversion or "as stored",
        "samples": int(n),
        "clock": r.clock.source,
        "clock_uncertainty_s": r.clock.uncertainty_s,
        "time_shift_s": p.shift_s,
    }
