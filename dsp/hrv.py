"""Interbeat-interval artifact correction and heart-rate variability.

Units: IBIs in ms, frequencies in Hz, powers in ms^2, HR in bpm. An IBI series is a 1-D array
``ibi_ms[i] = t[i+1] - t[i]`` of successive beats; NaN entries mark intervals that cross a gap
in the recording (they split the series into independent runs and are never interpolated
over).

Artifact correction follows Lipponen & Tarvainen (2019), "A robust algorithm for heart rate
variability time series artefact correction using novel beat classification", J. Med. Eng.
Technol. 43(3):173-181, the method behind Kubios' automatic correction:

* ``dRR[n] = RR[n] - RR[n-1]``; ``Th1[n] = alpha * QD(|dRR|)`` over the 91 beats centred on
  ``n`` (QD = quartile deviation, (Q3 - Q1) / 2, of the *absolute* values as in NeuroKit2's
  ``signal_fixpeaks(method="kubios")`` and systole's ``rr_artefacts``), ``alpha = 5.2``;
  ``dRRs = dRR / Th1``.
* ``mRR[n] = RR[n] - median11(RR)[n]`` (11-beat median), negative values doubled;
  ``Th2 = alpha * QD(|mRR|)`` over 91 beats; ``mRRs = mRR / Th2``.
* Ectopic: ``|dRRs[n]| > 1`` and the point ``(S11, S12) = (dRRs[n], max (if dRRs[n] > 0,
  else min) of dRRs[n-1], dRRs[n+1])`` lies in the ectopic region ``S12 < -c1*S11 - c2`` (for S11 > 1) or
  ``S12 > -c1*S11 + c2`` (for S11 < -1), ``c1 = 0.13``, ``c2 = 0.17``.
* Otherwise, if ``|dRRs[n]| > 1`` or ``|mRRs[n]| > 3`` (the next beat is examined as well when
  its ``|dRRs|`` is larger than the one after), using ``S22 = min (if dRRs[n] >= 0, else max) of dRRs[n+1], dRRs[n+2]``:
  long (``dRRs > 1`` and ``S22 < -1``), short (``dRRs < -1`` and ``S22 > 1``) or ``|mRRs| > 3``;
  a short interval with ``|RR[n] + RR[n+1] - median| < Th2`` is an *extra* beat, a long one
  with ``|RR[n] / 2 - median| < Th2`` a *missed* beat, anything else *long/short*.

Correction: extra beats are deleted (the two intervals merged), missed beats inserted (the
interval split into ``round(RR / median)`` equal parts), and ectopic and long/short intervals
replaced by linear interpolation between the nearest clean neighbours; for a run of ectopic
intervals the interpolated values are rescaled so that the run keeps its total duration (the
beats around an ectopic beat are real, only the beat inside is misplaced), which keeps beat
times aligned with the recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import interpolate, signal, sparse
from scipy.linalg import solveh_banded
from scipy.sparse import linalg as splinalg

from dsp.filters import true_runs

__all__ = [
    "ARTIFACT_CLASSES",
    "IbiCorrection",
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

ARTIFACT_CLASSES = ("ectopic", "missed", "extra", "longshort")


# --------------------------------------------------------------------------- correction


@dataclass(frozen=True)
class IbiCorrection:
    """Result of :func:`ibi_correct`.

    Attributes
    ----------
    ibi_ms : ndarray
        Corrected IBIs (ms). Length differs from the input by inserted/deleted beats.
    ectopic, missed, extra, longshort : ndarray of int
        Indices into the *input* IBI series of each artifact class (an extra beat is reported
        at the first of the two merged intervals).
    n_input : int
        Number of input IBIs.
    """

    ibi_ms: np.ndarray
    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    longshort: np.ndarray
    n_input: int

    @property
    def counts(self) -> dict[str, int]:
        """Number of artifacts per class."""
        return {k: int(getattr(self, k).size) for k in ARTIFACT_CLASSES}

    @property
    def n_artifacts(self) -> int:
        """Total number of flagged intervals."""
        return sum(self.counts.values())


def _quantile_index(n: int, win: int, qs: tuple[float, ...]) -> tuple:
    """Index arrays of :func:`_rolling_quantiles`, cached for live-sized series only."""
    return _quantile_index_cached(n, win, qs) if n <= 1024 else _quantile_index_new(n, win, qs)


def _quantile_index_new(n: int, win: int, qs: tuple[float, ...]) -> tuple:
    """Flat indices into the sorted windows ``(n, win)`` and interpolation weights per q."""
    h = win // 2
    idx = np.arange(n)
    last = np.minimum(idx + h + 1, win) - np.maximum(idx - n + h + 1, 0) - 1
    out = []
    for q in qs:
        pos = q * last
        lo = pos.astype(int)
        hi = np.minimum(lo + 1, last)
        arrs = (idx * win + lo, idx * win + hi, pos - lo)
        for a in arrs:
            a.setflags(write=False)  # shared between calls
        out.append(arrs)
    # gather index of the padded windows (window i = padded[i : i + win]), live sizes only
    win_idx = None
    if n <= 1024:
        win_idx = idx[:, None] + np.arange(win)[None, :]
        win_idx.setflags(write=False)
    return win_idx, tuple(out)


_quantile_index_cached = lru_cache(maxsize=64)(_quantile_index_new)


def _rolling_quantiles(x: np.ndarray, win: int, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Centred rolling quantiles (linear interpolation); the window shrinks at the edges.

    ``x`` may be 2-D (rows are independent series, windows run along the last axis).
    """
    x2 = np.atleast_2d(x)
    r, n = x2.shape
    h = win // 2
    xp = np.full((r, n + 2 * h), np.nan)
    xp[:, h : h + n] = x2
    win_idx, q_idx = _quantile_index(n, win, tuple(qs))
    if win_idx is not None:  # short series (live): one gather, sorted in place
        srt = xp.take(win_idx, axis=1)  # (r, n, win) C-contiguous copy of the windows
        srt.sort(axis=2)  # NaN padding sorts last
    else:  # long series (offline): sort a strided view of the windows
        srt = np.sort(sliding_window_view(xp, win, axis=1)[:, :n], axis=2)
    srt = srt.reshape(r, n * win)
    out = []
    for i_lo, i_hi, frac in q_idx:
        v_lo, v_hi = srt[:, i_lo], srt[:, i_hi]
        v = v_lo + frac * (v_hi - v_lo)
        out.append(v if x.ndim == 2 else v[0])
    return out


