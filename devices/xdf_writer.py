"""Streaming, crash-safe XDF 1.0 writer.

The file layout follows the XDF 1.0 specification as LabRecorder writes it, so that pyxdf,
MNE, EEGLAB and LabRecorder's own tools read our recordings:

``"XDF:"`` magic, then chunks ``[NumLengthBytes][Length][Tag u16][Content]`` where ``Length``
counts the tag and the content in bytes (little-endian throughout):

=====  ============  ========================================================================
tag    chunk         content
=====  ============  ========================================================================
1      FileHeader    XML ``<info><version>1.0</version>...</info>``
2      StreamHeader  u32 stream id + the stream's LSL info XML (``StreamInfo.as_xml()``)
3      Samples       u32 stream id + varlen sample count + per sample ``[8][f64 timestamp]``
                     and the values (numeric little-endian, strings as varlen byte length +
                     UTF-8 bytes)
4      ClockOffset   u32 stream id + f64 collection time + f64 offset value
5      Boundary      the 16-byte boundary UUID (lets readers resynchronise after damage)
6      StreamFooter  u32 stream id + XML with first/last timestamp, sample count, clock offsets
=====  ============  ========================================================================

Time conventions: sample timestamps are written **raw**, as the sender stamped them (the
sender's LSL clock, s). A clock offset measured at recorder-local LSL time ``local_time`` with
value ``offset`` (``inlet.time_correction()``, s; sender clock + offset = recorder clock) is
stored with collection time ``local_time - offset`` (sender clock), exactly as LabRecorder
does; pyxdf's clock synchronisation relies on that.

Crash safety: chunks are accumulated in memory and handed to the operating system with a
single ``os.write`` per flush, so a killed process leaves a file that ends on a chunk
boundary. :meth:`XdfWriter.maybe_flush` flushes whenever the oldest pending byte is older than
``flush_interval`` (default 0.5 s); callers polling at least that often therefore lose at most
about one second after ``kill -9``. Footers are written by :meth:`XdfWriter.close`; files
without footers (crashed recordings) still load in pyxdf. On a write error (disk full,
unwritable medium) the file is cut back to the last complete chunk, so everything written
before stays readable, and :class:`XdfWriteError` is raised with one clear message.
"""

from __future__ import annotations

import datetime as _dt
import os
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6

#: Signature of a Boundary chunk (XDF 1.0 specification).
BOUNDARY_UUID = bytes(
    [0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4]
)

#: XDF/LSL channel formats and their little-endian numpy dtypes (``None``: string).
CHANNEL_FORMATS: dict[str, np.dtype | None] = {
    "float32": np.dtype("<f4"),
    "double64": np.dtype("<f8"),
    "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
    "string": None,
}


class XdfWriteError(OSError):
    """Writing the XDF file failed (disk full, unwritable folder, ...).

    The message is one line meant for the user; everything written before the error is kept
    in a file that ends on a complete chunk.
    """


@dataclass(frozen=True)
class StreamRecordStats:
    """What has been written for one stream (the content of its footer).

    Attributes
    ----------
    stream_id : int
        XDF stream id (1-based, in order of :meth:`XdfWriter.add_stream`).
    name : str
        Stream name from its header.
    sample_count : int
        Samples written.
    first_timestamp, last_timestamp : float or None
        Raw timestamps (sender's LSL clock, s) of the first and last sample written.
    clock_offsets : tuple of (float, float)
        ``(collection_time, offset)`` pairs as stored (collection time on the sender's clock,
        offset in s).
    """

    stream_id: int
    name: str
    sample_count: int
    first_timestamp: float | None
    last_timestamp: float | None
    clock_offsets: tuple[tuple[float, float], ...]


def varlen_int(n: int) -> bytes:
    """Encode ``n`` as an XDF variable-length integer (1, 4 or 8 byte payload)."""
    if n < 0:
        raise ValueError(f"variable-length integers are unsigned, got {n}")
    if n < 256:
        return bytes((1, n))
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def chunk_bytes(tag: int, content: bytes) -> bytes:
    """A complete chunk: varlen length (tag + content bytes), u16 tag, content."""
    return varlen_int(len(content) + 2) + struct.pack("<H", tag) + content


def _xml_text(value: float | int | str) -> str:
    if isinstance(value, float):
        return repr(value)
    return escape(str(value))


