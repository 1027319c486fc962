"""Offline analysis of a whole recorded session, per person (the dyad half is dsp.concordance.dyad).

The same detectors, correction, HRV, EDA and concordance functions as the live engine
(:mod:`dsp.ppg`, :mod:`dsp.ecg`, :mod:`dsp.hrv`, :mod:`dsp.eda`, :mod:`dsp.quality`)
applied to complete recordings. Results are frozen
dataclasses; no file I/O happens here.

Time convention: every time is seconds on the recording's LSL clock (the timestamps given in).

Per person (:func:`analyze_person`)
-----------------------------------
* The cardiac signal is cut where its timestamps jump by more than ``max_gap_s`` (dropouts,
  clock resets); each piece runs through the streaming beat detector
  (:func:`dsp.ppg.ppg_peaks` / :func:`dsp.ecg.ecg_peaks`). Beat times are the sub-sample peak
  positions mapped through the piece's timestamps.
* Consecutive ``quality_window_s`` windows get the Orphanidou verdict
  (:func:`dsp.quality.ppg_quality` with the detected beats). Exclusion (IBIs touching a bad
  window, IBIs outside ``min_ibi_ms``-``max_ibi_ms``) and the Lipponen & Tarvainen correction
  anchored to the detected beats are the shared steps of :mod:`dsp.beats`, exactly as in
  :class:`dsp.person.LivePerson`: a correction moves, inserts or removes only the beats it
  must, and every other beat keeps its detected time.
* Session HRV: :func:`dsp.hrv.hrv_time` over all corrected IBIs (successive differences never
  span a gap); :func:`dsp.hrv.hrv_frequency` over the longest unbroken run (its length is
  reported); coherence ratio = mean of :func:`dsp.hrv.coherence_ratio` over consecutive
  ``coherence_window_s`` windows.
* EDA is low-passed zero-phase (:func:`dsp.eda.eda_clean`), samples failing the Kleckner rules
  (:func:`dsp.quality.eda_valid_mask`) are masked; SCRs by :func:`dsp.eda.eda_scr` with an
  absolute amplitude threshold; SCL = mean of the valid cleaned EDA; SCR rate per minute of
  valid EDA.

The dyad half (concordance of two people) is :mod:`dsp.concordance.dyad`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dsp.beats import (
    BeatSeries,
    IbiExclusion,
    beat_series,
    device_beat_series,
    finite_runs,
    ibi_exclusion,
)
from dsp.ecg import ecg_peaks
from dsp.eda import eda_clean, eda_noise_us, eda_scr, scr_threshold_us
from dsp.grid import resample_to_grid
from dsp.hrv import coherence_ratio, hrv_frequency, hrv_time
from dsp.params import DYAD_PARAMS, PERSON_PARAMS, MethodParams, reads_method_params
from dsp.ppg import ppg_peaks
from dsp.quality import eda_valid_mask, ppg_quality

__all__ = [
    "SessionConfig",
    "PersonSession",
    "PersonInterval",
    "analyze_person",
    "person_interval",
    "split_on_gaps",
]

EXCLUDED_QUALITY = str(IbiExclusion.QUALITY)
EXCLUDED_RANGE = str(IbiExclusion.RANGE)


@reads_method_params(*PERSON_PARAMS, *DYAD_PARAMS, "grid_fs")
@dataclass(frozen=True)
class SessionConfig:
    """Parameters of the offline session analysis (times in s, rates in Hz, EDA in µS).

    The method parameters are read from ``method``, the same :class:`MethodParams` the live
    :class:`dsp.person.PersonConfig` and :class:`dsp.concordance.DyadConfig` hold:
    ``config.min_ibi_ms`` is ``config.method.min_ibi_ms``.

    Attributes
    ----------
    method : MethodParams
        The method parameters shared with the live engine.
    spectral_min_s : float
        Shortest unbroken run accepted for LF/HF.
    wcc_inc_s : float
        EDA WCC window increment (offline WCC windows start every ``wcc_inc_s``).
    susy_segment_s, susy_max_lag_s : float
        SUSY segment length and maximum lag (on the slope signals).
    seed : int
        Seed of the surrogate shifts (reproducible p-values).
    baseline_s : float
        Without a "baseline" marker, the first ``baseline_s`` of a session are its baseline.
    """

    spectral_min_s: float = 120.0
    wcc_inc_s: float = 5.0
    susy_segment_s: float = 30.0
    susy_max_lag_s: float = 5.0
    seed: int = 0
    baseline_s: float = 300.0
    method: MethodParams = MethodParams()  # noqa: RUF009 - frozen, shared default


# --------------------------------------------------------------------------- helpers


def split_on_gaps(t: np.ndarray, max_gap_s: float) -> list[tuple[int, int]]:
    """Half-open index ranges of ``t`` (s) without a step larger than ``max_gap_s`` or < 0."""
    t = np.asarray(t, dtype=float)
    if t.size == 0:
        return []
    d = np.diff(t)
    cut = np.flatnonzero((d > max_gap_s) | (d < 0) | ~np.isfinite(d)) + 1
    bounds = np.concatenate([[0], cut, [t.size]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


# --------------------------------------------------------------------------- person


@dataclass(frozen=True, eq=False)
class PersonSession:
    """One person's whole-session results (times s on the LSL clock; NaN = not available).

    Attributes
    ----------
    cardiac_kind : str
        'ppg', 'ecg' or '' (no cardiac signal).
    cardiac_fs, eda_fs : float
        Sampling rates used (Hz; NaN when absent).
    t_start, t_end : float
        First and last sample time over both signals (s).
    beat_times : ndarray
        Detected beats (s), before correction.
    ibi_t, ibi_ms : ndarray
        Corrected IBIs (ms) at their closing beat's time (s); successive runs are separated
        by a NaN IBI (a gap or excluded stretch).
    ibi_corrected : ndarray of bool
        True where the IBI's closing beat was moved or inserted by the correction.
    ibi_artifact : tuple of str
        Artifact class of that beat ('' when untouched).
    excluded_t, excluded_ms : ndarray
        Detected IBIs left out (closing-beat time s, IBI ms) and ``excluded_reason``.
    excluded_reason : tuple of str
        :class:`dsp.beats.IbiExclusion` text per excluded IBI (bad quality, out of range, a
        removed extra beat, an artifact without usable neighbour).
    artifacts : dict
        Beats changed per Lipponen-Tarvainen class (moved, inserted, removed) plus excluded
        IBIs per quality/range reason.
    n_beats : int
        Detected beats.
    mean_hr_bpm, mean_nn_ms, sdnn_ms, rmssd_ms, ln_rmssd, pnn50_pct : float
        Time-domain HRV over the session (:func:`dsp.hrv.hrv_time`).
    n_ibi : int
        Corrected IBIs used.
    lf_ms2, hf_ms2, lf_hf : float
        Spectral HRV over the longest unbroken run of ``spectral_duration_s`` seconds.
    spectral_duration_s : float
        Length of that run (s).
    coherence_ratio : float
        Mean coherence ratio over ``n_coherence_windows`` consecutive 64 s windows.
    n_coherence_windows : int
        Valid coherence windows.
    cardiac_quality_t : ndarray
        Start times (s) of the cardiac quality windows.
    cardiac_quality_good : ndarray of bool
        Verdict per window.
    cardiac_quality_reasons : dict
        Reason -> number of bad windows.
    eda_t, eda_us : ndarray
        EDA time (s) and cleaned EDA (µS), NaN where invalid (Kleckner) or in gaps.
    eda_valid_fraction : float
        Fraction of EDA samples passing the quality rules.
    scl_us : float
        Mean cleaned EDA over the valid samples (µS).
    scl_min_us, scl_max_us : float
        5th and 95th percentile of the valid cleaned EDA (µS).
    scr_onsets, scr_peaks, scr_amplitudes : ndarray
        SCRs (s, s, µS).
    scr_count : int
        Number of SCRs.
    scr_per_min : float
        SCRs per minute of valid EDA.
    eda_valid_minutes : float
        Minutes of valid EDA.
    eda_noise_us : float
        The person's EDA measurement noise (µS SD, :func:`dsp.eda.eda_noise_us` over the valid
        raw samples); NaN without EDA.
    scr_threshold_us : float
        The SCR amplitude threshold used (µS): ``max(scr_min_amplitude_us, scr_noise_k x noise
        x filter gain)`` (:func:`dsp.eda.scr_threshold_us`).
    """

    cardiac_kind: str
    cardiac_fs: float
    eda_fs: float
    t_start: float
    t_end: float
    beat_times: np.ndarray
    ibi_t: np.ndarray
    ibi_ms: np.ndarray
    ibi_corrected: np.ndarray
    ibi_artifact: tuple[str, ...]
    excluded_t: np.ndarray
    excluded_ms: np.ndarray
    excluded_reason: tuple[str, ...]
    artifacts: dict
    n_beats: int
    mean_hr_bpm: float
    mean_nn_ms: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float
    pnn50_pct: float
    n_ibi: int
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    spectral_duration_s: float
    coherence_ratio: float
    n_coherence_windows: int
    cardiac_quality_t: np.ndarray
    cardiac_quality_good: np.ndarray
    cardiac_quality_reasons: dict
    eda_t: np.ndarray
    eda_us: np.ndarray
    eda_valid_fraction: float
    scl_us: float
    scl_min_us: float
    scl_max_us: float
    scr_onsets: np.ndarray
    scr_peaks: np.ndarray
    scr_amplitudes: np.ndarray
    scr_count: int
    scr_per_min: float
    eda_valid_minutes: float
    eda_noise_us: float = math.nan
    scr_threshold_us: float = math.nan
    max_ibi_s: float = field(default=2.0, repr=False)
    max_gap_s: float = field(default=1.0, repr=False)

    @property
    def has_cardiac(self) -> bool:
        """True when a cardiac signal was analysed."""
        return bool(self.cardiac_kind)

    @property
    def has_eda(self) -> bool:
        """True when an EDA signal was analysed."""
        return bool(self.eda_t.size)

    @property
    def cardiac_good_fraction(self) -> float:
        """Fraction of cardiac quality windows judged good (NaN without windows)."""
        g = self.cardiac_quality_good
        return float(g.mean()) if g.size else math.nan

    def hr_on_grid(self, t_grid: np.ndarray) -> np.ndarray:
        """Instantaneous HR (bpm, 60000 / corrected IBI at its closing beat) on ``t_grid`` (s).

        Linear between consecutive valid IBIs at most ``max_ibi_s`` apart; NaN elsewhere.
        """
        tg = np.asarray(t_grid, dtype=float)
        out = np.full(tg.shape, np.nan)
        t, ibi = self.ibi_t, self.ibi_ms
        if t.size < 2:
            return out
        hr = 60000.0 / ibi
        j = np.searchsorted(t, tg, side="right")
        inside = (j > 0) & (j < t.size)
        jj = np.clip(j, 1, t.size - 1)
        t0, t1 = t[jj - 1], t[jj]
        h0, h1 = hr[jj - 1], hr[jj]
        ok = inside & np.isfinite(h0) & np.isfinite(h1) & (t1 - t0 <= self.max_ibi_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = (tg - t0) / (t1 - t0)
        out[ok] = (h0 + w * (h1 - h0))[ok]
        return out

    def eda_on_grid(self, t_grid: np.ndarray) -> np.ndarray:
        """Cleaned, quality-masked EDA (µS) on ``t_grid`` (s); NaN across gaps."""
        return resample_to_grid(self.eda_t, self.eda_us, t_grid, max_gap_s=self.max_gap_s)


@dataclass(frozen=True, eq=False)
class CardiacResult:
    """Beats, quality windows and corrected IBIs of one cardiac signal (times s, LSL clock).

    Attributes
    ----------
    beats : ndarray
        Detected beats (s), before correction.
    series : BeatSeries
        Exclusion and anchored correction (:func:`dsp.beats.beat_series`).
    quality_t : ndarray
        Start times (s) of the consecutive quality windows.
    quality_good : ndarray of bool
        Verdict per window.
    quality_reasons : dict
        Reason -> number of bad windows.
    """

    beats: np.ndarray
    series: BeatSeries
    quality_t: np.ndarray
    quality_good: np.ndarray
    quality_reasons: dict

    @classmethod
    def empty(cls) -> CardiacResult:
        """No cardiac signal."""
        e = np.zeros(0)
        series = beat_series(e, e, np.zeros(0, dtype=bool))
        return cls(e, series, e.copy(), np.zeros(0, dtype=bool), {})


def _segment_quality(
    seg: np.ndarray, ts: np.ndarray, pos: np.ndarray, fs: float, kind: str, nq: int
) -> tuple[list[float], list[bool], list[str], np.ndarray]:
    """Consecutive quality windows of one gap-free piece; IBIs not touching a bad one."""
    q_t: list[float] = []
    q_good: list[bool] = []
    why_l: list[str] = []
    ok_beat = np.ones(max(pos.size - 1, 0), dtype=bool)
    for k0 in range(0, seg.size - nq + 1, max(nq, 1)):
        k1 = k0 + nq
        inw = (pos >= k0) & (pos < k1)
        w = seg[k0:k1]
        if np.all(np.isnan(w)):
            good, why = False, "no data"
        else:
            q = ppg_quality(w, fs, peaks=pos[inw] - k0, kind=kind)
            good, why = q.good, q.reason
        q_t.append(float(ts[k0]))
        q_good.append(bool(good))
        if not good:
            why_l.append(why)
            ok_beat &= ~((pos[1:] >= k0) & (pos[:-1] < k1))
    return q_t, q_good, why_l, ok_beat


def _cardiac(
    x: np.ndarray, t: np.ndarray, fs: float, kind: str, cfg: SessionConfig
) -> CardiacResult:
    """Beats, quality windows, excluded and corrected IBIs of one cardiac signal.

    Each gap-free piece is detected on its own; IBIs never span two pieces. Exclusion and
    correction are the shared steps of :mod:`dsp.beats`, as in :class:`dsp.person.LivePerson`.
    """
    beat_s: list[np.ndarray] = []
    beat_t: list[np.ndarray] = []
    quality_ok: list[np.ndarray] = []
    q_t: list[float] = []
    q_good: list[bool] = []
    reasons: dict[str, int] = {}
    nq = int(round(cfg.quality_window_s * fs))
    for a, b in split_on_gaps(t, cfg.max_gap_s):
        seg = x[a:b]
        ts = t[a:b]
        if seg.size < 2 * fs:
            continue
        pos = ppg_peaks(seg, fs) if kind == "ppg" else ecg_peaks(seg, fs)
        if pos.size == 0:
            continue
        qt, qg, why, ok_beat = _segment_quality(seg, ts, pos, fs, kind, nq)
        q_t += qt
        q_good += qg
        for w in why:
            reasons[w] = reasons.get(w, 0) + 1
        if beat_s:
            quality_ok.append(np.zeros(1, dtype=bool))  # the IBI across the gap
        beat_s.append((a + pos) / fs)
        beat_t.append(np.interp(pos, np.arange(seg.size, dtype=float), ts))
        quality_ok.append(ok_beat)
    if not beat_s:
        return CardiacResult(
            np.zeros(0), CardiacResult.empty().series, np.asarray(q_t),
            np.asarray(q_good, dtype=bool), reasons,
        )  # fmt: skip
    bs, bt = np.concatenate(beat_s), np.concatenate(beat_t)
    qok = np.concatenate(quality_ok)
    ibi = np.diff(bs) * 1000.0
    usable, why_ex = ibi_exclusion(ibi, qok, cfg.min_ibi_ms, cfg.max_ibi_ms)
    # the IBI joining two pieces is not a detected interval: not reported as excluded
    joins = set((np.cumsum([p.size for p in beat_s])[:-1] - 1).tolist())
    why_ex = tuple(None if i in joins else r for i, r in enumerate(why_ex))
    series = beat_series(bs, bt, usable, why_ex)
    return CardiacResult(bt, series, np.asarray(q_t), np.asarray(q_good, dtype=bool), reasons)


@dataclass(frozen=True, eq=False)
class EdaResult:
    """Cleaned EDA, its quality, noise floor and SCRs (times s on the LSL clock, µS)."""

    t: np.ndarray
    x: np.ndarray
    valid_fraction: float
    scl: float
    scl_lo: float
    scl_hi: float
    onsets: np.ndarray
    peaks: np.ndarray
    amplitudes: np.ndarray
    valid_minutes: float
    noise_us: float
    threshold_us: float

    @classmethod
    def empty(cls) -> EdaResult:
        """No EDA signal."""
        e, nan = np.zeros(0), math.nan
        return cls(e, e, nan, nan, nan, nan, e, e, e, 0.0, nan, nan)


def _eda(xr: np.ndarray, tr: np.ndarray, fs: float, cfg: SessionConfig) -> EdaResult:
    """EDA of one person: Kleckner mask, zero-phase cleaning, noise floor, SCRs."""
    pieces = [(a, b) for a, b in split_on_gaps(tr, cfg.max_gap_s) if b - a >= 4]
    masks = {(a, b): eda_valid_mask(xr[a:b], fs) for a, b in pieces}
    raw_valid = np.full(xr.shape, np.nan)
    for (a, b), m in masks.items():
        raw_valid[a:b] = np.where(m, xr[a:b], np.nan)
        raw_valid[a] = np.nan  # no second difference across a gap
    noise = eda_noise_us(raw_valid, fs)
    thr = scr_threshold_us(noise, fs, cfg.eda_cutoff_hz, cfg.scr_noise_k, cfg.scr_min_amplitude_us)
    e_x = np.full(xr.shape, np.nan)
    ons, pks, amps = [], [], []
    n_valid = 0
    for (a, b), mask in masks.items():
        n_valid += int(mask.sum())
        y = np.where(mask, eda_clean(xr[a:b], fs, cutoff_hz=cfg.eda_cutoff_hz), np.nan)
        e_x[a:b] = y
        if np.sum(np.isfinite(y)) >= 4 * fs:
            sc = eda_scr(y, fs, min_amplitude_us=thr, clean=False)
            if len(sc):
                k = np.arange(b - a, dtype=float)
                ons.append(np.interp(sc.onset_idx, k, tr[a:b]))
                pks.append(np.interp(sc.peak_idx, k, tr[a:b]))
                amps.append(sc.amplitudes)
    fin = e_x[np.isfinite(e_x)]
    scl, lo, hi = math.nan, math.nan, math.nan
    if fin.size:
        scl = float(fin.mean())
        lo, hi = (float(v) for v in np.percentile(fin, [5, 95]))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    return EdaResult(
        tr, e_x, n_valid / xr.size, scl, lo, hi, cat(ons), cat(pks), cat(amps),
        n_valid / fs / 60.0, float(noise), float(thr),
    )  # fmt: skip


def _runs(ibi: np.ndarray) -> list[np.ndarray]:
    return [ibi[a:b] for a, b in finite_runs(ibi)]


def _coherence_windows(ibi: np.ndarray, window_s: float) -> list[float]:
    """Coherence ratios of consecutive ``window_s`` windows of each unbroken run."""
    out: list[float] = []
    for run in _runs(ibi):
        cum = np.cumsum(run) / 1000.0
        n_win = int(cum[-1] // window_s) if cum.size else 0
        for w in range(1, n_win + 1):
            k = int(np.searchsorted(cum, w * window_s, side="right"))
            co = coherence_ratio(run[:k], window_s=window_s)
            if co.valid:
                out.append(co.ratio)
    return out


def _checked_signal(
    x: np.ndarray, t: np.ndarray, fs: float, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Samples and timestamps as 1-D float arrays; ValueError for a bad rate or lengths."""
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"{name} rate must be a positive number of Hz, got {fs!r}")
    xa = np.asarray(x, dtype=float).ravel()
    ta = np.asarray(t, dtype=float).ravel()
    if xa.shape != ta.shape:
        raise ValueError(f"{name} samples and timestamps differ in length")
    return xa, ta


