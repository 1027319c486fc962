"""Surrogate Synchrony (SUSY; Tschacher & Meier 2020), identical to the SUSY R package.

SUSY's lag axis is the R ``ccf`` axis (the opposite sign of :mod:`dsp.concordance.wcc`);
:class:`SUSYResult` documents it and its ``z_lead1`` always means "patient leads".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.concordance.indices import _as_samples, _pair

__all__ = ["SUSYResult", "susy", "susy_es"]


@dataclass(frozen=True)
class SUSYResult:
    """Surrogate Synchrony (SUSY R package, ``as.data.frame`` columns).

    Lag axis (``lags_s``, ascending ``-max_lag_s .. +max_lag_s``) is R ``ccf``'s: the value at
    lag ``k`` estimates ``cor(patient[t + k], clinician[t])``, so **negative lags = patient
    leads** here (opposite to :func:`wcc`). ``lead1`` = patient (s1) leads = negative lags,
    ``lead2`` = clinician (s2) leads = positive lags, as in SUSY.

    Attributes
    ----------
    z, z_pseudo : float
        Mean over lags of the real / pseudo profile of mean |Fisher z| (SUSY "Z", "Z-Pseudo").
    es : float
        ``(z - z_pseudo) / sd(pseudo profile)`` (sample SD over lags).
    z_lead1, z_lead2, es_lead1, es_lead2 : float
        Same over negative lags only (patient leads) / positive lags only (clinician leads).
    z_noabs, z_pseudo_noabs, es_noabs : float
        Signed Fisher z variants ("Z(noAbs)", "Z(Pseudo-noAbs)", "ES(noAbs)").
    sd_z, sd_z_pseudo : float
        SD over lags of the real / pseudo |z| profiles.
    pct_above_pseudo, pct_above_pseudo_noabs : float
        Percent of lags where the real profile exceeds the pseudo one ("%>Pseudo").
    z_in_phase, z_anti_phase : float
        Mean of the signed real profile over lags where it is >= 0 / < 0 (NaN if none).
    n_in_phase, n_anti_phase : int
        Number of such lags.
    n_segments : int
        Number of segments ("n(Segmente)").
    n_samples : int
        Complete sample pairs used ("n(data)").
    lags_s : numpy.ndarray
        Lag axis (s).
    profile_real, profile_pseudo, profile_real_noabs, profile_pseudo_noabs : numpy.ndarray
        Per-lag mean |z| (and signed z) of real and pseudo segment pairs.
    profile_real_r, profile_pseudo_r : numpy.ndarray
        Per-lag mean |r| of real and pseudo segment pairs.
    """

    z: float
    z_pseudo: float
    es: float
    z_lead1: float
    z_lead2: float
    es_lead1: float
    es_lead2: float
    z_noabs: float
    z_pseudo_noabs: float
    es_noabs: float
    sd_z: float
    sd_z_pseudo: float
    pct_above_pseudo: float
    pct_above_pseudo_noabs: float
    z_in_phase: float
    z_anti_phase: float
    n_in_phase: int
    n_anti_phase: int
    n_segments: int
    n_samples: int
    lags_s: np.ndarray
    profile_real: np.ndarray
    profile_pseudo: np.ndarray
    profile_real_noabs: np.ndarray
    profile_pseudo_noabs: np.ndarray
    profile_real_r: np.ndarray
    profile_pseudo_r: np.ndarray


def _sd(a: np.ndarray) -> float:
    """Sample SD (R ``sd``); NaN for fewer than 2 values or an infinite one (as R, silently:
    a window of identical stretches has Fisher z = inf)."""
    a = np.asarray(a, dtype=float)
    with np.errstate(invalid="ignore"):
        return float(np.std(a, ddof=1)) if a.size >= 2 else math.nan


def _mean(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    return float(a.mean()) if a.size else math.nan


def _segment_pair_r(
    a: np.ndarray, b: np.ndarray, n_seg: int, rng_: int, lags: np.ndarray
) -> np.ndarray:
    """R ``ccf`` of every segment pair, shaped (n_lags, n_seg, n_seg).

    ``C[j, i, h]`` is the ccf of segment ``i`` of ``a`` with segment ``h`` of ``b`` at lag
    ``lags[j]`` (samples; segment-wise demeaning, 1/n normalisation, clipped to [-1, 1]);
    NaN where a segment is constant.
    """
    A = a[: n_seg * rng_].reshape(n_seg, rng_)
    B = b[: n_seg * rng_].reshape(n_seg, rng_)
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # scaled once, not per pair
        A = A / (np.sqrt((A * A).sum(axis=1) / rng_) * rng_)[:, None]
        B = B / np.sqrt((B * B).sum(axis=1) / rng_)[:, None]
    C = np.empty((lags.size, n_seg, n_seg))
    for j, k in enumerate(lags):
        if k >= 0:
            np.matmul(A[:, k:], B[:, : rng_ - k].T, out=C[j])
        else:
            np.matmul(A[:, : rng_ + k], B[:, -k:].T, out=C[j])
    np.clip(C, -1.0, 1.0, out=C)
    return C


def _segment_pair_ccf(
    a: np.ndarray, b: np.ndarray, n_seg: int, rng_: int, lags: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_segment_pair_r` and its Fisher z, each shaped (n_lags, n_seg, n_seg)."""
    C = _segment_pair_r(a, b, n_seg, rng_, lags)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = np.arctanh(C)
    return C, Z