def _rolling_qd(x: np.ndarray, win: int) -> np.ndarray:
    """Centred rolling quartile deviation ``(Q3 - Q1) / 2``."""
    q1, q3 = _rolling_quantiles(x, win, (0.25, 0.75))
    return (q3 - q1) / 2.0


def _classify(
    rr: np.ndarray, alpha: float, c1: float, c2: float, win_th: int, win_med: int
) -> tuple[dict[str, list[int]], np.ndarray, np.ndarray]:
    n = rr.size
    drr = np.empty(n)  # np.diff(rr, prepend=rr[0])
    drr[0] = 0.0
    np.subtract(rr[1:], rr[:-1], out=drr[1:])
    medrr = _rolling_quantiles(rr, win_med, (0.5,))[0]
    mrr = rr - medrr
    mrr = np.where(mrr < 0, 2.0 * mrr, mrr)
    # thresholds from the quartile deviation of the *absolute* values, as in Lipponen &
    # Tarvainen's reference code, NeuroKit2 (kubios) and systole (one sort for both)
    th1, th2 = alpha * _rolling_qd(np.abs(np.stack([drr, mrr])), win_th)
    drrs = np.zeros(n)  # np.where(th1 > 0, drr / th1, 0.0) without dividing by zero
    np.divide(drr, th1, out=drrs, where=th1 > 0)
    mrrs = np.zeros(n)
    np.divide(mrr, th2, out=mrrs, where=th2 > 0)
    out: dict[str, list[int]] = {k: [] for k in ARTIFACT_CLASSES}
    cand_i = np.flatnonzero((np.abs(drrs) > 1) | (np.abs(mrrs) > 3))
    if cand_i.size == 0:  # the usual case: S12/S22 are only needed for candidates
        return out, medrr, th2
    pad = np.concatenate([[0.0], drrs, [0.0, 0.0]])  # pad[i+1] == drrs[i]
    prev_, next_, next2 = pad[0:n], pad[2 : n + 2], pad[3 : n + 3]
    s12 = np.where(drrs > 0, np.maximum(prev_, next_), np.minimum(prev_, next_))
    s22 = np.where(drrs >= 0, np.minimum(next_, next2), np.maximum(next_, next2))
    taken = np.zeros(n, dtype=bool)
    # python scalars: the loop only visits the (few) candidate beats
    d_l, s12_l, s22_l = drrs.tolist(), s12.tolist(), s22.tolist()
    m_l, mr_l, rr_l, med_l, th2_l = (
        mrrs.tolist(),
        mrr.tolist(),
        rr.tolist(),
        medrr.tolist(),
        th2.tolist(),
    )
    for i in cand_i.tolist():
        if taken[i]:
            continue
        s11 = d_l[i]
        if (s11 > 1 and s12_l[i] < -c1 * s11 - c2) or (s11 < -1 and s12_l[i] > -c1 * s11 + c2):
            out["ectopic"].append(i)
            taken[i] = True
            continue
        cands = [i]
        if i + 2 < n and abs(d_l[i + 1]) < abs(d_l[i + 2]):
            cands.append(i + 1)
        for j in cands:
            if taken[j]:
                continue
            long_ = d_l[j] > 1 and s22_l[j] < -1
            short = d_l[j] < -1 and s22_l[j] > 1
            big_m = abs(m_l[j]) > 3
            if not (long_ or short or big_m):
                continue
            if (short or (big_m and mr_l[j] < 0)) and j + 1 < n:
                if abs(rr_l[j] + rr_l[j + 1] - med_l[j]) < th2_l[j]:
                    out["extra"].append(j)  # j + 1 is examined on its own (as NK2, systole)
                    taken[j] = True
                    continue
            if (long_ or (big_m and mr_l[j] > 0)) and abs(rr_l[j] / 2.0 - med_l[j]) < th2_l[j]:
                out["missed"].append(j)
                taken[j] = True
                continue
            out["longshort"].append(j)
            taken[j] = True
    return out, medrr, th2


