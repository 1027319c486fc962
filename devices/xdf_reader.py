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

Fast path (why not just pyxdf): :func:`pyxdf.load_xdf` decodes Samples chunks one sample at a
time in Python (``_read_chunk3``: a ``read`` + ``struct.unpack`` + ``np.frombuffer`` per sample),
which is ~5 s of the ~6 s it needs for a 60-minute dyad (1.15 M samples); that per-sample loop
is the one part of pyxdf that is wrong for this job. Everything else pyxdf does (header/footer
XML, clock offsets, the pylsl#67 offset truncation, clock-reset detection, robust clock
synchronisation, segment-wise dejitter, its warnings) is right and fast enough, so we keep it:

- :func:`_fast_decode` repeats load_xdf's chunk loop over the complete chunks our own
  :func:`_scan` found. Numeric Samples chunks are decoded in bulk: runs of fully stamped
  chunks of a stream (what LSL recorders write) with one structured :func:`numpy.frombuffer`;
  chunks without stamps (TimeStampBytes = 0) likewise; chunks mixing stamped and deduced
  samples (LabRecorder) by a walk over the flag bytes and a bulk gather. Deduced stamps are
  ``last + tdiff`` added one sample after the other, as pyxdf does; ``np.add.accumulate``
  performs the same float64 additions in the same order, so they are bit-identical. String
  chunks (markers: few) are decoded by pyxdf's own ``_read_chunk3``.
- :func:`_fast_assemble` runs pyxdf's own helpers (``_truncate_corrupted_offsets``,
  ``_clock_sync``, ``_jitter_removal``) with load_xdf's default parameters on those arrays and
  assembles the streams as load_xdf does. These helpers are private to pyxdf, so their
  presence is checked (:data:`FAST_PATH_AVAILABLE`) and the result is pinned by tests against
  ``pyxdf.load_xdf`` (values bit-identical, timestamps equal, same headers, footers, clock
  offsets, segments and warnings) on real third-party files, our own files and truncated and
  damaged copies.
- Whenever the file is anything but well-formed (a chunk pyxdf would log as corrupt and scan
  past, resynchronisation on a boundary, a chunk for an unknown stream id, unparsable XML, a
  pyxdf without these helpers) the fast path steps aside and the whole file goes through
  :func:`pyxdf.load_xdf` as before, so damaged files behave exactly as they always did.

