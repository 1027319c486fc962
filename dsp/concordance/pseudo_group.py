"""Role-keeping pseudo-groups across sessions, and the study-level group index: are real groups
more concordant than groups of people who never met?

A study has ``S`` sessions of the same people's roles (e.g. partner, patient, clinician). A
**pseudo-group** takes each role from a different session (roles kept: a partner is never
put in the clinician's place), so no two of its members ever sat together. Its **group
index** is that of :mod:`dsp.concordance.group`, the mean pairwise Marci CI of the EDA slopes,
with each pair's CI computed as for pseudo-dyads (:mod:`dsp.concordance.pseudo`: the
:mod:`dsp.concordance.indices` defaults, signals cut to the shorter recording, both from their
session's start; a pair with less than 60 s together has no value).

Every pair's CI depends only on (role i of session a, role j of session b), so the CI of every
such pairing is computed once (``P x S x S`` values for ``P`` role pairs) and any group's index
is a mean of table entries.

The study-level answer (:func:`pseudo_group_study`):

* **difference**: mean index of the ``S`` real groups minus the mean of the pseudo-groups
  (every combination of sessions when there are at most ``n_pseudo`` of them, else
  ``n_pseudo`` drawn at random; members always from different sessions);
* **p**: a permutation test over sessions, as :mod:`dsp.concordance.study` does for dyads
  (the "shuffled partners" logic, Bernieri et al. 1988; multiSyncPy's pseudo-group
  surrogates swap members between groups the same way): if nobody is coupled to the people of
  their own session, which session each role's member came from is arbitrary, so every role
  but the first is permuted over the sessions on its own; p is the share of ``n_perm``
  permutations (plus the observed one) whose mean "real" index is at least the observed one
  (one-sided: larger = more together). Sessions are the unit; the pseudo-groups are not
  treated as independent.

Input series are on the 4 Hz grid (µS; NaN = missing).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.indices import marci_index, slope_concordance

__all__ = ["GroupSeries", "GroupStudy", "pair_table", "pseudo_group_study"]


@dataclass(frozen=True, eq=False)
class GroupSeries:
    """One session's EDA of every member, for pseudo-groups.

    Attributes
    ----------
    name : str
        The session (file) name.
    fs : float
        Grid rate (Hz).
    people : tuple of str
        Role names, one per row of ``eda``.
    eda : numpy.ndarray
        ``(N, n)`` µS on the grid from the session's start (NaN = missing).
    """

    name: str
    fs: float
    people: tuple[str, ...]
    eda: np.ndarray

    def of(self, role: str) -> np.ndarray:
        return self.eda[self.people.index(role)]


@dataclass(frozen=True)
class GroupStudy:
    """Real groups against role-keeping pseudo-groups over a study.

    Attributes
    ----------
    people : tuple of str
        The roles (every session has them).
    real : numpy.ndarray
        Group index of each real group (session order).
    pseudo : numpy.ndarray
        Group index of each pseudo-group.
    n_pseudo : int
        Finite pseudo-group values.
    mean_real, mean_pseudo, difference : float
    p : float
        One-sided permutation p over sessions (NaN when fewer than 20 distinct permutations
        exist).
    n_perm : int
        Permutations drawn.
    """

    people: tuple[str, ...]
    real: np.ndarray
    pseudo: np.ndarray
    n_pseudo: int
    mean_real: float
    mean_pseudo: float
    difference: float
    p: float
    n_perm: int

    @property
    def text(self) -> str:
        """The answer in words, with its evidence."""
        if not math.isfinite(self.difference):
            if len(self.real) < len(self.people):
                return (
                    f"not enough data for a study-level test: {len(self.real)} sessions of "
                    f"{len(self.people)} people (a pseudo-group takes each member from a "
                    "different session)"
                )
            return "not enough data for a study-level test"
        if not math.isfinite(self.p):
            return (
                f"real groups {self.mean_real:.2f} vs pseudo-groups {self.mean_pseudo:.2f} "
                "(too few sessions for a test)"
            )
        verdict = "more together than" if self.p < 0.05 else "not shown to differ from"
        return (
            f"real groups are {verdict} pseudo-groups: mean index {self.mean_real:.2f} vs "
            f"{self.mean_pseudo:.2f} (difference {self.difference:+.2f}, permutation p = "
            f"{self.p:.3g}, {len(self.real)} sessions)"
        )


def _ci(x: np.ndarray, y: np.ndarray, fs: float) -> float:
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() / fs < 60.0:
        return math.nan
    return float(marci_index(slope_concordance(x, y, fs)))


def pair_table(series: Sequence[GroupSeries]) -> tuple[tuple[str, ...], np.ndarray]:
    """The roles and ``(P, S, S)`` CIs: role pair ``p = (i, j)`` of
    ``itertools.combinations(roles, 2)``, role ``i`` from session ``a``, role ``j`` from ``b``.

    Raises
    ------
    ValueError
        Sessions that do not all have the same roles, or different grid rates.
    """
    if not series:
        raise ValueError("a pseudo-group study needs sessions")
    roles = series[0].people
    for s in series:
        if set(s.people) != set(roles):
            raise ValueError(
                f"{s.name}: its people ({', '.join(s.people)}) differ from "
                f"{series[0].name}'s ({', '.join(roles)}); pseudo-groups keep roles"
            )
        if s.fs != series[0].fs:
            raise ValueError(f"{s.name}: grid rate {s.fs} Hz differs from {series[0].fs} Hz")
    pairs = list(itertools.combinations(roles, 2))
    n = len(series)
    fs = series[0].fs
    out = np.full((len(pairs), n, n), np.nan)
    for k, (ri, rj) in enumerate(pairs):
        for a in range(n):
            for b in range(n):
                out[k, a, b] = _ci(series[a].of(ri), series[b].of(rj), fs)
    return roles, out


def _index(table: np.ndarray, sessions: np.ndarray, n_roles: int) -> np.ndarray:
    """Group index of groups ``sessions`` ``(G, N)`` (column = role) from the pair table."""
    pairs = list(itertools.combinations(range(n_roles), 2))
    vals = np.stack([table[k, sessions[:, i], sessions[:, j]] for k, (i, j) in enumerate(pairs)])
    fin = np.isfinite(vals)
    with np.errstate(invalid="ignore"):
        return np.where(fin, vals, 0.0).sum(0) / np.where(fin.sum(0) > 0, fin.sum(0), np.nan)


def pseudo_group_study(
    series: Sequence[GroupSeries],
    n_pseudo: int = 2000,
    n_perm: int = 5000,
    seed: int | None = 0,
) -> GroupStudy:
    """Real groups against pseudo-groups (see the module docstring).

    Parameters
    ----------
    series : sequence of GroupSeries
        One per session, all with the same roles; at least as many sessions as roles for a
        pseudo-group with every member from a different session.
    n_pseudo : int
        Pseudo-groups drawn when there are more combinations.
    n_perm : int
        Permutations of the test.
    seed : int or None
    """
    roles, table = pair_table(series)
    n, r = len(series), len(roles)
    rng = np.random.default_rng(seed)
    real = _index(table, np.tile(np.arange(n)[:, None], (1, r)), r)
    if n < r:
        combos = np.zeros((0, r), dtype=int)
    elif math.perm(n, r) <= n_pseudo:
        combos = np.array(list(itertools.permutations(range(n), r)), dtype=int)
    else:
        combos = np.array([rng.choice(n, r, replace=False) for _ in range(n_pseudo)], dtype=int)
    pseudo = _index(table, combos, r) if combos.size else np.zeros(0)
    pseudo = pseudo[np.isfinite(pseudo)]
    ok = np.isfinite(real)
    mr = float(real[ok].mean()) if ok.any() else math.nan
    mp = float(pseudo.mean()) if pseudo.size else math.nan
    p = math.nan
    if math.factorial(n) ** (r - 1) >= 20 and ok.any():
        perms = np.stack(
            [np.arange(n)[None, :].repeat(n_perm, 0)]
            + [rng.permuted(np.tile(np.arange(n), (n_perm, 1)), axis=1) for _ in range(r - 1)],
            axis=2,
        )  # (n_perm, n, r)
        means = np.nanmean(_index(table, perms.reshape(-1, r), r).reshape(n_perm, n), axis=1)
        obs = float(np.nanmean(real))
        p = float((1.0 + np.sum(means >= obs - 1e-12)) / (1.0 + n_perm))
    return GroupStudy(roles, real, pseudo, int(pseudo.size), mr, mp, mr - mp, p, n_perm)
