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
    "parabolic_offset",
    "nan_segments",
    "true_runs",
    "check_fs",
    "ema_filter",
]


def check_fs(fs: float) -> float:
    """Return ``fs`` as float, raising ``ValueError`` unless it is finite and > 0 (Hz)."""
    fs = float(fs)
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"sampling rate must be a finite positive number of Hz, got {fs!r}")
    return fs


try:  # the compiled kernel behind scipy.signal.sosfilt (its Python wrapper costs ~30 us)
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_kernel
except ImportError:  # pragma: no cover - other scipy layouts use the public function
    _sosfilt_kernel = None


def sosfilt_1d(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` for a 1-D float signal, same kernel and result.

    Skips the wrapper's axis juggling (it is called on every chunk of every live stream).
    """
    if (
        _sosfilt_kernel is None
        or x.ndim != 1
        or x.dtype != np.float64
        or sos.dtype != np.float64
        or zi.dtype != np.float64
        or zi.shape != (sos.shape[0], 2)
    ):
        return sps.sosfilt(sos, x, zi=zi)
    y = np.array(x, dtype=np.float64, order="C").reshape(1, -1)  # a copy, filtered in place
    z = np.array(zi, dtype=np.float64, order="C").reshape(1, sos.shape[0], 2)
    _sosfilt_kernel(np.ascontiguousarray(sos), y, z)
    return y[0], z[0]


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
        y, self._zi = sosfilt_1d(self.sos, x, self._zi)
        return y


class CausalFir:
    """Streaming trailing FIR (e.g. moving average); chunked output equals one-shot ``lfilter``.

    After a reset the delay line is filled with the first sample (steady state).
    """

    def __init__(self, taps: np.ndarray) -> None:
        self.taps = np.asarray(taps, dtype=float)
        self._zi_unit = sps.lfilter_zi(self.taps, [1.0])
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        self._zi = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return x.astype(float)
        if self._zi is None:
            self._zi = self._zi_unit * x[0]
        if x.ndim != 1 or x.dtype != np.float64 or self._zi.shape != (self.taps.size - 1,):
            y, self._zi = sps.lfilter(self.taps, [1.0], x, zi=self._zi)
            return y
        # what lfilter does for an FIR (a = [1]), without its per-call overhead
        full = np.convolve(self.taps, x)
        full[: self._zi.size] += self._zi
        self._zi = full[x.size :]
        return full[: x.size]


_ZI_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _sos_zi(sos: np.ndarray) -> np.ndarray:
    hit = _ZI_CACHE.get(id(sos))
    if hit is not None and hit[0] is sos:
        return hit[1]
    zi = sps.sosfilt_zi(sos)
    if len(_ZI_CACHE) > 256:
        _ZI_CACHE.clear()
    _ZI_CACHE[id(sos)] = (sos, zi)
    return zi


def zero_phase_sos(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """Forward-backward SOS filtering, as ``scipy.signal.sosfiltfilt`` (odd padding).

    The pad length is scipy's default, shortened for short inputs; the steady-state
    initial conditions are cached per filter, which matters when many short windows are
    filtered.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2:
        return x.copy()
    pad = min(n - 1, 3 * (2 * len(sos) + 1))
    ext = np.concatenate(
        [2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]] if pad else [x]
    )
    zi = _sos_zi(sos)
    y, _ = sosfilt_1d(sos, ext, zi * ext[0])
    y = y[::-1]
    y, _ = sosfilt_1d(sos, y, zi * y[0])
    y = y[::-1]
    return y[pad : y.size - pad] if pad else y


def parabolic_offset(y_minus: float, y0: float, y_plus: float) -> float:
    """Sub-sample offset (in samples, within [-0.5, 0.5]) of the vertex of a parabola.

    Fitted through three equally spaced samples around a local maximum.
    """
    y_minus, y0, y_plus = float(y_minus), float(y0), float(y_plus)
    den = y_minus - 2.0 * y0 + y_plus
    if not den < 0:  # also rejects NaN
        return 0.0
    off = 0.5 * (y_minus - y_plus) / den
    return min(0.5, max(-0.5, off))


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the runs of True in a 1-D boolean array."""
    ok = np.asarray(mask, dtype=bool)
    if ok.size == 0:
        return []
    n = int(ok.size)
    if ok.all():
        return [(0, n)]
    # the edges between runs, with the ends of the array where a run touches them (called
    # several times per live tick: no padded copy and no second scan)
    e = (np.flatnonzero(ok[1:] != ok[:-1]) + 1).tolist()
    if ok[0]:
        e.insert(0, 0)
    if ok[-1]:
        e.append(n)
    return list(zip(e[::2], e[1::2], strict=True))


def nan_segments(x: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the finite runs of ``x``."""
    return true_runs(np.isfinite(x))


try:  # the compiled filter behind scipy.signal.lfilter (its wrapper costs more than the work)
    from scipy.signal._sigtools import _linear_filter
except ImportError:  # pragma: no cover - other scipy layouts use the public function
    _linear_filter = None


def ema_filter(a: float, z: np.ndarray, zi: float) -> np.ndarray:
    """``lfilter([a], [1, a - 1], z, zi=[zi])[0]``: exponential moving average of ``z``."""
    if _linear_filter is None or z.dtype != np.float64 or z.ndim != 1:
        return sps.lfilter([a], [1.0, a - 1.0], z, zi=[zi])[0]
    b_, a_ = np.array([a]), np.array([1.0, a - 1.0])
    return _linear_filter(b_, a_, z, -1, np.array([zi]))[0]
