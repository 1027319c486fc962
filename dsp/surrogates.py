"""Surrogate (chance) baselines for dyadic coupling indices.

A coupling index is only meaningful against what two *unrelated* signals with the same
properties would give. Three surrogate schemes are provided, all keeping the patient's series
fixed and re-arranging the clinician's:

* circular shift by at least ``min_shift`` samples (keeps each series' autocorrelation and
  spectrum exactly; breaks the alignment);
* segment shuffle: cut into segments, permute them so that no segment stays in place
  (Moulder et al. 2018, "segment shuffling");
* role-keeping pseudo-dyads across sessions: patient of session i with the clinician of
  session j != i (:func:`pseudo_dyad_test`).

The empirical one-sided p-value is ``(1 + #(null >= observed)) / (1 + n)`` (never 0, exact
under exchangeability), the effect size ``(observed - mean(null)) / sd(null)`` and the
percentile ``100 * (#(null < obs) + 0.5 * #(null == obs)) / n``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PseudoDyadTest",
    "SurrogateTest",
    "circular_shift_indices",
    "empirical_test",
    "percentile_of",
    "percentiles_of",
    "random_shifts",
    "pseudo_dyad_test",
    "segment_shuffle_indices",
]


@dataclass(frozen=True)
class SurrogateTest:
    """Observed statistic against a surrogate null distribution.

    Attributes
    ----------
    observed : float
        Statistic of the real pairing.
    null : numpy.ndarray
        Finite statistics of the surrogates.
    p_value : float
        One-sided empirical p ``(1 + #(null >= observed)) / (1 + n)``; NaN without a finite
        observed value or null.
    effect_size : float
        ``(observed - mean(null)) / sd(null)`` (sample SD).
    percentile : float
        Percentile (0-100) of the observed value within the null.
    method : str
        Surrogate scheme ("circular", "segment", "pseudo-dyad").
    """

    observed: float
    null: np.ndarray
    p_value: float
    effect_size: float
    percentile: float
    method: str


def percentile_of(value: float, sorted_null: np.ndarray) -> float:
    """Percentile (0-100) of ``value`` within an ascending array (ties count half)."""
    n = sorted_null.size
    if n == 0 or not math.isfinite(value):
        return math.nan
    lo = np.searchsorted(sorted_null, value, side="left")
    hi = np.searchsorted(sorted_null, value, side="right")
    return float(100.0 * (lo + 0.5 * (hi - lo)) / n)


def percentiles_of(values: np.ndarray, sorted_null: np.ndarray) -> np.ndarray:
    """:func:`percentile_of` of each value (the same arithmetic, vectorised; NaN for a
    non-finite value or an empty null)."""
    values = np.asarray(values, dtype=float)
    n = sorted_null.size
    if n == 0:
        return np.full(values.shape, np.nan)
    lo = np.searchsorted(sorted_null, values, side="left")
    hi = np.searchsorted(sorted_null, values, side="right")
    return np.where(np.isfinite(values), 100.0 * (lo + 0.5 * (hi - lo)) / n, np.nan)


def empirical_test(observed: float, null: np.ndarray, method: str = "") -> SurrogateTest:
    """Empirical one-sided test of ``observed`` (greater = more coupling) against ``null``."""
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if null.size == 0 or not math.isfinite(observed):
        return SurrogateTest(float(observed), null, math.nan, math.nan, math.nan, method)
    p = (1.0 + float((null >= observed).sum())) / (1.0 + null.size)
    sd = float(np.std(null, ddof=1)) if null.size > 1 else math.nan
    es = (observed - float(null.mean())) / sd if sd and math.isfinite(sd) and sd > 0 else math.nan
    return SurrogateTest(
        float(observed), null, p, es, percentile_of(observed, np.sort(null)), method
    )


def random_shifts(
    n: int, n_surrogates: int, min_shift: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_surrogates`` circular shifts uniform in ``[min_shift, n - min_shift]`` samples.

    Drawn without replacement while enough distinct shifts exist, with replacement otherwise.
    """
    if n < 2 * min_shift + 1:
        raise ValueError(f"series of {n} values too short for circular shifts >= {min_shift}")
    choices = np.arange(min_shift, n - min_shift + 1)
    return rng.choice(choices, size=n_surrogates, replace=bool(choices.size < n_surrogates))


def circular_shift_indices(
    n: int, n_surrogates: int, min_shift: int, rng: np.random.Generator
) -> np.ndarray:
    """Index arrays ``(n_surrogates, n)`` that circularly shift a length-``n`` series.

    Row ``s`` is ``(arange(n) - d_s) % n`` with ``d_s`` uniform in ``[min_shift, n - min_shift]``,
    i.e. surrogate value ``i`` is the original value ``i - d_s`` (wrapping around). Shifts are
    drawn without replacement while enough distinct shifts exist.
    """
    d = random_shifts(n, n_surrogates, min_shift, rng)
    return (np.arange(n)[None, :] - d[:, None]) % n


def _derangement(k: int, rng: np.random.Generator) -> np.ndarray:
    if k < 2:
        raise ValueError("segment shuffling needs at least 2 segments")
    while True:
        p = rng.permutation(k)
        if not np.any(p == np.arange(k)):
            return p


def segment_shuffle_indices(
    n: int, seg: int, n_surrogates: int, rng: np.random.Generator
) -> np.ndarray:
    """Index arrays ``(n_surrogates, n)`` that shuffle ``seg``-long segments of a series.

    The ``n // seg`` whole segments are permuted so that none stays in its original position;
    a trailing partial segment stays at the end.
    """
    k = n // seg
    base = np.arange(n)
    out = np.empty((n_surrogates, n), dtype=np.int64)
    for s in range(n_surrogates):
        p = _derangement(k, rng)
        idx = (p[:, None] * seg + np.arange(seg)[None, :]).ravel()
        out[s, : k * seg] = idx
        out[s, k * seg :] = base[k * seg :]
    return out


@dataclass(frozen=True)
class PseudoDyadTest:
    """Role-keeping pseudo-dyad baseline across sessions.

    Attributes
    ----------
    observed : numpy.ndarray
        Statistic of each real dyad (patient i with clinician i).
    pseudo : numpy.ndarray
        ``(n, n)`` matrix: patient i with clinician j (NaN on the diagonal).
    per_session : tuple of SurrogateTest
        Each real dyad against its row of pseudo-dyads (patient i with every other clinician).
    mean_test : SurrogateTest
        The mean of the real dyads (``observed``) placed among all pseudo-dyad values
        (``null``): its empirical p, effect size ``(mean real - mean pseudo) / sd pseudo`` and
        percentile. A descriptive group-level comparison, not a permutation test of the mean.
    """

    observed: np.ndarray
    pseudo: np.ndarray
    per_session: tuple[SurrogateTest, ...]
    mean_test: SurrogateTest


def pseudo_dyad_test(
    patients: Sequence[np.ndarray],
    clinicians: Sequence[np.ndarray],
    statistic: Callable[[np.ndarray, np.ndarray], float],
) -> PseudoDyadTest:
    """Compare real dyads with role-keeping pseudo-dyads (patient i, clinician j != i).

    Parameters
    ----------
    patients, clinicians : sequence of numpy.ndarray
        Session i's patient and clinician series on the same grid and rate. Pseudo pairs are
        truncated to the shorter of the two series (both start at session start).
    statistic : callable
        ``statistic(x_patient, y_clinician) -> float``, e.g.
        ``lambda x, y: marci_index(slope_concordance(x, y, 4.0))``.
    """
    n = len(patients)
    if n != len(clinicians) or n < 2:
        raise ValueError("need at least two sessions with one patient and one clinician each")
    mat = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            m = min(len(patients[i]), len(clinicians[j]))
            mat[i, j] = statistic(np.asarray(patients[i][:m]), np.asarray(clinicians[j][:m]))
    obs = np.diag(mat).copy()
    pseudo = mat.copy()
    np.fill_diagonal(pseudo, np.nan)
    per = tuple(
        empirical_test(float(obs[i]), np.delete(mat[i], i), method="pseudo-dyad") for i in range(n)
    )
    real_mean = float(np.nanmean(obs)) if np.isfinite(obs).any() else math.nan
    mean_test = empirical_test(real_mean, pseudo[~np.isnan(pseudo)], method="pseudo-dyad")
    return PseudoDyadTest(obs, pseudo, per, mean_test)
