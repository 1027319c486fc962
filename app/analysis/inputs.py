"""Input choice: which streams and channels of an XDF file are analysed, and the markers.

The file's stream headers become :class:`devices.lsl.StreamDescription` objects and go
through :func:`devices.assign.assign` exactly like live streams (``--role``, ``--map``, the
stream map the recording carries (:mod:`devices.stream_map`: a console recording or an
import names its people there), role words in names). A file with one person's streams and no role words (a LabRecorder file of one
participant) is analysed as that one person. Marker streams (type ``Markers`` or string format,
or the one chosen by ``--segments-from``) give the session's blocks.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from devices.assign import LABEL_WORDS, Assignment, MapError, assign, load_map, modality_of
from devices.lsl import StreamDescription
from devices.stream_map import StoredMap, is_stream_map, stored_map
from devices.xdf_reader import XdfStream
from dsp.session import SessionConfig

FORMATS = ("json", "csv", "html")
EDA_UNITS = ("", "us", "µs", "μs", "microsiemens", "micro siemens", "usiemens", "µsiemens")


class AnalysisError(Exception):
    """The file cannot be analysed (one clear line, exit status 2)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how.

    Attributes
    ----------
    roles : dict
        ``{"patient": GLOB, "clinician": GLOB}`` from ``--role``.
    map_path : str or None
        TOML stream map (``--map``).
    segments_from : str or None
        Glob on the name/type/source_id of the marker stream defining the blocks.
    eda_scale : float or None
        Factor turning the EDA channels' stored values into µS (for amplifiers that store
        skin conductance in other units, e.g. a GSR module's voltage); None: the stream must
        already be in µS (unit empty or microsiemens), otherwise its EDA is skipped.
    formats : tuple of str
        Any of 'json', 'csv', 'html'.
    config : SessionConfig
        DSP parameters.
    surrogate_method : str
        'circular' or 'segment': surrogates of the session CI test (``--surrogates``).
    thumbnails : bool
        The HTML report shows a video frame per moment (``--thumbnails``; off: faces are
        private).
    pairs : tuple of str
        The pairs that matter (``--pairs a-b,c-b`` or the map file's ``pairs``); empty: every
        pair, the clinician's first (:mod:`app.people`).
    """

    roles: dict = field(default_factory=dict)
    map_path: str | None = None
    segments_from: str | None = None
    formats: tuple[str, ...] = FORMATS
    config: SessionConfig = SessionConfig()  # noqa: RUF009
    eda_scale: float | None = None
    surrogate_method: str = "circular"
    thumbnails: bool = False
    pairs: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputChannel:
    """One signal taken from the file.

    Attributes
    ----------
    role, modality : str
        'patient'/'clinician' and 'eda'/'ppg'/'ecg'.
    stream, stream_type, source_id : str
        The stream's header fields.
    channel, label, unit : int, str, str
        0-based channel index, its label and unit.
    nominal_srate, srate_used : float
        Declared rate and the rate used for analysis (Hz).
    n_samples : int
        Samples in the file.
    t_first, t_last : float
        First and last timestamp (s, LSL clock).
    why : str
        How the assignment was made.
    resolution : float
        Quantisation step of the values used, in their unit (µS for EDA; 0 = not known):
        from the device profile's ADC conversion or the imported stream's ``<resolution>``.
    origin : str
        Where an imported stream came from (file, device, serial, conversion; '' otherwise).
    """

    role: str
    modality: str
    stream: str
    stream_type: str
    source_id: str
    channel: int
    label: str
    unit: str
    nominal_srate: float
    srate_used: float
    n_samples: int
    t_first: float
    t_last: float
    why: str
    resolution: float = 0.0
    origin: str = ""


def describe_stream(s: XdfStream) -> StreamDescription:
    """A :class:`StreamDescription` built from an XDF stream header (for role assignment)."""
    host = s.info.get("hostname") if isinstance(s.info, dict) else None
    hostname = host[0] if isinstance(host, list) and host and isinstance(host[0], str) else ""
    uid = s.info.get("uid") if isinstance(s.info, dict) else None
    return StreamDescription(
        name=s.name,
        type=s.type,
        source_id=s.source_id,
        hostname=hostname or "",
        nominal_srate=float(s.nominal_srate),
        channel_count=int(s.n_channels),
        channel_format=s.channel_format or "float32",
        uid=f"xdf{s.stream_id}:{uid[0] if isinstance(uid, list) and uid else ''}",
        labels=s.labels,
        units=s.units,
    )


def _is_marker_stream(s: XdfStream) -> bool:
    if is_stream_map(s.type):
        return False  # who is who, not an event
    return s.type.strip().lower() in ("markers", "marker", "events") or (
        s.is_string and s.nominal_srate == 0
    )


def recording_map(
    streams: Sequence[XdfStream], options: AnalysisOptions
) -> tuple[StoredMap | None, list[str]]:
    """The stream map the recording carries, used when neither ``--role`` nor ``--map`` is
    given (None otherwise, or when it carries none), and a note saying so.

    A stored map that cannot be read is a note, and the roles come from the stream names.
    """
    if options.roles or options.map_path:
        return None, []
    try:
        stored = stored_map(streams)
    except MapError as exc:
        return None, [f"{exc}; roles from the stream names instead"]
    if stored is None:
        return None, []
    return stored, [f"people from the recording's stream map: {', '.join(stored.people)}"]


def _srate(s: XdfStream) -> float:
    if s.nominal_srate > 0:
        return float(s.nominal_srate)
    if s.effective_srate > 0:
        return float(s.effective_srate)
    if s.n_samples > 2:
        d = np.diff(s.timestamps)
        d = d[d > 0]
        if d.size:
            return float(1.0 / np.median(d))
    return 0.0


def choose_streams(
    streams: Sequence[XdfStream], options: AnalysisOptions
) -> tuple[Assignment, dict[str, XdfStream], list[str]]:
    """Assign usable streams; falls back to one person when the file holds one person."""
    usable = [s for s in streams if not s.is_string and s.n_samples >= 2]
    descs = [describe_stream(s) for s in usable]
    by_uid = {d.uid: s for d, s in zip(descs, usable, strict=True)}
    roles = options.roles or None
    mapping = load_map(options.map_path) if options.map_path and not roles else None
    stored, notes = recording_map(streams, options)
    if stored is not None:
        mapping = stored.mapping
    result = assign(descs, roles=roles, mapping=mapping)
    if stored is not None and not result.channels:  # a map naming none of the streams left
        notes.append("the recording's stream map names none of its streams; roles from the "
                     "stream names instead")  # fmt: skip
        result = assign(descs)
    elif stored is not None:  # a person the map names whose stream is absent: one line each
        notes.extend(f"{p}; analysed without it" for p in result.problems if p.blocks_assigned)
    if not result.channels and not roles and not mapping:
        typed = [d for d in descs if modality_of(d.type)]
        per_mod: dict[str, list[StreamDescription]] = {}
        for d in typed:
            m = modality_of(d.type)
            assert m is not None
            per_mod.setdefault(m, []).append(d)
        if typed and all(len(v) == 1 for v in per_mod.values()):
            mods = {m: v[0] for m, v in per_mod.items()}
            if "ppg" in mods and "ecg" in mods:
                mods.pop("ppg")  # ECG beats are the better reference when both exist
            fake_roles: dict[str, dict[str, dict[str, str | int]]] = {
                "patient": {
                    m: {"stream": d.name, "channel": _default_channel(d, m)}
                    for m, d in mods.items()
                }
            }
            result = assign(list(mods.values()), mapping=fake_roles)
            result = Assignment(
                tuple(replace(c, why="the only such stream in the file") for c in result.channels),
                result.problems,
            )
            notes.append(
                "one person in this file: analysed as 'patient' (use --role or --map to name "
                "the roles)"
            )
    return result, by_uid, notes


def _default_channel(d: StreamDescription, modality: str) -> int:
    labels = [lab.lower() for lab in d.labels]
    for i, lab in enumerate(labels):
        if lab in LABEL_WORDS[modality]:
            return i
    if modality == "ppg":
        # multi-wavelength optical sensors (e.g. Muse: LUX, IR, RED): the pulse is in IR/green
        for want in ("ir", "infrared", "green", "ppg2", "red"):
            if want in labels:
                return labels.index(want)
    return 0


def streams_summary(streams: Sequence[XdfStream]) -> str:
    """One line naming every stream of a file (for error messages)."""
    parts = []
    for s in streams:
        what = "markers" if s.is_string else f"{s.n_channels} ch"
        parts.append(f"{s.name or '?'} [{s.type or '?'}] {what}, {s.n_samples} samples")
    return "; ".join(parts) or "none"


def read_markers(
    streams: Sequence[XdfStream], pattern: str | None
) -> tuple[list[tuple[float, str]], str]:
    """The file's markers as ``(time s on the LSL clock, label)``, by time, and their streams.

    ``pattern`` (``--segments-from``) picks the marker stream by name/type/source_id; without
    it every stream of type Markers (or string format at irregular rate) is used.

    Raises
    ------
    AnalysisError
        ``pattern`` matches no stream.
    """
    if pattern:
        chosen = [s for s in streams if s.matches(pattern)]
        if not chosen:
            raise AnalysisError(
                f"no marker stream matches --segments-from {pattern!r} "
                f"(streams: {streams_summary(streams)})"
            )
    else:
        chosen = [s for s in streams if _is_marker_stream(s)]
    out: list[tuple[float, str]] = []
    for s in chosen:
        for row, t in zip(s.values, s.timestamps, strict=False):
            v = row[0] if len(row) else ""
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            label = str(v).strip()
            if label and math.isfinite(float(t)):
                out.append((float(t), label))
    out.sort(key=lambda m: m[0])
    names = ", ".join(sorted({s.name for s in chosen if s.n_samples}))
    return out, names


def channel_signal(rec_stream: XdfStream, channel: int) -> tuple[np.ndarray, np.ndarray, float]:
    """One channel as ``(values, timestamps s, sampling rate Hz)``, sorted by time."""
    x = np.asarray(rec_stream.values[:, channel], dtype=float)
    t = np.asarray(rec_stream.timestamps, dtype=float)
    order_ok = np.all(np.diff(t) >= 0) if t.size > 1 else True
    if not order_ok:
        idx = np.argsort(t, kind="stable")
        x, t = x[idx], t[idx]
    return x, t, _srate(rec_stream)


def _import_desc(s: XdfStream) -> ET.Element | None:
    try:
        root = ET.fromstring(s.header_xml.encode("utf-8"))
    except ET.ParseError:
        return None
    return root.find("desc")


def channel_resolution(s: XdfStream, channel: int) -> float:
    """The ``<resolution>`` (quantisation step, channel unit) an imported stream states; 0."""
    desc = _import_desc(s) if s.header_xml else None
    chans = desc.findall("channels/channel") if desc is not None else []
    if channel < len(chans):
        try:
            v = float(chans[channel].findtext("resolution") or 0.0)
        except ValueError:
            return 0.0
        return v if math.isfinite(v) and v > 0 else 0.0
    return 0.0


def stream_origin(s: XdfStream) -> str:
    """One line on where an imported stream came from ('' for streams recorded live)."""
    desc = _import_desc(s) if s.header_xml else None
    imp = desc.find("attunement_import") if desc is not None else None
    if imp is None:
        return ""
    acq = desc.find("acquisition") if desc is not None else None
    model = (acq.findtext("model") or "").strip() if acq is not None else ""
    serial = (acq.findtext("serial_number") or "").strip() if acq is not None else ""
    parts = [Path(imp.findtext("file") or "?").name, model or imp.findtext("device") or ""]
    if serial:
        parts.append(f"serial {serial}")
    conv = (imp.findtext("conversion") or "").strip()
    parts.append(conv or "as stored")
    shift = float(imp.findtext("time_shift_s") or 0.0)
    if shift:
        parts.append(f"shifted {shift:+.3f} s")
    return "; ".join(p for p in parts if p)
