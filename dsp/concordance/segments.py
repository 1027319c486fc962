"""Concordance per marker label and per interval (e.g. "listening" vs "talking" blocks).

Marci et al. (2007) found skin-conductance concordance lower while the therapist talked than
while they listened; this module gives the indices of :mod:`dsp.concordance` per block.

Intervals are half-open, ``[start, end)``. A slope correlation r belongs to an interval when
all the samples behind it lie inside the interval (no r straddles two labels); likewise a WCC
window. Per label, the r values and WCC
windows of all its intervals are pooled before CI / KSI / medians are taken.
Times are seconds on the same clock as ``t0`` (the time of ``x[0]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.concordance.indices import (
    kleinbub_index,
    marci_index,
    slope_concordance,
    slope_concordance_times,
    slope_signal,
)
from dsp.concordance.lead import LeadTest, lead_tests
from dsp.concordance.wcc import WCCResult, wcc, wcc_peak

__all__ = ["SegmentReport", "SegmentStats", "intervals_from_markers", "segment_concordance"]


@dataclass(frozen=True)
class SegmentStats:
    """Concordance summary of one interval or of all intervals sharing a label.

    Attributes
    ----------
    label : str
        Marker label.
    t0, t1 : float
        Interval bounds (s); for a per-label summary the first start and last end.
    n_intervals : int
        Intervals pooled (1 for a single interval).
    duration_s : float
        Total duration (s).
    n_r : int
        Finite slope correlations inside.
    ci, ksi, mean_r : float
        Marci CI, Kleinbub KSI and mean of those correlations (NaN without any).
    wcc_n_windows : int
        WCC windows entirely inside.
    wcc_grand_average : float
        Mean of their WCC matrix values (r).
    wcc_lag_zero : float
        Mean lag-0 r.
    wcc_n_clear : int
        Windows with a clear peak (:func:`dsp.concordance.wcc_peak`).
    wcc_peak_r, wcc_peak_lag_s : float
        Median r and lag (s, positive = patient leads) of the clear peaks.
    lead_text : str
        Words of ``lead``: a leader is named only when the lead test on this block's windows
        beats circular-shift surrogates (else "no clear lead" or "not enough data for a
        test").
    lead : LeadTest
        :func:`dsp.concordance.lead.lead_tests` on the WCC windows inside the block(s).
    """

    label: str
    t0: float
    t1: float
    n_intervals: int
    duration_s: float
    n_r: int
    ci: float
    ksi: float
    mean_r: float
    wcc_n_windows: int
    wcc_grand_average: float
    wcc_lag_zero: float
    wcc_n_clear: int
    wcc_peak_r: float
    wcc_peak_lag_s: float
    lead_text: str
    lead: LeadTest


@dataclass(frozen=True)
class SegmentReport:
    """Per-interval and per-label summaries (labels in order of first appearance)."""

    intervals: tuple[SegmentStats, ...]
    labels: tuple[SegmentStats, ...]

    def by_label(self, label: str) -> SegmentStats:
        """The pooled summary of ``label``."""
        for s in self.labels:
            if s.label == label:
                return s
        raise KeyError(label)


def intervals_from_markers(
    times: Sequence[float], labels: Sequence[str], t_end: float
) -> list[tuple[float, float, str]]:
    """Turn point markers (each starts a block lasting until the next marker) into intervals.

    The last block ends at ``t_end``. Markers are sorted by time; zero-length blocks dropped.
    """
    order = np.argsort(np.asarray(times, dtype=float), kind="stable")
    ts = [float(times[i]) for i in order] + [float(t_end)]
    ls = [str(labels[i]) for i in order]
    return [(ts[i], ts[i + 1], ls[i]) for i in range(len(ls)) if ts[i + 1] > ts[i]]


def _stats(
    label: str,
    spans: list[tuple[float, float]],
    r: np.ndarray,
    wmat: np.ndarray,
    lags_s: np.ndarray,
    lead: LeadTest,
) -> SegmentStats:
    fin = r[np.isfinite(r)]
    vals = wmat[np.isfinite(wmat)]
    peaks = [wcc_peak(row, lags_s) for row in wmat]
    clear = np.array([(pr, pl) for pr, pl, ok in peaks if ok]).reshape(-1, 2)
    lag0 = wmat[:, lags_s.size // 2] if wmat.shape[0] else np.empty(0)
    lag0 = lag0[np.isfinite(lag0)]
    pr = float(np.median(clear[:, 0])) if clear.size else math.nan
    pl = float(np.median(clear[:, 1])) if clear.size else math.nan
    return SegmentStats(
        label=label,
        t0=min(a for a, _ in spans),
        t1=max(b for _, b in spans),
        n_intervals=len(spans),
        duration_s=float(sum(b - a for a, b in spans)),
        n_r=int(fin.size),
        ci=marci_index(r),
        ksi=kleinbub_index(r),
        mean_r=float(fin.mean()) if fin.size else math.nan,
        wcc_n_windows=int(wmat.shape[0]),
        wcc_grand_average=float(vals.mean()) if vals.size else math.nan,
        wcc_lag_zero=float(lag0.mean()) if lag0.size else math.nan,
        wcc_n_clear=int(clear.shape[0]),
        wcc_peak_r=pr,
        wcc_peak_lag_s=pl,
        lead_text=lead.text,
        lead=lead,
    )


def segment_concordance(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    intervals: Sequence[tuple[float, float, str]],
    t0: float = 0.0,
    slope_s: float = 5.0,
    corr_s: float = 15.0,
    step_s: float = 1.0,
    wcc_win_s: float = 30.0,
    wcc_lag_s: float = 5.0,
    wcc_inc_s: float = 5.0,
    n_surrogates: int = 200,
    min_shift_s: float = 60.0,
    seed: int | None = 0,
    wcc_result: WCCResult | None = None,
) -> SegmentReport:
    """CI, KSI, mean r and a WCC summary per interval and per label.

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician signal (e.g. SC in µS) on one grid at ``fs`` Hz.
    intervals : sequence of (start_s, end_s, label)
        Marker intervals on the clock of ``t0`` (see :func:`intervals_from_markers`).
    t0 : float
        Time of ``x[0]`` (s).
    slope_s, corr_s, step_s : float
        Slope concordance settings (:func:`dsp.concordance.slope_concordance`).
    wcc_win_s, wcc_lag_s, wcc_inc_s : float
        WCC on the slope signals (:func:`dsp.concordance.slope_signal`) at ``fs``.
    n_surrogates, min_shift_s, seed : int, float, int
        Circular shifts of the whole session behind each block's lead test.
    wcc_result : WCCResult, optional
        The WCC of these slope signals with these settings when the caller has it already
        (:func:`~dsp.concordance.baselines.analyze_session` computes the same one).

    Returns
    -------
    SegmentReport
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    r = slope_concordance(x, y, fs, slope_s, corr_s, step_s)
    r_a, r_b = slope_concordance_times(x.size, fs, slope_s, corr_s, step_s)
    r_a, r_b = r_a + t0, r_b + t0
    sx, sy = slope_signal(x, fs, slope_s), slope_signal(y, fs, slope_s)
    w = wcc(sx, sy, fs, wcc_lag_s, wcc_win_s, wcc_inc_s) if wcc_result is None else wcc_result
    groups: dict[str, list[tuple[float, float]] | None] = {}
    for k, (a, b, label) in enumerate(intervals):
        groups[f"interval {k}"] = [(float(a) - t0, float(b) - t0)]
        groups.setdefault(f"label {label}", []).append((float(a) - t0, float(b) - t0))
    leads = lead_tests(
        sx, sy, fs, groups, wcc_win_s, wcc_lag_s, wcc_inc_s, n_surrogates, min_shift_s,
        rng=seed, extent_s=slope_s,
    )  # fmt: skip
    w_a = w.window_start_s + t0
    # time of the last raw sample behind a window of the slope signal
    w_b = w_a + w.win_s + w.lag_s - 1.0 / fs + slope_s
    per: list[SegmentStats] = []
    pooled: dict[str, tuple[list[tuple[float, float]], list[np.ndarray], list[np.ndarray]]] = {}
    for k, (a, b, label) in enumerate(intervals):
        rin = r[(r_a >= a - 1e-9) & (r_b < b - 1e-9)]
        win = w.matrix[(w_a >= a - 1e-9) & (w_b < b - 1e-9)]
        lead = leads[f"interval {k}"]
        per.append(_stats(str(label), [(float(a), float(b))], rin, win, w.lags_s, lead))
        spans, rs, ws = pooled.setdefault(str(label), ([], [], []))
        spans.append((float(a), float(b)))
        rs.append(rin)
        ws.append(win)
    labels = tuple(
        _stats(
            lab,
            spans,
            np.concatenate(rs),
            np.concatenate(ws, axis=0),
            w.lags_s,
            leads[f"label {lab}"],
        )  # fmt: skip
        for lab, (spans, rs, ws) in pooled.items()
    )
    return SegmentReport(tuple(per), labels)