def analyze_person(
    cardiac: np.ndarray | None = None,
    cardiac_t: np.ndarray | None = None,
    cardiac_fs: float = math.nan,
    cardiac_kind: str = "ppg",
    eda: np.ndarray | None = None,
    eda_t: np.ndarray | None = None,
    eda_fs: float = math.nan,
    config: SessionConfig = SessionConfig(),  # noqa: B008
) -> PersonSession:
    """Whole-session metrics of one person (see the module docstring).

    Parameters
    ----------
    cardiac, cardiac_t : ndarray, optional
        PPG or ECG samples (any unit) and their timestamps (s, LSL clock, regular apart from
        gaps); None when the person has no cardiac signal.
    cardiac_fs : float
        Sampling rate of the cardiac signal (Hz).
    cardiac_kind : {'ppg', 'ecg', 'beats'}
        Detector to use; 'beats': ``cardiac_t`` holds beat times (s) a device reported (E4
        IBI, BLE RR), which go through :func:`dsp.beats.device_beat_series`.
    eda, eda_t : ndarray, optional
        EDA samples (µS) and timestamps (s); None when absent.
    eda_fs : float
        EDA sampling rate (Hz).
    config : SessionConfig

    Returns
    -------
    PersonSession
    """
    cfg = config
    nan = math.nan
    empty = np.zeros(0)
    starts: list[float] = []
    ends: list[float] = []
    kind = ""
    c = CardiacResult.empty()
    if cardiac_kind == "beats" and cardiac_t is not None and np.size(cardiac_t) > 1:
        kind = "beats"  # beat times a device reported (IBI/RR stream) in ``cardiac_t``
        bt, sr = device_beat_series(cardiac_t, cfg.min_ibi_ms, cfg.max_ibi_ms)
        c = CardiacResult(bt, sr, empty, np.zeros(0, dtype=bool), {})
        starts.extend(bt[:1].tolist())
        ends.extend(bt[-1:].tolist())
    elif cardiac is not None and cardiac_t is not None and np.size(cardiac) > 1:
        if cardiac_kind not in ("ppg", "ecg"):
            raise ValueError("cardiac_kind must be 'ppg', 'ecg' or 'beats'")
        x, t = _checked_signal(cardiac, cardiac_t, cardiac_fs, "cardiac")
        kind = cardiac_kind
        c = _cardiac(x, t, float(cardiac_fs), kind, cfg)
        starts.append(float(t[0]))
        ends.append(float(t[-1]))
    sr = c.series
    lead = 1 if sr.ibi_ms.size and np.isnan(sr.ibi_ms[0]) else 0  # no separator before run 1
    ibi = sr.ibi_ms[lead:]
    ht = hrv_time(ibi)
    runs = _runs(ibi)
    longest = max(runs, key=lambda r: float(np.sum(r)), default=empty)
    hf = hrv_frequency(longest, min_duration_s=cfg.spectral_min_s)
    cos = _coherence_windows(ibi, cfg.coherence_window_s)
    # EDA
    ed = EdaResult.empty()
    if eda is not None and eda_t is not None and np.size(eda) > 1:
        xr, tr = _checked_signal(eda, eda_t, eda_fs, "EDA")
        starts.append(float(tr[0]))
        ends.append(float(tr[-1]))
        ed = _eda(xr, tr, float(eda_fs), cfg)
    e_t, e_x = ed.t, ed.x
    valid_frac, scl, s_lo, s_hi = ed.valid_fraction, ed.scl, ed.scl_lo, ed.scl_hi
    on, pk, amp = ed.onsets, ed.peaks, ed.amplitudes
    valid_min = ed.valid_minutes
    return PersonSession(
        cardiac_kind=kind,
        cardiac_fs=float(cardiac_fs) if kind in ("ppg", "ecg") else nan,
        eda_fs=float(eda_fs) if e_t.size else nan,
        t_start=min(starts) if starts else nan,
        t_end=max(ends) if ends else nan,
        beat_times=c.beats,
        ibi_t=sr.ibi_t[lead:],
        ibi_ms=ibi,
        ibi_corrected=sr.ibi_corrected[lead:],
        ibi_artifact=sr.ibi_artifact[lead:],
        excluded_t=sr.excluded_t,
        excluded_ms=sr.excluded_ms,
        excluded_reason=sr.excluded_reason,
        artifacts=sr.counts,
        n_beats=int(c.beats.size),
        mean_hr_bpm=ht.mean_hr_bpm,
        mean_nn_ms=ht.mean_nn_ms,
        sdnn_ms=ht.sdnn_ms,
        rmssd_ms=ht.rmssd_ms,
        ln_rmssd=ht.ln_rmssd,
        pnn50_pct=ht.pnn50_pct,
        n_ibi=int(ht.n_ibi),
        lf_ms2=hf.lf_ms2,
        hf_ms2=hf.hf_ms2,
        lf_hf=hf.lf_hf,
        spectral_duration_s=float(hf.duration_s),
        coherence_ratio=float(np.mean(cos)) if cos else nan,
        n_coherence_windows=len(cos),
        cardiac_quality_t=c.quality_t,
        cardiac_quality_good=c.quality_good,
        cardiac_quality_reasons=dict(c.quality_reasons),
        eda_t=e_t,
        eda_us=e_x,
        eda_valid_fraction=float(valid_frac),
        scl_us=scl,
        scl_min_us=s_lo,
        scl_max_us=s_hi,
        scr_onsets=on,
        scr_peaks=pk,
        scr_amplitudes=amp,
        scr_count=int(on.size),
        scr_per_min=float(on.size / valid_min) if valid_min > 0 else nan,
        eda_valid_minutes=float(valid_min),
        eda_noise_us=ed.noise_us,
        scr_threshold_us=ed.threshold_us,
        max_ibi_s=cfg.max_ibi_s,
        max_gap_s=cfg.max_gap_s,
    )


