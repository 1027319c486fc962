"""Settings and results of the offline per-person analysis (:func:`dsp.session.analyze_person`).

:class:`SessionConfig` holds its settings (times in s, amplitudes in µS), :class:`PersonSession`
one person's whole-session result (beats, corrected IBIs, HRV, EDA, quality; times in s on the
recording's LSL clock), and :func:`person_interval` that person's metrics inside given spans.
No file I/O happens here.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dsp.grid import resample_to_grid
from dsp.hrv import hrv_time
from dsp.params import DYAD_PARAMS, PERSON_PARAMS, MethodParams, reads_method_params

__all__ = [
    "SessionConfig",
    "PersonSession",
    "PersonInterval",
    "person_interval",
    "split_on_gaps",
]


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
