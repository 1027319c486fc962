"""The live dyad's 10-s refresh as a job: its inputs frozen at the refresh instant, computed
anywhere, applied later.

Every ``surrogate_every_s`` the live dyad (:class:`~dsp.concordance.live.LiveDyad`) rebuilds
its chance baselines, re-runs the EDA and HR coupling / lead tests (200 circular shifts each)
and the HR coherence test. Inline, that work is a burst of tens of milliseconds inside one
engine tick. Here it is a :class:`RefreshJob` (copies of what the refresh reads: the slope
series behind the rolling CI, the session history of both signals, the random generator) and
a pure function :func:`run_refresh` giving a :class:`RefreshResult`, so that the engine can
compute it in another process while its ticks go on, and apply it when it is ready. The
numbers are those of the inline refresh at the same instant: the same inputs, the same
functions, the same random draws in the same order (the generator travels with the job and
comes back advanced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.concordance.baselines import stat_rows
from dsp.concordance.coupling import recent_lead_test
from dsp.concordance.evidence import breathing_rate
from dsp.concordance.hr import hr_coherence_shift_test
from dsp.concordance.indices import rolling_pearson
from dsp.concordance.lead import EDA_BRIDGE_S, LEAD_GAP_S, LeadTest
from dsp.concordance.live_config import DyadConfig
from dsp.surrogates import random_shifts

__all__ = ["RefreshJob", "RefreshResult", "run_refresh", "slope_baseline"]


@dataclass(frozen=True, eq=False)
class RefreshJob:
    """What one refresh reads, copied at its instant.

    Attributes
    ----------
    config : DyadConfig
    eda_sp, eda_sc, hr_sp, hr_sc : numpy.ndarray
        Each person's session slope series (1 per ``step_s``) of EDA and HR, oldest first.
    eda_m, hr_m : int
        Slopes per correlation of each stream.
    eda_p, eda_c, hr_p, hr_c : numpy.ndarray
        Both people's EDA (µS) and HR (bpm) on the grid over the session held (NaN missing).
    rng : numpy.random.Generator or None
        The dyad's random generator (set when the job is taken; it comes back advanced).
    """

    config: DyadConfig
    eda_sp: np.ndarray
    eda_sc: np.ndarray
    eda_m: int
    hr_sp: np.ndarray
    hr_sc: np.ndarray
    hr_m: int
    eda_p: np.ndarray
    eda_c: np.ndarray
    hr_p: np.ndarray
    hr_c: np.ndarray
    rng: np.random.Generator | None = None


@dataclass(frozen=True, eq=False)
class RefreshResult:
    """What one refresh found (see :meth:`LiveDyad.apply_refresh`).

    Attributes
    ----------
    eda_null, hr_null : numpy.ndarray
        Sorted surrogate rolling CIs of EDA and HR (empty when too short).
    eda_lead, hr_lead : LeadTest
        The coupling / lead tests over the last ``lead_window_s``.
    coherence : tuple of float
        HR coherence LF, HF, their chance levels and percentiles.
    breath : tuple of float
        Breathing rate (Hz) seen in each person's HR.
    rng : numpy.random.Generator
        The generator after the refresh's draws.
    """

    eda_null: np.ndarray
    hr_null: np.ndarray
    eda_lead: LeadTest
    hr_lead: LeadTest
    coherence: tuple[float, float, float, float, float, float]
    breath: tuple[float, float]
    rng: np.random.Generator


def slope_baseline(
    sp: np.ndarray, sc: np.ndarray, m: int, cfg: DyadConfig, rng: np.random.Generator
) -> np.ndarray:
    """Sorted surrogate CIs over the last ``rolling_n`` correlations of one stream: the
    patient's slopes behind them against the clinician's session slope series circularly
    shifted (``n_surrogates`` shifts >= ``min_shift_s``); empty when too short.

    ``sp``, ``sc``: the session slope series (equal length ``L``); ``m``: slopes per
    correlation.
    """
    big_l = sp.size
    nwin = cfg.rolling_n + m - 1
    min_shift = int(round(cfg.min_shift_s / cfg.step_s))
    if big_l < max(nwin, 2 * min_shift + 1):
        return np.empty(0)
    shifts = random_shifts(big_l, cfg.n_surrogates, min_shift, rng)
    idx = (np.arange(big_l - nwin, big_l)[None, :] - shifts[:, None]) % big_l
    r = rolling_pearson(sp[big_l - nwin : big_l][None, :], sc[idx], m)
    null = stat_rows(r, "ci")
    return np.sort(null[np.isfinite(null)])


def run_refresh(job: RefreshJob) -> RefreshResult:
    """One refresh (baselines, the two coupling tests, HR coherence, breathing) in the
    inline refresh's order of random draws. Pure: any thread or process."""
    cfg = job.config
    rng = job.rng if job.rng is not None else np.random.default_rng(cfg.seed)
    eda_null = slope_baseline(job.eda_sp, job.eda_sc, job.eda_m, cfg, rng)
    hr_null = slope_baseline(job.hr_sp, job.hr_sc, job.hr_m, cfg, rng)
    leads = []
    for p, c, slope_s, win_s, inc_s, bridge_s in (
        (job.eda_p, job.eda_c, cfg.slope_s, cfg.wcc_win_s, cfg.lead_inc_s, EDA_BRIDGE_S),
        (job.hr_p, job.hr_c, cfg.hr_slope_s, cfg.hr_wcc_win_s, cfg.hr_lead_inc_s, LEAD_GAP_S),
    ):
        leads.append(
            recent_lead_test(
                p,
                c,
                cfg.fs,
                slope_s,
                cfg.lead_window_s,
                win_s,
                cfg.wcc_lag_s,
                inc_s,
                cfg.lead_surrogates,
                cfg.min_shift_s,
                cfg.lead_min_span_s,
                rng,
                bridge_s=bridge_s,
            )  # fmt: skip
        )
    ct = hr_coherence_shift_test(
        job.hr_p, job.hr_c, cfg.fs, cfg.hr_coherence_window_s, cfg.hr_coherence_min_s,
        n_surrogates=cfg.coherence_surrogates, min_shift_s=cfg.min_shift_s,
        min_span_s=cfg.coherence_min_span_s, seed=rng,
    )  # fmt: skip
    co = ct.coherence
    coh = (co.lf, co.hf, ct.lf_chance, ct.hf_chance, ct.lf_percentile, ct.hf_percentile)
    nb = int(round(cfg.breathing_window_s * cfg.fs))
    breath = (breathing_rate(job.hr_p[-nb:], cfg.fs), breathing_rate(job.hr_c[-nb:], cfg.fs))
    return RefreshResult(eda_null, hr_null, leads[0], leads[1], coh, breath, rng)