def _correct_run(rr: np.ndarray, flags: dict[str, list[int]], medrr: np.ndarray) -> np.ndarray:
    n = rr.size
    if not any(flags.values()):
        return rr.copy()
    # an ectopic beat misplaces the beat shared by two intervals: flag both
    ect = np.zeros(n, dtype=bool)
    for i in flags["ectopic"]:
        ect[i] = True
        j = i - 1 if rr[i] >= medrr[i] else i + 1
        if 0 <= j < n:
            ect[j] = True
    bad = ect.copy()
    bad[flags["longshort"]] = True
    fixed = rr.copy()
    good = np.flatnonzero(~bad)
    if good.size >= 2 and bad.any():
        idx = np.flatnonzero(bad)
        fixed[idx] = np.interp(idx, good, rr[good])
        # keep the duration of ectopic runs
        for a, b in true_runs(ect):
            s = fixed[a:b].sum()
            if s > 0:
                fixed[a:b] *= rr[a:b].sum() / s
    elif bad.any():
        fixed[bad] = np.nan
    missed = set(flags["missed"])
    extra = set(flags["extra"])
    out: list[float] = []
    i = 0
    while i < n:
        if i in extra and i + 1 < n:
            out.append(rr[i] + rr[i + 1])
            i += 2
            continue
        if i in missed:
            k = max(2, int(round(rr[i] / medrr[i]))) if medrr[i] > 0 else 2
            out.extend([rr[i] / k] * k)
            i += 1
            continue
        out.append(fixed[i])
        i += 1
    return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class IbiFlags:
    """Artifact classes of one unbroken IBI run (see :func:`ibi_classify`).

    Attributes
    ----------
    ectopic, missed, extra, longshort : ndarray of int
        Indices into the run of each class (an extra beat at the first of the two short
        intervals it splits; an ectopic beat usually flags both intervals around it).
    median_ms : ndarray
        The 11-beat centred median of the run (ms), used to split missed intervals.
    """

    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    longshort: np.ndarray
    median_ms: np.ndarray


def ibi_classify(
    rr_ms: np.ndarray,
    alpha: float = 5.2,
    c1: float = 0.13,
    c2: float = 0.17,
    window_beats: int = 91,
    median_beats: int = 11,
) -> IbiFlags:
    """Lipponen & Tarvainen (2019) classification of one unbroken run of IBIs (ms).

    Parameters are those of :func:`ibi_correct`. Runs shorter than 4 intervals get no flags.

    Raises
    ------
    ValueError
        If the run is not 1-D or holds non-finite or non-positive values.
    """
    rr = np.asarray(rr_ms, dtype=float)
    if rr.ndim != 1 or not np.all(np.isfinite(rr)) or np.any(rr <= 0):
        raise ValueError("an IBI run must be 1-D, finite and positive (ms)")
    none = np.zeros(0, dtype=int)
    if rr.size < 4:
        return IbiFlags(none, none, none, none, rr.copy())
    flags, medrr, _ = _classify(rr, alpha, c1, c2, window_beats, median_beats)
    arr = {k: np.asarray(sorted(v), dtype=int) for k, v in flags.items()}
    return IbiFlags(arr["ectopic"], arr["missed"], arr["extra"], arr["longshort"], medrr)


