"""The HR pair matrix of a group (dsp.concordance.group with GroupSignal.HR) and the CI at a
pair's best lag (dsp.concordance.lagged) against ground truth: a simulated triad whose
coupled pair's heart rates respond to the same events 2 s apart is found, with its leader and
lag, and its independent pairs are not; an independent triad has no pair claimed; the
max-over-lags CI test finds a known lag, stays calibrated on independent pairs, and equals a
direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsp.concordance.group import GroupSignal, group_concordance
from dsp.concordance.indices import marci_index, slope_concordance
from dsp.concordance.lagged import ci_lag_profile, ci_lag_test
from dsp.grid import make_grid
from dsp.person_session import SessionConfig
from dsp.simulate import PersonSimConfig
from dsp.simulate_group import GroupSimConfig, coupling_parse, group_grid, simulate_group

PEOPLE = ("patient", "partner", "clinician")
#: Heart rates that answer each arousal event by 12 bpm over breathing of 1.5-3 bpm (the
#: default model's 5 bpm against 3-6 bpm is too weak for 10 minutes to show it).
PHYSIOLOGY = tuple(
    PersonSimConfig(hr_bpm=hr, resp_hz=rf, rsa_bpm=rsa, hr_response_bpm=12.0, scl_us=scl)
    for hr, rf, rsa, scl in ((72, 0.25, 2.0, 4.0), (64, 0.2, 3.0, 3.0), (68, 0.3, 1.5, 6.0))
)


def _hr_on_grid(cfg: GroupSimConfig) -> np.ndarray:
    """Each person's HR (bpm) from the simulated beats on the 4 Hz grid, as
    ``PersonSession.hr_on_grid`` puts it (60000 / IBI at its closing beat, linear)."""
    rec = simulate_group(cfg)
    t = make_grid(0.0, cfg.duration_s - 0.25, 4.0)
    rows = []
    for name in cfg.people:
        b = rec.people[name].truth.beat_times
        rows.append(np.interp(t, b[1:], 60.0 / np.diff(b), left=np.nan, right=np.nan))
    return np.array(rows)


@pytest.fixture(scope="module")
def coupled():
    cfg = GroupSimConfig(
        people=PEOPLE, couplings=(coupling_parse("patient-partner=0.8@2"),), duration_s=600.0,
        seed=4, physiology=PHYSIOLOGY,
    )  # fmt: skip
    return group_concordance(_hr_on_grid(cfg), PEOPLE, SessionConfig(), signal=GroupSignal.HR)


def test_hr_matrix_finds_the_coupled_pair_with_its_leader_and_lag(coupled) -> None:
    pc = coupled.pair("patient", "partner")
    assert pc.coupled and pc.p_holm < 0.05 and pc.ci_lag is not None
    assert pc.p_claim == max(pc.p_holm, pc.ci_lag.p_value) < 0.05
    assert pc.leader == "patient" and 1.0 <= pc.lag_s <= 3.0
    assert 1.0 <= pc.ci_lag.lag_s <= 3.0  # the CI's best lag is the simulated one
    for a, b in (("patient", "clinician"), ("partner", "clinician")):
        other = coupled.pair(a, b)
        assert not other.coupled and other.leader is None
    # HR has no group index (the EDA matrix's)
    assert coupled.mean_ci is None and coupled.kuramoto is None


def test_hr_matrix_of_an_independent_triad_claims_no_pair() -> None:
    cfg = GroupSimConfig(people=PEOPLE, duration_s=600.0, seed=8, physiology=PHYSIOLOGY)
    gc = group_concordance(_hr_on_grid(cfg), PEOPLE, SessionConfig(), signal=GroupSignal.HR)
    assert not gc.any_coupled
    assert all(math.isfinite(pc.p_holm) for pc in gc.pairs)


@pytest.fixture(scope="module")
def eda_pair():
    cfg = GroupSimConfig(
        people=("a", "b", "c"), couplings=(coupling_parse("a-b=0.8@2"),), duration_s=600.0,
        seed=1,
    )  # fmt: skip
    return group_grid(simulate_group(cfg)).eda


def test_ci_at_best_lag_finds_the_lag_and_beats_every_shift(eda_pair) -> None:
    x, y, z = eda_pair
    t = ci_lag_test(x, y, 4.0)
    assert t is not None and t.lag_s == 2.0  # b follows a by 2 s
    assert t.p_value == pytest.approx(1.0 / (1 + t.test.null.size))  # above every shift
    # 595 slopes, shifts 60..535: every distinct one, no random draw
    assert t.test.null.size == 476
    # the observed value is the CI of the slope correlations with b advanced by 2 s
    r = slope_concordance(x[:-8], y[8:], 4.0)
    assert t.observed == pytest.approx(marci_index(r), abs=0.08)  # circular vs cut ends
    assert t.observed > t.ci_lag0
    # the profile at shift 0 is the lag-0 CI
    assert ci_lag_profile(x, y, 4.0)[0] == pytest.approx(t.ci_lag0)
    assert marci_index(slope_concordance(x, y, 4.0)) == pytest.approx(t.ci_lag0)


def test_ci_at_best_lag_of_independent_people_is_not_above_chance(eda_pair) -> None:
    x, _, z = eda_pair
    t = ci_lag_test(x, z, 4.0)
    assert t is not None and t.p_value > 0.05
    # its null is the same maximum: the observed max over lags is not compared with lag 0
    prof = ci_lag_profile(x, z, 4.0)
    assert np.median(t.test.null) > np.median(prof[60:536])


def test_ci_at_best_lag_bad_input() -> None:
    x = np.sin(np.arange(4 * 100) / 10.0)
    assert ci_lag_test(x, x[::-1].copy(), 4.0) is None  # 100 s: no shift of 60 s both ways
    with pytest.raises(ValueError):
        ci_lag_test(x, x[:10], 4.0)
