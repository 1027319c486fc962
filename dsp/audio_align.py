"""Align two recordings of the same room by their sound (pure numpy/scipy).

What multi-camera editors do: compare *when the sound changes*, not the waveforms. Each
signal is band-limited to the speech band (300-3000 Hz: drops room rumble, mains hum and what
a codec discards above), cut into 5 ms frames; the frame RMS amplitude is differenced and
half-wave rectified (**onset strength**: rises in loudness), then standardised. A gain
scales it and vanishes in the standardisation; steady room noise adds a floor that the
difference removes (in dB, a floor would delay every onset: tried, a 6-8 ms bias at -20 dB);
a codec changes the waveform, not when syllables start. The two onset series are standardised and
cross-correlated (FFT) over every lag; the peak, refined by a parabola, is the offset.

Confidence. ``peak_z``: the peak in units of the robust SD of the correlation over all lags
(for unrelated sounds the largest of ~100 000 lags reaches z ~ 4.5-6); ``peak_ratio``: the
peak over the highest value more than 0.5 s from it. An alignment is **clear** when
``peak_z >= MIN_Z`` and ``peak_ratio >= MIN_RATIO``; otherwise it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

#: Frame length of the onset series (s): the resolution before the parabolic refinement.
FRAME_S = 0.005
#: Speech band (Hz).
BAND_HZ = (300.0, 3000.0)
#: Clear-peak rule (see the module docstring); chosen on synthetic sessions, see the tests.
MIN_Z = 10.0
MIN_RATIO = 1.5
#: Lags need at least this much overlap (s), or a quarter of the shorter recording.
MIN_OVERLAP_S = 30.0
#: Lags closer than this to the peak do not count as a rival peak (s).
RIVAL_EXCLUDE_S = 0.5


@dataclass(frozen=True)
class AudioAlignment:
    """The lag that best lines up ``b`` with ``a``.

    Attributes
    ----------
    lag_s : float
        ``b``'s sample 0 lies at ``a``'s time ``lag_s`` (s): ``b(t) ~ a(t + lag_s)``.
    peak_z : float
        Correlation peak in robust SDs of the correlation over all lags.
    peak_ratio : float
        Peak over the largest value more than 0.5 s away.
    overlap_s : float
        Seconds of overlap at that lag.
    clear : bool
        ``peak_z >= MIN_Z`` and ``peak_ratio >= MIN_RATIO``.
    """

    lag_s: float
    peak_z: float
    peak_ratio: float
    overlap_s: float
    clear: bool


def audio_onsets(x: np.ndarray, fs: float, frame_s: float = FRAME_S) -> np.ndarray:
    """Onset strength of ``x`` (mono, ``fs`` Hz) per frame of ``frame_s`` s: the rectified rise
    of band-limited frame energy in dB, standardised (mean 0, SD 1; zeros if silent)."""
    x = np.asarray(x, float)
    nyq = fs / 2
    hi = min(BAND_HZ[1], 0.45 * fs)
    sos = signal.butter(4, [BAND_HZ[0] / nyq, hi / nyq], btype="bandpass", output="sos")
    y = signal.sosfiltfilt(sos, x) if x.size > 64 else x
    n = int(round(frame_s * fs))
    m = y.size // n
    if m < 3:
        return np.zeros(max(m, 0))
    e = np.mean(y[: m * n].reshape(m, n) ** 2, axis=1)
    env = np.sqrt(e)
    onset = np.maximum(np.diff(env, prepend=env[0]), 0.0)
    sd = onset.std()
    return (onset - onset.mean()) / sd if sd > 0 else np.zeros_like(onset)


def audio_align(
    a: np.ndarray, b: np.ndarray, fs: float, max_lag_s: float | None = None
) -> AudioAlignment:
    """Find where ``b`` lies in ``a`` (both mono at ``fs`` Hz; either may be the longer).

    Parameters
    ----------
    a, b : ndarray
        The reference (the session's audio) and the other recording (the video's).
    fs : float
        Sample rate of both (Hz).
    max_lag_s : float, optional
        Search only lags within ±``max_lag_s`` s (default: every lag with any overlap).

    Returns
    -------
    AudioAlignment
    """
    oa, ob = audio_onsets(a, fs), audio_onsets(b, fs)
    if oa.size < 10 or ob.size < 10 or not oa.any() or not ob.any():
        return AudioAlignment(float("nan"), 0.0, 0.0, 0.0, False)
    # full cross-correlation c[k] = sum_m ob[m] * oa[m + lag], lag = k - (ob.size - 1)
    c = signal.fftconvolve(oa, ob[::-1], mode="full")
    lags = np.arange(c.size) - (ob.size - 1)
    overlap = np.minimum(oa.size, lags + ob.size) - np.maximum(0, lags)
    # at least a quarter of the shorter one, or 30 s
    ok = overlap >= min(min(oa.size, ob.size) * 0.25, MIN_OVERLAP_S / FRAME_S)
    if max_lag_s is not None:
        ok &= np.abs(lags) * FRAME_S <= max_lag_s
    if not ok.any():
        return AudioAlignment(float("nan"), 0.0, 0.0, 0.0, False)
    c = np.where(ok, c / np.sqrt(np.maximum(overlap, 1)), np.nan)
    k = int(np.nanargmax(c))
    vals = c[ok]
    med = np.median(vals)
    mad = np.median(np.abs(vals - med)) * 1.4826
    z = float((c[k] - med) / mad) if mad > 0 else 0.0
    far = ok & (np.abs(lags - lags[k]) * FRAME_S > RIVAL_EXCLUDE_S)
    rival = float(np.nanmax(c[far])) if far.any() else float("nan")
    ratio = (
        float((c[k] - med) / (rival - med)) if np.isfinite(rival) and rival > med else float("inf")
    )
    frac = 0.0
    if 0 < k < c.size - 1 and np.isfinite(c[k - 1]) and np.isfinite(c[k + 1]):
        den = c[k - 1] - 2 * c[k] + c[k + 1]
        if den < 0:
            frac = float(np.clip(0.5 * (c[k - 1] - c[k + 1]) / den, -0.5, 0.5))
    lag_s = (lags[k] + frac) * FRAME_S
    clear = bool(z >= MIN_Z and ratio >= MIN_RATIO)
    return AudioAlignment(float(lag_s), z, ratio, float(overlap[k] * FRAME_S), clear)
