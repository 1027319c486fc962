"""ECG R-peak detection (chest straps such as the Polar H10 at 130 Hz, lab ECG up to 1 kHz).

Same streaming two-moving-average detector as :mod:`dsp.ppg`, with Elgendi's QRS settings
(Elgendi 2010/2013 for ECG): causal band-pass 8-20 Hz, energy ``y**2``, ``MA_QRS`` 97 ms,
``MA_beat`` 611 ms, offset ``beta = 0.08``. The R peak is the maximum of the raw ECG smoothed
by a symmetric ~40 Hz FIR inside the detected QRS block (shifted back by the band-pass group
delay), after removing the straight line through the ends of that window (baseline tilt from
motion), refined by parabolic interpolation. A peak closer than 0.25 s to the previous one is
rejected. Inverted leads are handled by ``polarity``.

Time convention: positions are in samples from the first sample of ``signal``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from dsp.beat_params import BeatDetectorParams
from dsp.filters import butter_sos, check_fs, nan_segments, zero_phase_sos
from dsp.ppg import StreamingBeatDetector

__all__ = ["ECG_PARAMS", "ecg_clean", "ecg_polarity", "ecg_peaks", "StreamingBeatDetector"]

ECG_PARAMS = BeatDetectorParams(
    band_hz=(8.0, 20.0),
    order=2,
    w_peak_s=0.097,
    w_beat_s=0.611,
    beta=0.08,
    mean_tau_s=10.0,
    rectify=False,
    smooth_hz=40.0,
    smooth_len_s=0.05,
    delay_s=0.045,
    pad_s=0.05,
    refractory_s=0.25,
    detrend_window=True,
)


def ecg_clean(signal: np.ndarray, fs: float) -> np.ndarray:
    """Zero-phase band-pass 0.5-40 Hz (Butterworth order 2 per edge); NaN runs kept as NaN."""
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    out = np.full(x.shape, np.nan)
    sos = butter_sos("bandpass", (0.5, 40.0), fs, 2)
    for a, b in nan_segments(x):
        out[a:b] = zero_phase_sos(x[a:b], sos)
    return out


def ecg_polarity(signal: np.ndarray, fs: float) -> int:
    """+1 if R peaks point up, -1 if the lead is inverted (skewness of the 8-20 Hz band).

    Returns +1 when it cannot be decided (too short, constant or all-NaN input).
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    segs = [(a, b) for a, b in nan_segments(x) if b - a > int(2 * fs)]
    if not segs:
        return 1
    sos = butter_sos("bandpass", (5.0, 25.0), fs, 2)
    y = np.concatenate([zero_phase_sos(x[a:b], sos) for a, b in segs])
    if not np.std(y) > 0:
        return 1
    return 1 if stats.skew(y) >= 0 else -1


def ecg_peaks(signal: np.ndarray, fs: float, polarity: int | str = "auto") -> np.ndarray:
    """R-peak positions of an ECG signal.

    Parameters
    ----------
    signal : ndarray
        Raw ECG (any unit), uniformly sampled; NaN runs mark missing data.
    fs : float
        Sampling rate in Hz (> 0), 100 Hz or more recommended.
    polarity : {'auto', 1, -1}
        ``'auto'`` decides from the whole signal with :func:`ecg_polarity`.

    Returns
    -------
    ndarray of float
        R-peak positions in samples from the first sample, sub-sample refined. Empty when no
        beat is found.

    Raises
    ------
    ValueError
        If ``fs`` is not finite and positive, the signal is not 1-D or ``polarity`` is invalid.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError("signal must be 1-D")
    if polarity == "auto":
        polarity = ecg_polarity(x, fs)
    if polarity not in (1, -1):
        raise ValueError(f"polarity must be 'auto', 1 or -1, got {polarity!r}")
    det = StreamingBeatDetector(fs, ECG_PARAMS)
    return det.push(x * polarity)