@dataclass(frozen=True)
class PersonInterval:
    """One person's metrics inside ``[t0, t1)`` (s): HR, time-domain HRV, SCL, SCRs.

    ``mean_hr_bpm`` = 60000 / mean IBI (bpm), ``rmssd_ms`` / ``ln_rmssd`` over IBIs closing
    inside, ``scl_us`` mean valid cleaned EDA (µS), ``scr_count`` SCR peaks inside and
    ``scr_per_min`` per minute of valid EDA. NaN without data.
    """

    t0: float
    t1: float
    mean_hr_bpm: float
    rmssd_ms: float
    ln_rmssd: float
    n_ibi: int
    scl_us: float
    scr_count: int
    scr_per_min: float


def person_interval(p: PersonSession, spans: Sequence[tuple[float, float]]) -> PersonInterval:
    """Metrics of ``p`` pooled over the half-open intervals ``spans`` (s)."""
    nan = math.nan
    ibis: list[np.ndarray] = []
    e_parts: list[np.ndarray] = []
    n_scr = 0
    valid_s = 0.0
    for a, b in spans:
        m = (p.ibi_t >= a) & (p.ibi_t < b)
        if ibis:
            ibis.append(np.array([np.nan]))
        ibis.append(p.ibi_ms[m])
        if p.has_eda:
            me = (p.eda_t >= a) & (p.eda_t < b)
            e = p.eda_us[me]
            e_parts.append(e[np.isfinite(e)])
            valid_s += float(np.sum(np.isfinite(e))) / p.eda_fs
            n_scr += int(np.sum((p.scr_peaks >= a) & (p.scr_peaks < b)))
    ht = hrv_time(np.concatenate(ibis) if ibis else np.zeros(0))
    e_all = np.concatenate(e_parts) if e_parts else np.zeros(0)
    return PersonInterval(
        t0=float(min((a for a, _ in spans), default=nan)),
        t1=float(max((b for _, b in spans), default=nan)),
        mean_hr_bpm=ht.mean_hr_bpm,
        rmssd_ms=ht.rmssd_ms,
        ln_rmssd=ht.ln_rmssd,
        n_ibi=int(ht.n_ibi),
        scl_us=float(e_all.mean()) if e_all.size else nan,
        scr_count=n_scr if p.has_eda else 0,
        scr_per_min=n_scr * 60.0 / valid_s if valid_s > 0 else nan,
    )
