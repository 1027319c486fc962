"""A sharp transient (a clap) found near a marked time in one signal (pure numpy).

Used to align two people's device files on a shared clap (``attune import --sync-event
clap@MM:SS``): both wrists (or fingers) jolt at the same instant, which each device's
accelerometer records as its largest, most abrupt change; without an accelerometer the PPG or
EDA sensor usually shows a motion artefact at the same moment.

Method
------
The *transient score* is the size of the sample-to-sample change, ``|x[i+1] - x[i]|`` (the
Euclidean norm over axes for a 3-axis accelerometer), dated at the middle of its interval.
Within the search window the largest score is the clap's *peak*. Its *onset* is found by
walking back from the peak, at most ``back_s``, while the score stays at or above
``onset_fraction`` of the peak (and 3 x the noise), bridging one quieter interval (where the
clap's ringing crosses zero): the sample interval where the signal first jumped, dated at its
middle. Two quieter intervals in a row end the walk, so a gesture just before the clap does
not pull the onset early. For a
clean step that is within ± half a sample interval; a clap rings, and when the first sample
after the impact falls where the ringing crosses zero the jump shows one sample later, so the
stated *resolution* is ± one sample interval.

Two numbers say how clear it is:

* ``strength``: the peak over the median score of the surrounding ``context_s`` (the person's
  ordinary movement and the sensor's noise; half a quantisation step when the median is 0);
* ``clarity``: the peak over the largest score elsewhere in the window (farther than
  ``exclude_s`` from the peak). Two claps, or walking, give a clarity near 1.

The find is refused (``problem`` set) when the strength is below ``min_strength`` or the
clarity below ``min_clarity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = ["TransientFind", "TransientProblem", "transient_find", "transient_score"]


class TransientProblem(Enum):
    """Why no transient was accepted."""

    NONE = "found"
    NO_SAMPLES = "no samples in the window"
    WEAK = "not sharper than the ordinary movement"
    AMBIGUOUS = "another transient nearly as large"


@dataclass(frozen=True)
class TransientFind:
    """The transient found in a window (times in the input's clock, s).

    Attributes
    ----------
    onset_s : float
        Middle of the sample interval where the signal first jumped (NaN when none).
    peak_s : float
        Time of the largest change.
    strength : float
        Peak score / median score of the context (x).
    clarity : float
        Peak score / the largest score elsewhere in the window (x; inf when none).
    resolution_s : float
        The median sample interval: the onset's error is within ± this.
    problem : TransientProblem
        ``NONE`` when accepted.
    """

    onset_s: float
    peak_s: float
    strength: float
    clarity: float
    resolution_s: float
    problem: TransientProblem

    @property
    def found(self) -> bool:
        return self.problem is TransientProblem.NONE


def transient_score(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample-to-sample change and its time.

    Parameters
    ----------
    values : ndarray, shape (n,) or (n, k)
        The signal (k axes of an accelerometer); NaN samples give NaN scores.
    times : ndarray, shape (n,)
        Sample times (s), increasing.

    Returns
    -------
    score : ndarray, shape (n - 1,)
        ``|x[i+1] - x[i]|`` (norm over axes).
    t_mid : ndarray, shape (n - 1,)
        ``(t[i] + t[i+1]) / 2`` (s).
    """
    x = np.asarray(values, dtype=float)
    x = x.reshape(len(x), -1)
    d = np.diff(x, axis=0)
    score = np.sqrt(np.einsum("ij,ij->i", d, d)) if d.shape[1] > 1 else np.abs(d[:, 0])
    t = np.asarray(times, dtype=float)
    return score, 0.5 * (t[:-1] + t[1:])


def transient_find(values: np.ndarray, times: np.ndarray, lo: float, hi: float, *,
                   step: float = 0.0, context_s: float = 60.0, exclude_s: float = 1.0,
                   back_s: float = 0.25, onset_fraction: float = 0.3,
                   min_strength: float = 8.0, min_clarity: float = 2.0) -> TransientFind:  # fmt: skip
    """The sharpest transient between ``lo`` and ``hi`` (s, the input's clock).

    Parameters
    ----------
    values, times : see :func:`transient_score`.
    lo, hi : float
        Search window (s).
    step : float
        Quantisation step of ``values`` (noise floor when the median change is 0).
    context_s : float
        The noise (median score) is taken over the window widened by this on each side (s).
    exclude_s : float
        Changes within this of the peak belong to it (the clap's ringing) (s).
    back_s : float
        How far before the peak the onset may be (s).
    onset_fraction, min_strength, min_clarity : float
        See the module docstring.

    Returns
    -------
    TransientFind
    """
    t = np.asarray(times, dtype=float)
    nan = math.nan
    if t.size < 3:
        return TransientFind(nan, nan, 0.0, 0.0, nan, TransientProblem.NO_SAMPLES)
    a, b = np.searchsorted(t, [lo - context_s, hi + context_s])
    a, b = max(int(a) - 1, 0), min(int(b) + 1, t.size)
    score, tm = transient_score(np.asarray(values)[a:b], t[a:b])
    score = np.where(np.isfinite(score), score, 0.0)
    res = float(np.median(np.diff(t[a:b]))) if b - a > 1 else nan
    inside = (tm >= lo) & (tm <= hi)
    if not inside.any():
        return TransientFind(nan, nan, 0.0, 0.0, res, TransientProblem.NO_SAMPLES)
    idx = np.flatnonzero(inside)
    p = int(idx[np.argmax(score[idx])])
    peak = float(score[p])
    noise = max(float(np.median(score)), 0.5 * step, 1e-12 * peak, 1e-300)
    far = idx[np.abs(tm[idx] - tm[p]) > exclude_s]
    other = float(score[far].max()) if far.size else 0.0
    clarity = peak / other if other > 0 else math.inf
    strength = peak / noise
    thr = max(onset_fraction * peak, 3.0 * noise)
    k = p  # back from the peak while the change stays above the threshold, bridging one
    # quieter interval (the ringing's zero crossing); two quieter ones end the clap
    while k > 0:
        step_back = 1 if score[k - 1] >= thr else 2 if k > 1 and score[k - 2] >= thr else 0
        if not step_back or tm[p] - tm[k - step_back] > back_s:
            break
        k -= step_back
    onset = float(tm[k])
    if strength < min_strength:
        problem = TransientProblem.WEAK
    elif clarity < min_clarity:
        problem = TransientProblem.AMBIGUOUS
    else:
        problem = TransientProblem.NONE
    return TransientFind(onset, float(tm[p]), strength, clarity, res, problem)
