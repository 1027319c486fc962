"""Dyadic physiological concordance: slope concordance, WCC, SUSY, chance baselines, live engine.

All functions take two equal-length float arrays on one common grid (see :mod:`dsp.grid`),
``x`` = person 1 = s1 = **patient**, ``y`` = person 2 = s2 = **clinician**, sampled at ``fs`` Hz.
NaN marks missing or bad-quality samples. Times are seconds relative to the first sample of the
arrays unless stated otherwise.

These are statistical coupling indices between two physiological time series. They say how
much the two signals move together beyond chance; they do not measure any feeling.

Lag sign convention (fixed everywhere, as rMEA ``MEAccf``)
-----------------------------------------------------------
**A positive lag means the clinician follows the patient (the patient leads).** At lag
``+k`` the patient's sample at ``t`` is paired with the clinician's sample at ``t + k``.
Use :func:`lead_text` to turn a lag into words ("patient leads by 2.0 s").
SUSY's own lag axis is the R ``ccf`` axis (the opposite sign); :class:`SUSYResult` documents it
and its ``z_lead1`` always means "patient leads".

Modules
-------
* :mod:`~dsp.concordance.indices`: slopes, sliding Pearson r, slope concordance, the Marci CI
  (computed in one place, :func:`marci_from_sums`) and the Kleinbub KSI (DyadSync semantics).
* :mod:`~dsp.concordance.wcc`: windowed cross-lagged correlation identical to rMEA ``MEAccf``,
  peak picking nearest lag 0 and its wording.
* :mod:`~dsp.concordance.susy`: Surrogate Synchrony, identical to the SUSY R package.
* :mod:`~dsp.concordance.baselines`: surrogate tests of a session statistic, session summary.
* :mod:`~dsp.concordance.hr`: HR synchrony and HR magnitude-squared coherence.
* :mod:`~dsp.concordance.segments`: indices per marker label and per interval.
* :mod:`~dsp.concordance.live`: :class:`LiveDyad`, the rolling engine of the DSP thread.
* :mod:`~dsp.concordance.shifts`: :class:`~dsp.concordance.shifts.ShiftTable`, the windowed r
  of every patient window against every clinician window, shared by the replayed coupling checks.
* :mod:`~dsp.concordance.dyad`: offline dyad analysis of a recorded session
  (:func:`~dsp.concordance.dyad.analyze_dyad`; imported from its module, because it builds on
  the per-person analysis of :mod:`dsp.session`).
"""

from __future__ import annotations

from dsp.concordance.baselines import (
    SessionConcordance,
    analyze_session,
    concordance_surrogate_test,
)
from dsp.concordance.hr import HRCoherence, HRSynchrony, analyze_hr_session, hr_coherence
from dsp.concordance.indices import (
    CI_CLIP,
    kleinbub_index,
    marci_from_sums,
    marci_index,
    rolling_marci,
    rolling_pearson,
    slope_concordance,
    slope_concordance_times,
    slope_series,
    slope_signal,
)
from dsp.concordance.live import LiveDyad
from dsp.concordance.live_config import DyadConfig, DyadMetrics
from dsp.concordance.susy import SUSYResult, susy
from dsp.concordance.wcc import PEAK_THRESHOLD, WCCResult, lead_text, wcc, wcc_peak

__all__ = [
    "CI_CLIP",
    "PEAK_THRESHOLD",
    "DyadConfig",
    "DyadMetrics",
    "HRCoherence",
    "HRSynchrony",
    "LiveDyad",
    "SUSYResult",
    "SessionConcordance",
    "WCCResult",
    "analyze_hr_session",
    "analyze_session",
    "concordance_surrogate_test",
    "hr_coherence",
    "kleinbub_index",
    "lead_text",
    "marci_from_sums",
    "marci_index",
    "rolling_marci",
    "rolling_pearson",
    "slope_concordance",
    "slope_concordance_times",
    "slope_series",
    "slope_signal",
    "susy",
    "wcc",
    "wcc_peak",
]
