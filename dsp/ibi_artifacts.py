"""Interbeat-interval artifact classification (Kubios' method, Lipponen & Tarvainen 2019).

Units: IBIs in ms. An IBI series is a 1-D array ``ibi_ms[i] = t[i+1] - t[i]`` of successive
beats; NaN entries mark intervals that cross a gap in the recording (they split the series into
independent runs and are never interpolated over).

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

Correction is in :mod:`dsp.beats` (``beat_series`` for beats, ``ibi_correct`` for an IBI
series): the classification above is shared with NeuroKit2 and systole, but a flag is only
acted on when an artifact explains it better than a healthy heart's own variability does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dsp.filters import true_runs

__all__ = [
    "ARTIFACT_CLASSES",
    "EARLY_WEIGHT",
    "MISPLACED_MIN_Z",
    "MISSED_MIN_RATIO",
    "SINUS_MAX_SD",
    "SINUS_MIN_RATIO",
    "STRADDLE_MARGIN",
    "SUM_KEPT_MAX",
    "Gates",
    "IbiCorrection",
    "IbiFlags",
    "ibi_classify",
    "ibi_misplaced",
    "ibi_misplacement_z",
]

ARTIFACT_CLASSES = ("ectopic", "missed", "extra", "longshort")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class IbiCorrection:
    """Result of :func:`dsp.beats.ibi_correct`.

    Attributes
    ----------
    ibi_ms : ndarray
        Corrected IBIs (ms). Length differs from the input by inserted/deleted beats.
    ectopic, missed, extra, longshort : ndarray of int
        Indices into the *input* IBI series of the intervals each class changed (a moved beat:
        both its intervals; an extra beat: the first of the two merged intervals; intervals
        excluded as NaN are listed under ``longshort``).
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
    return tuple(out)


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
    q_idx = _quantile_index(n, win, tuple(qs))
    # the windows (window i = padded[i : i + win]) as a strided view, copied C-contiguous and
    # sorted in place (NaN padding sorts last): at live sizes (~100 beats) ~2x faster than a
    # gather, and sliding_window_view's own set-up costs more than the copy
    step = xp.itemsize
    views = np.ndarray((r, n, win), xp.dtype, xp, 0, (xp.strides[0], step, step))
    srt = views.copy()
    srt.sort(axis=2)
    srt = srt.reshape(r, n * win)
    out = []
    for i_lo, i_hi, frac in q_idx:
        v_lo, v_hi = srt.take(i_lo, axis=1), srt.take(i_hi, axis=1)
        v = v_lo + frac * (v_hi - v_lo)
        out.append(v if x.ndim == 2 else v[0])
    return out


def _window_quantiles(x: np.ndarray, i: int, win: int, qs: tuple[float, ...]) -> list[float]:
    """The quantiles of :func:`_rolling_quantiles` at position ``i`` of a 1-D ``x`` alone (odd
    ``win``: the same window, order statistics and interpolation, so the same numbers)."""
    h = win // 2
    w = np.sort(x[max(0, i - h) : min(x.size, i - h + win)])
    last = w.size - 1
    out = []
    for q in qs:
        pos = q * last
        lo = int(pos)
        v_lo, v_hi = float(w[lo]), float(w[min(lo + 1, last)])
        out.append(v_lo + (pos - lo) * (v_hi - v_lo))
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

    Parameters
    ----------
    rr_ms : ndarray
        One unbroken run of IBIs (ms).
    alpha : float
        Threshold multiplier of the quartile deviation.
    c1, c2 : float
        Ectopic-region boundary constants.
    window_beats : int
        Length of the centred window (beats) for the quartile-deviation thresholds.
    median_beats : int
        Length of the centred median filter (beats) for ``mRR``.

    Runs shorter than 4 intervals get no flags. These are flags, not verdicts:
    :mod:`dsp.beats` decides which to act on.

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


# --------------------------------------------------------------------------- time domain


# ------------------------------------------------------------------- which flags are artifacts