def _lag_profiles(C: np.ndarray, Z: np.ndarray, n_seg: int) -> tuple[np.ndarray, ...]:
    """Per-lag means over real (``i == h``) and surrogate (``i != h``) pairs.

    Returns ``(real |z|, real z, real |r|, pseudo |z|, pseudo z, pseudo |r|)``. A pair whose
    first ccf value is NaN adds nothing but still counts in the denominators (as SUSY). The
    surrogate sums are the sums over all pairs minus the real ones.
    """
    valid = ~np.isnan(C[0])  # SUSY skips a pair when its first ccf value is NaN
    out = [_real_pseudo(v, valid, n_seg) for v in (np.abs(Z), Z, np.abs(C))]
    return tuple(p[0] for p in out) + tuple(p[1] for p in out)


def _real_pseudo(v: np.ndarray, valid: np.ndarray, n_seg: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-lag mean of ``v`` over the real pairs and over the surrogate pairs (the sum over
    all pairs minus the real ones); pairs not ``valid`` (first ccf value NaN) add nothing."""
    if not valid.all():
        v = np.where(valid[None], v, 0.0)
    diag = np.einsum("jii->j", v)
    return diag / n_seg, (v.sum(axis=(1, 2)) - diag) / (n_seg * (n_seg - 1))


def _segments(
    x: np.ndarray, y: np.ndarray, fs: float, segment_s: float, max_lag_s: float
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Complete cases and segments (see :func:`susy`): ``(a, b, n_segments, segment length,
    max_lag)`` in samples."""
    x, y = _pair(x, y)
    rng_ = _as_samples(segment_s, fs, "segment_s")
    ml = _as_samples(max_lag_s, fs, "max_lag_s")
    if rng_ < 2 * ml or rng_ < 2:
        raise ValueError("segment_s must be at least 2 * max_lag_s")
    cc = ~(np.isnan(x) | np.isnan(y))
    a, b = x[cc], y[cc]
    n_seg = int(np.round(a.size / rng_ - 0.499999))
    if n_seg < 2:
        raise ValueError("SUSY needs at least 2 complete segments")
    return a, b, n_seg, rng_, ml


def _pairs(
    x: np.ndarray, y: np.ndarray, fs: float, segment_s: float, max_lag_s: float
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Complete cases, segments and every segment pair's ccf and Fisher z (see :func:`susy`):
    ``(C, Z, n_segments, n_samples, max_lag in samples)``."""
    a, b, n_seg, rng_, ml = _segments(x, y, fs, segment_s, max_lag_s)
    C, Z = _segment_pair_ccf(a, b, n_seg, rng_, np.arange(-ml, ml + 1))
    return C, Z, n_seg, int(a.size), ml


def susy_es(x: np.ndarray, y: np.ndarray, fs: float, segment_s: float, max_lag_s: float) -> float:
    """SUSY's effect size ``ES`` alone, as :func:`susy` computes it (for surrogate tests).

    The same values as :func:`susy`'s: ``|atanh(r)|`` is computed as ``atanh(|r|)`` in place
    (atanh is odd; numpy's gives bit-identical results), without the signed z and r profiles.
    """
    a, b, n_seg, rng_, ml = _segments(x, y, fs, segment_s, max_lag_s)
    C = _segment_pair_r(a, b, n_seg, rng_, np.arange(-ml, ml + 1))
    valid = ~np.isnan(C[0])  # SUSY skips a pair when its first ccf value is NaN
    np.abs(C, out=C)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.arctanh(C, out=C)
    real_z, ps_z = _real_pseudo(C, valid, n_seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float((_mean(real_z) - _mean(ps_z)) / _sd(ps_z))


def susy(x: np.ndarray, y: np.ndarray, fs: float, segment_s: float, max_lag_s: float) -> SUSYResult:
    """Surrogate Synchrony (Tschacher & Meier 2020), as the SUSY R package computes it.

    Incomplete sample pairs are removed first (R ``complete.cases``), then the series is cut
    into ``round(n / (segment_s*fs) - 0.499999)`` non-overlapping segments (tail dropped).
    For every ordered segment pair ``(i, h)`` the R ``ccf`` (segment-wise demeaning, 1/n
    normalisation, lags ``-max_lag_s*fs .. +max_lag_s*fs``; value at lag k estimates
    ``cor(x_i[t + k], y_h[t])``) is Fisher-z transformed (``atanh``, unclipped). Real pairs are
    ``i == h``; surrogates are all ``i != h``. Pairs whose ccf is NaN (a constant segment) add
    nothing but still count in the denominators, as in SUSY.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series.
    fs : float
        Rate (Hz). SUSY takes whole Hz; here ``segment_s * fs`` and ``max_lag_s * fs`` only
        need to be whole numbers of samples.
    segment_s : float
        Segment length (s); at least ``2 * max_lag_s``.
    max_lag_s : float
        Maximum lag (s).

    Returns
    -------
    SUSYResult
    """
    C, Z, n_seg, size, ml = _pairs(x, y, fs, segment_s, max_lag_s)
    lags = np.arange(-ml, ml + 1)
    real_z, real_zs, real_r, ps_z, ps_zs, ps_r = _lag_profiles(C, Z, n_seg)
    lead1 = slice(0, ml)
    lead2 = slice(ml + 1, 2 * ml + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        es = (_mean(real_z) - _mean(ps_z)) / _sd(ps_z)
        es1 = (_mean(real_z[lead1]) - _mean(ps_z[lead1])) / _sd(ps_z[lead1])
        es2 = (_mean(real_z[lead2]) - _mean(ps_z[lead2])) / _sd(ps_z[lead2])
        es_na = (_mean(real_zs) - _mean(ps_zs)) / _sd(ps_zs)
    nl = lags.size
    inph = real_zs[real_zs >= 0]
    anti = real_zs[real_zs < 0]
    return SUSYResult(
        z=_mean(real_z),
        z_pseudo=_mean(ps_z),
        es=float(es),
        z_lead1=_mean(real_z[lead1]),
        z_lead2=_mean(real_z[lead2]),
        es_lead1=float(es1),
        es_lead2=float(es2),
        z_noabs=_mean(real_zs),
        z_pseudo_noabs=_mean(ps_zs),
        es_noabs=float(es_na),
        sd_z=_sd(real_z),
        sd_z_pseudo=_sd(ps_z),
        pct_above_pseudo=100.0 * float((real_z > ps_z).sum()) / nl,
        pct_above_pseudo_noabs=100.0 * float((real_zs > ps_zs).sum()) / nl,
        z_in_phase=_mean(inph),
        z_anti_phase=_mean(anti),
        n_in_phase=int(inph.size),
        n_anti_phase=int(anti.size),
        n_segments=n_seg,
        n_samples=int(size),
        lags_s=lags / fs,
        profile_real=real_z,
        profile_pseudo=ps_z,
        profile_real_noabs=real_zs,
        profile_pseudo_noabs=ps_zs,
        profile_real_r=real_r,
        profile_pseudo_r=ps_r,
    )
