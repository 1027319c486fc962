"""The study-level answer: are real dyads more concordant than pseudo-dyads?

Input: the ``n x n`` matrix ``M`` of one statistic over every (patient of session i, clinician
of session j) pairing (:func:`dsp.concordance.pseudo.pair_statistics`): the diagonal holds the
real dyads, the rest role-keeping pseudo-dyads of people who never met. Output
(:func:`study_comparison`): the mean of the real dyads minus the mean of the pseudo-dyads, a
95 % bootstrap interval over sessions, and a permutation p over sessions.

The permutation test (the pseudo-dyad / "shuffled partners" logic of Bernieri et al. 1988 and
rMEA, made exact): if nobody is coupled to their own partner, which clinician sat with which
patient is arbitrary, so the matrix is as likely with its columns in any order. Each
permutation ``pi`` of the clinicians makes the pairs ``(i, pi(i))`` "real" and gives a
difference; p is the share of ``n_perm`` random permutations (plus the observed one) whose
difference is at least the observed one (one-sided: larger = more coupling) or at least as
far from zero (two-sided). Sessions, not pairings, are the unit: the p does not treat the
``n (n - 1)`` pseudo-dyads as independent.

The interval: sessions are drawn with replacement (``n_boot`` times); each draw's difference
is the mean of its real dyads minus the mean of its pairings of two different drawn sessions;
the 2.5th and 97.5th percentiles are the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["StudyComparison", "study_comparison"]


@dataclass(frozen=True)
class StudyComparison:
    """Real dyads against pseudo-dyads over a study (units of the statistic).

    Attributes
    ----------
    n_real : int
        Real dyads with a finite value.
    n_pseudo : int
        Pseudo-dyads with a finite value.
    mean_real, mean_pseudo : float
        Means over them.
    difference : float
        ``mean_real - mean_pseudo``.
    ci_low, ci_high : float
        95 % bootstrap interval of the difference over sessions (NaN with < 3 sessions).
    p : float
        Permutation p over sessions (NaN when fewer than 20 permutations exist, i.e. < 4
        sessions, since no p below 0.05 would be possible).
    two_sided : bool
        Whether ``p`` is two-sided.
    n_perm : int
        Permutations drawn.
    """

    n_real: int
    n_pseudo: int
    mean_real: float
    mean_pseudo: float
    difference: float
    ci_low: float
    ci_high: float
    p: float
    two_sided: bool
    n_perm: int


def _differences(a: np.ndarray, f: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Mean over the pairs ``(i, perm[i])`` minus the mean over all other finite cells, for
    each row of ``perms``."""
    rows = np.arange(a.shape[0])[None, :]
    ps, pn = a[rows, perms].sum(axis=1), f[rows, perms].sum(axis=1)
    ts, tn = a.sum(), f.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return ps / pn - (ts - ps) / (tn - pn)


def _bootstrap(m: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    n = m.shape[0]
    out = np.empty(n_boot)
    for b in range(n_boot):
        s = rng.integers(0, n, n)
        sub = m[np.ix_(s, s)]
        same = s[:, None] == s[None, :]
        real = np.diag(sub)
        pseudo = sub[~same]
        real, pseudo = real[np.isfinite(real)], pseudo[np.isfinite(pseudo)]
        out[b] = real.mean() - pseudo.mean() if real.size and pseudo.size else np.nan
    out = out[np.isfinite(out)]
    if out.size < n_boot // 2:
        return math.nan, math.nan
    return float(np.percentile(out, 2.5)), float(np.percentile(out, 97.5))


def study_comparison(
    m: np.ndarray,
    two_sided: bool = False,
    n_perm: int = 5000,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> StudyComparison:
    """Real dyads (the diagonal of ``m``) against pseudo-dyads (the rest): see the module
    docstring. NaN cells (no value) are left out of every mean."""
    m = np.asarray(m, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError("m must be a square matrix (patient of i x clinician of j)")
    n = m.shape[0]
    f = np.isfinite(m)
    a = np.where(f, m, 0.0)
    eye = np.eye(n, dtype=bool)
    real, pseudo = m[eye & f], m[~eye & f]
    nan = math.nan
    mr = float(real.mean()) if real.size else nan
    mp = float(pseudo.mean()) if pseudo.size else nan
    diff = mr - mp
    if not (real.size and pseudo.size):
        return StudyComparison(real.size, pseudo.size, mr, mp, nan, nan, nan, nan, two_sided, 0)
    rng = np.random.default_rng(seed)
    lo, hi = _bootstrap(m, n_boot, rng) if n >= 3 else (nan, nan)
    p = nan
    if math.factorial(n) >= 20:
        perms = rng.permuted(np.tile(np.arange(n), (n_perm, 1)), axis=1)
        d = _differences(a, f, perms)
        d = d[np.isfinite(d)]
        obs = _differences(a, f, np.arange(n)[None, :])[0]
        hits = np.abs(d) >= abs(obs) - 1e-12 if two_sided else d >= obs - 1e-12
        p = float((1.0 + hits.sum()) / (1.0 + d.size))
    return StudyComparison(
        int(real.size), int(pseudo.size), mr, mp, diff, lo, hi, p, two_sided, n_perm
    )
