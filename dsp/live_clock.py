"""Sample clocks and input checks shared by the live cardiac and EDA streams.

Each live stream keeps a sample counter ``k`` and maps it to time as ``offset + k / fs`` (s, LSL
clock); ``offset`` is the running median of ``stamp - k / fs`` over recent pushes
(:class:`StreamClock`). See :mod:`dsp.person` for the time conventions.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from dsp.beats import DEVICE_BEAT_CLOCK_HZ
from dsp.filters import check_fs

__all__ = ["BEAT_CLOCK_HZ", "SMALL_GRID", "StreamClock", "split_at_gaps", "validate_push"]


class StreamClock:
    """Maps a stream's sample counter to time: ``t(k) = offset + k / fs``."""

    def __init__(self, fs: float, n_pushes: int = 30) -> None:
        self.fs = fs
        self._offsets: deque[float] = deque(maxlen=n_pushes)
        self.offset = float("nan")

    def update(self, k0: int, t: np.ndarray) -> None:
        ok = np.isfinite(t)
        if not ok.any():
            return
        if ok.all():
            d = t - (k0 + np.arange(t.size)) / self.fs
        else:
            d = t[ok] - (k0 + np.flatnonzero(ok)) / self.fs
        self._offsets.append(_median(np.sort(d).tolist()))
        self.offset = _median(sorted(self._offsets))

    def time(self, k: np.ndarray | float) -> np.ndarray | float:
        return self.offset + np.asarray(k) / self.fs


def _median(v: list[float]) -> float:
    """``np.median`` of an already sorted, non-empty list of floats (same value)."""
    n = len(v)
    h = n // 2
    return v[h] if n % 2 else (v[h - 1] + v[h]) / 2.0


def validate_push(t: np.ndarray, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    check_fs(fs)
    t = np.asarray(t, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    if t.shape != x.shape:
        raise ValueError(f"t and x must have the same length, got {t.size} and {x.size}")
    return t, x


SMALL_GRID = 16  # grid requests up to this size are interpolated in Python floats
BEAT_CLOCK_HZ = DEVICE_BEAT_CLOCK_HZ  # position counter of device-reported beats (push_beats)


def split_at_gaps(t: np.ndarray, max_gap_s: float) -> list[tuple[int, int]]:
    """Slices of a chunk between timestamp jumps (either way) larger than ``max_gap_s`` (s)."""
    if t.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        jump = np.abs(t[1:] - t[:-1]) > max_gap_s
    if not jump.any():
        return [(0, t.size)]
    cut = np.flatnonzero(jump) + 1
    bounds = np.concatenate([[0], cut, [t.size]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
