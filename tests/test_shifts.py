"""The shared shift table gives the lead test's surrogate sums as the direct computation does."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.concordance.lead import _zsums, lag_profiles
from dsp.concordance.shifts import ShiftTable


def _direct(x, y, pool, t0, win, lag, inc, shifts):
    n = pool - t0
    tail = np.arange(pool - n, pool)
    ys = y[:pool][(tail[None, :] - shifts[:, None]) % pool]
    return _zsums(lag_profiles(x[t0:pool], ys, win, lag, inc))


@pytest.mark.parametrize("win,lag,inc", [(30, 5, 5), (60, 5, 10), (12, 3, 4)])
def test_table_matches_lag_profiles(win: int, lag: int, inc: int) -> None:
    """Every shift (wrapped, unwrapped and straddling the pool's end), pools shorter than the
    series, holes in both people, a constant stretch: same sums and counts."""
    rng = np.random.default_rng(4)
    n = 700
    x = np.cumsum(rng.normal(size=n)) * 0.01 + rng.normal(size=n) * 0.05
    y = np.roll(x, 2) + rng.normal(size=n) * 0.05
    x[100:104] = np.nan
    y[300:340] = np.nan
    y[500:560] = 0.25  # constant: its windows have no r
    for pool, n_test in ((700, 300), (520, 300), (260, 300), (431, 120)):
        t0 = pool - min(n_test, pool)
        a0 = t0 + lag
        n_win = (pool - t0 - 2 * lag - win) // inc + 1
        table = ShiftTable(x, y, win, a0, inc, n_win, lag)
        shifts = np.arange(20, pool - 20, 3)
        zs, cnt = table.zsums(t0, n_win, lag, pool, shifts)
        zd, cd = _direct(x, y, pool, t0, win, lag, inc, shifts)
        np.testing.assert_array_equal(cnt, cd)
        np.testing.assert_allclose(zs, zd, rtol=0, atol=1e-11)
        assert (cd < n_win).any() and (cd > 0).any()  # the holes and the constant stretch count
        # the observed profiles (no shift) from the same table: same r, same NaN windows
        obs = lag_profiles(x[t0:pool], y[t0:pool], win, lag, inc)[0]
        got = table.profiles(t0, n_win, lag)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(obs))
        assert np.isnan(obs).any() and np.isfinite(obs).any()
        np.testing.assert_allclose(got, obs, rtol=0, atol=1e-11)


def test_table_refuses_windows_it_does_not_cover() -> None:
    x = np.random.default_rng(1).normal(size=200)
    table = ShiftTable(x, x[::-1].copy(), 20, 10, 5, 4, 5)
    with pytest.raises(ValueError):
        table.zsums(0, 20, 5, 200, np.array([50]))
    with pytest.raises(ValueError):
        table.profiles(0, 20, 5)  # more windows than it holds
    with pytest.raises(ValueError):
        table.profiles(6, 3, 5)  # windows of another phase


def test_circular_sums_match_lag_profiles() -> None:
    """All shifts at once (one table of every circular window) = one rolled clinician series
    at a time, with holes and a constant stretch, for every window and for groups of runs."""
    from dsp.concordance.circular import circular_zsums

    rng = np.random.default_rng(9)
    n = 900
    x = np.cumsum(rng.normal(size=n)) * 0.01 + rng.normal(size=n) * 0.05
    y = np.roll(x, 3) + rng.normal(size=n) * 0.05
    x[50:53] = np.nan
    y[400:410] = np.nan
    y[600:650] = -0.1
    shifts = np.array([60, 61, 200, 449, 700, 840])
    want = lag_profiles(x, np.stack([np.roll(y, d) for d in shifts]), 30, 5, 5)
    n_win = want.shape[1]
    keeps = [np.ones(n_win, dtype=bool), np.zeros(n_win, dtype=bool), np.zeros(n_win, dtype=bool)]
    keeps[1][10:40] = True
    keeps[2][:7] = keeps[2][60:90] = keeps[2][-3:] = True
    got = circular_zsums(x, y, 30, 5, 5, shifts, keeps)
    for keep, (zs, cnt) in zip(keeps, got, strict=True):
        zd, cd = _zsums(want[:, keep])
        np.testing.assert_array_equal(cnt, cd)
        np.testing.assert_allclose(zs, zd, rtol=0, atol=1e-11)
        assert (cd < keep.sum()).any() and (cd > 0).all()


@pytest.mark.parametrize("win,lag,inc", [(30, 5, 5), (12, 3, 4)])
def test_many_tests_at_once_match_one_at_a_time(win: int, lag: int, inc: int) -> None:
    """The batched sums of several checks (pools ending in a hole, in a constant stretch, in
    good data; short and full tests; every shift, straddling ones included) are those of
    :meth:`ShiftTable.zsums`, check by check."""
    rng = np.random.default_rng(5)
    n = 700
    x = np.cumsum(rng.normal(size=n)) * 0.01 + rng.normal(size=n) * 0.05
    y = np.roll(x, 3) + rng.normal(size=n) * 0.05
    x[100:104] = np.nan
    y[300:340] = np.nan
    y[500:560] = 0.25
    n_test = 240
    pools = list(range(160, n + 1, inc * 7))
    t0 = np.array([p - min(n_test, p) for p in pools])
    keep = (t0 % inc) == 0  # one phase: all windows in one table
    pools, t0 = np.array(pools)[keep], t0[keep]
    n_win = (pools - t0 - 2 * lag - win) // inc + 1
    table = ShiftTable(x, y, win, lag, inc, (n - 2 * lag - win) // inc + 1, lag)
    assert any(310 <= p <= 345 for p in pools) and any(505 <= p <= 565 for p in pools)
    shifts = np.stack([rng.choice(np.arange(20, p - 20), 40, replace=False) for p in pools])
    zs, cnt = table.zsums_many(t0, n_win, pools, shifts, lag)
    straddled = 0
    for k, pool in enumerate(pools):
        z1, c1 = table.zsums(int(t0[k]), int(n_win[k]), lag, int(pool), shifts[k])
        np.testing.assert_array_equal(cnt[k], c1)
        np.testing.assert_allclose(zs[k], z1, rtol=0, atol=1e-12)
        zd, cd = _direct(x, y, int(pool), int(t0[k]), win, lag, inc, shifts[k])
        np.testing.assert_array_equal(cnt[k], cd)
        np.testing.assert_allclose(zs[k], zd, rtol=0, atol=1e-11)
        straddled += int(((pool - shifts[k]) % inc < win).sum())
    assert straddled > 0
