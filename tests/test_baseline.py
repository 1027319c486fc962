"""app.baseline: the settling baseline is the median of the valid live values (no Qt)."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
import pytest

from app.baseline import BASELINE_METRICS, Baseline
from app.engine import EngineSnapshot
from dsp.person import LivePerson
from dsp.simulate import simulate_dyad


def _snapshots(seconds: int = 90):
    """Real live metrics of a simulated patient (PPG + EDA) and clinician (PPG only), 1 Hz."""
    sim = simulate_dyad(duration_s=float(seconds), seed=8)
    people = {"patient": LivePerson(), "clinician": LivePerson()}
    t0 = 50.0
    for k in range(1, seconds + 1):
        for role, lp in people.items():
            pr = getattr(sim, role)
            i0, i1 = int((k - 1) * pr.ppg_fs), int(k * pr.ppg_fs)
            lp.push_cardiac(t0 + np.arange(i0, i1) / pr.ppg_fs, pr.ppg[i0:i1], pr.ppg_fs, "ppg")
            if role == "patient":
                j0, j1 = int((k - 1) * pr.eda_fs), int(k * pr.eda_fs)
                lp.push_eda(t0 + np.arange(j0, j1) / pr.eda_fs, pr.eda[j0:j1], pr.eda_fs)
        persons = {r: lp.snapshot(t0 + k) for r, lp in people.items()}
        yield k, EngineSnapshot(
            t=t0 + k, seq=k, persons=MappingProxyType(persons), dyad=None,
            health=MappingProxyType({}), channels=MappingProxyType({}), tick_cost_s=0.0,
            errors=(),
        )  # fmt: skip


def test_median_of_the_valid_values_only() -> None:
    b = Baseline(duration_s=40.0)
    seen: dict[tuple[str, str], list[float]] = {}
    for k, snap in _snapshots(90):
        if k == 45:
            b.begin(now=k)
        running = b.running(now=k)
        counted = b.add(snap, now=k)
        assert (counted > 0) <= running
        if running:
            for role, pm in snap.persons.items():
                if pm.hr_valid:
                    seen.setdefault((role, "hr_bpm"), []).append(pm.hr_bpm)
                if pm.hrv_valid:
                    seen.setdefault((role, "rmssd_ms"), []).append(pm.rmssd_ms)
    assert not b.running(now=90) and b.remaining(now=90) == 0.0
    res = b.result()
    assert res["patient"]["hr_bpm"] == np.median(seen[("patient", "hr_bpm")])
    assert 50 < res["patient"]["hr_bpm"] < 100
    assert res["clinician"]["rmssd_ms"] == np.median(seen[("clinician", "rmssd_ms")])
    assert math.isfinite(res["patient"]["scl_us"])
    assert math.isnan(res["clinician"]["scl_us"])  # no EDA stream: no valid value, NaN
    assert b.counts()["clinician"]["scl_us"] == 0
    assert set(res["patient"]) == set(BASELINE_METRICS)


def test_nothing_counts_before_begin_or_after_the_end() -> None:
    b = Baseline(duration_s=5.0)
    snaps = dict(_snapshots(80))
    assert b.add(snaps[70], now=0.0) == 0
    assert all(math.isnan(v) for per in b.result().values() for v in per.values())
    b.begin(now=100.0)
    assert b.add(snaps[70], now=104.0) > 0
    assert b.add(snaps[71], now=105.0) == 0  # the duration is over
    b.begin(now=200.0)  # a restart drops the earlier values
    assert sum(sum(c.values()) for c in b.counts().values()) == 0
    assert b.remaining(now=201.5) == pytest.approx(3.5)
