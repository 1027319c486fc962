"""Offline analysis of a whole recorded session, per person (the dyad half is dsp.concordance.dyad).

The settings and result types (:class:`SessionConfig`, :class:`PersonSession`,
:class:`PersonInterval`, :func:`person_interval`) are in :mod:`dsp.person_session` and
re-exported here.

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
* EDA is low-passed causally, exactly as live (:func:`dsp.eda.eda_clean`), samples failing the Kleckner rules
  (:func:`dsp.quality.eda_valid_mask`) are masked; SCRs by :func:`dsp.eda.eda_scr` with an
  absolute amplitude threshold; SCL = mean of the valid cleaned EDA; SCR rate per minute of
  valid EDA.

The dyad half (concordance of two people) is :mod:`dsp.concordance.dyad`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
from dsp.hrv import coherence_ratio, hrv_frequency, hrv_time
from dsp.person_session import (
    PersonInterval,
    PersonSession,
    SessionConfig,
    person_interval,
    split_on_gaps,
)
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


def _eda(
    xr: np.ndarray, tr: np.ndarray, fs: float, cfg: SessionConfig, step_us: float = 0.0
) -> EdaResult:
    """EDA of one person: Kleckner mask (flat runs judged against the sensor's quantisation
    step ``step_us``, µS), zero-phase cleaning, noise floor, SCRs."""
    pieces = [(a, b) for a, b in split_on_gaps(tr, cfg.max_gap_s) if b - a >= 4]
    masks = {(a, b): eda_valid_mask(xr[a:b], fs, quant_step_us=step_us) for a, b in pieces}
    raw_valid = np.full(xr.shape, np.nan)
    for (a, b), m in masks.items():
        raw_valid[a:b] = np.where(m, xr[a:b], np.nan)
        raw_valid[a] = np.nan  # no second difference across a gap
    noise = eda_noise_us(raw_valid, fs)
    thr = scr_threshold_us(
        noise, fs, cfg.eda_cutoff_hz, cfg.scr_noise_k, cfg.scr_min_amplitude_us, causal=True
    )
    e_x = np.full(xr.shape, np.nan)
    ons, pks, amps = [], [], []
    n_valid = 0
    for (a, b), mask in masks.items():
        n_valid += int(mask.sum())
        y = np.where(mask, eda_clean(xr[a:b], fs, causal=True, cutoff_hz=cfg.eda_cutoff_hz), np.nan)
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
    eda_step_us: float = 0.0,
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
    eda_step_us : float
        The EDA sensor's quantisation step (µS per code; 0 = unknown), for the flat-line rule
        (:func:`dsp.quality.eda_valid_mask`).

    Returns
    -------
    PersonSession
    """
    cfg = config
    nan = math.nan
    starts: list[float] = []
    ends: list[float] = []
    kind = ""
    c = CardiacResult.empty()
    if cardiac_kind == "beats" and cardiac_t is not None and np.size(cardiac_t) > 1:
        kind = "beats"  # beat times a device reported (IBI/RR stream) in ``cardiac_t``
        bt, sr = device_beat_series(cardiac_t, cfg.min_ibi_ms, cfg.max_ibi_ms)
        c = CardiacResult(bt, sr, np.zeros(0), np.zeros(0, dtype=bool), {})
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
    ed = EdaResult.empty()
    if eda is not None and eda_t is not None and np.size(eda) > 1:
        xr, tr = _checked_signal(eda, eda_t, eda_fs, "EDA")
        starts.append(float(tr[0]))
        ends.append(float(tr[-1]))
        ed = _eda(xr, tr, float(eda_fs), cfg, float(eda_step_us))
    return PersonSession(
        cardiac_kind=kind,
        cardiac_fs=float(cardiac_fs) if kind in ("ppg", "ecg") else nan,
        eda_fs=float(eda_fs) if ed.t.size else nan,
        t_start=min(starts) if starts else nan,
        t_end=max(ends) if ends else nan,
        **_cardiac_fields(c, cfg),
        **_eda_fields(ed),
        max_ibi_s=cfg.max_ibi_s,
        max_gap_s=cfg.max_gap_s,
    )


def _cardiac_fields(c: CardiacResult, cfg: SessionConfig) -> dict:
    """The :class:`PersonSession` fields of the beats, corrected IBIs, HRV and coherence."""
    nan = math.nan
    sr = c.series
    lead = 1 if sr.ibi_ms.size and np.isnan(sr.ibi_ms[0]) else 0  # no separator before run 1
    ibi = sr.ibi_ms[lead:]
    ht = hrv_time(ibi)
    runs = _runs(ibi)
    longest = max(runs, key=lambda r: float(np.sum(r)), default=np.zeros(0))
    hf = hrv_frequency(longest, min_duration_s=cfg.spectral_min_s)
    cos = _coherence_windows(ibi, cfg.coherence_window_s)
    return {
        "beat_times": c.beats,
        "ibi_t": sr.ibi_t[lead:],
        "ibi_ms": ibi,
        "ibi_corrected": sr.ibi_corrected[lead:],
        "ibi_artifact": sr.ibi_artifact[lead:],
        "excluded_t": sr.excluded_t,
        "excluded_ms": sr.excluded_ms,
        "excluded_reason": sr.excluded_reason,
        "artifacts": sr.counts,
        "n_beats": int(c.beats.size),
        "mean_hr_bpm": ht.mean_hr_bpm,
        "mean_nn_ms": ht.mean_nn_ms,
        "sdnn_ms": ht.sdnn_ms,
        "rmssd_ms": ht.rmssd_ms,
        "ln_rmssd": ht.ln_rmssd,
        "pnn50_pct": ht.pnn50_pct,
        "n_ibi": int(ht.n_ibi),
        "lf_ms2": hf.lf_ms2,
        "hf_ms2": hf.hf_ms2,
        "lf_hf": hf.lf_hf,
        "spectral_duration_s": float(hf.duration_s),
        "coherence_ratio": float(np.mean(cos)) if cos else nan,
        "n_coherence_windows": len(cos),
        "cardiac_quality_t": c.quality_t,
        "cardiac_quality_good": c.quality_good,
        "cardiac_quality_reasons": dict(c.quality_reasons),
    }


def _eda_fields(ed: EdaResult) -> dict:
    """The :class:`PersonSession` fields of the EDA: cleaned trace, SCL, SCRs, noise floor."""
    valid_min = ed.valid_minutes
    return {
        "eda_t": ed.t,
        "eda_us": ed.x,
        "eda_valid_fraction": float(ed.valid_fraction),
        "scl_us": ed.scl,
        "scl_min_us": ed.scl_lo,
        "scl_max_us": ed.scl_hi,
        "scr_onsets": ed.onsets,
        "scr_peaks": ed.peaks,
        "scr_amplitudes": ed.amplitudes,
        "scr_count": int(ed.onsets.size),
        "scr_per_min": float(ed.onsets.size / valid_min) if valid_min > 0 else math.nan,
        "eda_valid_minutes": float(valid_min),
        "eda_noise_us": ed.noise_us,
        "scr_threshold_us": ed.threshold_us,
    }
