"""Robust loading of XDF recordings (ours and real-world LabRecorder files) via pyxdf.

:func:`load_recording` wraps :func:`pyxdf.load_xdf` and returns simple frozen records. On top
of pyxdf it

- checks the file first (missing, a folder, empty, not XDF, no streams) and raises
  :class:`XdfReadError` with one clear line instead of pyxdf's assorted exceptions;
- walks the chunk structure itself, so a file cut off mid-chunk (a crashed recorder, an
  interrupted copy) is loaded up to its last complete chunk, with a :class:`XdfTruncatedWarning`;
- keeps the raw timestamps next to the clock-synchronised, dejittered ones, and the verbatim
  StreamHeader XML (which replay needs to re-create the original stream description);
- parses channel labels and units from ``<label>`` or, as some tools write, ``<name>``;
- repairs footers whose sample count is written as a float (``94176.0``, seen in files from
  some recorders), on which pyxdf's clock synchronisation raises; the digits are kept and the
  ``.0`` blanked in place, so every chunk keeps its length;
- falls back to unsynchronised timestamps (with a warning) if pyxdf's clock synchronisation
  fails on a damaged clock offset series, and then says in :attr:`XdfRecording.alignment`
  whether streams from different clocks can still be compared (they cannot when their clock
  offsets differ by more than :data:`ALIGN_TOLERANCE_S`).

Fast path: Samples chunks of well-formed files are decoded in bulk by
:mod:`devices.xdf_fast` (pinned bit-identical to :func:`pyxdf.load_xdf` by tests); any
other file goes through :func:`pyxdf.load_xdf` unchanged.

Time conventions: ``timestamps`` are seconds on the recording machine's LSL clock (raw stamps
plus the recorded clock offsets when ``sync_clocks``; jitter removed per segment when
``dejitter``, by pyxdf's rule except that a dropout ends a segment, so that the samples after
it keep their time: :mod:`devices.xdf_dejitter`); ``raw_timestamps`` are exactly what the file holds (sender's clock, s).
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import logging
import re
import struct
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyxdf

from devices.xdf_dejitter import dejitter_streams
from devices.xdf_fast import FAST_PATH_AVAILABLE as FAST_PATH_AVAILABLE
from devices.xdf_fast import _Collect, _Scan, _try_fast
from devices.xdf_writer import (
    BOUNDARY_UUID,
    TAG_STREAM_HEADER,
)


class XdfReadError(Exception):
    """The file cannot be read as an XDF recording (missing, empty, not XDF, no streams)."""


class XdfTruncatedWarning(UserWarning):
    """The file ends inside a chunk; everything up to the last complete chunk was loaded."""


@dataclass(frozen=True)
class ChannelInfo:
    """One channel's description from the stream header.

    Attributes
    ----------
    label : str
        ``<label>`` (or ``<name>``) of the channel; ``"ch<i>"`` (1-based) when absent.
    unit : str
        ``<unit>``, empty when absent.
    type : str
        ``<type>``, empty when absent.
    """

    label: str
    unit: str = ""
    type: str = ""


@dataclass(frozen=True)
class XdfStream:
    """One stream of a recording.

    Attributes
    ----------
    stream_id : int
        XDF stream id within the file.
    name, type, source_id, channel_format : str
        From the stream header (empty string when absent).
    nominal_srate : float
        Nominal sampling rate in Hz (0 = irregular).
    effective_srate : float
        Rate measured by pyxdf after dejittering, Hz (0 when unknown).
    channels : tuple of ChannelInfo
        One per channel (``channel_count`` of them).
    values : ndarray, shape (n, n_channels)
        Sample values in the file's numeric dtype, or an object array of ``str`` for string
        streams.
    timestamps : ndarray, shape (n,)
        Recording machine's LSL clock, s (synchronised / dejittered as requested).
    raw_timestamps : ndarray, shape (n,)
        Timestamps as stored in the file (sender's LSL clock), s.
    clock_times, clock_values : ndarray
        Recorded clock offset measurements: collection time (sender clock, s) and offset (s).
    segments : tuple of (int, int)
        Inclusive index ranges without time breaks, as found by pyxdf.
    header_xml : str
        The verbatim StreamHeader XML (the LSL stream info).
    info : dict
        pyxdf's parsed header (``{"name": [...], "desc": [...], ...}``).
    footer : dict or None
        pyxdf's parsed StreamFooter ``info`` (None when the file has no footer).
    """

    stream_id: int
    name: str
    type: str
    source_id: str
    channel_format: str
    nominal_srate: float
    effective_srate: float
    channels: tuple[ChannelInfo, ...]
    values: np.ndarray
    timestamps: np.ndarray
    raw_timestamps: np.ndarray
    clock_times: np.ndarray
    clock_values: np.ndarray
    segments: tuple[tuple[int, int], ...]
    header_xml: str
    info: dict[str, Any] = field(repr=False)
    footer: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.timestamps)

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)

    @property
    def labels(self) -> tuple[str, ...]:
        """Channel labels."""
        return tuple(c.label for c in self.channels)

    @property
    def units(self) -> tuple[str, ...]:
        """Channel units ('' when not given)."""
        return tuple(c.unit for c in self.channels)

    @property
    def is_string(self) -> bool:
        """True for string (marker) streams."""
        return self.channel_format == "string"

    @property
    def duration(self) -> float:
        """Time from first to last sample, s (0 for fewer than two samples)."""
        return float(self.timestamps[-1] - self.timestamps[0]) if self.n_samples > 1 else 0.0

    def matches(self, pattern: str) -> bool:
        """Whether a glob matches the name, type or source_id (case-insensitive)."""
        pat = pattern.lower()
        return any(
            fnmatch.fnmatchcase(v.lower(), pat) for v in (self.name, self.type, self.source_id)
        )


@dataclass(frozen=True)
class XdfRecording:
    """A loaded XDF file.

    Attributes
    ----------
    path : Path
        The file.
    streams : tuple of XdfStream
        In the order of their headers in the file.
    file_header : dict
        pyxdf's parsed FileHeader ``info`` (e.g. ``{"version": ["1.0"], ...}``).
    truncated : bool
        The file ended inside a chunk (loaded up to the last complete chunk).
    warnings : tuple of str
        Everything noteworthy found while loading (truncation, pyxdf's warnings, fallbacks).
    alignment : str
        Empty when every stream's timestamps are on the recording machine's clock (offsets
        applied, or all streams from one clock); otherwise one line saying why streams from
        different clocks cannot be lined up (compare nothing across them).
    """

    path: Path
    streams: tuple[XdfStream, ...]
    file_header: dict[str, Any] = field(repr=False)
    truncated: bool = False
    warnings: tuple[str, ...] = ()
    alignment: str = ""

    @property
    def aligned(self) -> bool:
        """True when all streams' timestamps are on one clock (see ``alignment``)."""
        return not self.alignment

    def select(self, patterns: Iterable[str] | None) -> tuple[XdfStream, ...]:
        """Streams whose name, type or source_id matches any glob (all for None/empty)."""
        pats = list(patterns or [])
        if not pats:
            return self.streams
        return tuple(s for s in self.streams if any(s.matches(p) for p in pats))

    @property
    def start(self) -> float:
        """Earliest timestamp of any stream, s (0 if all streams are empty)."""
        firsts = [s.timestamps[0] for s in self.streams if s.n_samples]
        return float(min(firsts)) if firsts else 0.0

    @property
    def stop(self) -> float:
        """Latest timestamp of any stream, s."""
        lasts = [s.timestamps[-1] for s in self.streams if s.n_samples]
        return float(max(lasts)) if lasts else 0.0


ALIGN_TOLERANCE_S = 0.1  # streams whose clocks differ by more cannot be compared unsynced
_FLOAT_COUNT = re.compile(rb"(<sample_count>\s*[0-9]+)\.(0+)(\s*</sample_count>)")


def _repair_float_counts(data: bytes) -> tuple[bytes, int]:
    """Footers' ``<sample_count>94176.0</sample_count>`` -> ``94176  `` (same length).

    pyxdf reads the count with ``int()``, which accepts surrounding blanks but not ``.0``;
    keeping the byte length keeps every chunk's length field valid.
    """

    def blank(m: re.Match[bytes]) -> bytes:
        return m.group(1) + b" " * (1 + len(m.group(2))) + m.group(3)

    return _FLOAT_COUNT.subn(blank, data)


def _alignment(loaded: list[dict[str, Any]], synced: bool) -> str:
    """'' when the streams share a clock after loading, else one line saying why not.

    Two cases cannot be lined up: the clock offsets could not be applied (synchronisation
    failed) while they differ between streams by more than :data:`ALIGN_TOLERANCE_S`; or a
    stream from another host carries no clock offsets at all, so its clock cannot be related
    to the others'.
    """
    live = [s for s in loaded if len(s.get("time_stamps", []))]
    medians = []
    for s in live:
        values = np.asarray(s.get("clock_values", []), dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            medians.append((float(np.median(values)), _text(s["info"], "name")))
    if not synced and len(medians) >= 2:
        lo, hi = min(medians), max(medians)
        if hi[0] - lo[0] > ALIGN_TOLERANCE_S:
            return (
                f"streams were recorded on clocks {hi[0] - lo[0]:.3g} s apart ({lo[1]!r} vs "
                f"{hi[1]!r}) and the clock offsets could not be applied, so they cannot be "
                "lined up"
            )
    hosts = {_text(s["info"], "hostname") for s in live} - {""}
    if len(hosts) > 1:
        for s in live:
            if not len(s.get("clock_values", [])):
                host = _text(s["info"], "hostname")
                others = sorted(hosts - {host})
                return (
                    f"stream {_text(s['info'], 'name')!r} from host {host!r} has no clock "
                    f"offsets, so its clock cannot be related to {', '.join(others)}'s and the "
                    "streams cannot be lined up"
                )
    return ""


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise XdfReadError(f"{path}: no such file")
    if path.is_dir():
        raise XdfReadError(f"{path}: is a folder, not an XDF file")
    try:
        if path.suffix == ".xdfz" or path.suffixes[-2:] == [".xdf", ".gz"]:
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise XdfReadError(f"{path}: cannot read ({exc})") from None


def _scan(path: Path, data: bytes) -> _Scan:
    """Walk the chunk structure; find where the last complete chunk ends."""
    if not data:
        raise XdfReadError(f"{path}: file is empty")
    if data[:4] != b"XDF:":
        raise XdfReadError(f"{path}: not an XDF file (it does not start with 'XDF:')")
    pos, size = 4, len(data)
    headers: dict[int, str] = {}
    chunks: list[tuple[int, int, int]] = []
    truncated = resynced = False
    while pos < size:
        start = pos
        nbytes = data[pos]
        if nbytes not in (1, 4, 8):
            # damage: resynchronise on the next boundary chunk, as pyxdf does
            nxt = data.find(BOUNDARY_UUID, pos)
            if nxt < 0:
                truncated = True
                pos = start
                break
            pos = nxt + len(BOUNDARY_UUID)
            resynced = True
            continue
        if pos + 1 + nbytes + 2 > size:
            truncated, pos = True, start
            break
        length = int.from_bytes(data[pos + 1 : pos + 1 + nbytes], "little")
        body = pos + 1 + nbytes
        if length < 2 or body + length > size:
            truncated, pos = True, start
            break
        (tag,) = struct.unpack_from("<H", data, body)
        if tag == TAG_STREAM_HEADER and length >= 6:
            (sid,) = struct.unpack_from("<I", data, body + 2)
            headers[sid] = data[body + 6 : body + length].decode("utf-8", "replace")
        chunks.append((tag, body, body + length))
        pos = body + length
    return _Scan(data, pos, truncated, headers, chunks, resynced)


def _text(info: dict[str, Any], key: str) -> str:
    v = info.get(key)
    if isinstance(v, list) and v and isinstance(v[0], str):
        return v[0].strip()
    return ""


def _float(info: dict[str, Any], key: str) -> float:
    try:
        return float(_text(info, key) or 0.0)
    except ValueError:
        return 0.0


def parse_channels(info: dict[str, Any], n_channels: int) -> tuple[ChannelInfo, ...]:
    """Channel descriptions from a pyxdf header dict (``<label>`` or ``<name>``, ``<unit>``).

    Parameters
    ----------
    info : dict
        pyxdf's ``stream["info"]``.
    n_channels : int
        ``channel_count``; the result always has exactly this many entries.
    """
    out: list[ChannelInfo] = []
    try:
        desc = info.get("desc") or [None]
        # .get, not [...]: pyxdf's dicts are defaultdicts, and a lookup must not add keys
        chans = desc[0].get("channels")[0].get("channel") or [] if isinstance(desc[0], dict) else []
    except (KeyError, IndexError, TypeError, AttributeError):
        chans = []
    for i, ch in enumerate(chans[:n_channels]):
        ch = ch if isinstance(ch, dict) else {}
        label = _text(ch, "label") or _text(ch, "name") or f"ch{i + 1}"
        out.append(ChannelInfo(label, _text(ch, "unit"), _text(ch, "type")))
    for i in range(len(out), n_channels):
        out.append(ChannelInfo(f"ch{i + 1}"))
    return tuple(out)


def _pyxdf_load(
    data: bytes, sync: bool, dejitter: bool, raw: dict[int, list[np.ndarray]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    def on_chunk(values: Any, stamps: np.ndarray, header: Any, sid: int) -> tuple[Any, Any, Any]:
        raw.setdefault(sid, []).append(np.array(stamps, dtype=float))
        return values, stamps, header

    raw.clear()
    return pyxdf.load_xdf(
        io.BytesIO(data),
        on_chunk=on_chunk,
        synchronize_clocks=sync,
        handle_clock_resets=True,
        dejitter_timestamps=dejitter,
    )


def _intake_notes(path: Path, scan: _Scan, repaired: int) -> list[str]:
    """Notes on repaired footers and truncation; warns XdfTruncatedWarning at the caller's caller."""
    notes: list[str] = []
    if repaired:
        notes.append(
            f"{path}: {repaired} stream footer(s) give the sample count as a float "
            "(e.g. '94176.0'); read as the integer it is"
        )
    if scan.truncated:
        lost = len(scan.data) - scan.valid_end
        msg = (
            f"{path}: file is truncated (ends inside a chunk); loaded up to byte "
            f"{scan.valid_end}, ignoring the last {lost} bytes"
        )
        notes.append(msg)
        warnings.warn(msg, XdfTruncatedWarning, stacklevel=3)
    return notes


def _parse_streams(
    path: Path, scan: _Scan, sync_clocks: bool, dejitter: bool, notes: list[str]
) -> tuple[list[dict[str, Any]], Any, dict[int, list[np.ndarray]], bool]:
    """Fast path or pyxdf, with the sync fallback and pyxdf's log captured into ``notes``.

    Returns the loaded stream dicts, the file header, the raw stamps per stream id and
    whether clock synchronisation/dejitter failed (and raw timestamps were used).
    """
    source = scan.data[: scan.valid_end] if scan.truncated else scan.data
    logger = logging.getLogger("pyxdf.pyxdf")
    collect = _Collect()
    old_propagate = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    raw: dict[int, list[np.ndarray]] = {}
    sync_failed = False
    try:
        # pyxdf's dejitter closes dropouts shorter than 500 samples: ours keeps them
        fast = _try_fast(scan, sync_clocks, False, collect)
        if fast is not None:
            loaded, file_header, raw, fast_notes = fast
            notes.extend(fast_notes)
            sync_failed = bool(fast_notes)  # its only note is the sync fallback
        else:
            try:
                loaded, file_header = _pyxdf_load(source, sync_clocks, False, raw)
            except (ValueError, np.linalg.LinAlgError, IndexError, ZeroDivisionError) as exc:
                if not sync_clocks:
                    raise
                notes.append(f"clock synchronisation/dejitter failed ({exc}); using raw timestamps")
                sync_failed = True
                loaded, file_header = _pyxdf_load(source, False, False, raw)
        if dejitter and not sync_failed:
            try:
                _dejitter(loaded, sync_clocks, collect)
            except (ValueError, np.linalg.LinAlgError, IndexError, ZeroDivisionError) as exc:
                notes.append(f"dejitter failed ({exc}); using the synchronised timestamps")
    except XdfReadError:
        raise
    except Exception as exc:  # pyxdf raises assorted types on damaged content
        raise XdfReadError(
            f"{path}: cannot parse XDF content ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        logger.removeHandler(collect)
        logger.propagate = old_propagate
    notes.extend(collect.messages)
    return loaded, file_header, raw, sync_failed


def _dejitter(loaded: list[dict[str, Any]], sync: bool, collect: _Collect) -> None:
    """:func:`devices.xdf_dejitter.dejitter_streams` on the loaded streams, with pyxdf's
    "Segments and clock-segments differ" warnings said about its segments (not the single
    segment pyxdf compared without its own dejitter)."""
    collect.messages[:] = [m for m in collect.messages if "Segments and clock-segments" not in m]
    dejitter_streams(loaded)
    if sync:
        for s in loaded:
            info = s["info"]
            if info.get("segments") != info.get("clock_segments"):
                logging.getLogger("pyxdf.pyxdf").warning(
                    f"Stream {info['stream_id']}: Segments and clock-segments differ"
                )


def _stream_values(s: dict[str, Any], fmt: str, nch: int) -> np.ndarray:
    """A loaded stream's samples as a (n_samples, n_channels) array (object for strings)."""
    if fmt == "string":
        rows = s["time_series"]
        values = np.empty((len(rows), nch), dtype=object)
        for i, row in enumerate(rows):
            values[i, :] = row
        return values
    values = np.asarray(s["time_series"])
    if values.ndim == 1:
        values = values.reshape(-1, max(nch, 1))
    return values


def _to_stream(s: dict[str, Any], raw: dict[int, list[np.ndarray]], scan: _Scan) -> XdfStream:
    """One pyxdf stream dict as an XdfStream (raw stamps and header XML from the scan)."""
    info = s["info"]
    sid = int(info["stream_id"])
    fmt = _text(info, "channel_format")
    try:
        nch = int(_text(info, "channel_count") or 0)
    except ValueError:
        nch = 0
    values = _stream_values(s, fmt, nch)
    stamps = np.asarray(s["time_stamps"], dtype=float)
    raw_ts = np.concatenate(raw[sid]) if raw.get(sid) else np.zeros(0)
    footer = s.get("footer")
    return XdfStream(
        stream_id=sid,
        name=_text(info, "name"),
        type=_text(info, "type"),
        source_id=_text(info, "source_id"),
        channel_format=fmt,
        nominal_srate=_float(info, "nominal_srate"),
        effective_srate=float(info.get("effective_srate") or 0.0),
        channels=parse_channels(info, nch),
        values=values,
        timestamps=stamps,
        raw_timestamps=raw_ts,
        clock_times=np.asarray(s.get("clock_times", []), dtype=float),
        clock_values=np.asarray(s.get("clock_values", []), dtype=float),
        segments=tuple((int(a), int(b)) for a, b in info.get("segments", [])),
        header_xml=scan.headers.get(sid, ""),
        info=info,
        footer=footer.get("info") if isinstance(footer, dict) else None,
    )


def load_recording(
    path: str | Path,
    *,
    sync_clocks: bool = True,
    dejitter: bool = True,
    streams: Sequence[str] | None = None,
) -> XdfRecording:
    """Load an XDF file (``.xdf``, or gzip-compressed ``.xdfz`` / ``.xdf.gz``).

    Parameters
    ----------
    path : str or Path
        The file.
    sync_clocks : bool
        Apply the recorded clock offsets (pyxdf, with clock-reset handling).
    dejitter : bool
        Remove timestamp jitter of regular-rate streams (pyxdf's line per segment; a dropout
        starts a new segment: :func:`devices.xdf_dejitter.dejitter_streams`).
    streams : sequence of str, optional
        Globs on name, type or source_id; only matching streams are returned.

    Returns
    -------
    XdfRecording

    Raises
    ------
    XdfReadError
        Missing, empty, unreadable or non-XDF file, or a file without any stream.

    Warns
    -----
    XdfTruncatedWarning
        When the file ends inside a chunk.
    """
    path = Path(path)
    data, repaired = _repair_float_counts(_read_bytes(path))
    scan = _scan(path, data)
    notes = _intake_notes(path, scan, repaired)
    if not scan.headers:
        raise XdfReadError(f"{path}: XDF file without any stream")
    loaded, file_header, raw, sync_failed = _parse_streams(path, scan, sync_clocks, dejitter, notes)
    alignment = _alignment(loaded, sync_clocks and not sync_failed)
    rec = XdfRecording(
        path=path,
        streams=tuple(_to_stream(s, raw, scan) for s in loaded),
        file_header=(file_header or {}).get("info") or {},
        truncated=scan.truncated,
        warnings=tuple(notes),
        alignment=alignment,
    )
    if streams:
        rec = XdfRecording(
            rec.path, rec.select(streams), rec.file_header, rec.truncated, rec.warnings, alignment
        )
    return rec


def header_element(stream: XdfStream) -> ET.Element | None:
    """The stream's header XML as an ElementTree element (None if it does not parse)."""
    try:
        return ET.fromstring(stream.header_xml.encode("utf-8"))
    except ET.ParseError:
        return None