Time conventions: ``timestamps`` are seconds on the recording machine's LSL clock (raw stamps
plus the recorded clock offsets when ``sync_clocks``; jitter removed per segment when
``dejitter``); ``raw_timestamps`` are exactly what the file holds (sender's clock, s).
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
import pyxdf.pyxdf as _px

from devices.xdf_writer import (
    BOUNDARY_UUID,
    TAG_CLOCK_OFFSET,
    TAG_FILE_HEADER,
    TAG_SAMPLES,
    TAG_STREAM_FOOTER,
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


@dataclass(frozen=True)
class _Scan:
    data: bytes
    valid_end: int
    truncated: bool
    headers: dict[int, str]
    #: (tag, start of the tag, end of the chunk) of every complete chunk, in file order
    chunks: list[tuple[int, int, int]] = field(default_factory=list)
    #: a damaged length field was skipped by resynchronising on a boundary chunk
    resynced: bool = False


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


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


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


# --- fast path: bulk decoding + pyxdf's own post-processing (see the module docstring) ------

_PX_HELPERS = (
    "StreamData",
    "_read_chunk3",
    "_xml2dict",
    "_truncate_corrupted_offsets",
    "_clock_sync",
    "_jitter_removal",
)
#: pyxdf exposes what the fast path needs (private helpers, so checked rather than assumed)
FAST_PATH_AVAILABLE = all(hasattr(_px, name) for name in _PX_HELPERS)

#: load_xdf's default parameters, which :func:`_pyxdf_load` uses too
_RESET_ARGS = (True, 5, 5, 10, 1, 0.0001)  # handle_clock_resets, thresholds, winsor
_JITTER_ARGS = (1, 500)  # jitter_break_threshold_seconds, _samples


class _NeedsPyxdf(Exception):
    """The file is not plain well-formed XDF: let pyxdf.load_xdf read it as before."""


def _varlen(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise _NeedsPyxdf("varlen past the chunk end")
    nbytes = data[pos]
    if nbytes not in (1, 4, 8) or pos + 1 + nbytes > end:
        raise _NeedsPyxdf("bad variable-length integer")
    return int.from_bytes(data[pos + 1 : pos + 1 + nbytes], "little"), pos + 1 + nbytes


def _decode_samples(data: bytes, pos: int, end: int, sd: Any) -> tuple[np.ndarray, Any]:
    """Decode one Samples chunk (``pos``: after the stream id) exactly as pyxdf's _read_chunk3.

    ``sd`` is pyxdf's StreamData of the stream; its ``last_timestamp`` is updated like pyxdf
    does (deduced stamps continue from the previous chunk).
    """
    n, p = _varlen(data, pos, end)
    left = end - p
    if n > left:  # every sample takes at least its flag byte: a damaged count
        raise _NeedsPyxdf("sample count larger than the chunk")
    if sd.fmt != "string" and sd.nchns > 0:
        sb = sd.samplebytes
        if left == n * (9 + sb):  # every sample stamped (TimeStampBytes = 8)
            rows = np.frombuffer(
                data,
                dtype=np.dtype([("f", "u1"), ("t", "<f8"), ("v", sd.dtype_le, (sd.nchns,))]),
                count=n,
                offset=p,
            )
            if n == 0 or rows["f"].all():
                stamps = rows["t"].astype(np.float64)
                values = rows["v"].astype(sd.dtype)
                if n:
                    sd.last_timestamp = stamps[-1]
                return stamps, values
        elif left == n * (1 + sb):  # no sample stamped (TimeStampBytes = 0): deduced
            rows = np.frombuffer(
                data,
                dtype=np.dtype([("f", "u1"), ("v", sd.dtype_le, (sd.nchns,))]),
                count=n,
                offset=p,
            )
            if n and not rows["f"].any():
                stamps = np.empty(n, dtype=np.float64)
                _deduce(stamps, np.zeros(n, dtype=bool), sd)
                return stamps, rows["v"].astype(sd.dtype)
        if n:
            return _decode_mixed(data, p, end, n, sd)
    # strings: pyxdf's own per-sample decoder on this chunk
    f = io.BytesIO(data[pos:end])
    try:
        nsamples, stamps, values = _px._read_chunk3(f, sd)
    except Exception as exc:  # pyxdf would log corruption and scan forward
        raise _NeedsPyxdf(f"samples chunk: {exc}") from None
    if f.tell() != end - pos:  # pyxdf would continue reading inside this chunk
        raise _NeedsPyxdf("samples chunk length does not match its samples")
    return stamps, values


def _deduce(stamps: np.ndarray, stamped: np.ndarray, sd: Any) -> None:
    """Fill the unstamped entries of ``stamps`` as pyxdf does: previous stamp + tdiff.

    pyxdf adds one sample at a time (``last + tdiff``); ``np.add.accumulate`` over each run of
    deduced samples performs the same sequence of float64 additions, so the result is
    bit-identical. Updates ``sd.last_timestamp``.
    """
    n = len(stamps)
    marks = np.flatnonzero(stamped)
    deduced = np.flatnonzero(~stamped)
    if len(deduced):
        first = deduced[(deduced == 0) | stamped[deduced - 1]]  # start of each deduced run
        for k in first.tolist():
            nxt = np.searchsorted(marks, k)
            stop = int(marks[nxt]) if nxt < len(marks) else n
            run = np.full(stop - k + 1, sd.tdiff, dtype=np.float64)
            run[0] = sd.last_timestamp if k == 0 else stamps[k - 1]
            stamps[k:stop] = np.add.accumulate(run)[1:]
    sd.last_timestamp = stamps[-1]


def _decode_mixed(data: bytes, p: int, end: int, n: int, sd: Any) -> tuple[np.ndarray, Any]:
    """Numeric samples some of which carry a timestamp (LabRecorder stamps only some).

    The sample offsets depend on the flags before them, so they are found by a walk over
    the flag bytes (one cheap step per sample); stamps and values are then gathered in bulk.
    """
    sb = sd.samplebytes
    starts = [0] * n
    q = p
    try:
        for k in range(n):
            starts[k] = q
            q += 1 + sb + (8 if data[q] else 0)
    except IndexError:
        raise _NeedsPyxdf("samples run past the end of the file") from None
    if q != end:  # pyxdf would read on into the next chunk or leave bytes behind
        raise _NeedsPyxdf("samples chunk length does not match its samples")
    buf = np.frombuffer(data, dtype=np.uint8)
    pos = np.asarray(starts, dtype=np.int64)
    stamped = buf[pos] != 0
    stamps = np.empty(n, dtype=np.float64)
    tpos = pos[stamped] + 1
    stamps[stamped] = buf[tpos[:, None] + np.arange(8)].view("<f8")[:, 0]
    vpos = pos + 1 + 8 * stamped
    raw = buf[vpos[:, None] + np.arange(sb)]
    values = raw.view(sd.dtype_le).reshape(n, sd.nchns).astype(sd.dtype)
    _deduce(stamps, stamped, sd)
    return stamps, values


@dataclass
class _Decoded:
    """What the chunk walk of load_xdf collects, decoded, before any post-processing."""

    file_header: dict[str, Any] | None
    headers: dict[int, dict[str, Any]]  # insertion order = load_xdf's stream order
    stamps: dict[int, list[np.ndarray]]
    series: dict[int, list[Any]]
    clock_times: dict[int, list[float]]
    clock_values: dict[int, list[float]]
    raw: dict[int, list[np.ndarray]]


def _decode_stamped_run(
    data: bytes, run: list[tuple[int, int, int]], sd: Any
) -> list[tuple[np.ndarray, Any]]:
    """Several consecutive fully stamped Samples chunks of one stream, decoded in one go.

    ``run`` holds (after the stream id, first sample, chunk end) of each chunk; the sample
    bytes are joined and read with one structured :func:`numpy.frombuffer`. If a flag byte
    says otherwise (a sample without timestamp), the chunks are decoded one by one instead.
    """
    rows_dtype = np.dtype([("f", "u1"), ("t", "<f8"), ("v", sd.dtype_le, (sd.nchns,))])
    if len(run) == 1:
        _, p, end = run[0]
        rows = np.frombuffer(
            data, dtype=rows_dtype, count=(end - p) // rows_dtype.itemsize, offset=p
        )
    else:
        view = memoryview(data)
        rows = np.frombuffer(b"".join([view[p:end] for _, p, end in run]), dtype=rows_dtype)
    if not rows["f"].all():
        return [_decode_samples(data, pos, end, sd) for pos, _, end in run]
    stamps = rows["t"].astype(np.float64)
    sd.last_timestamp = stamps[-1]
    return [(stamps, rows["v"].astype(sd.dtype))]


def _fast_decode(scan: _Scan) -> _Decoded:
    """The chunk loop of pyxdf.load_xdf over the complete chunks; raises _NeedsPyxdf.

    Runs of fully stamped numeric chunks of a stream (what LSL recorders write most) are
    collected and decoded together when a chunk of another kind for that stream, a new header
    for its id, or the end of the file comes.
    """
    if scan.resynced or not FAST_PATH_AVAILABLE:
        raise _NeedsPyxdf("damaged chunk structure" if scan.resynced else "pyxdf internals")
    data = scan.data
    dec = _Decoded(None, {}, {}, {}, {}, {}, {})
    temp: dict[int, Any] = {}
    pending: dict[int, list[tuple[int, int, int]]] = {}

    def add(sid: int, decoded: list[tuple[np.ndarray, Any]]) -> None:
        for stamps, values in decoded:
            dec.raw.setdefault(sid, []).append(stamps)  # never modified: see _fast_assemble
            dec.stamps[sid].append(stamps)
            dec.series[sid].append(values)

    def flush(sid: int) -> None:
        if pending.get(sid):
            add(sid, _decode_stamped_run(data, pending[sid], temp[sid]))
            pending[sid] = []

    for tag, body, end in scan.chunks:
        if tag in (TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_STREAM_FOOTER):
            if end - body < 6:
                raise _NeedsPyxdf("chunk without a stream id")
            (sid,) = struct.unpack_from("<I", data, body + 2)
            if tag != TAG_STREAM_HEADER and sid not in temp:
                raise _NeedsPyxdf(f"chunk for stream {sid} before its header")
        try:
            if tag == TAG_FILE_HEADER:
                dec.file_header = _px._xml2dict(ET.fromstring(data[body + 2 : end]))
            elif tag == TAG_STREAM_HEADER:
                if sid in temp:  # a repeated header: pyxdf starts the stream afresh
                    flush(sid)
                xml = data[body + 6 : end].decode("utf-8", "replace")
                hdr = _px._xml2dict(ET.fromstring(xml))
                dec.headers[sid] = hdr
                temp[sid] = _px.StreamData(hdr)
                dec.stamps[sid], dec.series[sid] = [], []
                dec.clock_times[sid], dec.clock_values[sid] = [], []
                pending[sid] = []
            elif tag == TAG_STREAM_FOOTER:
                dec.headers[sid]["footer"] = _px._xml2dict(ET.fromstring(data[body + 6 : end]))
        except _NeedsPyxdf:
            raise
        except Exception as exc:  # pyxdf raises or logs: let it do so itself
            raise _NeedsPyxdf(f"chunk with tag {tag}: {exc}") from None
        if tag == TAG_SAMPLES:
            sd = temp[sid]
            if sd.fmt != "string" and sd.nchns > 0:
                n, p = _varlen(data, body + 6, end)
                if n > 0 and end - p == n * (9 + sd.samplebytes):
                    pending[sid].append((body + 6, p, end))
                    continue
            flush(sid)
            add(sid, [_decode_samples(data, body + 6, end, sd)])
        elif tag == TAG_CLOCK_OFFSET:
            if end - body != 22:  # pyxdf reads exactly two doubles, wherever the chunk ends
                raise _NeedsPyxdf("clock offset chunk of unusual length")
            t, v = struct.unpack_from("<dd", data, body + 6)
            dec.clock_times[sid].append(t)
            dec.clock_values[sid].append(v)
    for sid in pending:
        flush(sid)
    return dec


def _fast_assemble(
    dec: _Decoded, sync: bool, dejitter: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The rest of pyxdf.load_xdf (default parameters) on the decoded data.

    The sample arrays are fresh copies (pyxdf corrects timestamps in place); the header dicts
    are used as they are and completed as load_xdf completes them, so a second call needs a
    new :func:`_fast_decode`.
    """
    streams = dec.headers
    temp: dict[int, Any] = {}
    for sid, hdr in streams.items():
        sd = _px.StreamData(hdr)
        if dec.stamps[sid]:
            sd.time_stamps = np.concatenate(dec.stamps[sid])
            if sd.fmt == "string":
                sd.time_series = [row for chunk in dec.series[sid] for row in chunk]
            else:
                sd.time_series = np.concatenate(dec.series[sid])
        else:
            sd.time_stamps = np.zeros((0,))
            sd.time_series = [] if sd.fmt == "string" else np.zeros((0, sd.nchns))
        sd.clock_times = list(dec.clock_times[sid])
        sd.clock_values = list(dec.clock_values[sid])
        temp[sid] = sd
    if sync:
        temp = _px._truncate_corrupted_offsets(temp, streams)
        temp = _px._clock_sync(temp, *_RESET_ARGS)
    if dejitter:
        temp = _px._jitter_removal(temp, *_JITTER_ARGS, stream_headers=streams)
    else:
        for sd in temp.values():
            if sd.srate != 0 and len(sd.time_stamps) > 1:
                duration = sd.time_stamps[-1] - sd.time_stamps[0]
                sd.effective_srate = (len(sd.time_stamps) - 1) / duration
            if len(sd.time_stamps) > 0:
                sd.segments.append((0, len(sd.time_stamps) - 1))
    for k, stream in streams.items():
        tmp = temp[k]
        if "stream_id" in stream["info"]:  # same message as load_xdf
            _px.logger.warning(
                "Found existing 'stream_id' key with value {} in StreamHeader XML. "
                "Using the 'stream_id' value {} from the beginning of the StreamHeader "
                "chunk instead.".format(stream["info"]["stream_id"], k)
            )
        if sync and tmp.segments != tmp.clock_segments:
            _px.logger.warning(f"Stream {k}: Segments and clock-segments differ")
        stream["info"]["stream_id"] = k
        stream["info"]["effective_srate"] = tmp.effective_srate
        stream["info"]["segments"] = tmp.segments
        stream["info"]["clock_segments"] = tmp.clock_segments
        stream["time_series"] = tmp.time_series
        stream["time_stamps"] = tmp.time_stamps
        stream["clock_times"] = tmp.clock_times
        stream["clock_values"] = tmp.clock_values
    return list(streams.values()), dec.file_header


def _try_fast(
    scan: _Scan, sync: bool, dejitter: bool, collect: _Collect
) -> tuple[list[dict[str, Any]], Any, dict[int, list[np.ndarray]], list[str]] | None:
    """The fast path with load_recording's sync fallback; None: use pyxdf.load_xdf instead.

    Anything unexpected (damage, an exception pyxdf would raise or log) returns None and
    drops what was logged meanwhile, so the pyxdf path reproduces its own behaviour.
    """
    start = len(collect.messages)
    notes: list[str] = []
    try:
        dec = _fast_decode(scan)
        try:
            loaded, file_header = _fast_assemble(dec, sync, dejitter)
        except (ValueError, np.linalg.LinAlgError, IndexError, ZeroDivisionError) as exc:
            if not (sync or dejitter):
                raise
            notes.append(f"clock synchronisation/dejitter failed ({exc}); using raw timestamps")
            loaded, file_header = _fast_assemble(_fast_decode(scan), False, False)
    except Exception:
        del collect.messages[start:]
        return None
    return loaded, file_header, dec.raw, notes


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
        fast = _try_fast(scan, sync_clocks, dejitter, collect)
        if fast is not None:
            loaded, file_header, raw, fast_notes = fast
            notes.extend(fast_notes)
            sync_failed = bool(fast_notes)  # its only note is the sync fallback
        else:
            try:
                loaded, file_header = _pyxdf_load(source, sync_clocks, dejitter, raw)
            except (ValueError, np.linalg.LinAlgError, IndexError, ZeroDivisionError) as exc:
                if not (sync_clocks or dejitter):
                    raise
                notes.append(f"clock synchronisation/dejitter failed ({exc}); using raw timestamps")
                sync_failed = True
                loaded, file_header = _pyxdf_load(source, False, False, raw)
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
        Remove timestamp jitter of regular-rate streams (pyxdf, per segment).
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
