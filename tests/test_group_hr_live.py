"""The live HR pair matrix (dsp.concordance.live_group with GroupSignal.HR) fed simulated
triads as live against ground truth: the pair whose heart rates answer the same events 2 s
apart is claimed by the end of a 10-minute session, with its leader, and the others are not;
an independent triad has no pair claimed at any refresh; Holm runs on the larger of each
pair's two p (the offline HR rule); a person without HR pauses only their pairs; the console's
matrix shows the HR cells when switched, with their p in the tooltip."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from dsp.concordance import DyadConfig
from dsp.concordance.group import GroupSignal, holm_adjust
from dsp.concordance.live_group import GROUP_RULE, PAUSE_S, JobKind, LiveGroup
from dsp.grid import make_grid
from dsp.simulate_group import GroupSimConfig, coupling_parse, group_grid, simulate_group
from tests.test_group_hr import PEOPLE, PHYSIOLOGY, _hr_on_grid

LIVE_S = 80.0  # the last 80 s fed 1 s at a time: 8 refreshes, the 60-s rule can hold


def _feed(seed: int, couplings: tuple = ()):
    """A 10-minute triad's HR: all but the last LIVE_S at once, then 1 s per push with the
    due tests run at once (as ``inline_tests``); the EDA on the same grid too."""
    cfg = GroupSimConfig(
        people=PEOPLE, couplings=couplings, duration_s=600.0, seed=seed, physiology=PHYSIOLOGY
    )
    hr = _hr_on_grid(cfg)
    t = make_grid(0.0, cfg.duration_s - 0.25, 4.0)
    lg = LiveGroup(PEOPLE, DyadConfig(), signal=GroupSignal.HR)
    n0 = t.size - int(4 * LIVE_S)
    lg.push(t[:n0], hr[:, :n0])
    runs, claimed = 0, set()
    for k in range(n0, t.size, 4):
        lg.push(t[k : k + 4], hr[:, k : k + 4])
        runs += lg.run_due()
        claimed |= {(pc.a, pc.b) for pc in lg.snapshot().pairs if pc.coupled}
    return cfg, t, hr, lg, runs, claimed


@pytest.fixture(scope="module")
def coupled():
    return _feed(4, (coupling_parse("patient-partner=0.8@2"),))


def test_coupled_pair_is_claimed_with_its_leader_and_the_others_are_not(coupled) -> None:
    _cfg, _t, _hr, lg, runs, claimed = coupled
    snap = lg.snapshot()
    assert snap.signal is GroupSignal.HR and snap.hr is None
    assert runs == 8 * 3  # 3 pair tests per refresh; no group index for HR
    assert snap.index.mean_ci is None
    pp = snap.pair("patient", "partner")
    assert pp.coupled and pp.hold_s >= GROUP_RULE.hold_s
    assert pp.leader == "patient" and 1.0 <= pp.lag_s <= 3.0
    assert pp.ci_test is not None and 1.0 <= pp.ci_test.lag_s <= 3.0
    assert claimed == {("patient", "partner")}
    # the cell's strength is the rolling lag-0 CI of 1-s HR slopes over the last minute: with
    # the partner 2 s behind it need not be the largest (the evidence is the mark, not the hue)
    m = snap.matrix("ci_rolling")
    assert np.allclose(m, m.T, equal_nan=True) and np.isfinite(m[~np.eye(3, dtype=bool)]).all()


def test_holm_runs_on_the_larger_of_the_two_p(coupled) -> None:
    lg = coupled[3]
    snap = lg.snapshot()
    larger = [max(pc.p, pc.ci_test.p_value) for pc in snap.pairs]
    np.testing.assert_allclose([pc.p_holm for pc in snap.pairs], holm_adjust(larger))
    assert snap.n_surrogates >= 300 and snap.note == ""
    # an independent pair whose best-lag CI alone looks above chance is still not claimed
    for pc in snap.pairs:
        assert pc.p_holm >= max(pc.p, pc.ci_test.p_value)


def test_independent_triad_has_no_pair_claimed_at_any_refresh() -> None:
    _cfg, _t, _hr, lg, runs, claimed = _feed(8)
    assert runs == 24 and claimed == set()
    snap = lg.snapshot()
    assert not any(pc.coupled_ever for pc in snap.pairs)
    assert all(math.isfinite(pc.p_holm) for pc in snap.pairs)


def test_missing_hr_pauses_only_that_persons_pairs(coupled) -> None:
    _cfg, t, hr, _lg, _runs, _claimed = coupled
    lg = LiveGroup(PEOPLE, DyadConfig(), signal=GroupSignal.HR)
    n = t.size - 40
    lg.push(t[:n], hr[:, :n])
    gone = hr[:, n:].copy()
    gone[2] = np.nan  # the clinician's HR stops (a chest strap off) for 10 s
    lg.push(t[n:], gone)
    assert 10.0 > PAUSE_S
    jobs = lg.due_jobs()
    assert [j.kind for j in jobs] == [JobKind.PAIR]  # only patient-partner is tested
    assert jobs[0].signal is GroupSignal.HR and jobs[0].index == 0
    snap = lg.snapshot()
    assert [pc.paused for pc in snap.pairs] == [False, True, True]


def test_bad_input_is_refused() -> None:
    lg = LiveGroup(PEOPLE, DyadConfig(), signal=GroupSignal.HR)
    with pytest.raises(ValueError):
        lg.push(np.arange(4) / 4.0, np.ones((2, 4)))  # two rows for three people


def test_console_matrix_shows_the_hr_cells_when_switched(coupled) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtGui import QColor

    from app.group_words import pair_words
    from app.gui.group_view import PairMatrix, pair_tooltip, strength_colour
    from app.gui.qtapp import make_app

    cfg, t, _hr, lg, _runs, _claimed = coupled
    hr = lg.snapshot()
    eda_lg = LiveGroup(PEOPLE, DyadConfig())
    g = group_grid(simulate_group(cfg))
    eda_lg.push(g.t, g.eda)
    both = replace(eda_lg.snapshot(), hr=hr)
    make_app()
    w = PairMatrix()
    w.resize(420, 380)
    w.set_metrics(both, None)
    assert w.metrics is both
    w.set_signal(GroupSignal.HR)
    assert w.metrics is hr
    img = w.grab().toImage()
    left, top, size = w._layout()
    for pc in hr.pairs:
        i, j = PEOPLE.index(pc.a), PEOPLE.index(pc.b)
        x, y = left + j * size + 0.2 * size, top + i * size + 0.75 * size
        got, want = QColor(img.pixel(int(x), int(y))), strength_colour(pc.ci_rolling)
        assert abs(got.red() - want.red()) <= 3 and abs(got.green() - want.green()) <= 3
        edge = QColor(img.pixel(int(left + j * size + 4), int(top + i * size + size / 2)))
        assert (edge.lightness() < 40) == pc.coupled  # the ring only on the claimed pair
    pp = hr.pair("patient", "partner")
    tip = pair_tooltip(pp, hr)
    assert "HR concordance" in tip and f"p = {pp.p:.4f} raw" in tip
    assert f"{pp.p_holm:.3f} after Holm over 3 pairs" in tip and "larger of the two p" in tip
    assert "<b>coupled above chance</b>" in tip
    words = pair_words(pp, hr)
    assert f"best-lag CI p = {pp.ci_test.p_value:.4f}" in words and "patient leads" in words
    w.set_signal(GroupSignal.EDA)
    assert w.metrics is both
