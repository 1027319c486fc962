"""Small shared filter helpers (pure numpy/scipy).

All cut-off frequencies are in Hz, sampling rates in Hz, and signals are 1-D float arrays
sampled uniformly. "Causal" helpers keep their state between calls so that a signal fed in
chunks gives exactly the same output as the same signal fed at once (this is what makes the
live and the offline paths of the detectors identical).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps

__all__ = [
    "butter_sos",
    "fir_lowpass_taps",
    "CausalSos",
    "CausalFir",
    "zero_phase_sos",
    "smooth_zero_phase",
    "parabolic_offset",
    "nan_segments",
    "check_fs",
]


def check_fs(fs: float) -> float:
    """Return ``fs`` as float, raising ``ValueError`` unless it is finite and > 0 (Hz)."""
    fs = float(fs)
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"sampling rate must be a finite positive number of Hz, got {fs!r}")
    return fs


@lru_cache(maxsize=64)
def butter_sos(kind: str, cutoff: tuple[float, ...], fs: float, order: int) -> np.ndarray:
    """Butterworth second-order sections (cached).

    Parameters
    ----------
    kind : {'lowpass', 'highpass', 'bandpass'}
    cutoff : tuple of float
        Cut-off(s) in Hz. Upper edges at or above 0.45 ``fs`` are clipped to 0.45 ``fs``; a
        band-pass whose upper edge is clipped stays a band-pass.
    fs : float
        Sampling rate in Hz.
    order : int
        Filter order (per edge).
    """
    nyq = fs / 2.0
    cut = [min(c, 0.9 * nyq) for c in cutoff]
    wn = cut[0] if len(cut) == 1 else cut
    return sps.butter(order, wn, btype=kind, fs=fs, output="sos")


@lru_cache(maxsize=64)
def fir_lowpass_taps(cutoff_hz: float, fs: float, length_s: float) -> np.ndarray:
    """Symmetric (linear-phase) low-pass FIR taps, odd length ~``length_s`` seconds (cached)."""
    n = max(3, int(round(length_s * fs)) | 1)
    cutoff = min(cutoff_hz, 0.45 * fs)
    return sps.firwin(n, cutoff, fs=fs)


class CausalSos:
    """Streaming SOS filter whose chunked output equals a one-shot ``sosfilt``.

    The state is initialised to the steady state of the first sample after a reset, so a
    filter started on a signal with a large DC offset does not ring.
    """

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = sos
        self._zi_unit = sps.sosfilt_zi(sos)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the state; the next sample re-initialises it."""
        self._zi = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return x.astype(float)
        if self._zi is None:
            self._zi = self._zi_unit * x[0]
        y, self._zi = sps.sosfilt(self.sos, x, zi=self._zi)
        return y


class CausalFir:
    """Streaming trailing FIR (e.g. moving average); chunked output equals one-shot ``lfilter``.

    After a reset the delay line is filled with the first sample (steady state).
    """

    def __init__(self, taps: np.ndarray) -> None:
        self.taps = np.asarray(taps, dtype=float)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        self._zi = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return x.astype(float)
        if self._zi is None:
            self._zi = sps.lfilter_zi(self.taps, [1.0]) * x[0]
        y, self._zi = sps.lfilter(self.taps, [1.0], x, zi=self._zi)
        return y


def zero_phase_sos(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """Forward-backward SOS filtering that tolerates short inputs (``sosfiltfilt``).

    Inputs shorter than the default pad length are padded with as much as is available.
    """
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return x.copy()
    padlen = min(x.size - 1, 3 * (2 * len(sos) + 1))
    return sps.sosfiltfilt(sos, x, padlen=padlen)


def smooth_zero_phase(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Zero-phase FIR smoothing with edge-value padding; output has the length of ``x``."""
    x = np.asarray(x, dtype=float)
    h = taps.size // 2
    if x.size == 0:
        return x.copy()
    xp = np.concatenate([np.full(h, x[0]), x, np.full(h, x[-1])])
    return np.convolve(xp, taps, mode="valid")


def parabolic_offset(y_minus: float, y0: float, y_plus: float) -> float:
    """Sub-sample offset (in samples, within [-0.5, 0.5]) of the vertex of a parabola.

    Fitted through three equally spaced samples around a local maximum.
    """
    den = y_minus - 2.0 * y0 + y_plus
    if den >= 0 or not np.isfinite(den):
        return 0.0
    off = 0.5 * (y_minus - y_plus) / den
    return float(np.clip(off, -0.5, 0.5))


def nan_segments(x: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the finite runs of ``x``."""
    ok = np.isfinite(x)
    if ok.size == 0:
        return []
    d = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
