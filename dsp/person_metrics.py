"""Settings and results of the live per-person processor (:class:`dsp.person.LivePerson`).

:class:`PersonConfig` holds its windows and thresholds (times in s, amplitudes in µS), and
:class:`PersonMetrics` one snapshot of its metrics (times on the LSL clock, s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.params import PERSON_PARAMS, MethodParams, reads_method_params

__all__ = ["PersonConfig", "PersonMetrics"]


@reads_method_params(*PERSON_PARAMS)
@dataclass(frozen=True)
class PersonConfig:
    """Settings of :class:`LivePerson` (times in s, amplitudes in µS).

    The method parameters (IBI limits, quality windows, EDA cut-off, SCR threshold, gap and
    IBI interpolation limits, coherence window) are read from ``method``, shared with the
    offline :class:`dsp.session.SessionConfig`: ``config.min_ibi_ms`` is
    ``config.method.min_ibi_ms``.

    Attributes
    ----------
    method : MethodParams
        The method parameters shared with the offline analysis.
    hrv_window_s : float
        Window of the time-domain HRV (RMSSD, ln RMSSD, SDNN, pNN50).
    spectral_window_s : float
        Window of LF/HF (>= 120 s recommended).
    scl_window_s : float
        Window of the skin-conductance level.
    scr_window_s : float
        Window of the SCR rate.
    history_s : float
        How much the object keeps (beats, EDA, SCRs, HR trend); memory is bounded by it.
    hr_window_s : float
        Current HR = 60000 / mean of the valid IBIs ending in the last ``hr_window_s``.
    min_coverage : float
        Fraction of a window that must be covered by good data for a valid metric.
    ecg_polarity_s : float
        Seconds of ECG buffered at the start to decide the lead polarity.
    spectral_update_s : float
        LF/HF and the coherence ratio are recomputed at most this often (data time), which
        keeps a snapshot cheap; HeartMath-style displays update every 5 s as well.
    scr_update_s : float
        SCR detection is re-run at most this often (data time).
    """

    hrv_window_s: float = 60.0
    spectral_window_s: float = 120.0
    scl_window_s: float = 10.0
    scr_window_s: float = 60.0
    history_s: float = 300.0
    hr_window_s: float = 5.0
    min_coverage: float = 0.8
    ecg_polarity_s: float = 5.0
    spectral_update_s: float = 5.0
    scr_update_s: float = 2.0
    method: MethodParams = MethodParams()  # noqa: RUF009 - frozen, shared default


@dataclass(frozen=True, eq=False)
class PersonMetrics:
    """One person's live metrics at time ``t`` (s, LSL clock). NaN = not enough good data.

    Attributes
    ----------
    t : float
        The ``now`` passed to :meth:`LivePerson.snapshot`.
    hr_bpm : float
        60000 / mean of the valid corrected IBIs ending in the last ``hr_window_s``.
    rmssd_ms, ln_rmssd, sdnn_ms, pnn50_pct, mean_hr_window_bpm : float
        Time-domain HRV over ``hrv_window_s`` (see :func:`dsp.hrv.hrv_time`).
    lf_ms2, hf_ms2, lf_hf : float
        Spectral HRV over ``spectral_window_s`` (see :func:`dsp.hrv.hrv_frequency`).
    coherence_ratio, breathing_hz : float
        Coherence ratio and dominant breathing-band frequency over ``coherence_window_s``.
    scl_us, scr_per_min : float
        Skin-conductance level (µS) and SCR rate (1/min).
    n_beats_window : int
        Valid IBIs in the HRV window.
    artifacts : dict
        IBI artifact class -> count in the HRV window.
    cardiac_quality, eda_quality : str
        'good', 'bad' or 'none' (no data); reasons in ``*_quality_reason``.
    cardiac_last_t, eda_last_t : float
        Newest input timestamp of each stream (s), NaN before any data.
    beat_times : ndarray
        Committed beat times (s) within the last ``history_s``.
    provisional_beat_times : ndarray
        Beat(s) not yet committed (may move or vanish).
    scr_onsets, scr_peaks, scr_amplitudes : ndarray
        SCRs within the history (s, s, µS).
    hr_trend_t, hr_trend_bpm : ndarray
        Instantaneous HR, one value per valid corrected IBI, over the last 300 s.
    hr_valid, hrv_valid, spectral_valid, coherence_valid, scl_valid, scr_valid : bool
        Validity of each metric group (the GUI dims stale/invalid values).
    eda_noise_us, scr_threshold_us : float
        The person's EDA noise SD over the history (µS) and the SCR threshold it sets
        (:func:`dsp.eda.scr_threshold_us`, causal filter gain); NaN before the first SCR run.
    """

    t: float
    hr_bpm: float
    rmssd_ms: float
    ln_rmssd: float
    sdnn_ms: float
    pnn50_pct: float
    mean_hr_window_bpm: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    coherence_ratio: float
    breathing_hz: float
    scl_us: float
    scr_per_min: float
    n_beats_window: int
    artifacts: dict
    cardiac_quality: str
    cardiac_quality_reason: str
    eda_quality: str
    eda_quality_reason: str
    cardiac_last_t: float
    eda_last_t: float
    beat_times: np.ndarray
    provisional_beat_times: np.ndarray
    scr_onsets: np.ndarray
    scr_peaks: np.ndarray
    scr_amplitudes: np.ndarray
    hr_trend_t: np.ndarray
    hr_trend_bpm: np.ndarray
    hr_valid: bool
    hrv_valid: bool
    spectral_valid: bool
    coherence_valid: bool
    scl_valid: bool
    scr_valid: bool
    eda_noise_us: float = float("nan")
    scr_threshold_us: float = float("nan")
