"""Surrogate machinery (dsp.surrogates), offline session baselines and segments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsp.concordance import (
    analyze_hr_session,
    analyze_session,
    concordance_surrogate_test,
    marci_index,
    slope_concordance,
)
from dsp.concordance.segments import intervals_from_markers, segment_concordance
from dsp.surrogates import (
    circular_shift_indices,
    empirical_test,
    percentile_of,
    percentiles_of,
    pseudo_dyad_test,
    random_shifts,
    segment_shuffle_indices,
)

FS = 4.0


def scr(t, events, rng):
    x = 5.0 + 0.002 * rng.standard_normal(t.size)
    for te in events:
        u = np.clip(t - te, 0, None)
        x += 0.3 * (np.exp(-u / 4.0) - np.exp(-u / 0.75))
    return x


def pair(seed, n_s=600.0, coupled=True, lag_s=2.0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(n_s * FS)) / FS
    ev = np.sort(rng.uniform(0, n_s, int(n_s / 10)))
    ev2 = ev + lag_s if coupled else np.sort(rng.uniform(0, n_s, ev.size))
    return scr(t, ev, rng), scr(t, ev2, rng)


def test_circular_shifts_respect_minimum():
    rng = np.random.default_rng(0)
    d = random_shifts(300, 500, 60, rng)
    assert d.min() >= 60 and d.max() <= 240
    assert np.unique(random_shifts(300, 100, 60, rng)).size == 100  # without replacement
    idx = circular_shift_indices(300, 20, 60, rng)
    for row in idx:
        shift = (0 - row[0]) % 300
        assert 60 <= shift <= 240
        np.testing.assert_array_equal(row, (np.arange(300) - shift) % 300)
    with pytest.raises(ValueError):
        random_shifts(100, 10, 60, rng)


def test_segment_shuffle_is_a_derangement_of_segments():
    rng = np.random.default_rng(1)
    idx = segment_shuffle_indices(95, 30, 50, rng)
    for row in idx:
        assert sorted(row) == list(range(95))
        blocks = row[:90].reshape(3, 30)
        assert all((b[0] // 30) != i for i, b in enumerate(blocks))
        assert (np.diff(blocks, axis=1) == 1).all()
        np.testing.assert_array_equal(row[90:], np.arange(90, 95))


def test_empirical_test_formula():
    null = np.arange(1.0, 100.0)  # 99 values
    t = empirical_test(98.5, null, "x")
    assert t.p_value == pytest.approx((1 + 1) / 100)
    assert t.effect_size == pytest.approx((98.5 - 50.0) / np.std(null, ddof=1))
    assert t.percentile == pytest.approx(100 * 98 / 99)
    assert empirical_test(1000.0, null).p_value == pytest.approx(0.01)
    assert math.isnan(empirical_test(float("nan"), null).p_value)
    assert percentile_of(5.0, np.array([5.0, 5.0])) == 50.0
    # vectorised: the same values, ties half, NaN for a non-finite value or no null
    vals = np.array([5.0, -1.0, 99.5, 30.0, np.nan, np.inf])
    want = [percentile_of(v, np.sort(null)) for v in vals]
    np.testing.assert_array_equal(percentiles_of(vals, np.sort(null)), want)
    assert np.isnan(percentiles_of(vals, np.zeros(0))).all()


def test_surrogate_test_coupled_vs_independent():
    x, y = pair(2)
    res = concordance_surrogate_test(x, y, FS, n_surrogates=200, seed=0)
    assert res.observed == pytest.approx(marci_index(slope_concordance(x, y, FS)))
    assert res.p_value < 0.01 and res.effect_size > 3 and res.null.size == 200
    seg = concordance_surrogate_test(x, y, FS, method="segment", seed=0)
    assert seg.p_value < 0.01 and seg.method == "segment"
    xi, yi = pair(3, coupled=False)
    assert concordance_surrogate_test(xi, yi, FS, seed=0).p_value > 0.05
    for stat in ("ksi", "mean_r"):
        assert concordance_surrogate_test(x, y, FS, statistic=stat, seed=0).p_value < 0.01
    with pytest.raises(ValueError):
        concordance_surrogate_test(x, y, FS, method="fourier")


def test_independent_p_values_are_roughly_uniform():
    ps = np.array(
        [concordance_surrogate_test(*pair(100 + s, n_s=400, coupled=False), FS, n_surrogates=100,
                                    seed=s).p_value for s in range(40)]
    )  # fmt: skip
    assert (ps < 0.05).mean() <= 0.125
    assert 0.25 <= (ps < 0.5).mean() <= 0.75


def test_pseudo_dyads_keep_roles():
    sessions = [pair(10 + i, n_s=300) for i in range(4)]
    seen = []

    def stat(x, y):
        seen.append((x[0], y[0]))
        return marci_index(slope_concordance(x, y, FS))

    res = pseudo_dyad_test([s[0] for s in sessions], [s[1] for s in sessions], stat)
    assert res.pseudo.shape == (4, 4) and np.isnan(np.diag(res.pseudo)).all()
    # Every pairing puts a patient series first and a clinician series second.
    pats = {s[0][0] for s in sessions}
    clis = {s[1][0] for s in sessions}
    assert all(a in pats and b in clis for a, b in seen)
    assert (res.observed > np.nanmax(res.pseudo, axis=1) - 1e-12).all()
    assert all(t.p_value == pytest.approx(1 / 4) for t in res.per_session)
    assert res.mean_test.p_value == pytest.approx(1 / 13)
    with pytest.raises(ValueError):
        pseudo_dyad_test([sessions[0][0]], [sessions[0][1]], stat)


def test_analyze_session_fields():
    x, y = pair(4)
    s = analyze_session(x, y, FS, n_surrogates=100, seed=1)
    assert s.ci == pytest.approx(marci_index(s.r))
    assert s.r.size == s.r_t_end.size
    assert s.median_peak_lag_s == pytest.approx(2.0, abs=0.25)
    assert s.lead_text.startswith("patient leads by")
    assert s.surrogate.p_value < 0.05 and s.n_clear_windows > 50


def test_intervals_from_markers():
    iv = intervals_from_markers([30.0, 0.0, 60.0, 60.0], ["b", "a", "c", "d"], 90.0)
    assert iv == [(0.0, 30.0, "a"), (30.0, 60.0, "b"), (60.0, 90.0, "d")]


def test_segments_assign_only_contained_values():
    fs = FS
    x, y = pair(5, n_s=400)
    xi, yi = pair(6, n_s=400, coupled=False)
    # 0-200 s coupled ("listening"), 200-400 s independent ("talking").
    xs = np.r_[x[:800], xi[800:]]
    ys = np.r_[y[:800], yi[800:]]
    t0 = 50.0
    iv = [(t0, t0 + 100, "listening"), (t0 + 100, t0 + 200, "listening"),
          (t0 + 200, t0 + 300, "talking"), (t0 + 300, t0 + 400, "talking")]  # fmt: skip
    rep = segment_concordance(xs, ys, fs, iv, t0=t0)
    lis, tal = rep.by_label("listening"), rep.by_label("talking")
    assert lis.ci > 1.5 and tal.ci < lis.ci
    assert lis.n_intervals == 2 and lis.duration_s == 200
    assert lis.t0 == t0 and lis.t1 == t0 + 200
    # r of a 100 s interval [start, end): each r needs 19 s of data, 1 s steps -> 81 fit.
    assert rep.intervals[0].n_r == 81
    r_first = slope_concordance(xs[:400], ys[:400], fs)
    assert rep.intervals[0].ci == pytest.approx(marci_index(r_first))
    assert lis.n_r == sum(s.n_r for s in rep.intervals[:2])
    assert lis.wcc_n_windows > 0 and lis.lead_text.startswith("patient leads")
    with pytest.raises(KeyError):
        rep.by_label("silence")


def test_analyze_hr_session_uses_hr_slopes():
    rng = np.random.default_rng(7)
    t = np.arange(0, 600, 1 / FS)
    ev = np.sort(rng.uniform(0, 590, 60))

    def hr(events, base):
        h = base + rng.standard_normal(t.size) * 0.3
        for te in events:
            u = np.clip(t - te, 0, None)
            h += 6 * (u / 4) ** 2 * np.exp(2 - u / 2) / 4
        return h

    hp, hc = hr(ev, 70.0), hr(ev + 2.0, 64.0)
    res = analyze_hr_session(hp, hc, FS, n_surrogates=100)
    assert res.session.ci == pytest.approx(marci_index(slope_concordance(hp, hc, FS, slope_s=1.0)))
    assert res.session.surrogate.p_value < 0.05
    assert res.session.median_peak_lag_s > 0.5
    assert res.session.lead_text.startswith("patient leads")
    assert res.coherence.duration_s == 300 and 0 <= res.coherence.lf <= 1
