"""The live group's chance tests as jobs: frozen inputs computed in any thread.

:class:`~dsp.concordance.live_group.LiveGroup` hands out a :class:`GroupJob` per pair (its
coupling and lead test, then its CI at the best lag) and one for the group index at each
refresh; :func:`run_job` computes one (pure: the same job gives the same result anywhere),
and the group files the result back. EDA and HR jobs differ only in their windows
(:func:`signal_windows`, the live dyad's).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from dsp.concordance.coupling import coupling_percentile, recent_lead_test
from dsp.concordance.group import GroupSignal, group_index_test
from dsp.concordance.lagged import ci_lag_test
from dsp.concordance.lead import EDA_BRIDGE_S, LEAD_GAP_S, LeadTest
from dsp.concordance.live_config import DyadConfig
from dsp.person_session import SessionConfig

__all__ = ["GroupJob", "JobKind", "coupling_percentile_p", "run_job", "signal_windows"]


class JobKind(enum.Enum):
    """What a job tests."""

    PAIR = "pair"
    GROUP = "group"


@dataclass(frozen=True)
class GroupJob:
    """Frozen inputs of one test (copies; safe to run in any thread).

    Attributes
    ----------
    kind : JobKind
    index : int
        Pair index (PAIR) or -1 (GROUP).
    x : numpy.ndarray
        PAIR: ``(2, n)`` the pair's whole session on the grid; GROUP: ``(N, n)`` the last
        ``lead_window_s`` of every person (NaN rows for people not there).
    t_end : float
        Grid time of the newest sample (s, LSL clock).
    n_surrogates : int
    seed : tuple of int
        Seed of the shifts (reproducible per pair and refresh).
    signal : GroupSignal
        EDA (µS) or HR (bpm): the windows of the test.
    """

    kind: JobKind
    index: int
    x: np.ndarray
    t_end: float
    n_surrogates: int
    seed: tuple[int, ...]
    signal: GroupSignal = GroupSignal.EDA


def coupling_percentile_p(test: LeadTest) -> float:
    """Raw coupling p of a test (NaN when it could not run)."""
    pct = coupling_percentile(test)
    return 1.0 - pct / 100.0 if math.isfinite(pct) else math.nan


def _session_config(cfg: DyadConfig) -> SessionConfig:
    return SessionConfig(method=cfg.method, seed=cfg.seed if cfg.seed is not None else 0)


def signal_windows(cfg: DyadConfig, signal: GroupSignal) -> tuple[float, float, float, float]:
    """``(slope_s, wcc_win_s, lead_inc_s, bridge_s)`` of a signal (the live dyad's)."""
    if signal is GroupSignal.EDA:
        return cfg.slope_s, cfg.wcc_win_s, cfg.lead_inc_s, EDA_BRIDGE_S
    return cfg.hr_slope_s, cfg.hr_wcc_win_s, cfg.hr_lead_inc_s, LEAD_GAP_S


def run_job(job: GroupJob, config: DyadConfig) -> tuple:
    """Compute one job (pure; any thread).

    Returns
    -------
    tuple
        PAIR: ``(coupling and lead test of the pair's last lead_window_s`` (early stop once
        ``p <= 0.05`` is out of reach), ``CI test of the same span`` against circular shifts,
        None when the coupling test could not run).
    tuple
        GROUP: ``(mean CI test, Kuramoto test)`` or ``(None, None)`` when too short.
    """
    cfg = config
    rng = np.random.default_rng(list(job.seed))
    if job.kind is JobKind.PAIR:
        p, c = job.x
        slope_s, wcc_win_s, inc_s, bridge_s = signal_windows(cfg, job.signal)
        lead = recent_lead_test(
            p, c, cfg.fs, slope_s, cfg.lead_window_s, wcc_win_s, cfg.wcc_lag_s,
            inc_s, job.n_surrogates, cfg.min_shift_s, cfg.lead_min_span_s, rng,
            stop_early=True, bridge_s=bridge_s,
        )  # fmt: skip
        if not math.isfinite(coupling_percentile_p(lead)):
            return lead, None
        w = min(p.size, int(round(cfg.lead_window_s * cfg.fs)))
        ci = ci_lag_test(
            p[-w:], c[-w:], cfg.fs, cfg.wcc_lag_s, cfg.min_shift_s, slope_s, cfg.corr_s,
            cfg.step_s,
        )  # fmt: skip
        return lead, ci
    rows = np.flatnonzero(np.isfinite(job.x).any(axis=1))
    if rows.size < 2:
        return None, None
    mean_ci, kur, _gap, _note = group_index_test(
        job.x[rows], _session_config(cfg), cfg.n_surrogates, 0.05, rng=rng
    )
    if mean_ci is None or kur is None:
        return None, None
    return mean_ci.test, kur.test
