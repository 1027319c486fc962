"""What travels between the sites: key names, stream descriptions and sample chunks.

Keys live under ``attune/<session_id>/``:

- ``data/<n>``: chunks of stream ``n`` (~100 ms each), published from a cache of >= 60 s;
- ``streams``: the list of shared streams (a queryable on the patient side, JSON);
- ``clock``: the patient's clock probe (a queryable; the answer is its clock, float64);
- ``admit``: the clinic's admission (a queryable on the clinic side: ok, or why not).

A chunk (:func:`chunk_encode`) holds a sequence number, the samples' timestamps on the patient's clock (raw LSL stamps mapped by the inlet's own clock
correction to the sharing laptop's clock). Only numeric streams are shared.
"""

from __future__ import annotations

import json
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
    """Samples of one stream: ``timestamps[n]`` (s, patient clock) and ``values[n, channels]``."""

    seq: int
    timestamps: np.ndarray
    values: np.ndarray


def chunk_encode(seq: int, timestamps: np.ndarray, values: np.ndarray, wide: bool = False) -> bytes:
    """One chunk as bytes.

    Layout (little-endian): float64 ``[seq, n, channels, wide, t_first]``, then float32
    ``t_i - t_first`` (n; exact to ~0.1 µs within a chunk), then the values as float32 (or
    float64 when ``wide``, for double64 streams), row-major ``n x channels``.
    """
    ts = np.asarray(timestamps, dtype=float)
    dtype = "<f8" if wide else "<f4"
    values = np.asarray(values, dtype=dtype).reshape(len(ts), -1)
    t_first = ts[0] if len(ts) else 0.0
    head = np.array([seq, values.shape[0], values.shape[1], float(wide), t_first], dtype="<f8")
    return b"".join((head.tobytes(), (ts - t_first).astype("<f4").tobytes(), values.tobytes()))


def chunk_decode(data: bytes) -> Chunk:
    """Inverse of :func:`chunk_encode`; ``ValueError`` for a damaged chunk."""
    if len(data) < 40:
        raise ValueError("chunk too short")
    seq, n, ch, wide, t_first = np.frombuffer(data[:40], dtype="<f8")
    n, ch = int(n), int(ch)
    vsize = 8 if wide else 4
    if len(data) != 40 + 4 * n + vsize * n * ch:
        raise ValueError(f"chunk of {len(data)} bytes does not hold {n} x {ch} samples")
    dt = np.frombuffer(data[40 : 40 + 4 * n], dtype="<f4").astype(float)
    vals = np.frombuffer(data[40 + 4 * n :], dtype="<f8" if wide else "<f4")
    return Chunk(int(seq), t_first + dt, vals.reshape(n, ch).astype(float))


def bundle_encode(seq: int, chunks: list[tuple[int, bytes]]) -> bytes:
    """One ~100 ms message of the share: several streams' chunks, each tagged with its index.

    Layout: int64 ``[seq, n]``, then per chunk int64 ``[index, length]`` and the chunk's bytes.
    One message per tick for all streams keeps the link's per-message overhead (TLS record,
    zenoh framing) down.
    """
    parts = [np.array([seq, len(chunks)], "<i8").tobytes()]
    for index, data in chunks:
        parts += [np.array([index, len(data)], "<i8").tobytes(), data]
    return b"".join(parts)


def bundle_decode(data: bytes) -> tuple[int, list[tuple[int, Chunk]]]:
    """Inverse of :func:`bundle_encode` (chunks decoded); ``ValueError`` when damaged."""
    if len(data) < 16:
        raise ValueError("message too short")
    seq, n = (int(v) for v in np.frombuffer(data[:16], "<i8"))
    pos, out = 16, []
    for _ in range(n):
        if pos + 16 > len(data):
            raise ValueError("message truncated")
        index, length = (int(v) for v in np.frombuffer(data[pos : pos + 16], "<i8"))
        pos += 16
        out.append((index, chunk_decode(data[pos : pos + length])))
        pos += length
    if pos != len(data):
        raise ValueError("message has trailing bytes")
    return seq, out
