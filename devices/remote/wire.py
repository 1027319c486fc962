"""What travels between the sites: key names, stream descriptions and sample chunks.

Keys live under ``attune/<session_id>/``:

- ``data/<n>``: chunks of stream ``n`` (~100 ms each), published from a cache of >= 60 s;
- ``streams``: the list of shared streams (a queryable on the patient side, JSON);
- ``clock``: the patient's clock probe (a queryable; the answer is its clock, float64);
- ``admit``: the clinic's admission (a queryable on the clinic side: ok, or why not).

A chunk is little-endian float64: ``[seq, n_samples, n_channels, t_1..t_n, x_11..x_nc]``, with
the samples' timestamps on the patient's clock (raw LSL stamps mapped by the inlet's own clock
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


def chunk_encode(seq: int, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    values = np.asarray(values, dtype="<f8").reshape(len(timestamps), -1)
    head = np.array([seq, values.shape[0], values.shape[1]], dtype="<f8")
    return b"".join((head.tobytes(), np.asarray(timestamps, "<f8").tobytes(), values.tobytes()))


def chunk_decode(data: bytes) -> Chunk:
    arr = np.frombuffer(data, dtype="<f8")
    if arr.size < 3:
        raise ValueError("chunk too short")
    seq, n, ch = (int(v) for v in arr[:3])
    if arr.size != 3 + n + n * ch:
        raise ValueError(f"chunk of {arr.size} values does not hold {n} x {ch} samples")
    ts = arr[3 : 3 + n].copy()
    return Chunk(seq, ts, arr[3 + n :].reshape(n, ch).copy())
