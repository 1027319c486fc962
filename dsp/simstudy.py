"""Simulated studies for null and power checks of the coupling statements.

Builds on :mod:`dsp.simulate`:

* :func:`listening_talking` gives a coupling schedule that alternates listening and talking
  blocks, and the matching labelled intervals;
* :func:`grid_series` turns a simulated dyad into both people's EDA and HR on the 4 Hz dyad
  grid **from the ground truth** (HR from the true beat times, EDA from the rendered signal),
  skipping beat detection. Statistics studies run on these series because detecting every
  beat of hundreds of simulated sessions would take hours on two cores; the live and offline
  app paths use detected beats instead.
* :func:`independent_config` draws the physiology of an independent (uncoupled) dyad, with an
  option for both people breathing within 0.01 Hz of each other and sharing the Mayer-wave
  frequency: the hardest case for HR synchrony, since a shared rhythm is not coupling.

Times are seconds from the start of the simulation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dsp.concordance import DyadMetrics, LiveDyad
from dsp.grid import make_grid, resample_to_grid
from dsp.simulate import DyadRecording, DyadSimConfig, PersonSimConfig

__all__ = ["GridSeries", "grid_series", "independent_config", "listening_talking", "live_snapshots"]


@dataclass(frozen=True, eq=False)
class GridSeries:
    """Both people's EDA (µS) and HR (bpm) on a common grid ``t`` (s) at ``fs`` Hz."""

    t: np.ndarray
    fs: float
    eda_patient: np.ndarray
    eda_clinician: np.ndarray
    hr_patient: np.ndarray
    hr_clinician: np.ndarray


def _hr_from_beats(beats: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Instantaneous HR (60000 / IBI at its closing beat), linear between beats, NaN outside."""
    ibi = np.diff(beats)
    return np.interp(t, beats[1:], 60.0 / ibi, left=np.nan, right=np.nan)


def grid_series(rec: DyadRecording, fs: float = 4.0) -> GridSeries:
    """EDA and ground-truth HR of a simulated dyad on the grid ``[0, duration)`` at ``fs``."""
    dur = rec.config.duration_s
    t = make_grid(0.0, dur - 1.0 / fs, fs)

    def eda(p) -> np.ndarray:
        te = np.arange(p.eda.size) / p.eda_fs
        return resample_to_grid(te, p.eda, t, max_gap_s=1.0)

    return GridSeries(
        t,
        fs,
        eda(rec.patient),
        eda(rec.clinician),
        _hr_from_beats(rec.patient.truth.beat_times, t),
        _hr_from_beats(rec.clinician.truth.beat_times, t),
    )


def listening_talking(
    duration_s: float,
    block_s: float = 120.0,
    listening: float = 0.8,
    talking: float = 0.1,
    first: str = "listening",
) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, str]]]:
    """Alternating listening / talking blocks of ``block_s`` seconds.

    Returns
    -------
    (schedule, intervals)
        ``schedule`` for :class:`dsp.simulate.DyadSimConfig` ``coupling_schedule``
        (``(t0, t1, coupling)``) and the labelled ``(t0, t1, label)`` intervals.
    """
    if block_s <= 0 or duration_s <= 0:
        raise ValueError("duration_s and block_s must be > 0")
    labels = ("listening", "talking") if first == "listening" else ("talking", "listening")
    sched, iv = [], []
    t0, i = 0.0, 0
    while t0 < duration_s - 1e-9:
        t1 = min(t0 + block_s, duration_s)
        lab = labels[i % 2]
        sched.append((t0, t1, listening if lab == "listening" else talking))
        iv.append((t0, t1, lab))
        t0, i = t1, i + 1
    return sched, iv


def independent_config(
    seed: int, duration_s: float = 600.0, shared_rhythms: bool = False
) -> DyadSimConfig:
    """An uncoupled dyad with physiology drawn from ``seed``.

    Resting HR, breathing rate (0.15-0.33 Hz) and Mayer frequency (0.08-0.12 Hz) are drawn per
    person. With ``shared_rhythms`` both people breathe within 0.01 Hz of each other and share
    one Mayer-wave frequency. Coupling is 0: nothing links the two people.
    """
    rng = np.random.default_rng([seed, 7919])
    resp_p = float(rng.uniform(0.15, 0.33))
    mayer_p = float(rng.uniform(0.08, 0.12))
    if shared_rhythms:
        resp_c = resp_p + float(rng.uniform(-0.01, 0.01))
        mayer_c = mayer_p
    else:
        resp_c = float(rng.uniform(0.15, 0.33))
        mayer_c = float(rng.uniform(0.08, 0.12))

    def person(resp: float, mayer: float) -> PersonSimConfig:
        return PersonSimConfig(
            hr_bpm=float(rng.uniform(60, 80)),
            resp_hz=resp,
            mayer_hz=mayer,
            rsa_bpm=float(rng.uniform(3, 6)),
            scl_us=float(rng.uniform(2, 8)),
        )

    return DyadSimConfig(
        duration_s=duration_s,
        seed=seed,
        coupling=0.0,
        patient=person(resp_p, mayer_p),
        clinician=person(resp_c, mayer_c),
    )


def live_snapshots(g: GridSeries, dyad: LiveDyad, every_s: float = 1.0) -> Iterator[DyadMetrics]:
    """Feed ``g`` to a live dyad ``every_s`` seconds at a time, as the engine does, and yield
    each snapshot taken after the warm-up (one per push)."""
    n = max(1, int(round(every_s * g.fs)))
    for k in range(0, g.t.size, n):
        s = slice(k, k + n)
        dyad.push(g.t[s], g.eda_patient[s], g.eda_clinician[s], g.hr_patient[s], g.hr_clinician[s])
        m = dyad.snapshot()
        if not m.warming_up:
            yield m
