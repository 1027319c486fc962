"""Fixed-capacity ring buffers for multichannel samples and their timestamps.

One writer (the acquisition thread) appends; any number of readers take snapshots. The lock is
held only while numpy copies the data, never while waiting for LSL, so the writer is never
blocked for long. Memory is fixed at construction: it never grows with session length.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """Samples read from a ring buffer.

    Attributes
    ----------
    values : ndarray, shape (n, n_channels), or list of rows of str
        Sample values (float64; NaN where the source sent NaN); for string streams
        (:class:`StringRingBuffer`) a list of ``n`` rows of ``n_channels`` strings.
    raw_ts : ndarray, shape (n,)
        Timestamps as the source stamped them (LSL clock of the sending machine), in s.
    ts : ndarray, shape (n,)
        Timestamps corrected to this machine's LSL clock (``raw_ts + time_correction``), in s.
    start : int
        Absolute index (0 = first sample ever appended) of the first row.
    lost : int
        Samples that were overwritten before this reader asked for them.
    """

    values: np.ndarray | list[list[str]]
    raw_ts: np.ndarray
    ts: np.ndarray
    start: int
    lost: int = 0

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def stop(self) -> int:
        """Absolute index one past the last row (pass it to the next ``read_since``)."""
        return self.start + len(self.ts)


class RingBuffer:
    """Ring buffer of ``capacity`` samples x ``n_channels`` with raw and corrected timestamps.

    Parameters
    ----------
    capacity : int
        Samples held; older ones are overwritten. Typically seconds x nominal rate.
    n_channels : int
        Channels per sample.
    """

    def __init__(self, capacity: int, n_channels: int) -> None:
        if capacity < 1 or n_channels < 1:
            raise ValueError(f"capacity and n_channels must be >= 1, got {capacity}, {n_channels}")
        self.capacity = int(capacity)
        self.n_channels = int(n_channels)
        self._values = np.full((self.capacity, self.n_channels), np.nan)
        self._raw = np.zeros(self.capacity)
        self._ts = np.zeros(self.capacity)
        self._written = 0
        self._lock = threading.Lock()

    @property
    def written(self) -> int:
        """Total number of samples ever appended."""
        return self._written

    def __len__(self) -> int:
        return min(self._written, self.capacity)

    def append(self, values: np.ndarray, raw_ts: np.ndarray, ts: np.ndarray | None = None) -> None:
        """Append ``n`` samples (``values`` shape (n, n_channels) or (n,) for one channel)."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        raw_ts = np.asarray(raw_ts, dtype=float)
        ts = raw_ts if ts is None else np.asarray(ts, dtype=float)
        n = len(raw_ts)
        if values.shape != (n, self.n_channels) or ts.shape != (n,):
            raise ValueError(
                f"expected values ({n}, {self.n_channels}) and {n} timestamps, "
                f"got {values.shape}, {raw_ts.shape}, {ts.shape}"
            )
        if n == 0:
            return
        if n > self.capacity:  # only the newest capacity samples can be kept
            skip = n - self.capacity
            values, raw_ts, ts = values[skip:], raw_ts[skip:], ts[skip:]
        else:
            skip = 0
        m = len(raw_ts)
        with self._lock:
            pos = (self._written + skip) % self.capacity
            first = min(m, self.capacity - pos)
            self._values[pos : pos + first] = values[:first]
            self._raw[pos : pos + first] = raw_ts[:first]
            self._ts[pos : pos + first] = ts[:first]
            if first < m:
                rest = m - first
                self._values[:rest] = values[first:]
                self._raw[:rest] = raw_ts[first:]
                self._ts[:rest] = ts[first:]
            self._written += n

    def _copy(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # caller holds the lock; start/stop are absolute indices still held
        idx = np.arange(start, stop) % self.capacity
        return self._values[idx], self._raw[idx], self._ts[idx]

    def read_since(self, counter: int) -> Chunk:
        """All samples with absolute index >= ``counter`` that are still held."""
        with self._lock:
            oldest = max(0, self._written - self.capacity)
            start = max(counter, oldest)
            stop = self._written
            values, raw, ts = self._copy(start, stop) if stop > start else self._empty()
        return Chunk(values, raw, ts, start, lost=max(0, oldest - counter))

    def latest(self, n: int) -> Chunk:
        """The newest ``n`` samples (fewer if fewer were written)."""
        with self._lock:
            stop = self._written
            start = max(0, stop - min(int(n), self.capacity))
            values, raw, ts = self._copy(start, stop) if stop > start else self._empty()
        return Chunk(values, raw, ts, start)

    def since_time(self, t: float) -> Chunk:
        """Samples whose corrected timestamp is >= ``t`` (a view window)."""
        with self._lock:
            stop = self._written
            start = max(0, stop - self.capacity)
            values, raw, ts = self._copy(start, stop) if stop > start else self._empty()
        keep = np.searchsorted(ts, t, side="left") if len(ts) else 0
        # timestamps are normally increasing; for the rare out-of-order sample fall back to a mask
        if len(ts) and np.all(np.diff(ts) >= 0):
            return Chunk(values[keep:], raw[keep:], ts[keep:], start + int(keep))
        mask = ts >= t
        first = int(np.argmax(mask)) if mask.any() else len(ts)
        return Chunk(values[first:], raw[first:], ts[first:], start + first)

    def _empty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.empty((0, self.n_channels)), np.empty(0), np.empty(0)


class StringRingBuffer:
    """Ring buffer for string streams (markers), with the :class:`RingBuffer` read API."""

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = int(capacity)
        self.n_channels = int(n_channels)
        self._rows: list[list[str]] = []
        self._raw: list[float] = []
        self._ts: list[float] = []
        self._first = 0  # absolute index of self._rows[0]
        self._lock = threading.Lock()

    @property
    def written(self) -> int:
        return self._first + len(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, rows: list[list[str]], raw_ts, ts=None) -> None:
        raw = [float(t) for t in raw_ts]
        cor = raw if ts is None else [float(t) for t in ts]
        if len(rows) != len(raw) or len(cor) != len(raw):
            raise ValueError("rows and timestamps differ in length")
        with self._lock:
            self._rows.extend([list(r) for r in rows])
            self._raw.extend(raw)
            self._ts.extend(cor)
            extra = len(self._rows) - self.capacity
            if extra > 0:
                del self._rows[:extra], self._raw[:extra], self._ts[:extra]
                self._first += extra

    def read_since(self, counter: int) -> Chunk:
        with self._lock:
            start = max(counter, self._first)
            i = start - self._first
            chunk = Chunk(
                [list(r) for r in self._rows[i:]],
                np.asarray(self._raw[i:], dtype=float),
                np.asarray(self._ts[i:], dtype=float),
                start,
                lost=max(0, self._first - counter),
            )
        return chunk

    def latest(self, n: int) -> Chunk:
        return self.read_since(max(0, self.written - int(n)))
