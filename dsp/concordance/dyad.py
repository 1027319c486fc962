"""Offline dyad analysis of a whole recorded session: EDA and HR concordance of two people.

Both people's EDA and instantaneous HR on the common 4 Hz grid over the time both are
recorded (:class:`dsp.session.PersonSession` gives them); :func:`analyze_session` for each
(Marci CI, KSI, WCC, circular-shift surrogate test), SUSY on the slope signals, the rolling CI
over the last ``rolling_n`` correlations with its percentile among circular-shift surrogates of
the whole session (the chance band is the ``chance_lo_pct``-``chance_hi_pct`` range of those
surrogate rolling CIs), and per-label / per-interval tables (:func:`segment_concordance`).

Time convention: seconds on the recording's LSL clock.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace

import numpy as np

from dsp.concordance.baselines import SessionConcordance, analyze_session, susy_test
from dsp.concordance.contrast import (
    ContrastMeasure,
    LabelContrast,
    contrast_blocks,
    label_contrast,
)
from dsp.concordance.coupling import coupling_timeline
from dsp.concordance.evidence import breathing_rate, shared_breathing_note
from dsp.concordance.hr import CoherenceTest, hr_coherence_session_test
from dsp.concordance.indices import rolling_marci, rolling_pearson, slope_series, slope_signal
from dsp.concordance.lead import EDA_BRIDGE_S, LEAD_GAP_S, NO_LEAD_TEST, LeadTest
from dsp.concordance.live_config import DyadConfig
from dsp.concordance.segments import SegmentReport, segment_concordance
from dsp.concordance.susy import SUSYResult, susy
from dsp.concordance.wcc import PEAK_THRESHOLD, wcc, wcc_peak
from dsp.grid import make_grid
from dsp.session import PersonSession, SessionConfig
from dsp.surrogates import SurrogateTest, circular_shift_indices, percentiles_of

__all__ = [
    "HIGHLIGHT", "DyadSession", "DyadSignal", "DyadTimeline", "analyze_dyad", "susy_min_shift_s",
]  # fmt: skip

#: The live engine's defaults: the review timeline and report replay its coupling tests at
#: its refresh instants (``warmup_s``, then every ``surrogate_every_s``) with its rule.
LIVE = DyadConfig()
#: The "above chance" rule of the review timeline and report (the live default).
HIGHLIGHT = LIVE.highlight
#: Circular shifts behind the SUSY and HR-coherence chance levels (each needs a full SUSY or
#: Welch run per surrogate, so fewer than the CI's 200).
SUSY_SURROGATES = 100


def susy_min_shift_s(name: str, cfg: SessionConfig) -> float:
    """Shortest circular shift (s) of the SUSY chance test of signal ``name`` ('eda', 'hr').

    EDA: ``cfg.min_shift_s`` (60 s). HR: one grid sample, i.e. every shift of the circle but
    the real pairing. HR slopes are dominated by breathing, so SUSY's effect size at shifts a
    few tens of seconds apart is strongly correlated (r 0.76 at 6 s, 0.3-0.6 at 12 s) while
    its values over the whole circle are tied to a dyad constant (every pairing of segments
    appears once); leaving out the shifts near the real one therefore leaves out the values
    most like it and pushes the rest the other way: on independent dyads unlike the simulator
    the observed ES sat 1.2-1.3 null SDs from its surrogates' mean instead of 1 and
    p <= 0.05 came in 7-9 % (``bench_calibration.py``). With the whole circle the real
    pairing is one of an exchangeable set (exact for a circularly stationary series). The
    price: a coupled pair's shifts within the lag window look coupled too, so p rarely goes
    below ~0.03 in a 10-minute session.
    """
    return cfg.min_shift_s if name == "eda" else 1.0 / cfg.grid_fs


#: Offline HR coherence (windows of ``hr_coherence_window_s``, as live): the circular shifts
#: of the clinician's whole series must spread over at least 4 minutes (sessions of 6 minutes
#: or more with shifts >= 60 s), so that the pairings compared are not all alike.
COHERENCE_SPAN_S = 240.0


@dataclass(frozen=True, eq=False)
class DyadTimeline:
    """Concordance on a 1 Hz timeline (``t`` s, LSL clock), NaN where not available.

    Attributes
    ----------
    t : ndarray
        Whole seconds from the grid start.
    ci_rolling : ndarray
        Marci CI of the last ``rolling_n`` slope correlations ending at ``t``.
    percentile : ndarray
        Percentile (0-100) of ``ci_rolling`` among the session's surrogate rolling CIs.
    wcc_peak_r, wcc_lag_s : ndarray
        Peak (nearest lag 0) of the newest WCC window ending at or before ``t``
        (r; s, positive = patient leads).
    chance_lo, chance_hi : float
        Chance band of ``ci_rolling`` (surrogate percentiles).
    highlight : ndarray of bool or None
        "Above chance" by the session-level rule (:data:`HIGHLIGHT`) on the coupling test
        over the last 10 minutes, replayed at the live refresh instants
        (:func:`~dsp.concordance.coupling.coupling_timeline`); held until the next refresh.
    coupling_p : ndarray or None
        p of the newest coupling test at or before ``t`` (NaN before the first test).
    """

    t: np.ndarray
    ci_rolling: np.ndarray
    percentile: np.ndarray
    wcc_peak_r: np.ndarray
    wcc_lag_s: np.ndarray
    chance_lo: float
    chance_hi: float
    highlight: np.ndarray | None = None
    coupling_p: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class DyadSignal:
    """Concordance of one signal (EDA or HR) over a session.

    Attributes
    ----------
    signal : str
        'eda' or 'hr'.
    session : SessionConcordance or None
        :func:`dsp.concordance.analyze_session` result (None when too short).
    susy : SUSYResult or None
        SUSY on the slope signals.
    frac_patient_leads : float
        Fraction of WCC windows with a clear peak in which the patient leads (lag > 0).
    frac_clinician_leads : float
        Same for the clinician (lag < 0).
    timeline : DyadTimeline
        1 Hz rolling values.
    segments : SegmentReport or None
        Per-interval and per-label tables (None without markers).
    note : str
        Why something is missing ('' when complete).
    lead : LeadTest
        Session lead test (the only source of "X leads by N s").
    contrasts : tuple of LabelContrast
        Block-permutation tests of the CI between every pair of marker labels.
    susy_test : SurrogateTest or None
        SUSY effect size (Tschacher & Meier 2020) against circular shifts of the session.
    coherence : CoherenceTest or None
        HR only: LF / HF magnitude-squared coherence with its circular-shift chance level.
    breathing_patient_hz, breathing_clinician_hz : float
        HR only: breathing rate seen in each person's HR (Hz; NaN when unclear).
    breathing_note : str
        HR only: "both breathing at ~15/min: HR synchrony may reflect breathing" or "".
    """

    signal: str
    session: SessionConcordance | None
    susy: SUSYResult | None
    frac_patient_leads: float
    frac_clinician_leads: float
    timeline: DyadTimeline
    segments: SegmentReport | None
    note: str
    lead: LeadTest = NO_LEAD_TEST
    contrasts: tuple[LabelContrast, ...] = ()
    susy_test: SurrogateTest | None = None
    coherence: CoherenceTest | None = None
    breathing_patient_hz: float = math.nan
    breathing_clinician_hz: float = math.nan
    breathing_note: str = ""


@dataclass(frozen=True, eq=False)
class DyadSession:
    """Dyad results: the common grid and the EDA and HR concordance.

    Attributes
    ----------
    t_grid : ndarray
        4 Hz grid (s, LSL clock) over the time both people are recorded.
    eda_patient, eda_clinician, hr_patient, hr_clinician : ndarray
        Signals on the grid (µS, bpm).
    eda, hr : DyadSignal
    """

    t_grid: np.ndarray
    eda_patient: np.ndarray
    eda_clinician: np.ndarray
    hr_patient: np.ndarray
    hr_clinician: np.ndarray
    eda: DyadSignal
    hr: DyadSignal


def _empty_timeline(t: np.ndarray) -> DyadTimeline:
    nanv = np.full(t.shape, np.nan)
    return DyadTimeline(t, nanv, nanv.copy(), nanv.copy(), nanv.copy(), math.nan, math.nan)


def _rolling_timeline(
    x: np.ndarray, y: np.ndarray, t0: float, slope_s: float, cfg: SessionConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Rolling CI and its percentile among the session's surrogate rolling CIs.

    Returns ``(r_end, ci_roll, pct, lo, hi)``: the absolute time of the newest sample behind
    each slope correlation, the trailing CI, its percentile and the chance band.
    """
    fs = cfg.grid_fs
    m = int(round(cfg.corr_s / cfg.step_s))
    ss_x = slope_series(x, fs, slope_s, cfg.step_s)
    ss_y = slope_series(y, fs, slope_s, cfg.step_s)
    r = rolling_pearson(ss_x, ss_y, m)
    ci_roll = rolling_marci(r, cfg.rolling_n, cfg.min_valid_fraction)
    rng = np.random.default_rng(cfg.seed)
    idx = circular_shift_indices(
        ss_y.size, cfg.n_surrogates, int(cfg.min_shift_s / cfg.step_s), rng
    )
    null_parts = []
    chunk = max(1, 2_000_000 // max(ss_y.size * m, 1))
    for c0 in range(0, cfg.n_surrogates, chunk):
        rn = rolling_pearson(ss_x[None, :], ss_y[idx[c0 : c0 + chunk]], m)
        cr = rolling_marci(rn, cfg.rolling_n, cfg.min_valid_fraction)
        null_parts.append(cr[np.isfinite(cr)])
    null = np.sort(np.concatenate(null_parts)) if null_parts else np.zeros(0)
    lo = float(np.percentile(null, cfg.chance_lo_pct)) if null.size else math.nan
    hi = float(np.percentile(null, cfg.chance_hi_pct)) if null.size else math.nan
    # r[j] ends at t0 + j*step + (m-1)*step + slope_s
    r_end = t0 + np.arange(r.size) * cfg.step_s + (m - 1) * cfg.step_s + slope_s
    pct = percentiles_of(ci_roll, null)
    return r_end, ci_roll, pct, lo, hi


def _held_peaks(
    t1s: np.ndarray, sc: SessionConcordance, peaks: list, t0: float, slope_s: float, inc_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """WCC peak r and lag on the 1 Hz timeline, held from each window's end."""
    w_end = t0 + sc.wcc.window_start_s + sc.wcc.win_s + sc.wcc.lag_s + slope_s
    pr = np.array([p[0] for p in peaks]) if peaks else np.zeros(0)
    pl = np.array([p[1] for p in peaks]) if peaks else np.zeros(0)
    j = np.searchsorted(w_end, t1s, side="right") - 1
    has = j >= 0
    wr = np.full(t1s.shape, np.nan)
    wl = np.full(t1s.shape, np.nan)
    if pr.size:
        stale = has & (t1s - w_end[np.clip(j, 0, None)] <= inc_s + 1e-9)
        wr[stale] = pr[j[stale]]
        wl[stale] = pl[j[stale]]
    return wr, wl


def _contrasts(
    x: np.ndarray,
    y: np.ndarray,
    t0: float,
    slope_s: float,
    wcc_win_s: float,
    intervals: Sequence[tuple[float, float, str]],
    cfg: SessionConfig,
    measure: ContrastMeasure,
) -> tuple[LabelContrast, ...]:
    """Label contrasts for every pair of the first four labels (in order of appearance), with
    the windows of the signal's lead test."""
    labels = list(dict.fromkeys(str(lab) for _, _, lab in intervals))[:4]
    blocks = contrast_blocks(
        x, y, cfg.grid_fs, intervals, t0, slope_s, cfg.corr_s, cfg.step_s, wcc_win_s,
        cfg.wcc_lag_s, cfg.wcc_inc_s, measure=measure, method=cfg.method,
    )  # fmt: skip
    return tuple(
        label_contrast(blocks, a, b, seed=cfg.seed) for a, b in itertools.combinations(labels, 2)
    )


def _dyad_signal(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    t0: float,
    slope_s: float,
    wcc_win_s: float,
    intervals: Sequence[tuple[float, float, str]],
    cfg: SessionConfig,
    surrogates: str = "circular",
    coupling: bool = True,
    coherence: bool = True,
) -> DyadSignal:
    """One signal's concordance; ``coupling`` False: without the replayed coupling tests
    (the timeline's ``highlight`` and ``coupling_p`` None: :func:`_coupling_job` computes
    them elsewhere); ``coherence`` False: HR without its coherence test (None:
    :func:`_coherence_job` computes it elsewhere)."""
    fs = cfg.grid_fs
    n = x.size
    t1s = _timeline_seconds(t0, n, fs)
    need = 2 * cfg.min_shift_s + cfg.corr_s + slope_s + cfg.step_s
    both = np.isfinite(x) & np.isfinite(y)
    if n / fs < need or both.sum() / fs < need / 2:
        note = (
            f"{name.upper()} concordance needs at least {need:.0f} s of both people's signal "
            f"(have {both.sum() / fs:.0f} s): not enough data for a test"
        )
        return DyadSignal(name, None, None, math.nan, math.nan, _empty_timeline(t1s), None, note)
    seg = None
    contrasts: tuple[LabelContrast, ...] = ()
    sx, sy = slope_signal(x, fs, slope_s), slope_signal(y, fs, slope_s)
    w = wcc(sx, sy, fs, cfg.wcc_lag_s, wcc_win_s, cfg.wcc_inc_s)  # one WCC for both below
    if intervals:  # first: its lead tests' table of every circular window then serves the
        # session lead test too (dsp.concordance.circular; the same series, other shifts)
        seg = segment_concordance(
            x, y, fs, intervals, t0, slope_s, cfg.corr_s, cfg.step_s,
            wcc_win_s, cfg.wcc_lag_s, cfg.wcc_inc_s, cfg.n_surrogates, cfg.min_shift_s, cfg.seed,
            wcc_result=w,
        )  # fmt: skip
    sc = analyze_session(
        x, y, fs, slope_s, cfg.corr_s, cfg.step_s, wcc_win_s, cfg.wcc_lag_s, cfg.wcc_inc_s,
        cfg.n_surrogates, surrogates, cfg.min_shift_s, seed=cfg.seed,
        lead_min_span_s=cfg.lead_min_span_s, lead_bridge_s=_bridge_s(name), wcc_result=w,
    )  # fmt: skip
    su = susy(sx, sy, fs, cfg.susy_segment_s, cfg.susy_max_lag_s)
    su_test = susy_test(
        sx, sy, fs, cfg.susy_segment_s, cfg.susy_max_lag_s, SUSY_SURROGATES,
        susy_min_shift_s(name, cfg), seed=cfg.seed,
    )  # fmt: skip
    peaks = [wcc_peak(row, sc.wcc.lags_s, PEAK_THRESHOLD) for row in sc.wcc.matrix]
    clear_lags = np.array([lag for _, lag, ok in peaks if ok])
    fp = float(np.mean(clear_lags > 0.0)) if clear_lags.size else math.nan
    fc = float(np.mean(clear_lags < 0.0)) if clear_lags.size else math.nan
    r_end, ci_roll, pct, lo, hi = _rolling_timeline(x, y, t0, slope_s, cfg)
    ci_t = np.full(t1s.shape, np.nan)
    pct_t = np.full(t1s.shape, np.nan)
    pos_idx = np.rint(r_end - t0).astype(int)
    okp = (pos_idx >= 0) & (pos_idx < t1s.size)
    ci_t[pos_idx[okp]] = ci_roll[okp]
    pct_t[pos_idx[okp]] = pct[okp]
    wr, wl = _held_peaks(t1s, sc, peaks, t0, slope_s, cfg.wcc_inc_s)
    if intervals:
        measure = ContrastMeasure.SHARED_SCR if name == "eda" else ContrastMeasure.LAGGED_SYNCHRONY
        contrasts = _contrasts(x, y, t0, slope_s, wcc_win_s, intervals, cfg, measure)
    hl, cp = _coupling_held(x, y, t1s - t0, name, cfg) if coupling else (None, None)
    tl = DyadTimeline(t1s, ci_t, pct_t, wr, wl, lo, hi, hl, cp)
    coh, breath = None, (math.nan, math.nan)
    if name == "hr":
        coh = _coherence_job(x, y, cfg) if coherence else None
        breath = (breathing_rate(x, fs), breathing_rate(y, fs))
    return DyadSignal(
        name, sc, su, fp, fc, tl, seg, "", sc.lead, contrasts, su_test, coh, *breath,
        shared_breathing_note(*breath),
    )  # fmt: skip


def _timeline_seconds(t0: float, n: int, fs: float) -> np.ndarray:
    """Whole seconds from the grid start ``t0`` (s) over ``n`` grid samples at ``fs``."""
    return t0 + np.arange(int(np.floor((n - 1) / fs)) + 1, dtype=float)


def _coupling_job(
    name: str, x: np.ndarray, y: np.ndarray, t0: float, cfg: SessionConfig
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_coupling_held` of a signal on its 1 Hz timeline from ``t0`` (a job of its
    own, so that two processes share a dyad's work evenly)."""
    t1s = _timeline_seconds(t0, x.size, cfg.grid_fs)
    return _coupling_held(x, y, t1s - t0, name, cfg)


def _coherence_job(x: np.ndarray, y: np.ndarray, cfg: SessionConfig) -> CoherenceTest:
    """The whole-session HR coherence test of HR series ``x`` and ``y`` (a job of its own,
    as :func:`_coupling_job`)."""
    return hr_coherence_session_test(
        x, y, cfg.grid_fs, cfg.hr_coherence_window_s, cfg.hr_coherence_min_s,
        n_surrogates=SUSY_SURROGATES, min_shift_s=cfg.min_shift_s,
        min_span_s=COHERENCE_SPAN_S, seed=cfg.seed,
    )  # fmt: skip


def _with_coherence(sig: DyadSignal, test: CoherenceTest) -> DyadSignal:
    """HR ``sig`` (computed without its coherence test) with it; unchanged when the signal
    was too short for any test."""
    return sig if sig.session is None else replace(sig, coherence=test)


def _with_coupling(sig: DyadSignal, held: tuple[np.ndarray, np.ndarray]) -> DyadSignal:
    """``sig`` (computed without coupling) with its replayed coupling tests; unchanged when
    the signal was too short for any test (as :func:`_dyad_signal` leaves it)."""
    if sig.session is None:
        return sig
    tl = replace(sig.timeline, highlight=held[0], coupling_p=held[1])
    return replace(sig, timeline=tl)


def _bridge_s(name: str) -> float:
    """Longest hole (s) a lead / coupling test bridges: none in EDA, a beat or so in HR."""
    return EDA_BRIDGE_S if name == "eda" else LEAD_GAP_S


def _coupling_held(
    x: np.ndarray, y: np.ndarray, t_s: np.ndarray, name: str, cfg: SessionConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The live coupling test replayed (:func:`coupling_timeline`), held on the 1 Hz timeline
    ``t_s`` (s after the first grid sample): (highlight, p)."""
    eda = name == "eda"
    ct = coupling_timeline(
        x, y, cfg.grid_fs, cfg.slope_s if eda else cfg.hr_slope_s,
        cfg.wcc_win_s if eda else cfg.hr_wcc_win_s, LIVE.lead_inc_s if eda else LIVE.hr_lead_inc_s,
        cfg.method, HIGHLIGHT, LIVE.warmup_s, LIVE.surrogate_every_s, seed=cfg.seed,
        bridge_s=_bridge_s(name),
    )  # fmt: skip
    i = np.searchsorted(ct.t, t_s + 1e-9, side="right") - 1
    ok = i >= 0
    hl = np.zeros(t_s.shape, dtype=bool)
    cp = np.full(t_s.shape, np.nan)
    hl[ok] = ct.highlight[i[ok]]
    cp[ok] = ct.p[i[ok]]
    return hl, cp


def analyze_dyad(
    patient: PersonSession,
    clinician: PersonSession,
    intervals: Sequence[tuple[float, float, str]] = (),
    config: SessionConfig = SessionConfig(),  # noqa: B008
    surrogates: str = "circular",
    executor: Executor | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> DyadSession:
    """EDA and HR concordance of a session (see the module docstring).

    Parameters
    ----------
    patient, clinician : PersonSession
        From :func:`analyze_person`.
    intervals : sequence of (start_s, end_s, label)
        Marker blocks on the LSL clock (e.g. from :func:`dsp.concordance.segments.intervals_from_markers`).
    config : SessionConfig
    surrogates : {"circular", "segment"}
        Surrogates of the EDA session CI test (:func:`analyze_session`). The HR CI test always
        uses circular shifts: 30 s segment shuffles cut heart rate's slow structure, and
        independent dyads unlike the simulator got p <= 0.05 in 9.2 % of 400 (its
        ``SurrogateTest.method`` says which ran). The rolling chance band, the lead tests
        and the SUSY / coherence chance levels use circular shifts.
    executor : concurrent.futures.Executor, optional
        Computes HR (but its coherence test) and its replayed coupling tests while this
        thread computes EDA and HR's coherence test (a process pool uses a second core; the
        numbers are the same either way).
    while_waiting : callable, optional
        Called in this thread once the executor's jobs are submitted, before the EDA part
        (other work of the caller, e.g. heartpy, overlaps the executor's share); the
        executor then replays EDA's coupling tests too.

    Returns
    -------
    DyadSession
    """
    cfg = config
    t0 = max(patient.t_start, clinician.t_start)
    t1 = min(patient.t_end, clinician.t_end)
    # The grid starts on a whole second of the clock, as the live engine's does, so that the
    # 1 s slope and correlation steps fall on the same instants live and offline.
    tg = make_grid(math.ceil(t0 - 1e-9), t1, cfg.grid_fs) if t1 > t0 else np.zeros(0)
    ep, ec = patient.eda_on_grid(tg), clinician.eda_on_grid(tg)
    hp, hc = patient.hr_on_grid(tg), clinician.hr_on_grid(tg)
    g0 = float(tg[0]) if tg.size else math.nan
    if surrogates not in ("circular", "segment"):
        raise ValueError("surrogates must be 'circular' or 'segment'")
    # segment shuffles are optimistic for HR (see the docstring): always circular shifts
    hr_args = ("hr", hp, hc, g0, cfg.hr_slope_s, cfg.hr_wcc_win_s, intervals, cfg, "circular")
    eda_args = ("eda", ep, ec, g0, cfg.slope_s, cfg.wcc_win_s, intervals, cfg, surrogates)
    if executor is None:
        if while_waiting is not None:
            while_waiting()
        return DyadSession(tg, ep, ec, hp, hc, _dyad_signal(*eda_args), _dyad_signal(*hr_args))
    # the helper: HR without its coherence test and its coupling replay, then (when this
    # thread has the caller's work too) EDA's coupling replay; here: the caller's work, EDA,
    # HR's coherence test (about equal shares on 60 min either way)
    hr_job = executor.submit(_dyad_signal, *hr_args, coupling=False, coherence=False)
    hr_held = executor.submit(_coupling_job, "hr", hp, hc, g0, cfg)
    eda_held = None
    if while_waiting is not None:
        eda_held = executor.submit(_coupling_job, "eda", ep, ec, g0, cfg)
        while_waiting()
    eda = _dyad_signal(*eda_args, coupling=eda_held is None)
    coh = _coherence_job(hp, hc, cfg)
    if eda_held is not None:
        eda = _with_coupling(eda, eda_held.result())
    hr = _with_coherence(_with_coupling(hr_job.result(), hr_held.result()), coh)
    return DyadSession(tg, ep, ec, hp, hc, eda, hr)