def ibi_correct(
    ibi_ms: np.ndarray,
    alpha: float = 5.2,
    c1: float = 0.13,
    c2: float = 0.17,
    window_beats: int = 91,
    median_beats: int = 11,
) -> IbiCorrection:
    """Detect and correct IBI artifacts (Lipponen & Tarvainen 2019; see module docstring).

    Parameters
    ----------
    ibi_ms : ndarray
        Interbeat intervals in ms; NaN entries split the series into runs processed
        independently (and are kept, as NaN, in the output).
    alpha : float
        Threshold multiplier of the quartile deviation.
    c1, c2 : float
        Ectopic-region boundary constants.
    window_beats : int
        Length of the centred window (beats) for the quartile-deviation thresholds.
    median_beats : int
        Length of the centred median filter (beats) for ``mRR``.

    Returns
    -------
    IbiCorrection
        Corrected IBIs and the input indices of each artifact class. Runs shorter than 4
        intervals are passed through unchanged.

    Raises
    ------
    ValueError
        If the input is not 1-D or contains non-positive finite values.
    """
    x = np.asarray(ibi_ms, dtype=float)
    if x.ndim != 1:
        raise ValueError("ibi_ms must be 1-D")
    finite = np.isfinite(x)
    all_finite = bool(finite.all())
    if np.any((x if all_finite else x[finite]) <= 0):
        raise ValueError("IBIs must be positive (ms)")
    flags_all: dict[str, list[int]] = {k: [] for k in ARTIFACT_CLASSES}
    pieces: list[np.ndarray] = []
    pos = 0
    for a, b in true_runs(finite):
        if a > pos:
            pieces.append(np.full(a - pos, np.nan))
        rr = x[a:b]
        if rr.size >= 4:
            flags, medrr, _ = _classify(rr, alpha, c1, c2, window_beats, median_beats)
            pieces.append(_correct_run(rr, flags, medrr))
            for k in ARTIFACT_CLASSES:
                flags_all[k].extend(int(i) + int(a) for i in flags[k])
        else:
            pieces.append(rr.copy())
        pos = b
    if pos < x.size:
        pieces.append(np.full(x.size - pos, np.nan))
    out = np.concatenate(pieces) if pieces else np.zeros(0)
    return IbiCorrection(
        ibi_ms=out,
        ectopic=np.asarray(sorted(flags_all["ectopic"]), dtype=int),
        missed=np.asarray(sorted(flags_all["missed"]), dtype=int),
        extra=np.asarray(sorted(flags_all["extra"]), dtype=int),
        longshort=np.asarray(sorted(flags_all["longshort"]), dtype=int),
        n_input=int(x.size),
    )


# --------------------------------------------------------------------------- time domain


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
    return tt, interpolate.CubicSpline(t, x)(tt)


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


def _band(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    m = (f >= lo) & (f <= hi)
    if m.sum() < 2:
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
    f, p = signal.welch(
        z, fs=rate, window="hann", nperseg=nper, noverlap=nper // 2, nfft=nfft, detrend=False
    )
    return f, p, dur


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
        m = (f >= lo) & (f <= hi)
        return float(f[m][np.argmax(p[m])]) if m.any() else nan

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
    z = signal.detrend(z, type="linear")
    nfft = max(1024, 1 << int(np.ceil(np.log2(z.size))))
    f, p = signal.periodogram(z, fs=rate_hz, window="hann", nfft=nfft, detrend=False)
    m = (f >= peak_band[0]) & (f <= peak_band[1])
    fpk = float(f[m][np.argmax(p[m])])
    peak = _band(f, p, fpk - peak_halfwidth_hz, fpk + peak_halfwidth_hz)
    total = _band(f, p, *total_band)
    mb = (f >= breathing_band[0]) & (f <= breathing_band[1])
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
