"""Heart-rate variability: time domain, frequency domain and the coherence ratio.

Units: IBIs in ms, frequencies in Hz, powers in ms^2, HR in bpm. An IBI series is a 1-D array
``ibi_ms[i] = t[i+1] - t[i]`` of successive beats; NaN entries mark intervals that cross a gap
in the recording (they split the series into independent runs and are never interpolated
over). Artifact classification (Lipponen & Tarvainen 2019, :mod:`dsp.ibi_artifacts`) and
correction (:mod:`dsp.beats`) are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft
from scipy import interpolate, signal, sparse
from scipy.linalg import lstsq, solve_banded, solveh_banded
from scipy.sparse import linalg as splinalg

from dsp.beats import ibi_correct
from dsp.ibi_artifacts import (
    ARTIFACT_CLASSES,
    IbiCorrection,
    IbiFlags,
    ibi_classify,
)

__all__ = [
    "ARTIFACT_CLASSES",
    "IbiCorrection",
    "IbiFlags",
    "HrvTime",
    "HrvFrequency",
    "Coherence",
    "ibi_classify",
    "ibi_correct",
    "hrv_time",
    "hrv_frequency",
    "coherence_ratio",
    "smoothness_priors_detrend",
]


@dataclass(frozen=True)
class HrvTime:
    """Time-domain HRV of one IBI series (see :func:`hrv_time`).

    All values NaN and ``valid`` False when there are fewer than ``min_ibi`` intervals.
    """

    mean_hr_bpm: float
    mean_nn_ms: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float
    pnn50_pct: float
    sd1_ms: float
    sd2_ms: float
    n_ibi: int
    valid: bool


def _var1(x: np.ndarray) -> float:
    """``np.var(x, ddof=1)`` of a 1-D float array with ``x.size >= 2`` (same arithmetic)."""
    dev = x - x.sum() / x.size
    return float(np.square(dev).sum() / (x.size - 1))


def _succ_diffs(x: np.ndarray) -> np.ndarray:
    d = np.diff(x)
    return d[np.isfinite(d)]


def hrv_time(ibi_ms: np.ndarray, min_ibi: int = 3) -> HrvTime:
    """Time-domain HRV of (corrected) IBIs.

    Parameters
    ----------
    ibi_ms : ndarray
        IBIs in ms; NaN entries (gaps) are left out, and successive differences are only
        taken between adjacent finite IBIs.
    min_ibi : int
        Minimum number of finite IBIs (and of successive differences - 1) for a valid result.

    Returns
    -------
    HrvTime
        ``mean_nn_ms`` mean IBI; ``mean_hr_bpm = 60000 / mean_nn_ms`` (HR of the mean interval,
        as the simulator truth and neurokit2's ``HRV_MeanNN``-based rate; Kubios' "mean HR" is
        the mean of ``60000 / IBI``, which is slightly higher); ``sdnn_ms`` (ddof=1);
        ``rmssd_ms = sqrt(mean(diff**2))``; ``ln_rmssd = ln(rmssd_ms)``; ``pnn50_pct``
        percentage of ``|diff| > 50 ms``; Poincare ``sd1_ms = sqrt(var(diff) / 2)`` and
        ``sd2_ms = sqrt(2 * SDNN**2 - var(diff) / 2)`` (closed form, ddof=1).
    """
    x = np.asarray(ibi_ms, dtype=float).ravel()
    nn = x[np.isfinite(x)]
    d = _succ_diffs(x)
    if nn.size < max(min_ibi, 2) or d.size < max(min_ibi - 1, 2):
        nan = float("nan")
        return HrvTime(nan, nan, nan, nan, nan, nan, nan, nan, int(nn.size), False)
    # np.mean / np.std / np.var arithmetic, without their wrappers (called every live tick)
    mean_nn = float(nn.sum() / nn.size)
    sdnn = math.sqrt(_var1(nn))
    rmssd = math.sqrt(float(np.square(d).sum() / d.size))
    var_d = _var1(d)
    sd1 = float(np.sqrt(var_d / 2.0))
    sd2 = float(np.sqrt(max(2.0 * sdnn**2 - var_d / 2.0, 0.0)))
    return HrvTime(
        mean_hr_bpm=60000.0 / mean_nn,
        mean_nn_ms=mean_nn,
        sdnn_ms=sdnn,
        rmssd_ms=rmssd,
        ln_rmssd=float(np.log(rmssd)) if rmssd > 0 else float("nan"),
        pnn50_pct=float(100.0 * (np.count_nonzero(np.abs(d) > 50.0) / d.size)),
        sd1_ms=sd1,
        sd2_ms=sd2,
        n_ibi=int(nn.size),
        valid=True,
    )


# --------------------------------------------------------------------------- frequency domain


def smoothness_priors_detrend(z: np.ndarray, lam: float = 500.0) -> np.ndarray:
    """Smoothness-priors detrending (Tarvainen et al. 2002): ``z - (I + lam^2 D2'D2)^-1 z``.

    With ``lam = 500`` on a 4 Hz series the trend cut-off is ~0.03 Hz.
    """
    z = np.asarray(z, dtype=float)
    n = z.size
    if n < 3:
        return z - np.mean(z) if n else z
    if n < 6:
        d2 = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n), format="csc")
        a = sparse.identity(n, format="csc") + lam**2 * (d2.T @ d2)
        return z - splinalg.spsolve(a.tocsc(), z)
    # I + lam^2 D2'D2 is symmetric positive definite and pentadiagonal: banded Cholesky
    lam2 = lam * lam
    diag = np.full(n, 6.0)
    diag[[0, -1]] = 1.0
    diag[[1, -2]] = 5.0
    off1 = np.full(n - 1, -4.0)
    off1[[0, -1]] = -2.0
    ab = np.zeros((3, n))
    ab[0, 2:] = lam2  # second super-diagonal (all ones times lam^2)
    ab[1, 1:] = lam2 * off1
    ab[2] = 1.0 + lam2 * diag
    return z - solveh_banded(ab, z)


def _resample_ibi(x: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Cubic-spline resampling of the IBI series (valued at each interval's closing beat)."""
    t = np.cumsum(x) / 1000.0
    tt = np.arange(t[0], t[-1], 1.0 / rate)
    if x.size < 4:
        return tt, np.interp(tt, t, x)
    return tt, _not_a_knot(t, x, tt)


def _not_a_knot(t: np.ndarray, x: np.ndarray, tt: np.ndarray) -> np.ndarray:
    """``scipy.interpolate.CubicSpline(t, x)(tt)`` (not-a-knot ends, 1-D, ``t.size >= 4``).

    The same banded system, solver call, Hermite coefficients and piecewise-polynomial
    evaluation as scipy, so the same values, without its input preparation, which costs
    more than the work on a live 2-min window (~150 beats). Inputs it would reject go to
    scipy (which raises)."""
    dx = np.diff(t)
    if not (np.all(dx > 0) and np.all(np.isfinite(t)) and np.all(np.isfinite(x))):
        return interpolate.CubicSpline(t, x)(tt)
    n = t.size
    slope = np.diff(x, axis=0) / dx
    a = np.zeros((3, n))  # banded: upper, main, lower diagonal
    b = np.empty((n,), dtype=x.dtype)
    a[1, 1:-1] = 2 * (dx[:-1] + dx[1:])
    a[0, 2:] = dx[:-1]
    a[-1, :-2] = dx[1:]
    b[1:-1] = 3 * (dx[1:] * slope[:-1] + dx[:-1] * slope[1:])
    a[1, 0] = dx[1]
    a[0, 1] = t[2] - t[0]
    d = t[2] - t[0]
    b[0] = ((dx[0] + 2 * d) * dx[1] * slope[0] + dx[0] ** 2 * slope[1]) / d
    a[1, -1] = dx[-2]
    a[-1, -2] = t[-1] - t[-3]
    d = t[-1] - t[-3]
    b[-1] = (dx[-1] ** 2 * slope[-2] + (2 * d + dx[-1]) * dx[-2] * slope[-1]) / d
    s = solve_banded(
        (1, 1), a, b.reshape(n, -1), overwrite_ab=True, overwrite_b=True, check_finite=False
    ).reshape(b.shape)
    # scipy.interpolate.CubicHermiteSpline's coefficients
    slope = np.diff(x, axis=0) / dx
    q = (s[:-1] + s[1:] - 2 * slope) / dx
    c = np.stack((q / dx, (slope - s[:-1]) / dx - q, s[:-1], x[:-1]))
    return interpolate.PPoly.construct_fast(c, t, extrapolate=True)(tt)


@dataclass(frozen=True)
class HrvFrequency:
    """Frequency-domain HRV (see :func:`hrv_frequency`); powers in ms^2, NaN when invalid."""

    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    total_ms2: float
    lf_hf: float
    lfnu: float
    hfnu: float
    lf_peak_hz: float
    hf_peak_hz: float
    duration_s: float
    valid: bool


def _detrend_linear(z: np.ndarray) -> np.ndarray:
    """``scipy.signal.detrend(z, type='linear')`` of a 1-D series: the same least-squares
    call on the same design matrix (so the same values), without its general set-up."""
    n = z.size
    a = np.ones((n, 2), "d")
    a[:, 0] = np.arange(1, n + 1, dtype="d") / n
    y = z.reshape(n, 1).astype("d", copy=True)
    coef = lstsq(a, y)[0]
    return (y - a @ coef).reshape(z.shape)


def _span(f: np.ndarray, lo: float, hi: float) -> slice:
    """The samples of the increasing frequency axis ``f`` with ``lo <= f <= hi`` (the mask
    ``(f >= lo) & (f <= hi)`` as a slice)."""
    a = int(f.searchsorted(lo, side="left"))
    return slice(a, max(a, int(f.searchsorted(hi, side="right"))))


def _band(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    m = _span(f, lo, hi)
    if m.stop - m.start < 2:
        return 0.0
    return float(np.trapezoid(p[m], f[m]))


def _psd(
    x: np.ndarray, rate: float, lam: float | None, segment_s: float
) -> tuple[np.ndarray, np.ndarray, float]:
    _, z = _resample_ibi(x, rate)
    dur = z.size / rate
    z = smoothness_priors_detrend(z, lam) if lam else z - np.mean(z)
    nper = int(min(z.size, round(segment_s * rate)))
    nfft = max(2048, 1 << int(np.ceil(np.log2(max(nper, 2)))))
    f, p = _welch_hann(z, rate, nper, nper // 2, nfft)
    return f, p, dur


@lru_cache(maxsize=32)
def _hann(n: int) -> tuple[np.ndarray, float]:
    """The periodic Hann window of ``n`` points (``scipy.signal.get_window('hann', n)``) and
    the sum of its squares."""
    w = signal.get_window("hann", n)
    w.setflags(write=False)
    return w, float((w * w).sum())


def _welch_hann(
    z: np.ndarray, rate: float, nper: int, noverlap: int, nfft: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD by Welch's method with a periodic Hann window, no detrending, mean of
    the segments: the definition of ``scipy.signal.welch(z, fs=rate, window='hann',
    nperseg=nper, noverlap=noverlap, nfft=nfft, detrend=False)`` (density scaling; equal to
    it to rounding), without its general-purpose set-up, which costs more than the FFT on a
    live 2-min window. ``nper == z.size`` and ``noverlap = 0`` is the periodogram."""
    win, ss = _hann(nper)
    step = nper - noverlap
    n_seg = (z.size - noverlap) // step
    segs = np.lib.stride_tricks.sliding_window_view(z, nper)[: (n_seg - 1) * step + 1 : step]
    spec = sp_fft.rfft(segs * win, n=nfft, axis=-1)
    p = (spec.real * spec.real + spec.imag * spec.imag) * (1.0 / (rate * ss))
    p[:, 1 : -1 if nfft % 2 == 0 else None] *= 2.0
    return sp_fft.rfftfreq(nfft, 1.0 / rate), p.mean(axis=0) if n_seg > 1 else p[0]


def hrv_frequency(
    ibi_ms: np.ndarray,
    rate_hz: float = 4.0,
    detrend_lambda: float | None = 500.0,
    segment_s: float = 256.0,
    min_duration_s: float = 60.0,
    bands: tuple[float, float, float, float] = (0.0033, 0.04, 0.15, 0.4),
) -> HrvFrequency:
    """Spectral HRV with Kubios-like defaults.

    Parameters
    ----------
    ibi_ms : ndarray
        Corrected IBIs (ms) of one contiguous stretch; NaN entries are rejected (``valid``
        False) because a spectrum needs an unbroken series.
    rate_hz : float
        Cubic-spline resampling rate of the IBI series (Hz).
    detrend_lambda : float or None
        Smoothness-priors regularisation (``None``: mean removal only).
    segment_s : float
        Welch segment length (s; Hann window, 50 % overlap); series shorter than this use
        one segment of their own length.
    min_duration_s : float
        Shortest series (s) for a valid result (LF needs >= 2 min for stable estimates; 60 s
        is accepted and flagged by ``duration_s``).
    bands : tuple
        VLF lower edge, VLF/LF, LF/HF and HF upper edges (Hz).

    Returns
    -------
    HrvFrequency
        ``vlf_ms2``, ``lf_ms2``, ``hf_ms2``, ``total_ms2`` (VLF+LF+HF), ``lf_hf``,
        ``lfnu``/``hfnu`` (100 * LF / (LF + HF) and likewise), band peak frequencies.
    """
    x = np.asarray(ibi_ms, dtype=float).ravel()
    nan = float("nan")
    invalid = HrvFrequency(nan, nan, nan, nan, nan, nan, nan, nan, nan, 0.0, False)
    if x.size < 8 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        return invalid
    dur = float(np.sum(x[1:]) / 1000.0)
    if dur < min_duration_s:
        return HrvFrequency(nan, nan, nan, nan, nan, nan, nan, nan, nan, dur, False)
    f, p, _ = _psd(x, rate_hz, detrend_lambda, segment_s)
    b0, b1, b2, b3 = bands
    vlf, lf, hf = _band(f, p, b0, b1), _band(f, p, b1, b2), _band(f, p, b2, b3)

    def peak(lo: float, hi: float) -> float:
        m = _span(f, lo, hi)
        return float(f[m][np.argmax(p[m])]) if m.stop > m.start else nan

    s = lf + hf
    return HrvFrequency(
        vlf_ms2=vlf,
        lf_ms2=lf,
        hf_ms2=hf,
        total_ms2=vlf + lf + hf,
        lf_hf=lf / hf if hf > 0 else nan,
        lfnu=100.0 * lf / s if s > 0 else nan,
        hfnu=100.0 * hf / s if s > 0 else nan,
        lf_peak_hz=peak(b1, b2),
        hf_peak_hz=peak(b2, b3),
        duration_s=dur,
        valid=True,
    )


# --------------------------------------------------------------------------- coherence


@dataclass(frozen=True)
class Coherence:
    """HeartMath-style coherence ratio (see :func:`coherence_ratio`); NaN when invalid."""

    ratio: float
    peak_hz: float
    peak_ms2: float
    total_ms2: float
    breathing_hz: float
    duration_s: float
    valid: bool


def coherence_ratio(
    ibi_ms: np.ndarray,
    window_s: float = 64.0,
    rate_hz: float = 4.0,
    peak_band: tuple[float, float] = (0.04, 0.26),
    peak_halfwidth_hz: float = 0.015,
    total_band: tuple[float, float] = (0.0033, 0.4),
    breathing_band: tuple[float, float] = (0.05, 0.4),
    min_fraction: float = 0.9,
) -> Coherence:
    """Coherence ratio of the last ``window_s`` seconds of IBIs (HeartMath-style recipe).

    Fixed recipe (this is *not* the proprietary emWave/Inner Balance score):

    1. keep the most recent IBIs spanning ``window_s`` (64 s) seconds;
    2. cubic-spline resample at ``rate_hz`` (4 Hz), remove the linear trend;
    3. Hann-windowed periodogram (zero-padded to >= 1024 points), PSD in ms^2/Hz;
    4. peak frequency = argmax of the PSD in ``peak_band`` (0.04-0.26 Hz);
    5. peak power = integral of the PSD over peak +- ``peak_halfwidth_hz`` (0.030 Hz wide);
    6. total power = integral over ``total_band`` (0.0033-0.4 Hz);
    7. ``CR = (peak / (total - peak))**2``.

    ``breathing_hz`` is the frequency of the largest PSD value in ``breathing_band``
    (0.05-0.4 Hz, 3-24 breaths/min): the respiratory sinus arrhythmia frequency, used by the
    paced-breathing pacer.

    Parameters
    ----------
    ibi_ms : ndarray
        IBIs in ms, oldest first; must be finite (one contiguous stretch).
    min_fraction : float
        The kept IBIs must span at least this fraction of ``window_s`` for a valid result.

    Returns
    -------
    Coherence
        ``ratio``, ``peak_hz``, ``peak_ms2``, ``total_ms2``, ``breathing_hz``, the span used
        (``duration_s``) and ``valid``.
    """
    x = np.asarray(ibi_ms, dtype=float).ravel()
    nan = float("nan")
    if x.size < 8 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        return Coherence(nan, nan, nan, nan, nan, 0.0, False)
    cum = np.cumsum(x[::-1]) / 1000.0
    k = int(np.searchsorted(cum, window_s)) + 1
    x = x[-min(k, x.size) :]
    dur = float(np.sum(x[1:]) / 1000.0)
    if dur < min_fraction * window_s or x.size < 8:
        return Coherence(nan, nan, nan, nan, nan, dur, False)
    _, z = _resample_ibi(x, rate_hz)
    z = _detrend_linear(z)
    nfft = max(1024, 1 << int(np.ceil(np.log2(z.size))))
    f, p = _welch_hann(z, rate_hz, z.size, 0, nfft)  # the Hann periodogram
    m = _span(f, *peak_band)
    fpk = float(f[m][np.argmax(p[m])])
    peak = _band(f, p, fpk - peak_halfwidth_hz, fpk + peak_halfwidth_hz)
    total = _band(f, p, *total_band)
    mb = _span(f, *breathing_band)
    fbr = float(f[mb][np.argmax(p[mb])])
    if not total > peak > 0:
        return Coherence(nan, fpk, peak, total, fbr, dur, False)
    return Coherence(
        ratio=float((peak / (total - peak)) ** 2),
        peak_hz=fpk,
        peak_ms2=peak,
        total_ms2=total,
        breathing_hz=fbr,
        duration_s=dur,
        valid=True,
    )