class _Stream:
    __slots__ = (
        "sid",
        "name",
        "fmt",
        "dtype",
        "n_channels",
        "count",
        "first",
        "last",
        "offsets",
        "saved",
    )

    def __init__(self, sid: int, name: str, fmt: str, n_channels: int) -> None:
        self.sid = sid
        self.name = name
        self.fmt = fmt
        self.dtype = CHANNEL_FORMATS[fmt]
        self.n_channels = n_channels
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.offsets: list[tuple[float, float]] = []
        # (count, first, last, n offsets) as of the last successful flush
        self.saved: tuple[int, float | None, float | None, int] = (0, None, None, 0)


class XdfWriter:
    """Write an XDF 1.0 file incrementally.

    Thread-safe: all public methods take an internal lock.

    Parameters
    ----------
    path : str or Path
        Output file. Created with permissions 0600 (it holds health data).
    overwrite : bool
        Replace an existing file; otherwise an existing file is an error.
    flush_interval : float
        :meth:`maybe_flush` writes pending chunks once the oldest is this old (s).
    boundary_interval : float
        A Boundary chunk is inserted at a flush when this long (s) has passed since the last.
    fsync : bool
        Also ``os.fsync`` at each flush (survives power loss, costs disk I/O).
    header_fields : dict of str to str, optional
        Extra elements for the FileHeader ``<info>`` (e.g. app version).

    Raises
    ------
    XdfWriteError
        When the file cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        flush_interval: float = 0.5,
        boundary_interval: float = 10.0,
        fsync: bool = False,
        header_fields: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.flush_interval = float(flush_interval)
        self.boundary_interval = float(boundary_interval)
        self.fsync = bool(fsync)
        self._lock = threading.RLock()
        self._streams: dict[int, _Stream] = {}
        self._pending = bytearray()
        self._pending_since: float | None = None
        self._last_boundary = time.monotonic()
        self._bytes_on_disk = 0
        self._closed = False
        self.error: XdfWriteError | None = None
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        flags |= getattr(os, "O_BINARY", 0)
        try:
            self._fd = os.open(self.path, flags, 0o600)
        except FileExistsError:
            raise XdfWriteError(f"{self.path} already exists; choose another name") from None
        except OSError as exc:
            raise XdfWriteError(f"cannot create {self.path}: {exc.strerror}") from None
        try:
            os.chmod(self.path, 0o600)  # O_TRUNC keeps an old file's mode
        except OSError:
            pass
        fields = {
            "version": "1.0",
            "datetime": _dt.datetime.now(_dt.UTC).astimezone().isoformat(),
        }
        fields.update(header_fields or {})
        xml = '<?xml version="1.0"?><info>' + "".join(
            f"<{k}>{_xml_text(v)}</{k}>" for k, v in fields.items()
        )
        self._append(b"XDF:" + chunk_bytes(TAG_FILE_HEADER, (xml + "</info>").encode("utf-8")))
        self.flush()

    # ------------------------------------------------------------------ streams
    def add_stream(
        self,
        header_xml: str,
        *,
        channel_format: str | None = None,
        n_channels: int | None = None,
    ) -> int:
        """Write a StreamHeader and return the new stream's XDF id.

        Parameters
        ----------
        header_xml : str
            The stream's full LSL info XML (``StreamInfo.as_xml()``), written verbatim.
        channel_format, n_channels : optional
            Override what the XML says (they must agree with the samples passed later).

        Returns
        -------
        int
            Stream id (1, 2, ...), used by the other ``write_*`` methods.
        """
        try:
            root = ET.fromstring(header_xml.encode("utf-8"))
        except ET.ParseError as exc:
            raise ValueError(f"stream header is not valid XML: {exc}") from None
        fmt = channel_format or (root.findtext("channel_format") or "").strip()
        if fmt not in CHANNEL_FORMATS:
            raise ValueError(
                f"unsupported channel format {fmt!r}; expected one of {list(CHANNEL_FORMATS)}"
            )
        nch = n_channels if n_channels is not None else int(root.findtext("channel_count") or 0)
        if nch < 1:
            raise ValueError(f"a stream needs at least one channel, header says {nch}")
        name = (root.findtext("name") or "").strip()
        with self._lock:
            sid = len(self._streams) + 1
            self._streams[sid] = _Stream(sid, name, fmt, int(nch))
            content = struct.pack("<I", sid) + header_xml.encode("utf-8")
            self._append(chunk_bytes(TAG_STREAM_HEADER, content))
        return sid

    def write_samples(
        self,
        stream_id: int,
        values: np.ndarray | Sequence[Sequence[str]],
        timestamps: np.ndarray | Sequence[float],
    ) -> None:
        """Append samples of one stream (one Samples chunk).

        Parameters
        ----------
        stream_id : int
            From :meth:`add_stream`.
        values : ndarray (n, n_channels) or sequence of n rows of str
            Numeric values are cast to the stream's channel format (integers are rounded;
            NaN becomes 0 for integer formats). String streams take rows of ``str``.
        timestamps : array (n,)
            Raw timestamps (sender's LSL clock, s), written as 8-byte doubles.
        """
        ts = np.ascontiguousarray(timestamps, dtype="<f8").reshape(-1)
        n = len(ts)
        with self._lock:
            st = self._stream(stream_id)
            if n == 0:
                return
            if st.dtype is None:
                body = self._string_rows(st, values, ts)
            else:
                body = self._numeric_rows(st, values, ts)
            content = struct.pack("<I", stream_id) + varlen_int(n) + body
            self._append(chunk_bytes(TAG_SAMPLES, content))
            if st.first is None:
                st.first = float(ts[0])
            st.last = float(ts[-1])
            st.count += n

    @staticmethod
    def _numeric_rows(st: _Stream, values: object, ts: np.ndarray) -> bytes:
        arr = np.asarray(values)
        n = len(ts)
        if arr.ndim == 1 and st.n_channels == 1:
            arr = arr[:, None]
        if arr.shape != (n, st.n_channels):
            raise ValueError(
                f"stream {st.name!r}: expected values of shape ({n}, {st.n_channels}), got {arr.shape}"
            )
        assert st.dtype is not None
        if st.dtype.kind == "i" and arr.dtype.kind == "f":
            info = np.iinfo(st.dtype)
            arr = np.clip(np.nan_to_num(np.rint(arr)), info.min, info.max)
        rows = np.empty(n, dtype=[("tsb", "u1"), ("ts", "<f8"), ("v", st.dtype, (st.n_channels,))])
        rows["tsb"] = 8
        rows["ts"] = ts
        rows["v"] = arr
        return rows.tobytes()

    @staticmethod
    def _string_rows(st: _Stream, values: object, ts: np.ndarray) -> bytes:
        rows = list(values)  # type: ignore[call-overload]
        if len(rows) != len(ts):
            raise ValueError(f"stream {st.name!r}: {len(rows)} rows for {len(ts)} timestamps")
        parts: list[bytes] = []
        for t, row in zip(ts.tolist(), rows, strict=True):
            if isinstance(row, str):
                row = [row]
            if len(row) != st.n_channels:
                raise ValueError(
                    f"stream {st.name!r}: expected {st.n_channels} strings per sample, got {len(row)}"
                )
            parts.append(b"\x08" + struct.pack("<d", t))
            for v in row:
                b = str(v).encode("utf-8")
                parts.append(varlen_int(len(b)))
                parts.append(b)
        return b"".join(parts)

    def write_clock_offset(self, stream_id: int, local_time: float, offset: float) -> None:
        """Record a clock offset measurement (a ClockOffset chunk).

        Parameters
        ----------
        stream_id : int
            From :meth:`add_stream`.
        local_time : float
            This machine's LSL clock when the offset was measured (``local_clock()``, s).
        offset : float
            ``inlet.time_correction()``: add to sender timestamps to get this machine's clock (s).
            Stored as ``(local_time - offset, offset)`` like LabRecorder.
        """
        with self._lock:
            st = self._stream(stream_id)
            pair = (float(local_time) - float(offset), float(offset))
            st.offsets.append(pair)
            content = struct.pack("<Idd", stream_id, *pair)
            self._append(chunk_bytes(TAG_CLOCK_OFFSET, content))

    def write_boundary(self) -> None:
        """Insert a Boundary chunk (readers resynchronise on it after damage)."""
        with self._lock:
            self._append(chunk_bytes(TAG_BOUNDARY, BOUNDARY_UUID))
            self._last_boundary = time.monotonic()

    def stats(self) -> list[StreamRecordStats]:
        """Per-stream counts written so far (what the footers will say).

        After a write error: what reached the file before the error.
        """
        with self._lock:
            out = []
            for s in self._streams.values():
                if self.error is None:
                    out.append(
                        StreamRecordStats(s.sid, s.name, s.count, s.first, s.last, tuple(s.offsets))
                    )
                else:
                    n, first, last, n_off = s.saved
                    out.append(
                        StreamRecordStats(s.sid, s.name, n, first, last, tuple(s.offsets[:n_off]))
                    )
            return out

    @property
    def bytes_written(self) -> int:
        """Bytes handed to the operating system so far."""
        return self._bytes_on_disk

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    # ------------------------------------------------------------------ output
    def maybe_flush(self) -> bool:
        """Flush if pending data is older than ``flush_interval``; return whether it did.

        Also inserts a Boundary chunk every ``boundary_interval`` seconds.
        """
        with self._lock:
            now = time.monotonic()
            if now - self._last_boundary >= self.boundary_interval:
                self.write_boundary()
            if self._pending_since is not None and now - self._pending_since >= self.flush_interval:
                self.flush()
                return True
            return False

    def flush(self, fsync: bool | None = None) -> None:
        """Write all pending chunks to the file now (one ``os.write`` per call).

        Parameters
        ----------
        fsync : bool, optional
            Force (``True``) or skip (``False``) ``os.fsync``; default: the constructor's.

        Raises
        ------
        XdfWriteError
            The data could not be written; the file is cut back to its last complete chunk.
        """
        with self._lock:
            if self.error is not None:
                raise self.error
            if self._closed:
                raise XdfWriteError(f"{self.path} is already closed")
            data = bytes(self._pending)
            if data:
                self._write_all(data)
            self._pending.clear()
            self._pending_since = None
            for st in self._streams.values():
                st.saved = (st.count, st.first, st.last, len(st.offsets))
            if fsync if fsync is not None else self.fsync:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    self._fail(exc)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                k = os.write(self._fd, view[done:])
                if k <= 0:
                    raise OSError(28, "No space left on device")
                done += k
        except OSError as exc:
            if done:
                try:  # keep the file ending on a complete chunk
                    os.ftruncate(self._fd, self._bytes_on_disk)
                    os.lseek(self._fd, self._bytes_on_disk, os.SEEK_SET)
                except OSError:
                    pass
            self._fail(exc)
        self._bytes_on_disk += done

    def _fail(self, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        self.error = XdfWriteError(
            f"writing {self.path} failed ({reason}); recording stopped, the first "
            f"{self._bytes_on_disk} bytes are kept and readable"
        )
        raise self.error from None

    def close(self) -> list[StreamRecordStats]:
        """Write the StreamFooters, flush, fsync and close. Safe to call twice.

        Returns
        -------
        list of StreamRecordStats
            What was written per stream. After a write error the footers are missing but
            the data written before is kept; the error stays in :attr:`error`.
        """
        with self._lock:
            if self._closed:
                return self.stats()
            try:
                if self.error is None:
                    for st in self._streams.values():
                        self._append(chunk_bytes(TAG_STREAM_FOOTER, self._footer(st)))
                    self.flush(fsync=True)
            except XdfWriteError:
                pass
            finally:
                self._closed = True
                try:
                    os.close(self._fd)
                except OSError:
                    pass
            return self.stats()

    def __enter__(self) -> XdfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _stream(self, stream_id: int) -> _Stream:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise ValueError(f"unknown XDF stream id {stream_id}") from None

    def _append(self, data: bytes) -> None:
        if self._closed:
            raise XdfWriteError(f"{self.path} is already closed")
        if self.error is not None:
            raise self.error
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self._pending += data

    @staticmethod
    def _footer(st: _Stream) -> bytes:
        first = st.first if st.first is not None else 0.0
        last = st.last if st.last is not None else 0.0
        offsets = "".join(
            f"<offset><time>{t!r}</time><value>{v!r}</value></offset>" for t, v in st.offsets
        )
        xml = (
            '<?xml version="1.0"?><info>'
            f"<first_timestamp>{first!r}</first_timestamp>"
            f"<last_timestamp>{last!r}</last_timestamp>"
            f"<sample_count>{st.count}</sample_count>"
            f"<clock_offsets>{offsets}</clock_offsets></info>"
        )
        return struct.pack("<I", st.sid) + xml.encode("utf-8")
