"""What travels between the sites: key names, stream descriptions and sample chunks.

Keys live under ``attune/<session_id>/``:

- ``data/<n>``: chunks of stream ``n`` (~100 ms each), published from a cache of >= 60 s;
- ``streams``: the list of shared streams (a queryable on the patient side, JSON);
- ``clock``: the patient's clock probe (a queryable; the answer is its clock, float64);
- ``admit``: the clinic's admission (a queryable on the clinic side: ok, or why not).

A message (:func:`message_encode`) carries one ~100 ms tick of every shared stream: the samples'
timestamps on the patient's clock (raw LSL stamps mapped by the inlet's own clock correction to
the sharing laptop's clock) and their values, in a compact binary layout. Only numeric streams
are shared.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

ROOT = "attune"


def key(session_id: str, *parts: str) -> str:
    return "/".join((ROOT, session_id, *parts))


@dataclass(frozen=True)
class SharedStream:
    """One shared stream's metadata, enough to re-create its LSL outlet at the clinic."""

    index: int
    name: str
    type: str
    source_id: str
    hostname: str
    nominal_srate: float
    channel_count: int
    channel_format: str
    labels: tuple[str, ...]
    units: tuple[str, ...]
    manufacturer: str = ""


def streams_to_json(streams: list[SharedStream]) -> bytes:
    return json.dumps([asdict(s) for s in streams]).encode()


def streams_from_json(data: bytes) -> list[SharedStream]:
    out = []
    for d in json.loads(data):
        d["labels"], d["units"] = tuple(d["labels"]), tuple(d["units"])
        out.append(SharedStream(**d))
    return out


@dataclass(frozen=True)
class Chunk:
    """Samples of one shared stream: ``timestamps[n]`` (s, patient clock), ``values[n, channels]``.

    ``index`` is the stream's number in the share's list; ``wide`` sends the values as float64
    (double64 and integer streams) instead of float32.
    """

    index: int
    timestamps: np.ndarray
    values: np.ndarray
    wide: bool = False


VERSION = 2
TICK_S = 1e-6  # timestamps travel as whole microseconds (error <= 0.5 us)
_HEAD = struct.Struct("<BIdBB")  # version, message number, base time (s), clock epoch, chunks
_CHUNK = struct.Struct("<BHHBi")  # stream, samples, channels, widths, first stamp (us from base)
_INT = {0: None, 1: "<i1", 2: "<i2", 4: "<i4"}


def _grid(n: int, srate: float) -> np.ndarray:
    """The nominal sample grid in microseconds (zeros for an irregular stream)."""
    if srate <= 0:
        return np.zeros(n, dtype=np.int64)
    return np.round(np.arange(n) * (1.0 / srate / TICK_S)).astype(np.int64)


def _width(residual: np.ndarray) -> int:
    if not residual.size or not residual.any():
        return 0
    m = int(np.abs(residual).max())
    return 1 if m < 2**7 else 2 if m < 2**15 else 4 if m < 2**31 else -1


def message_encode(
    seq: int, chunks: Sequence[Chunk], srates: Mapping[int, float], epoch: int = 0
) -> bytes:
    """One ~100 ms message of the share: the chunks of several streams.

    Layout (little-endian): a header ``(version u8, seq u32, base f64, epoch u8, count u8)``
    where ``base`` is the message's first timestamp (s) and ``epoch`` counts the steps of the
    patient's clock the share has seen (its stamps and probe answers after a step belong to a
    new epoch, mapped with their own estimate); then per chunk ``(stream u8, n u16,
    channels u16, widths u8, first i32)`` with ``first`` the chunk's first stamp in whole
    microseconds after ``base``; then the chunk's stamps as their deviation (us) from the
    stream's nominal grid ``first + round(i / srate)`` in the smallest signed integer that holds
    them (none at all when every sample is on the grid; 1 byte for a regular stream, 2 for the
    ms jitter of Bluetooth wearables, 4 for an irregular one); then the values as float32, or
    float64 when ``wide``, row-major ``n x channels``.

    Every timestamp is recovered within 0.5 us, a thousandth of the clock estimate's own
    uncertainty (milliseconds) and far below any wearable's timestamp jitter.
    """
    chunks = [c for c in chunks if len(c.timestamps)]
    base = float(chunks[0].timestamps[0]) if chunks else 0.0
    if len(chunks) > 255:
        raise ValueError("more than 255 streams in one message")
    parts = [_HEAD.pack(VERSION, seq % 2**32, base, epoch % 256, len(chunks))]
    for c in chunks:
        ts = np.asarray(c.timestamps, dtype=float)
        values = np.asarray(c.values, dtype="<f8" if c.wide else "<f4").reshape(len(ts), -1)
        if not 0 <= c.index < 256 or len(ts) >= 2**16 or values.shape[1] >= 2**16:
            raise ValueError(f"chunk of stream {c.index} ({values.shape}) does not fit a message")
        q = np.round((ts - base) / TICK_S).astype(np.int64)
        residual = q - q[0] - _grid(len(ts), srates.get(c.index, 0.0))
        tw = _width(residual)
        if tw < 0 or abs(int(q[0])) >= 2**31:
            raise ValueError(f"stream {c.index}: timestamps span more than 35 minutes")
        widths = tw | ((8 if c.wide else 4) << 4)
        parts.append(_CHUNK.pack(c.index, len(ts), values.shape[1], widths, int(q[0])))
        if tw:
            parts.append(residual.astype(_INT[tw]).tobytes())
        parts.append(values.tobytes())
    return b"".join(parts)


def message_layout(data: bytes) -> tuple[int, int, list[tuple[int, int]]]:
    """``(seq, epoch, [(stream index, samples), ...])`` of a message without decoding it.

    ``ValueError`` for a damaged message or another version of the format.
    """
    seq, _, epoch, items = _parse(data)
    return seq, epoch, [(i, n) for i, n, *_ in items]


def _parse(data: bytes):
    if len(data) < _HEAD.size:
        raise ValueError("message too short")
    version, seq, base, epoch, count = _HEAD.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"message format {version}, expected {VERSION} (update Attunement)")
    pos, items = _HEAD.size, []
    for _ in range(count):
        if pos + _CHUNK.size > len(data):
            raise ValueError("message truncated")
        index, n, ch, widths, first = _CHUNK.unpack_from(data, pos)
        tw, vw = widths & 0xF, widths >> 4
        if tw not in _INT or vw not in (4, 8):
            raise ValueError("message damaged (bad widths)")
        pos += _CHUNK.size
        end = pos + n * tw + n * ch * vw
        if end > len(data):
            raise ValueError(f"message truncated in stream {index}")
        items.append((index, n, ch, tw, vw, first, pos))
        pos = end
    if pos != len(data):
        raise ValueError("message has trailing bytes")
    return seq, base, epoch, items


def message_decode(data: bytes, srates: Mapping[int, float]) -> tuple[int, list[Chunk]]:
    """Inverse of :func:`message_encode`, given the same streams' nominal rates (Hz)."""
    seq, base, _, items = _parse(data)
    out = []
    for index, n, ch, tw, vw, first, pos in items:
        q = first + _grid(n, srates.get(index, 0.0))
        if tw:
            q = q + np.frombuffer(data, _INT[tw], n, pos).astype(np.int64)
            pos += n * tw
        values = np.frombuffer(data, "<f8" if vw == 8 else "<f4", n * ch, pos)
        out.append(Chunk(index, base + q * TICK_S, values.reshape(n, ch).astype(float), vw == 8))
    return seq, out
