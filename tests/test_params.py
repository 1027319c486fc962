"""One set of method parameters (dsp.params.MethodParams) for the live and offline analysis."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, fields

import numpy as np
import pytest

from dsp.concordance import DyadConfig
from dsp.params import DYAD_PARAMS, PERSON_PARAMS, MethodParams, reads_method_params
from dsp.person import LivePerson, PersonConfig
from dsp.session import SessionConfig, analyze_person
from dsp.simulate import DyadSimConfig, PersonSimConfig, simulate_dyad

METHOD = {f.name for f in fields(MethodParams)}


@pytest.mark.parametrize("config", [PersonConfig, DyadConfig, SessionConfig])
def test_no_method_parameter_is_declared_twice(config) -> None:
    own = {f.name for f in fields(config)}
    assert "method" in own
    assert not (own - {"method"}) & METHOD, "a method parameter is declared outside dsp/params"


def test_configs_read_the_shared_numbers() -> None:
    m = MethodParams(min_ibi_ms=300.0, rolling_n=30, grid_fs=8.0, chance_hi_pct=97.5)
    p, d, s = PersonConfig(method=m), DyadConfig(method=m), SessionConfig(method=m)
    assert p.min_ibi_ms == s.min_ibi_ms == 300.0
    assert d.rolling_n == s.rolling_n == 30 and d.fs == s.grid_fs == 8.0
    assert d.chance_hi_pct == s.chance_hi_pct == 97.5
    for name in PERSON_PARAMS:
        assert getattr(PersonConfig(), name) == getattr(SessionConfig(), name)
    for name in DYAD_PARAMS:
        assert getattr(DyadConfig(), name) == getattr(SessionConfig(), name)
    with pytest.raises(FrozenInstanceError):
        DyadConfig().rolling_n = 5  # type: ignore[misc]
    with pytest.raises(ValueError, match="not method parameters"):
        reads_method_params("no_such_parameter")


def test_the_ibi_limit_reaches_live_and_offline() -> None:
    """A 150 bpm heart (IBIs ~400 ms): with min_ibi_ms = 450 every IBI is out of range, live
    and offline alike (the live path once hard-coded 250 ms)."""
    sim = simulate_dyad(
        DyadSimConfig(duration_s=90.0, seed=5, patient=PersonSimConfig(hr_bpm=150.0, rsa_bpm=1.0))
    )
    pr = sim.patient
    t = 100.0 + np.arange(pr.ppg.size) / pr.ppg_fs
    for limit, expect_hr in ((250.0, True), (450.0, False)):
        m = MethodParams(min_ibi_ms=limit)
        off = analyze_person(pr.ppg, t, pr.ppg_fs, "ppg", config=SessionConfig(method=m))
        live = LivePerson(PersonConfig(method=m))
        for i0 in range(0, pr.ppg.size, int(pr.ppg_fs)):
            sl = slice(i0, i0 + int(pr.ppg_fs))
            live.push_cardiac(t[sl], pr.ppg[sl], pr.ppg_fs, "ppg")
        snap = live.snapshot(float(t[-1]))
        assert math.isfinite(off.mean_hr_bpm) == expect_hr
        assert math.isfinite(snap.hr_bpm) == expect_hr
        if expect_hr:
            assert off.mean_hr_bpm == pytest.approx(150.0, rel=0.05)
            assert snap.hr_bpm == pytest.approx(150.0, rel=0.08)