def _partner(rr: np.ndarray, med: np.ndarray, i: int, blocked: np.ndarray) -> int | None:
    """Neighbour of interval ``i`` deviating most in the opposite direction, or None.

    A misplaced beat lengthens one interval and shortens the next by the same amount; a
    neighbour deviating by less than a third of that is no partner (the long or short
    interval is then not a misplaced beat: see :func:`ibi_misplaced`).
    """
    dev_i = abs(rr[i] - med[i])
    sign = 1.0 if rr[i] >= med[i] else -1.0
    best, best_dev = None, dev_i / 3.0
    for j in (i - 1, i + 1):
        if 0 <= j < rr.size and not blocked[j]:
            dev = -sign * (rr[j] - med[j])
            if dev >= best_dev:
                best, best_dev = j, dev
    return best


MISSED_MIN_RATIO = 1.5
"""A flagged long interval is a *missed* beat (or a pause of several) only from this many local
medians on. Lipponen & Tarvainen accept any interval whose half lies within their adaptive
threshold of the median: about 1.4 medians in a heart with large respiratory variation, where
such intervals are real (a vagal pause), and splitting them invents two short beats."""

SINUS_MIN_RATIO = 0.7
"""A flagged interval with no compensating neighbour is a real (sinus) interval and kept as it
is between ``SINUS_MIN_RATIO`` and :data:`MISSED_MIN_RATIO` local medians; outside that range
it is excluded (a premature beat that reset the rhythm, or a pause of missed beats)."""

MISPLACED_MIN_Z = 6.0
"""A beat is moved (ectopic, long/short pair) only when its misplacement is at least this many
local median misplacements (:func:`ibi_misplacement_z`) and :func:`_straddles` holds. On
artifact-free real NN series rendered as 64/128 Hz PPG (pyhrv 20 min and short, systole's
25-min ECG; ``benchmarks/bench_beats.py`` table 4, 5 noise seeds) 0-0.16 % of the beats
move (5.5 moved up to 0.39 %). A 10 % premature beat is found where the heart's own
beat-to-beat changes are small against 10 % of an interval: 18 of 20 in systole's ECG,
7-10 of 20 in pyhrv's 20 min (the former correction 6-10), none in pyhrv's short series
(RMSSD 101 ms: its clean series has 6-78 beats as early as each injected one, so no timing
rule tells them from sinus rhythm without moving 2-20 % of the real beats)."""


SINUS_MAX_SD = 20.0
"""An unpartnered flagged interval is also excluded when it lies further from the local median
than this many robust SDs of the 91 intervals around it (``IQR / 1.349`` of ``rr - median``):
a heart whose intervals vary by 10-30 ms does not produce one 40 % longer (a false beat at a
recording's end made one on systole's ECG: 28 SDs), while pyhrv's vagal pauses reach 13-19."""

SUM_KEPT_MAX = 0.75
"""A misplaced beat keeps the sum of its two intervals: their symmetric part (``zs`` of
:func:`ibi_misplacement_z`) must stay within this fraction of the antisymmetric one."""


EARLY_WEIGHT = 1.3
"""Of two adjacent beats that both pass the misplacement gates, only one moves: a beat misplaced
by ``d`` makes both its neighbours look misplaced the other way by ``2 d / 3``. The larger
``|z|`` wins, an early beat's multiplied by this weight (a premature beat with its compensatory
pause is the usual cause, and a heart's own alternation can make the next beat look later than
the premature one is early: systole's ECG, beat 251 made 10 % premature inside a stretch
alternating by 60 ms, z -10.8 against the next beat's +11.9). Between 1 (no preference) and
1.5 (a late beat's early neighbours would win on a regular rhythm)."""

STRADDLE_MARGIN = 0.1
""":func:`_straddles` margin: the early interval must be shorter than the one before it, and
the late one longer than the one after it, by this fraction of the misplacement at least (a
real 742, 742, 938 ms step of pyhrv's heart, 4 ms apart, is no premature beat)."""


