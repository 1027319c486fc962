"""The method parameters shared by the live and the offline analysis, defined once.

:class:`MethodParams` holds every number that decides *what* is computed (IBI limits, windows,
slope and correlation lengths, surrogates, chance band). The live configs
(:class:`dsp.person.PersonConfig`, :class:`dsp.concordance.DyadConfig`) and the offline one
(:class:`dsp.session.SessionConfig`) each hold a ``method`` field and read these numbers
from it (``config.min_ibi_ms`` is ``config.method.min_ibi_ms``), so the live view and
``attune analyze`` cannot drift apart. What stays in those configs is how they run (update
rates, memory caps, warm-up, seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TypeVar

__all__ = ["DYAD_PARAMS", "PERSON_PARAMS", "MethodParams", "reads_method_params"]


@dataclass(frozen=True)
class MethodParams:
    """Method parameters of the physiology and the concordance (times in s, rates in Hz).

    Attributes
    ----------
    max_gap_s : float
        Timestamp jumps larger than this are gaps; HR/EDA on the grid are NaN across them.
    quality_window_s : float
        Length of the consecutive cardiac quality windows (Orphanidou).
    min_ibi_ms, max_ibi_ms : float
        Plausible IBI range (ms); IBIs outside are excluded before correction.
    max_ibi_s : float
        Longest IBI interpolated across on the HR grid (longer = missing beats = NaN).
    coherence_window_s : float
        Window of each coherence ratio (HeartMath-style recipe, 64 s).
    eda_cutoff_hz : float
        EDA low-pass cut-off (one causal pass, live and offline alike).
    scr_min_amplitude_us : float
        Absolute floor of the SCR amplitude threshold (µS).
    scr_noise_k : float
        The SCR threshold is ``max(scr_min_amplitude_us, scr_noise_k x the person's filtered
        EDA noise SD)`` (:func:`dsp.eda.scr_threshold_us`).
    grid_fs : float
        Dyad grid rate (4 Hz).
    slope_s, corr_s, step_s : float
        Marci slope window (5 s), correlation window (15 s), step (1 s) for EDA.
    hr_slope_s : float
        Slope window for HR (1 s: first differences of HR, bpm/s).
    wcc_win_s, wcc_lag_s : float
        EDA windowed cross-correlation window (30 s) and maximum lag (±5 s).
    hr_wcc_win_s : float
        HR WCC window (60 s), lags ±``wcc_lag_s``.
    hr_coherence_window_s, hr_coherence_min_s : float
        HR magnitude-squared coherence over windows of 300 s (live: the last one; offline:
        consecutive ones), each needing at least 120 s without gaps.
    rolling_n : int
        Correlations in the rolling CI (60 = the last minute at a 1 s step).
    min_valid_fraction : float
        Fraction of finite correlations a rolling window needs (1.0: any gap invalidates it).
    n_surrogates : int
        Circular-shift surrogates for the p-value and the chance band.
    min_shift_s : float
        Smallest circular shift of a surrogate (60 s).
    chance_lo_pct, chance_hi_pct : float
        Percentiles of the surrogate distribution reported as the chance band (5 and 95).
    lead_window_s : float
        The coupling and lead test (:func:`dsp.concordance.coupling.recent_lead_test`) reads
        the last 600 s (live: re-run every refresh; offline: replayed at the same instants).
    lead_surrogates : int
        Circular shifts of the clinician's series behind each coupling / lead test (200).
    lead_min_span_s : float
        Those shifts must spread over at least this long (150 s): with less room the shifted
        pairings are too alike to be a null (the test starts 4:40 into a session). On
        simulated unrelated dyads a single check reached p <= 0.01 in 7 % of them at 250-300 s
        (120 s of spread), 3 % after 350 s.
    scr_match_s : float
        A patient SCR and a clinician SCR count as shared when their onsets are the dyad's lag
        apart within ±1.5 s (the EDA label contrast, :mod:`dsp.concordance.contrast`): SCR
        latency after a stimulus varies by about 1-3 s between responses and people.
    """

    max_gap_s: float = 1.0
    quality_window_s: float = 10.0
    min_ibi_ms: float = 250.0
    max_ibi_ms: float = 3000.0
    max_ibi_s: float = 2.0
    coherence_window_s: float = 64.0
    eda_cutoff_hz: float = 1.0
    scr_min_amplitude_us: float = 0.01
    scr_noise_k: float = 6.0
    grid_fs: float = 4.0
    slope_s: float = 5.0
    corr_s: float = 15.0
    step_s: float = 1.0
    hr_slope_s: float = 1.0
    wcc_win_s: float = 30.0
    wcc_lag_s: float = 5.0
    hr_wcc_win_s: float = 60.0
    hr_coherence_window_s: float = 300.0
    hr_coherence_min_s: float = 120.0
    rolling_n: int = 60
    min_valid_fraction: float = 1.0
    n_surrogates: int = 200
    min_shift_s: float = 60.0
    chance_lo_pct: float = 5.0
    chance_hi_pct: float = 95.0
    lead_window_s: float = 600.0
    lead_surrogates: int = 200
    lead_min_span_s: float = 150.0
    scr_match_s: float = 1.5


PERSON_PARAMS = (
    "max_gap_s", "quality_window_s", "min_ibi_ms", "max_ibi_ms", "max_ibi_s",
    "coherence_window_s", "eda_cutoff_hz", "scr_min_amplitude_us", "scr_noise_k",
)  # fmt: skip
"""The parameters of one person's physiology."""

DYAD_PARAMS = (
    "slope_s", "corr_s", "step_s", "hr_slope_s", "wcc_win_s", "wcc_lag_s", "hr_wcc_win_s",
    "hr_coherence_window_s", "hr_coherence_min_s", "rolling_n", "min_valid_fraction",
    "n_surrogates", "min_shift_s", "chance_lo_pct", "chance_hi_pct", "lead_window_s",
    "lead_surrogates", "lead_min_span_s", "scr_match_s",
)  # fmt: skip
"""The parameters of the concordance (plus ``grid_fs``, which the live dyad calls ``fs``)."""

C = TypeVar("C")


def reads_method_params(*names: str, **aliases: str) -> Callable[[type[C]], type[C]]:
    """Class decorator: read-only attributes ``name`` -> ``self.method.name``.

    ``aliases`` maps an attribute name to a differently named parameter
    (``fs="grid_fs"``). Put it above ``@dataclass``; the class needs a ``method`` field.
    """
    known = {f.name for f in fields(MethodParams)}
    pairs = [(n, n) for n in names] + list(aliases.items())
    unknown = sorted(p for _, p in pairs if p not in known)
    if unknown:
        raise ValueError(f"not method parameters: {unknown}")

    def decorate(cls: type[C]) -> type[C]:
        for attr, param in pairs:

            def get(self, _p: str = param):
                return getattr(self.method, _p)

            setattr(cls, attr, property(get, doc=f"``method.{param}`` (:class:`MethodParams`)."))
        return cls

    return decorate
