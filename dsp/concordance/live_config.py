"""Settings and snapshot of the live dyad engine (:class:`~dsp.concordance.live.LiveDyad`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.concordance.evidence import HighlightRule
from dsp.concordance.indices import _as_samples, _corr_values
from dsp.concordance.lead import NO_LEAD_TEST, LeadTest
from dsp.concordance.wcc import PEAK_THRESHOLD
from dsp.params import DYAD_PARAMS, MethodParams, reads_method_params

__all__ = ["DyadConfig", "DyadMetrics"]


@reads_method_params(*DYAD_PARAMS, fs="grid_fs")
@dataclass(frozen=True)
class DyadConfig:
    """Settings of :class:`LiveDyad` (all times in seconds, rates in Hz).

    The method parameters (grid rate ``fs``, slope/correlation windows, WCC, rolling CI,
    surrogates, chance band) are read from ``method``, shared with the offline
    :class:`dsp.session.SessionConfig`: ``config.rolling_n`` is ``config.method.rolling_n``
    and ``config.fs`` is ``config.method.grid_fs``.

    Attributes
    ----------
    method : MethodParams
        The method parameters shared with the offline analysis.
    warmup_s : float
        Data needed before a chance baseline (percentile, chance band) is shown (150 s).
    surrogate_every_s : float
        Baseline refresh interval (10 s).
    hr_coherence_window_s, hr_coherence_min_s : float
        (From ``method``.) HR coherence (LF/HF) over the last 300 s, needing at least 120 s
        without gaps (:func:`hr_coherence`); refreshed with the baseline.
    peak_threshold : float
        Minimum WCC peak r for a clear peak / lead statement (0.3).
    max_session_s : float
        Session memory cap (4 h); older steps leave the session indices.
    history_points : int
        Maximum points of the CI sparkline; when full, it is decimated by 2.
    history_every_s : float
        Initial sparkline spacing (10 s); doubles at each decimation.
    seed : int or None
        Seed of the surrogate shifts (None: non-reproducible).
    highlight : HighlightRule
        When EDA / HR coupling is highlighted as above chance: the coupling test over the last
        ``lead_window_s`` (:func:`~dsp.concordance.coupling.recent_lead_test`, re-run every
        refresh) at or above the rule's percentile (99: p <= 0.01) at refreshes spanning
        ``hold_s`` (20 s: three in a row); see :mod:`dsp.concordance.coupling`.
    lead_inc_s, hr_lead_inc_s : float
        Window increments of the EDA (5 s) and HR (10 s) coupling / lead tests; their windows
        are ``wcc_win_s`` / ``hr_wcc_win_s`` and lags ±``wcc_lag_s``; the last
        ``lead_window_s`` (``method``) against ``lead_surrogates`` circular shifts of the
        clinician's session so far, spread over at least ``lead_min_span_s``.
    coherence_surrogates : int
        Time-shifted clinician stretches behind the chance level of HR coherence (50;
        :func:`~dsp.concordance.hr.hr_coherence_shift_test`).
    coherence_min_span_s : float
        Their start offsets must spread over at least this long (120 s), so HR coherence is
        tested only once the session is about ``hr_coherence_window_s`` + 60 s + 120 s long.
    coherence_hold_s : float
        Hold time of the highlight rule on HR coherence (60 s; the percentile is the
        ``highlight`` rule's): see :attr:`coherence_rule`.
    breathing_window_s : float
        HR stretch searched for each person's breathing rate (the shared-breathing check).
    """

    warmup_s: float = 150.0
    surrogate_every_s: float = 10
    peak_threshold: float = PEAK_THRESHOLD
    max_session_s: float = 4 * 3600.0
    history_points: int = 720
    history_every_s: float = 10.0
    seed: int | None = 0
    highlight: HighlightRule = HighlightRule()
    lead_inc_s: float = 5.0
    hr_lead_inc_s: float = 10.0
    coherence_surrogates: int = 50
    coherence_min_span_s: float = 120.0
    coherence_hold_s: float = 60.0
    breathing_window_s: float = 120.0
    method: MethodParams = MethodParams()  # noqa: RUF009 - frozen, shared default

    @property
    def coherence_rule(self) -> HighlightRule:
        """The highlight rule applied to each HR-coherence band's percentile at every refresh.

        The ``highlight`` rule's percentile, held ``coherence_hold_s``: the coherence window
        (5 min) moves 10 s per refresh, so successive tests share most of their data and a
        30 s hold adds little. Held 60 s, the words appeared in 0.4 % of the snapshots of 60
        simulated independent 15-minute dyads (half sharing breathing and Mayer-wave rhythms)
        and in 10 % of those sessions at least once (20 % with a 30 s hold on other seeds);
        coupled dyads (0.8): 9.5 % of snapshots, 70 % of sessions
        (``benchmarks/bench_coherence_words.py``).
        """
        return HighlightRule(self.highlight.percentile, self.coherence_hold_s)

    @property
    def coupling_from_s(self) -> float:
        """Session time (s) of the first refresh at which the coupling / lead tests can run:
        their shifts need ``2 * min_shift_s + lead_min_span_s`` of slope signal (4:40 by
        default)."""
        need = 2 * self.min_shift_s + self.lead_min_span_s + max(self.slope_s, self.hr_slope_s)
        need += 1.0  # one sample of the 1 Hz test series
        k = max(math.ceil((need - self.warmup_s) / self.surrogate_every_s - 1e-9), 0)
        return self.warmup_s + k * self.surrogate_every_s

    def __post_init__(self) -> None:
        if self.fs <= 0 or self.rolling_n < 2 or self.n_surrogates < 1:
            raise ValueError("fs must be > 0, rolling_n >= 2 and n_surrogates >= 1")
        for name in ("slope_s", "step_s", "hr_slope_s", "wcc_win_s", "wcc_lag_s", "hr_wcc_win_s"):
            _as_samples(getattr(self, name), self.fs, name)
        _corr_values(self.corr_s, self.step_s)
        self.coherence_rule  # noqa: B018 - validates coherence_hold_s
        if self.lead_surrogates < 19 or self.coherence_surrogates < 1:
            raise ValueError("lead_surrogates must be >= 19 and coherence_surrogates >= 1")
        if self.warmup_s < 2 * self.min_shift_s + self.corr_s + self.slope_s:
            raise ValueError("warmup_s must leave room for circular shifts >= min_shift_s")


@dataclass(frozen=True)
class DyadMetrics:
    """One frozen snapshot of the live dyad (x = patient, y = clinician).

    Attributes
    ----------
    t : float
        Grid time (s, LSL clock) of the newest sample pushed; NaN before any data.
    elapsed_s : float
        Seconds of grid data pushed so far.
    slope_r : float
        Newest 15 s slope correlation r (patient vs clinician EDA slopes).
    ci_rolling, ksi_rolling, mean_r_rolling : float
        Marci CI, Kleinbub KSI, mean r over the last ``rolling_n`` correlations.
    ci_session, ksi_session : float
        Same over the session (capped at ``max_session_s``).
    percentile : float
        Percentile (0-100) of ``ci_rolling`` among circular-shift surrogates of the session so
        far; NaN while warming up or invalid.
    chance_lo, chance_hi : float
        ``chance_lo_pct`` / ``chance_hi_pct`` percentiles of that surrogate distribution.
    n_surrogates : int
        Finite surrogate values behind the baseline (0 while warming up).
    warming_up : bool
        True until ``warmup_s`` of data and the first baseline exist.
    valid : bool
        False when either person's EDA is missing/bad in the rolling window (fewer than
        ``min_valid_fraction`` finite correlations) or no correlation exists yet.
    wcc_peak_r, wcc_lag_s : float
        Live EDA WCC peak nearest lag 0 and its lag (s, positive = patient leads).
    wcc_clear : bool
        Peak >= ``peak_threshold`` and not at the lag limit (a description of one window,
        not a statement: words come from ``lead``).
    lead_text : str
        Words of the tested EDA lead (``lead.text``).
    hr_wcc_peak_r, hr_wcc_lag_s : float
        Same on HR (60 s window).
    hr_wcc_clear : bool
        Clear HR peak.
    hr_ci_rolling : float
        Rolling Marci CI of the HR slope correlations.
    hr_valid : bool
        HR rolling window complete for both people.
    hr_lead_text : str
        Words of the tested HR lead (``hr_lead.text``).
    hr_coherence_lf, hr_coherence_hf : float
        Magnitude-squared coherence of the two HR series in LF / HF over the last 2-5 min
        (refreshed every ``surrogate_every_s``; NaN with less than 2 min of gap-free HR).
    eda_history_t, eda_history_ci : numpy.ndarray
        Session sparkline of ``ci_rolling`` (time in s, LSL clock), bounded and decimated.
    n_correlations : int
        Finite EDA slope correlations in the session.
    highlight, hr_highlight : bool
        EDA / HR coupling above chance by the session-level rule (``DyadConfig.highlight``
        on ``lead`` / ``hr_lead``, the coupling test over the last 10 minutes); the only
        source of "above chance" words or colour.
    highlight_ever, hr_highlight_ever : bool
        Whether the highlight has been on at any time in the session.
    hold_s, hr_hold_s : float
        Time spanned by the current run of refreshes at or above the rule's percentile (s;
        0 for a single refresh or none).
    hr_percentile, hr_chance_lo, hr_chance_hi : float
        As ``percentile`` / ``chance_lo`` / ``chance_hi`` for the HR rolling CI.
    lead, hr_lead : LeadTest
        EDA / HR lead test over the last ``lead_window_s`` (``lead_text`` / ``hr_lead_text``
        are their words); NOT_ENOUGH_DATA while warming up.
    breathing_patient_hz, breathing_clinician_hz : float
        Breathing rates seen in each person's HR (Hz; NaN when unclear).
    breathing_note : str
        "both breathing at ~15/min: HR synchrony may reflect breathing" when the two agree
        within 0.02 Hz, else "".
    hr_coherence_lf_chance, hr_coherence_hf_chance : float
        Mean coherence of the time-shifted surrogates (the bias of ``hr_coherence_*``); NaN
        until the session is long enough for a test.
    hr_coherence_lf_pct, hr_coherence_hf_pct : float
        Percentile of the observed coherence among those surrogates.
    hr_coherence_lf_highlight, hr_coherence_hf_highlight : bool
        LF / HF coherence above chance by :attr:`DyadConfig.coherence_rule`, applied to that
        band's percentile at every coherence refresh (``surrogate_every_s``); the only source
        of words saying HR coherence is above chance.
    hr_coherence_lf_hold_s, hr_coherence_hf_hold_s : float
        Time spanned by the current run of refreshes at or above the rule's percentile (s;
        0 for a single refresh or none).
    """

    t: float
    elapsed_s: float
    slope_r: float
    ci_rolling: float
    ksi_rolling: float
    mean_r_rolling: float
    ci_session: float
    ksi_session: float
    percentile: float
    chance_lo: float
    chance_hi: float
    n_surrogates: int
    warming_up: bool
    valid: bool
    wcc_peak_r: float
    wcc_lag_s: float
    wcc_clear: bool
    lead_text: str
    hr_wcc_peak_r: float
    hr_wcc_lag_s: float
    hr_wcc_clear: bool
    hr_ci_rolling: float
    hr_valid: bool
    hr_lead_text: str
    hr_coherence_lf: float
    hr_coherence_hf: float
    eda_history_t: np.ndarray
    eda_history_ci: np.ndarray
    n_correlations: int
    highlight: bool = False
    highlight_ever: bool = False
    hold_s: float = 0.0
    hr_percentile: float = math.nan
    hr_chance_lo: float = math.nan
    hr_chance_hi: float = math.nan
    hr_highlight: bool = False
    hr_highlight_ever: bool = False
    hr_hold_s: float = 0.0
    lead: LeadTest = NO_LEAD_TEST
    hr_lead: LeadTest = NO_LEAD_TEST
    breathing_patient_hz: float = math.nan
    breathing_clinician_hz: float = math.nan
    breathing_note: str = ""
    hr_coherence_lf_chance: float = math.nan
    hr_coherence_hf_chance: float = math.nan
    hr_coherence_lf_pct: float = math.nan
    hr_coherence_hf_pct: float = math.nan
    hr_coherence_lf_highlight: bool = False
    hr_coherence_hf_highlight: bool = False
    hr_coherence_lf_hold_s: float = 0.0
    hr_coherence_hf_hold_s: float = 0.0
