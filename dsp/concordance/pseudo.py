"""Role-keeping pseudo-dyads across sessions: the patient of session A with the clinician of B.

A real dyad's coupling is only remarkable against pairs of people who never met but sat in
the same situation. :func:`pair_statistics` computes the statistics of one (patient,
clinician) pairing; :func:`compare_to_pseudo` places a real dyad's value among its
pseudo-dyads (the same patient with every other session's clinician, and every other
patient with this session's clinician). Roles are kept: a patient is never paired as a
clinician. Pairings are truncated to the shorter of the two recordings, both starting at
their session's start; label blocks come from the session of the patient.

All series are on the 4 Hz dyad grid; times in seconds after the grid's first sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.contrast import ContrastMeasure, contrast_blocks, contrast_statistic
from dsp.concordance.indices import (
    marci_index,
    slope_concordance,
    slope_signal,
)
from dsp.concordance.lead import _summaries, lag_profiles

__all__ = [
    "MIN_PSEUDO",
    "DyadSeries",
    "PseudoComparison",
    "compare_to_pseudo",
    "pair_statistics",
]

#: Fewer pseudo-dyads than this cannot give p < 0.05: percentile only, no p (11+ sessions).
MIN_PSEUDO = 20

#: Statistics of a pairing: (name, two-sided?) in the order of :func:`pair_statistics`.
STATISTICS = (("eda_ci", False), ("hr_ci", False), ("eda_lead_asymmetry", True),
              ("eda_contrast", True))  # fmt: skip


@dataclass(frozen=True, eq=False)
class DyadSeries:
    """One session's signals on the dyad grid, for pseudo-dyads.

    Attributes
    ----------
    name : str
        The session (file) name.
    fs : float
        Grid rate (Hz).
    eda_patient, eda_clinician, hr_patient, hr_clinician : numpy.ndarray
        µS and bpm on the grid (NaN = missing).
    intervals : tuple of (start_s, end_s, label)
        Marker blocks in seconds after the grid's first sample.
    """

    name: str
    fs: float
    eda_patient: np.ndarray
    eda_clinician: np.ndarray
    hr_patient: np.ndarray
    hr_clinician: np.ndarray
    intervals: tuple[tuple[float, float, str], ...] = ()


def _contrast(x: np.ndarray, y: np.ndarray, fs: float, intervals: Sequence) -> float:
    labels = list(dict.fromkeys(lab for _, _, lab in intervals))
    if len(labels) < 2:
        return math.nan
    blocks = contrast_blocks(x, y, fs, intervals, measure=ContrastMeasure.SHARED_SCR)
    return contrast_statistic(blocks, labels[0], labels[1])


def pair_statistics(patient: DyadSeries, clinician: DyadSeries) -> np.ndarray:
    """Statistics of the patient of ``patient`` with the clinician of ``clinician``.

    Returns
    -------
    numpy.ndarray
        :data:`STATISTICS` in order: EDA Marci CI, HR Marci CI (1 s HR slopes), the EDA lead
        asymmetry (:mod:`dsp.concordance.lead`, 30 s windows, ±5 s) and the EDA label contrast
        (the difference of shared SCRs above chance,
        :func:`dsp.concordance.contrast.contrast_statistic`) of the first two labels of the
        patient's session (NaN when it has fewer than two).
    """
    fs = patient.fs
    n = min(patient.eda_patient.size, clinician.eda_clinician.size)
    xe, ye = patient.eda_patient[:n], clinician.eda_clinician[:n]
    xh, yh = patient.hr_patient[:n], clinician.hr_clinician[:n]
    out = np.full(len(STATISTICS), np.nan)
    if n / fs < 60.0:
        return out
    out[0] = marci_index(slope_concordance(xe, ye, fs))
    out[1] = marci_index(slope_concordance(xh, yh, fs, slope_s=1.0))
    prof = lag_profiles(slope_signal(xe, fs), slope_signal(ye, fs)[None], 120, 20, 20)
    if prof.shape[1]:
        out[2] = float(_summaries(prof, 20)[2][0])
    out[3] = _contrast(xe, ye, fs, patient.intervals)
    return out


@dataclass(frozen=True)
class PseudoComparison:
    """A real dyad's statistic among its role-keeping pseudo-dyads.

    Attributes
    ----------
    observed : float
        The real dyad's value.
    n_pseudo : int
        Finite pseudo-dyad values.
    percentile : float
        Percentile of ``observed`` among them (0-100).
    p : float
        One-sided (larger = more coupling) or two-sided empirical p; NaN (no test) with fewer
        than :data:`MIN_PSEUDO` pseudo-dyads, since no p below 0.05 would be possible.
    """

    observed: float
    n_pseudo: int
    percentile: float
    p: float


def compare_to_pseudo(observed: float, pseudo: np.ndarray, two_sided: bool) -> PseudoComparison:
    """Empirical p and percentile of ``observed`` among ``pseudo`` (NaN values dropped)."""
    v = np.asarray(pseudo, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2 or not math.isfinite(observed):
        return PseudoComparison(observed, int(v.size), math.nan, math.nan)
    pct = 100.0 * (np.sum(v < observed) + 0.5 * np.sum(v == observed)) / v.size
    if v.size < MIN_PSEUDO:
        return PseudoComparison(float(observed), int(v.size), float(pct), math.nan)
    hi = (1.0 + np.sum(v >= observed)) / (1.0 + v.size)
    if two_sided:
        lo = (1.0 + np.sum(v <= observed)) / (1.0 + v.size)
        p = min(1.0, 2.0 * min(hi, lo))
    else:
        p = hi
    return PseudoComparison(float(observed), int(v.size), float(pct), float(p))
