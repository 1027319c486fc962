"""Fast path of :func:`devices.xdf_reader.load_recording`: bulk Samples decoding + pyxdf's steps.

Why not just pyxdf: :func:`pyxdf.load_xdf` decodes Samples chunks one sample at a
time in Python (``_read_chunk3``: a ``read`` + ``struct.unpack`` + ``np.frombuffer`` per sample),
which is ~5 s of the ~6 s it needs for a 60-minute dyad (1.15 M samples); that per-sample loop
is the one part of pyxdf that is wrong for this job. Everything else pyxdf does (header/footer
XML, clock offsets, the pylsl#67 offset truncation, clock-reset detection, robust clock
synchronisation, segment-wise dejitter, its warnings) is right and fast enough, so we keep it:

- :func:`_fast_decode` repeats load_xdf's chunk loop over the complete chunks our own
  :func:`devices.xdf_reader._scan` found. Numeric Samples chunks are decoded in bulk: runs of fully stamped
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

Time conventions as in :mod:`devices.xdf_reader` (raw stamps are the sender's clock, s).
"""

from __future__ import annotations

import io
import logging
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyxdf.pyxdf as _px

from devices.xdf_writer import (
    TAG_CLOCK_OFFSET,
    TAG_FILE_HEADER,
    TAG_SAMPLES,
    TAG_STREAM_FOOTER,
    TAG_STREAM_HEADER,
)

__all__ = ["FAST_PATH_AVAILABLE"]


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


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


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
