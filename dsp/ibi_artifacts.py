"""Interbeat-interval artifact detection and correction (Kubios' method).

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

Correction: extra beats are deleted (the two intervals merged), missed beats inserted (the
interval split into ``round(RR / median)`` equal parts), and ectopic and long/short intervals
replaced by linear interpolation between the nearest clean neighbours; for a run of ectopic
intervals the interpolated values are rescaled so that the run keeps its total duration (the
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp.filters import true_runs

__all__ = ["ARTIFACT_CLASSES", "IbiCorrection", "IbiFlags", "ibi_classify", "ibi_correct"]

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
