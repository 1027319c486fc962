"""Groups of 2-8 people: the simulator's ground truth and the tested pairwise matrix and group
index of :mod:`dsp.concordance.group` against it (known coupling and lag, known null, bad
input)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dsp.concordance.baselines import analyze_session
from dsp.concordance.group import (
    PairStatus,
    group_concordance,
    group_index_test,
    group_shifts,
    holm_adjust,
)
from dsp.person_session import SessionConfig
from dsp.simulate_group import (
    GroupModel,
    GroupSimConfig,
    PairCoupling,
    coupling_parse,
    group_grid,
    simulate_group,
)


def _grid(people: str, spec: str, seed: int, duration_s: float = 600.0):
    couplings = tuple(coupling_parse(c) for c in spec.split(",") if c)
    rec = simulate_group(
        people=tuple(people.split(",")), couplings=couplings, duration_s=duration_s, seed=seed
    )
    return rec, group_grid(rec)


# --------------------------------------------------------------------------- simulator


def test_coupling_spec_parses_names_coupling_and_lag() -> None:
    assert coupling_parse("patient-partner=0.8") == PairCoupling("patient", "partner", 0.8, 2.0)
    assert coupling_parse("A-B=0.3@1.5") == PairCoupling("A", "B", 0.3, 1.5)
    assert coupling_parse("A-B=0.3@4s", default_lag_s=1.0).lag_s == 4.0
    for bad in ("A=0.8", "A-B", "A-B=x", "A-A=0.5", "A-B=1.5", "A-B=0.5@-1"):
        with pytest.raises(ValueError):
            coupling_parse(bad)


@pytest.mark.parametrize(
    "people, couplings",
    [
        (("A",), ()),
        (tuple("ABCDEFGHI"), ()),
        (("A", "A"), ()),
        (("A", "B c"), ()),
        (("A", "B"), (PairCoupling("A", "Z", 0.5),)),
        (("A", "B"), (PairCoupling("A", "B", 0.5), PairCoupling("B", "A", 0.5))),
    ],
)
def test_group_config_refuses_bad_groups(people, couplings) -> None:
    with pytest.raises(ValueError):
        GroupSimConfig(people=people, couplings=couplings)


def test_simulated_group_ground_truth_and_chunked_rendering() -> None:
    rec, g = _grid("patient,partner,clinician", "patient-partner=1.0@2.5", seed=3, duration_s=180)
    assert g.eda.shape == (3, 720) and np.isfinite(g.eda).all()
    assert rec.coupling_of("patient", "partner") == (1.0, 2.5)
    assert rec.coupling_of("partner", "patient") == (1.0, -2.5)
    c, lag = rec.coupling_of("patient", "clinician")
    assert c == 0.0 and math.isnan(lag)
    # with coupling 1 every shared event reaches the follower exactly 2.5 s later
    shared = rec.pair_event_times[("patient", "partner")]
    follower = rec.people["partner"].truth.event_times
    assert shared.size > 3
    for t in shared[shared < 170]:
        assert np.min(np.abs(follower - (t + 2.5))) < 1e-9
    # the independent person shares none of them
    own = rec.people["clinician"].truth.event_times
    assert not np.any(np.abs(own[:, None] - shared[None, :]) < 1e-9)
    # streaming in chunks gives the samples of the whole recording (same seed)
    model = GroupModel(rec.config)
    parts = [model.render("partner", "eda", s, 500) for s in range(0, 5760, 500)]
    whole = rec.people["partner"].eda
    np.testing.assert_array_equal(np.concatenate(parts)[: whole.size], whole)


# --------------------------------------------------------------------------- statistics


def test_holm_adjust_matches_hand_computed_values() -> None:
    p = [0.01, 0.04, 0.03, np.nan, 0.005]
    # ascending 0.005, 0.01, 0.03, 0.04 over m = 4: 0.02, 0.03, 0.06, 0.06 (monotone)
    np.testing.assert_allclose(holm_adjust(p), [0.03, 0.06, 0.06, np.nan, 0.02])


def test_group_shifts_keep_every_two_members_apart() -> None:
    rng = np.random.default_rng(0)
    d = group_shifts(600, 8, 500, 60, rng)
    assert d.shape == (500, 8) and d.min() >= 0 and d.max() < 600
    for i, j in itertools.combinations(range(8), 2):
        gap = np.abs(d[:, i] - d[:, j])
        assert np.minimum(gap, 600 - gap).min() >= 60
    # every member's shift is spread over the whole circle
    assert np.histogram(d[:, 3], bins=6, range=(0, 600))[0].min() > 40
    with pytest.raises(ValueError):
        group_shifts(400, 8, 10, 60, rng)


def test_known_coupling_found_at_its_lag_and_only_there() -> None:
    _, g = _grid("A,B,C", "A-B=0.8@2", seed=1)
    gc = group_concordance(g.eda, g.people)
    ab = gc.pair("A", "B")
    assert ab.status is PairStatus.TESTED and ab.coupled and ab.p_holm < 0.05
    assert ab.leader == "A" and abs(ab.lag_s - 2.0) < 0.6
    for other in (gc.pair("A", "C"), gc.pair("B", "C")):
        assert not other.coupled and other.leader is None and math.isnan(other.lag_s)
    m = gc.matrix("p_holm")
    assert m[0, 1] == m[1, 0] == ab.p_holm and np.isnan(np.diag(m)).all()


def test_two_people_cell_is_the_dyad_session_ci_test() -> None:
    _, g = _grid("A,B", "A-B=0.8@2", seed=2, duration_s=400)
    gc = group_concordance(g.eda, g.people)
    sc = analyze_session(g.eda[0], g.eda[1], g.fs)
    cell = gc.pair("A", "B")
    assert cell.ci == pytest.approx(sc.ci, abs=1e-12)
    assert cell.ci_test.p_value == sc.surrogate.p_value


def test_null_group_needs_the_correction() -> None:
    """Four independent people (fixed seed): an uncorrected matrix would mark a pair (raw
    p < 0.05); after Holm over the 6 pairs none is claimed, and the group index stays at
    chance."""
    _, g = _grid("A,B,C,D", "", seed=NULL_SEED)
    gc = group_concordance(g.eda, g.people)
    raw = np.array([pc.p for pc in gc.pairs])
    assert np.nanmin(raw) < 0.05
    assert not gc.any_coupled
    assert not gc.mean_ci.above_chance


#: A seed whose independent 4-person group has a raw pair p < 0.05 (found by searching seeds
#: 0..; the test above checks that it does).
NULL_SEED = 1


def test_all_coupled_group_index_above_chance_not_for_independent() -> None:
    _, g = _grid("A,B,C", "A-B=0.8@2,A-C=0.8@2,B-C=0.8@2", seed=5)
    gc = group_concordance(g.eda, g.people)
    assert gc.mean_ci.above_chance and gc.mean_ci.test.p_value < 0.05
    assert all(pc.p_holm < 0.05 for pc in gc.pairs) and sum(pc.coupled for pc in gc.pairs) >= 2
    _, g0 = _grid("A,B,C", "", seed=5)
    g0c = group_concordance(g0.eda, g0.people)
    assert gc.mean_ci.test.observed > g0c.mean_ci.test.observed


# --------------------------------------------------------------------------- bad input


def test_fewer_than_two_or_more_than_eight_people_refused() -> None:
    x = np.random.default_rng(0).normal(size=(9, 1000)).cumsum(axis=1)
    with pytest.raises(ValueError, match="2 to 8 people"):
        group_concordance(x[:1], ["A"])
    with pytest.raises(ValueError, match="2 to 8 people"):
        group_concordance(x, list("ABCDEFGHI"))
    with pytest.raises(ValueError, match="distinct"):
        group_concordance(x[:2], ["A", "A"])


def test_two_people_with_the_same_signal_refused() -> None:
    _, g = _grid("A,B,C", "", seed=4, duration_s=300)
    eda = g.eda.copy()
    eda[2] = eda[0]
    eda[2, :100] = np.nan  # a copy that starts later is still the same stream
    with pytest.raises(ValueError, match="A and C have the same signal"):
        group_concordance(eda, g.people)


def test_pair_that_never_overlaps_is_reported_and_the_others_go_on() -> None:
    _, g = _grid("A,B,C", "A-B=0.8@2", seed=1)
    eda = g.eda.copy()
    eda[2, : eda.shape[1] // 2] = np.nan  # C only in the second half
    eda[1, eda.shape[1] // 2 :] = np.nan  # B only in the first half
    gc = group_concordance(eda, g.people)
    bc = gc.pair("B", "C")
    assert bc.status is PairStatus.NO_OVERLAP and bc.overlap_s == 0.0
    assert math.isnan(bc.p) and math.isnan(bc.p_holm) and not bc.coupled
    assert gc.pair("A", "B").status is PairStatus.TESTED
    assert gc.pair("A", "C").status is PairStatus.TESTED
    assert math.isfinite(gc.mean_ci.test.observed)


def test_group_index_waits_for_slack_between_the_members_shifts() -> None:
    """Shifts every two members at least min(60 s, span / 2N) apart, never under 30 s: a span
    of N * 60 s + the slope window is the shortest tested (slack as large as the gaps)."""
    g = group_grid(simulate_group(people=("a", "b", "c", "d"), duration_s=300.0, seed=1))
    cfg = SessionConfig()
    short = g.eda[:, : 4 * 244]  # 239 slopes < 4 * 60
    mean_ci, kur, gap, note = group_index_test(short, cfg, 50, 0.05)
    assert mean_ci is None and kur is None and "245 s" in note
    mean_ci, _, gap, note = group_index_test(g.eda[:, : 4 * 246], cfg, 50, 0.05)
    assert mean_ci is not None and note == "" and gap == 30.0  # 241 slopes // 8
    _, _, gap, _ = group_index_test(g.eda, cfg, 50, 0.05)
    assert gap == 36.0  # 295 slopes // 8
