"""The stream map a recording carries: who is who, written into the XDF file itself.

A console recording (two people or a group of 3-8) and an import of device files write one
extra stream, ``Attunement-StreamMap`` (type ``StreamMap``, one string channel, irregular
rate). Each sample is the session's stream map as TOML, loadable as a map file
(:func:`devices.assign.map_from_text`): one ``[ROLE]`` table per person, in the people's order,
each signal's stream by its exact name (glob characters escaped), its host and its channel,
and ``pairs = [...]`` when pairs were declared. The stream's header ``<desc>`` lists the
people with their colours and the declared pairs, for any tool reading the file::

    <desc>
      <people><person><role>patient</role><colour>#0072B2</colour></person>...</people>
      <pairs><pair>patient-clinician</pair>...</pairs>
    </desc>

A session whose signals connect one by one (start in any order) writes a new sample when the
assignment grew by the end; the last sample is the map. ``attune analyze`` and ``attune
review`` of such a file without ``--role`` / ``--map`` assign its streams by this map
(:func:`stored_map`), so the people, their names and the pairs are known without options.

No Qt, no LSL: text in, text out.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from devices.assign import Assignment, map_from_text, pairs_from_text, people_of
from devices.lsl import local_clock
from devices.xdf_reader import XdfStream

__all__ = [
    "STREAM_MAP_NAME",
    "STREAM_MAP_SOURCE_ID",
    "STREAM_MAP_TYPE",
    "StoredMap",
    "assignment_map",
    "glob_literal",
    "is_stream_map",
    "map_header_xml",
    "map_toml",
    "stored_map",
    "write_stream_map",
]

STREAM_MAP_NAME = "Attunement-StreamMap"
STREAM_MAP_TYPE = "StreamMap"
STREAM_MAP_SOURCE_ID = "attunement-stream-map"

Mapping_ = dict[str, dict[str, dict[str, str | int]]]


def glob_literal(text: str) -> str:
    """``text`` as a glob matching exactly itself (``*``, ``?`` and ``[`` escaped)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def assignment_map(assignment: Assignment) -> Mapping_:
    """The map of an assignment: per person and signal the stream's exact name, its host
    (when known) and the channel (label, else index), in the people's order.

    The name, not a glob, so that the file's own streams are found again whatever else it
    holds; the host tells identical devices on two computers apart (``GLOB@HOST``).
    """
    out: Mapping_ = {}
    for role in assignment.people:
        for c in assignment.channels:
            if c.role != role:
                continue
            spec: dict[str, str | int] = {"stream": glob_literal(c.stream.name)}
            if c.stream.hostname:
                spec["host"] = glob_literal(c.stream.hostname)
            labels = c.stream.labels
            has_label = c.channel < len(labels) and labels[c.channel]
            spec["channel"] = labels[c.channel] if has_label else c.channel
            out.setdefault(role, {})[c.modality] = spec
    return out


def map_toml(mapping: Mapping[str, Mapping[str, Mapping[str, str | int]]],
             pairs: Sequence[str] = ()) -> str:  # fmt: skip
    """TOML text of a map (strings quoted as JSON, which TOML reads), ``pairs`` first."""
    lines = [f"pairs = {json.dumps(list(pairs))}", ""] if pairs else []
    for role, entries in mapping.items():
        lines.append(f"[{role}]")
        for modality, spec in entries.items():
            items = ", ".join(f"{k} = {json.dumps(v)}" for k, v in spec.items())
            lines.append(f"{modality} = {{ {items} }}")
        lines.append("")
    return "\n".join(lines)


def map_header_xml(
    colours: Mapping[str, str], pairs: Sequence[str] = (), hostname: str = ""
) -> str:
    """The stream header of ``Attunement-StreamMap``: the people (role and colour, in
    order) and the declared pairs in ``<desc>``."""
    people = "".join(
        f"<person><role>{escape(r)}</role><colour>{escape(c)}</colour></person>"
        for r, c in colours.items()
    )
    pair_xml = "".join(f"<pair>{escape(p)}</pair>" for p in pairs)
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{STREAM_MAP_NAME}</name><type>{STREAM_MAP_TYPE}</type>"
        "<channel_count>1</channel_count><channel_format>string</channel_format>"
        f"<source_id>{STREAM_MAP_SOURCE_ID}</source_id><nominal_srate>0</nominal_srate>"
        f"<hostname>{escape(hostname)}</hostname>"
        f"<desc><people>{people}</people><pairs>{pair_xml}</pairs></desc></info>"
    )


def is_stream_map(stype: str) -> bool:
    """A stream of the stream map's type (never a marker stream, never a signal)."""
    return stype.strip().lower() == STREAM_MAP_TYPE.lower()


@dataclass(frozen=True)
class StoredMap:
    """The stream map a recording carries.

    Attributes
    ----------
    mapping : dict
        ``role -> modality -> {stream, host, channel}`` (as a loaded map file).
    people : tuple of str
        The people in order.
    pairs : tuple of str
        The declared pairs (``"a-b"``; empty: every pair, the clinician's first).
    colours : dict
        ``role -> colour`` as the header lists them (empty when it lists none).
    text : str
        The TOML text.
    """

    mapping: Mapping_
    people: tuple[str, ...]
    pairs: tuple[str, ...]
    colours: dict[str, str]
    text: str


def _colours(s: XdfStream) -> dict[str, str]:
    try:
        root = ET.fromstring(s.header_xml.encode("utf-8")) if s.header_xml else None
    except ET.ParseError:
        return {}
    if root is None:
        return {}
    return {
        (p.findtext("role") or "").strip(): (p.findtext("colour") or "").strip()
        for p in root.findall("desc/people/person")
    }


def stored_map(streams: Sequence[XdfStream]) -> StoredMap | None:
    """The last stream-map sample of a recording (None when it carries none).

    Raises
    ------
    devices.assign.MapError
        The stored text is not a usable map (one line).
    """
    best: tuple[float, str, XdfStream] | None = None
    for s in streams:
        if not is_stream_map(s.type) or not s.n_samples:
            continue
        for row, t in zip(s.values, s.timestamps, strict=False):
            text = str(row[0]) if len(row) else ""
            t = float(t) if math.isfinite(float(t)) else -math.inf
            if text.strip() and (best is None or t >= best[0]):
                best = (t, text, s)
    if best is None:
        return None
    _, text, s = best
    where = f"the recording's stream map ({s.name})"
    mapping = map_from_text(text, where)
    pairs = tuple(pairs_from_text(text, where))
    return StoredMap(mapping, people_of(None, mapping), pairs, _colours(s), text)


def write_stream_map(
    rec: Any,
    acq: Any,
    make: Callable[[list[Any]], tuple[str, str] | None] | None,
    written: str | None,
) -> str | None:
    """Give ``rec`` (a :class:`devices.recorder.Recorder`) the stream map of the streams
    ``acq`` follows now, ``make(descriptions) -> (header XML, TOML text)``, unless it is
    ``written`` already; returns the text written last."""
    if make is None:
        return written
    made = make([s.desc for s in acq.slots if s.info_xml])
    if made is None or made[1] == written:
        return written
    rec.add_text(STREAM_MAP_SOURCE_ID, made[0], made[1], local_clock())
    return made[1]
