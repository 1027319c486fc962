"""Paired alternatives to the study-level permutation test, for ``bench_study.py --rules``.

Tried in issue 18 to see whether pairing each real dyad with the pseudo-dyads that share one of
its members gives more power than :func:`dsp.concordance.study.study_comparison` (the mean of
the real dyads minus the mean of the pseudo-dyads, clinicians permuted over sessions) without
losing calibration. They are benchmark code only: none of them was better (README, *Study-level
answer*), so the app keeps ``study_comparison``.

* ``signflip``: per session the double-centred difference ``d_i = M_ii - R_i - C_i + G`` (``R_i``
  the mean of patient i's pseudo-dyads, ``C_i`` of clinician i's, ``G`` of all pseudo-dyads),
  whose mean equals the current difference on a full matrix; p from flipping the signs of the
  ``d_i`` (each session's real-minus-own-pseudo difference is symmetric about 0 under no
  coupling).
* ``rank``: per session the percentile of the real dyad among the pseudo-dyads sharing its
  patient or its clinician, averaged over sessions, minus 0.5; p from permuting the clinicians
  (exact, as ``study_comparison``).
* ``z``: the same with the real dyad's z-score among those pseudo-dyads instead of its
  percentile.

``M`` is the ``n x n`` matrix of one statistic (patient of i x clinician of j); NaN cells are
left out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RULES", "p_rank", "p_signflip", "p_z"]


def _perms(n: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permuted(np.tile(np.arange(n), (n_perm, 1)), axis=1)


def _shared(m: np.ndarray, perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(real ``(k, n)``, pseudo-dyads sharing a member ``(k, n, 2n)``, NaN where excluded) when
    the pairs ``(i, perm[i])`` are taken as the real dyads."""
    n = m.shape[0]
    rows = np.arange(n)
    real = m[rows[None, :], perms]
    row = np.broadcast_to(m[None, :, :], (perms.shape[0], n, n))
    col = m.T[perms]  # col[k, i, j] = m[j, perm[i]]
    jr = rows[None, None, :] != perms[:, :, None]
    jc = rows[None, None, :] != rows[None, :, None]
    ref = np.concatenate([np.where(jr, row, np.nan), np.where(jc, col, np.nan)], axis=2)
    return real, ref


def _rank_stat(m: np.ndarray, perms: np.ndarray) -> np.ndarray:
    real, ref = _shared(m, perms)
    f = np.isfinite(ref)
    r = real[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (((ref < r) & f).sum(2) + 0.5 * ((ref == r) & f).sum(2)) / f.sum(2)
    u = np.where(np.isfinite(real), u, np.nan)
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as sw:
        sw.filter(RuntimeWarning)
        return np.nanmean(u, axis=1) - 0.5


def _z_stat(m: np.ndarray, perms: np.ndarray) -> np.ndarray:
    real, ref = _shared(m, perms)
    with np.errstate(invalid="ignore", divide="ignore"), np.testing.suppress_warnings() as sw:
        sw.filter(RuntimeWarning)
        z = (real - np.nanmean(ref, 2)) / np.nanstd(ref, 2)
        return np.nanmean(z, axis=1)


def _perm_p(stat, m: np.ndarray, two_sided: bool, n_perm: int, rng: np.random.Generator) -> float:
    n = m.shape[0]
    obs = stat(m, np.arange(n)[None, :])[0]
    d = stat(m, _perms(n, n_perm, rng))
    d = d[np.isfinite(d)]
    if not np.isfinite(obs) or d.size == 0:
        return float("nan")
    hits = np.abs(d) >= abs(obs) - 1e-12 if two_sided else d >= obs - 1e-12
    return float((1 + hits.sum()) / (1 + d.size))


def p_rank(m: np.ndarray, two_sided: bool, n_perm: int, rng: np.random.Generator) -> float:
    """Mean percentile among the pseudo-dyads sharing a member; clinicians permuted."""
    return _perm_p(_rank_stat, np.asarray(m, float), two_sided, n_perm, rng)


def p_z(m: np.ndarray, two_sided: bool, n_perm: int, rng: np.random.Generator) -> float:
    """Mean z-score among the pseudo-dyads sharing a member; clinicians permuted."""
    return _perm_p(_z_stat, np.asarray(m, float), two_sided, n_perm, rng)


def p_signflip(m: np.ndarray, two_sided: bool, n_perm: int, rng: np.random.Generator) -> float:
    """Double-centred real-minus-own-pseudo differences, signs flipped over sessions."""
    m = np.asarray(m, float)
    n = m.shape[0]
    off = np.where(np.eye(n, dtype=bool), np.nan, m)
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as sw:
        sw.filter(RuntimeWarning)
        d = np.diag(m) - np.nanmean(off, 1) - np.nanmean(off, 0) + np.nanmean(off)
    d = d[np.isfinite(d)]
    if d.size < 5:  # 2**4 = 16 sign patterns: no p below 0.05 possible
        return float("nan")
    null = (rng.choice([-1.0, 1.0], (n_perm, d.size)) * d).mean(1)
    obs = d.mean()
    hits = np.abs(null) >= abs(obs) - 1e-12 if two_sided else null >= obs - 1e-12
    return float((1 + hits.sum()) / (1 + n_perm))


RULES = {"signflip": p_signflip, "rank": p_rank, "z": p_z}