@dataclass(frozen=True)
class Gates:
    """When a Lipponen-Tarvainen flag is acted on (defaults: the module constants).

    Attributes
    ----------
    missed_min_ratio : float
        :data:`MISSED_MIN_RATIO` (local medians).
    sinus_min_ratio : float
        :data:`SINUS_MIN_RATIO` (local medians).
    misplaced_min_z : float
        :data:`MISPLACED_MIN_Z` (local median misplacements).
    sum_kept_max : float
        :data:`SUM_KEPT_MAX` (fraction).
    sinus_max_sd : float
        :data:`SINUS_MAX_SD` (local robust SDs).
    early_weight : float
        :data:`EARLY_WEIGHT`.
    straddle_margin : float
        :data:`STRADDLE_MARGIN` (fraction of the misplacement).
    """

    missed_min_ratio: float = MISSED_MIN_RATIO
    sinus_min_ratio: float = SINUS_MIN_RATIO
    misplaced_min_z: float = MISPLACED_MIN_Z
    sum_kept_max: float = SUM_KEPT_MAX
    sinus_max_sd: float = SINUS_MAX_SD
    early_weight: float = EARLY_WEIGHT
    straddle_margin: float = STRADDLE_MARGIN


def ibi_misplacement_z(rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Misplacement of each beat in local units: ``(z, zs)``, one per beat (0 at the ends).

    Beat ``k`` closes ``rr[k-1]`` and opens ``rr[k]``. Against the straight line through its
    neighbours ``rr[k-2]`` and ``rr[k+1]``, the antisymmetric part of its two intervals,
    ``d = ((rr[k-1] - rr[k]) - (rr[k-2] - rr[k+1]) / 3) / 2`` (ms; negative: early), is what
    moving the beat changes; the symmetric part ``((rr[k-1] + rr[k]) - (rr[k-2] + rr[k+1])) / 2``
    is what it keeps. Both are divided by the centred 91-beat median of ``|d|`` (the window of
    the Lipponen-Tarvainen thresholds, so live re-correction needs no more context).
    """
    n = rr.size
    z, zs = np.zeros(n + 1), np.zeros(n + 1)
    if n < 2:
        return z, zs
    p = np.concatenate([[rr[0]], rr, [rr[-1]]])
    a, b, pv, nx = p[1:n], p[2 : n + 1], p[0 : n - 1], p[3 : n + 2]
    d = ((a - b) - (pv - nx) / 3.0) / 2.0
    sc = _rolling_quantiles(np.abs(d), 91, (0.5,))[0]
    np.divide(d, sc, out=z[1:n], where=sc > 0)
    np.divide(((a + b) - (pv + nx)) / 2.0, sc, out=zs[1:n], where=sc > 0)
    return z, zs


def ibi_misplaced(
    rr: np.ndarray, fl: IbiFlags, blocked: np.ndarray, g: Gates, zd: np.ndarray, zs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Intervals to re-space (True around each beat to move), class per interval, exclusions.

    Lipponen-Tarvainen ectopic and long/short intervals pair with the neighbour that deviates
    the other way (:func:`_partner`); an unpartnered one is a real interval unless outside
    ``[SINUS_MIN_RATIO, MISSED_MIN_RATIO]`` medians. Early beats the adaptive thresholds miss
    (large beat-to-beat changes widen them) are added, with both their intervals, also beside
    a flagged interval: ``z <= -MISPLACED_MIN_Z``. Of a run of such intervals only the beats
    misplaced by at least ``MISPLACED_MIN_Z`` that pass :func:`_straddles` move (with the two
    intervals around each), and of two adjacent ones only one (:func:`_run_beats`).

    Parameters
    ----------
    rr : ndarray
        One unbroken run of IBIs (ms).
    fl : IbiFlags
        Its classification (:func:`ibi_classify`).
    blocked : ndarray of bool
        Intervals already handled (extra or missed beats).
    g : Gates
        The thresholds.
    zd, zs : ndarray
        :func:`ibi_misplacement_z` of ``rr``.

    Returns
    -------
    move : ndarray of bool
        True for the two intervals around each beat to move.
    cls : ndarray of str
        Artifact class per interval ('ectopic' or 'longshort' where ``move``).
    drop : set of int
        Intervals to exclude.
    """
    n = rr.size
    med = fl.median_ms
    bad = np.zeros(n, dtype=bool)
    cls = np.full(n, "", dtype=object)
    drop: set[int] = set()
    dev = None  # intervals around their local median, when a robust SD is needed
    for name in ("longshort", "ectopic"):  # ectopic wins where both touch
        for i in getattr(fl, name):
            bad[i] = True
            cls[i] = name
    for i in np.flatnonzero(bad):
        if blocked[i] or (i > 0 and bad[i - 1]) or (i + 1 < n and bad[i + 1]):
            continue
        j = _partner(rr, med, int(i), blocked | bad)
        if j is not None:
            bad[j] = True
            cls[j] = cls[i]
            continue
        bad[i] = False
        if not g.sinus_min_ratio * med[i] <= rr[i] < g.missed_min_ratio * med[i]:
            drop.add(int(i))
        else:  # robust SD of the 91 intervals around i (only here: live, per tick)
            dev = rr - med if dev is None else dev
            q1, q3 = _window_quantiles(dev, int(i), 91, (0.25, 0.75))
            if abs(rr[i] - med[i]) > g.sinus_max_sd * ((q3 - q1) / 1.349):
                drop.add(int(i))
    prem = zd[1:n] <= -g.misplaced_min_z
    for k in (np.flatnonzero(prem) + 1).tolist():
        if not (blocked[k - 1] or blocked[k]):  # also beside a flagged interval: a run grows
            for i in (k - 1, k):
                if not bad[i]:
                    bad[i], cls[i] = True, "ectopic"
    bad &= ~blocked
    # only a beat misplaced by MISPLACED_MIN_Z moves (with both its intervals); the rest of a
    # flagged run is a healthy heart's own short-long pattern and stays as detected
    keep = np.zeros(n, dtype=bool)
    for a, b in true_runs(bad):
        for k in _run_beats(rr, a, b, zd, zs, drop, g):
            keep[k - 1] = keep[k] = True
    return keep, cls, drop


def _run_beats(
    rr: np.ndarray, a: int, b: int, zd: np.ndarray, zs: np.ndarray, drop: set[int], g: Gates
) -> list[int]:
    """Beats of the flagged run of intervals ``a..b-1`` to move.

    A beat qualifies when misplaced by at least ``misplaced_min_z`` and :func:`_straddles`
    holds. One misplaced beat makes both its neighbours look misplaced the other way by 2/3 as
    much, so of two adjacent qualifying beats only the one that explains more moves: the
    larger ``|z|``, an early beat's weighted by ``g.early_weight`` (:data:`EARLY_WEIGHT`).
    """
    z = np.abs(zd)
    cand = []
    for k in range(a + 1, b):
        if k - 1 in drop or k in drop:
            continue  # an excluded interval is not re-spaced as well
        if z[k] >= g.misplaced_min_z and _straddles(rr, k, zs[k] / z[k], g):
            cand.append((z[k] * (g.early_weight if zd[k] < 0 else 1.0), k))
    out: list[int] = []
    for _, k in sorted(cand, reverse=True):
        if k - 1 not in out and k + 1 not in out:
            out.append(k)
    return out


def _straddles(rr: np.ndarray, k: int, sym_ratio: float, g: Gates) -> bool:
    """Beat ``k`` looks misplaced: its two intervals keep their sum (``|zs / z|`` at most
    ``g.sum_kept_max``) and the early one is shorter than the interval before it, the late one
    longer than the one after it, by ``g.straddle_margin`` of the misplacement (an early beat;
    mirrored for a late one). A step in rate (short, long, long) or a single long interval
    does not."""
    if abs(sym_ratio) > g.sum_kept_max:
        return False
    pv, nx = rr[max(k - 2, 0)], rr[min(k + 1, rr.size - 1)]
    a, b = rr[k - 1], rr[k]
    m = g.straddle_margin * abs((a - b) - (pv - nx) / 3.0) / 2.0
    return bool((a < pv - m and b > nx + m) or (a > pv + m and b < nx - m))
