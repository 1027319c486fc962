"""Electrodermal activity: cleaning, tonic/phasic split, SCR detection, SCL.

Units: EDA in µS, time in s from the first sample (sample ``i`` is at ``i / fs``), rates in Hz.
Works at any rate from 4 Hz (Empatica-style wristbands) to 1 kHz (lab amplifiers).

SCR detection (trough-to-peak, absolute threshold)
--------------------------------------------------
1. low-pass the signal (``eda_clean``, zero-phase, 1 Hz);
2. find turning points with a hysteresis ("zig-zag") of ``min_amplitude_us / 2``: a local
   maximum or minimum is only accepted once the signal has moved back by that much, so
   sub-threshold wiggles do not split a response;
3. every trough -> peak leg whose rise is at least ``min_amplitude_us`` is a candidate; its
   onset is moved forward from the trough to the last sample where the slope was still below
   10 % of the leg's steepest slope (so a slow tonic rise before the response is not counted
   as part of it);
4. amplitude = EDA(peak) - EDA(onset) in µS; responses smaller than ``min_amplitude_us`` or
   with rise times outside ``rise_time_s`` are dropped.

The threshold is absolute (µS), never relative to the recording's largest response.

Noise floor
-----------
A sensor's white measurement noise survives the 1 Hz low-pass in proportion to the share of
the band it keeps (about 65 % of its SD at 4 Hz, 23 % at 32 Hz), and at 4 Hz a 0.01 µS
threshold counts it as responses. Each person's noise is therefore estimated from the raw
signal (:func:`eda_noise_us`: robust SD of the second differences, which physiological EDA,
slow at these rates, hardly moves), and SCRs are detected with the documented threshold
``max(0.01 µS, k x noise x filter gain)`` (:func:`scr_threshold_us`, ``k = 6``). With it, pure
noise of SD 0.005 / 0.01 µS at 4 Hz gives about 0.2 / 0.35 false SCRs per minute, and responses
of 0.05 µS keep F1 >= 0.9 at 4, 15 and 32 Hz (tests/test_eda.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from dsp.filters import CausalSos, butter_sos, check_fs, nan_segments, zero_phase_sos

__all__ = [
    "EdaPhasic",
    "Scr",
    "eda_clean",
    "eda_phasic",
    "eda_scr",
    "eda_scl",
    "scr_per_minute",
    "eda_noise_us",
    "scr_threshold_us",
]

SCR_NOISE_K = 6.0
"""Default multiple of the filtered noise SD in the SCR threshold (see *Noise floor*)."""


def _validate(signal: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError("signal must be 1-D")
    return x, fs


def eda_clean(
    signal: np.ndarray, fs: float, causal: bool = False, cutoff_hz: float = 1.0
) -> np.ndarray:
    """Low-pass EDA (Butterworth order 2, ``cutoff_hz``, clipped to 0.45 ``fs``).

    Parameters
    ----------
    signal : ndarray
        EDA in µS; NaN runs are kept and each finite run is filtered on its own.
    fs : float
        Sampling rate in Hz.
    causal : bool
        False (offline): zero-phase forward-backward. True (live): one causal pass started at
        the steady state of the first sample (adds ~0.2 s of delay at 1 Hz).
    cutoff_hz : float
        Low-pass cut-off in Hz.

    Returns
    -------
    ndarray
        Filtered EDA in µS, same length.
    """
    x, fs = _validate(signal, fs)
    out = np.full(x.shape, np.nan)
    sos = butter_sos("lowpass", (float(cutoff_hz),), fs, 2)
    for a, b in nan_segments(x):
        out[a:b] = CausalSos(sos)(x[a:b]) if causal else zero_phase_sos(x[a:b], sos)
    return out


@dataclass(frozen=True)
class EdaPhasic:
    """Tonic (SCL) and phasic (SCR) components in µS, same length as the input."""

    tonic: np.ndarray
    phasic: np.ndarray
    method: str


def eda_phasic(
    signal: np.ndarray,
    fs: float,
    method: str = "highpass",
    causal: bool = False,
    highpass_hz: float = 0.05,
    median_window_s: float = 8.0,
) -> EdaPhasic:
    """Split EDA into tonic and phasic components.

    Parameters
    ----------
    signal : ndarray
        EDA in µS (ideally cleaned with :func:`eda_clean`).
    fs : float
        Sampling rate in Hz.
    method : {'highpass', 'median'}
        ``'highpass'``: phasic = Butterworth high-pass at ``highpass_hz`` (order 1, zero-phase
        offline or causal live), tonic = signal - phasic. ``'median'``: tonic = moving median
        over ``median_window_s`` (centred offline; trailing when ``causal``), phasic =
        signal - tonic.
    causal : bool
        Use only past samples (live).

    Returns
    -------
    EdaPhasic
    """
    x, fs = _validate(signal, fs)
    tonic = np.full(x.shape, np.nan)
    if method == "highpass":
        sos = butter_sos("highpass", (float(highpass_hz),), fs, 1)
        for a, b in nan_segments(x):
            seg = x[a:b]
            ph = CausalSos(sos)(seg) if causal else zero_phase_sos(seg, sos)
            tonic[a:b] = seg - ph
    elif method == "median":
        w = max(1, int(round(median_window_s * fs)) | 1)
        for a, b in nan_segments(x):
            seg = x[a:b]
            origin = (w // 2) if causal else 0
            origin = min(origin, w // 2)
            tonic[a:b] = ndimage.median_filter(seg, size=w, mode="nearest", origin=origin)
    else:
        raise ValueError(f"unknown method {method!r}; use 'highpass' or 'median'")
    return EdaPhasic(tonic=tonic, phasic=x - tonic, method=method)


@dataclass(frozen=True)
class Scr:
    """Skin-conductance responses found by :func:`eda_scr`.

    Attributes
    ----------
    onsets, peaks : ndarray
        Onset and peak times (s from the first sample).
    amplitudes : ndarray
        Peak minus onset level (µS).
    rise_times : ndarray
        ``peaks - onsets`` (s).
    onset_idx, peak_idx : ndarray of int
        Sample indices of onsets and peaks.
    """

    onsets: np.ndarray
    peaks: np.ndarray
    amplitudes: np.ndarray
    rise_times: np.ndarray
    onset_idx: np.ndarray
    peak_idx: np.ndarray

    def __len__(self) -> int:
        return int(self.onsets.size)


def _empty_scr() -> Scr:
    f, i = np.zeros(0), np.zeros(0, dtype=int)
    return Scr(f, f.copy(), f.copy(), f.copy(), i, i.copy())


def _gradient(y: np.ndarray) -> np.ndarray:
    """``np.gradient(y)`` of a 1-D float array with >= 2 samples (same arithmetic)."""
    out = np.empty_like(y)
    out[1:-1] = (y[2:] - y[:-2]) / 2.0
    out[0] = (y[1] - y[0]) / 1.0
    out[-1] = (y[-1] - y[-2]) / 1.0
    return out


def _zigzag(y: np.ndarray, delta: float) -> list[tuple[int, int]]:
    """Alternating (index, +1 max / -1 min) turning points with hysteresis ``delta``."""
    out: list[tuple[int, int]] = []
    if y.size < 3:
        return out
    # candidate extrema: sign changes of the first difference (plateaus collapse to one)
    d = np.diff(y)
    s = np.sign(d)
    nz = np.flatnonzero(s != 0)
    if nz.size == 0:
        return out
    s_nz = s[nz]
    ch = np.flatnonzero(np.diff(s_nz) != 0)
    cand_idx = np.concatenate([[0], nz[ch] + 1, [y.size - 1]])
    cand_val = y[cand_idx]
    trend = 0  # +1 rising (tracking a max), -1 falling (tracking a min)
    ext_i, ext_v = int(cand_idx[0]), float(cand_val[0])
    lo_i, lo_v, hi_i, hi_v = ext_i, ext_v, ext_i, ext_v
    for i, v in zip(cand_idx[1:].tolist(), cand_val[1:].tolist(), strict=True):
        if trend == 0:
            if v > hi_v:
                hi_i, hi_v = i, v
            if v < lo_v:
                lo_i, lo_v = i, v
            if hi_v - lo_v >= delta:
                if hi_i > lo_i:
                    out.append((lo_i, -1))
                    trend, ext_i, ext_v = 1, hi_i, hi_v
                else:
                    out.append((hi_i, 1))
                    trend, ext_i, ext_v = -1, lo_i, lo_v
        elif trend == 1:
            if v > ext_v:
                ext_i, ext_v = i, v
            elif ext_v - v >= delta:
                out.append((ext_i, 1))
                trend, ext_i, ext_v = -1, i, v
        else:
            if v < ext_v:
                ext_i, ext_v = i, v
            elif v - ext_v >= delta:
                out.append((ext_i, -1))
                trend, ext_i, ext_v = 1, i, v
    if trend != 0:
        out.append((ext_i, trend))
    return out


def eda_scr(
    signal: np.ndarray,
    fs: float,
    min_amplitude_us: float = 0.01,
    rise_time_s: tuple[float, float] = (0.3, 10.0),
    clean: bool = True,
    onset_slope_fraction: float = 0.1,
) -> Scr:
    """Detect skin-conductance responses (see module docstring).

    Parameters
    ----------
    signal : ndarray
        EDA in µS (raw; cleaned here unless ``clean`` is False). NaN runs split the search.
    fs : float
        Sampling rate in Hz (> 0).
    min_amplitude_us : float
        Absolute minimum amplitude (µS), default 0.01 µS.
    rise_time_s : (float, float)
        Accepted onset-to-peak durations (s).
    clean : bool
        Low-pass with :func:`eda_clean` first (zero-phase, 1 Hz).
    onset_slope_fraction : float
        Onset = last sample before the steep rise whose slope is below this fraction of the
        response's maximum slope.

    Returns
    -------
    Scr
        Onsets/peaks in s from the first sample, amplitudes in µS, rise times in s. A
        response still rising at the end of the signal is not reported.

    Raises
    ------
    ValueError
        For a non-positive ``fs``, non-1-D input or a non-positive ``min_amplitude_us``.
    """
    x, fs = _validate(signal, fs)
    if not min_amplitude_us > 0:
        raise ValueError("min_amplitude_us must be > 0")
    y = eda_clean(x, fs) if clean else x
    on_l: list[int] = []
    pk_l: list[int] = []
    amp_l: list[float] = []
    for a, b in nan_segments(y):
        seg = y[a:b]
        if seg.size < 4:
            continue
        tp = _zigzag(seg, min_amplitude_us / 2.0)
        slope = _gradient(seg) * fs
        for (i0, k0), (i1, k1) in zip(tp[:-1], tp[1:], strict=False):
            if not (k0 == -1 and k1 == 1) or i1 >= seg.size - 1:
                continue
            if seg[i1] - seg[i0] < min_amplitude_us:
                continue
            sl = slope[i0 : i1 + 1]
            smax = float(np.max(sl))
            below = np.flatnonzero(sl[: int(np.argmax(sl)) + 1] <= onset_slope_fraction * smax)
            on = i0 + (int(below[-1]) if below.size else 0)
            amp = float(seg[i1] - seg[on])
            rt = (i1 - on) / fs
            if amp >= min_amplitude_us and rise_time_s[0] <= rt <= rise_time_s[1]:
                on_l.append(a + on)
                pk_l.append(a + i1)
                amp_l.append(amp)
    if not on_l:
        return _empty_scr()
    on_i = np.asarray(on_l, dtype=int)
    pk_i = np.asarray(pk_l, dtype=int)
    return Scr(
        onsets=on_i / fs,
        peaks=pk_i / fs,
        amplitudes=np.asarray(amp_l),
        rise_times=(pk_i - on_i) / fs,
        onset_idx=on_i,
        peak_idx=pk_i,
    )


def eda_scl(signal: np.ndarray, fs: float, window_s: float = 10.0) -> float:
    """Skin-conductance level: mean of the finite samples of the last ``window_s`` s (µS).

    NaN when that window has no finite sample.
    """
    x, fs = _validate(signal, fs)
    n = max(1, int(round(window_s * fs)))
    w = x[-n:]
    w = w[np.isfinite(w)]
    return float(np.mean(w)) if w.size else float("nan")


def scr_per_minute(peaks_s: np.ndarray, t0: float, t1: float) -> float:
    """SCRs per minute: number of SCR peaks in ``[t0, t1)`` (s) divided by its length in min."""
    if not t1 > t0:
        return float("nan")
    p = np.asarray(peaks_s, dtype=float)
    return float(np.sum((p >= t0) & (p < t1)) * 60.0 / (t1 - t0))


def eda_noise_us(signal: np.ndarray, fs: float) -> float:
    """White measurement noise of raw EDA (µS SD), from its second differences.

    ``d2[i] = x[i+1] - 2 x[i] + x[i-1]`` has SD ``sqrt(6)`` times the noise SD and hardly
    contains the (slow) physiological signal; the SD is taken robustly, ``1.4826 * MAD``, so
    responses and isolated artefacts do not inflate it. Triples touching NaN are skipped.

    Returns
    -------
    float
        Noise SD (µS); NaN with fewer than 20 usable triples.
    """
    x, fs = _validate(signal, fs)
    x = x.ravel()
    if x.size < 3:
        return float("nan")
    d2 = x[2:] - 2.0 * x[1:-1] + x[:-2]
    d2 = d2[np.isfinite(d2)]
    if d2.size < 20:
        return float("nan")
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return 1.4826 * mad / float(np.sqrt(6.0))


@lru_cache(maxsize=64)
def _noise_gain(fs: float, cutoff_hz: float, causal: bool) -> float:
    """Fraction of white-noise SD passed by the EDA low-pass (zero-phase: ``|H|^4``)."""
    sos = butter_sos("lowpass", (float(cutoff_hz),), fs, 2)
    _, h = sps.sosfreqz(sos, worN=4096, fs=fs)
    p = np.abs(h) ** (2 if causal else 4)
    return float(np.sqrt(np.mean(p)))


def scr_threshold_us(
    noise_us: float,
    fs: float,
    cutoff_hz: float = 1.0,
    k: float = SCR_NOISE_K,
    floor_us: float = 0.01,
    causal: bool = False,
) -> float:
    """SCR amplitude threshold ``max(floor_us, k * noise_us * gain)`` in µS.

    Parameters
    ----------
    noise_us : float
        Raw noise SD from :func:`eda_noise_us` (NaN: the floor is used).
    fs : float
        Rate (Hz) at which the low-pass is applied.
    cutoff_hz : float
        Low-pass cut-off (Hz) of :func:`eda_clean`.
    k : float
        Multiple of the filtered noise SD.
    floor_us : float
        Absolute minimum amplitude (µS).
    causal : bool
        One causal pass (live) instead of zero-phase forward-backward (offline).
    """
    fs = check_fs(fs)
    if not (np.isfinite(noise_us) and noise_us > 0):
        return float(floor_us)
    return float(max(floor_us, k * noise_us * _noise_gain(fs, float(cutoff_hz), bool(causal))))
