"""Tests of the common dyad grid (dsp.grid)."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.grid import grid_index, make_grid, resample_to_grid


def test_make_grid_is_anchored_on_clock_zero():
    g = make_grid(10.1, 11.0, 4.0)
    np.testing.assert_allclose(g, [10.25, 10.5, 10.75, 11.0])
    # Two independently built grids share their instants.
    g2 = make_grid(10.6, 12.0, 4.0)
    assert set(np.round(g2 * 4).astype(int)) >= {43, 44}
    np.testing.assert_array_equal(grid_index(g, 4.0), [41, 42, 43, 44])


def test_make_grid_edges_and_empty():
    np.testing.assert_allclose(make_grid(0.0, 1.0, 4.0), [0, 0.25, 0.5, 0.75, 1.0])
    assert make_grid(1.0, 0.5).size == 0
    assert make_grid(0.1, 0.2, 4.0).size == 0
    with pytest.raises(ValueError):
        make_grid(0, 1, 0)


def test_linear_interpolation_is_exact_for_a_line():
    t = np.sort(np.random.default_rng(0).uniform(0, 10, 80))
    x = 3.0 + 0.5 * t
    tg = make_grid(t[0], t[-1], 4.0)
    out = resample_to_grid(t, x, tg, max_gap_s=5.0)
    np.testing.assert_allclose(out, 3.0 + 0.5 * tg, rtol=0, atol=1e-12)


def test_gaps_and_outside_stay_nan():
    t = np.array([0.0, 0.5, 1.0, 3.0, 3.5])
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    tg = np.array([-0.25, 0.0, 0.25, 1.0, 1.5, 2.0, 2.75, 3.0, 3.25, 3.5, 3.75])
    out = resample_to_grid(t, x, tg, max_gap_s=1.0)
    expected = [np.nan, 1.0, 1.5, 3.0, np.nan, np.nan, np.nan, 4.0, 4.5, 5.0, np.nan]
    np.testing.assert_allclose(out, expected)
    # A larger max_gap bridges the 2 s gap.
    out2 = resample_to_grid(t, x, tg, max_gap_s=2.0)
    assert out2[5] == pytest.approx(3.5)


def test_nan_samples_do_not_leak_into_neighbours():
    t = np.arange(0, 5, 0.5)
    x = np.arange(t.size, dtype=float)
    x[4] = np.nan  # t = 2.0
    out = resample_to_grid(t, x, make_grid(0, 4.5, 4.0))
    tg = make_grid(0, 4.5, 4.0)
    bad = (tg > 1.5) & (tg < 2.5)
    assert np.isnan(out[bad]).all()
    assert np.isfinite(out[~bad]).all()


def test_unsorted_input_and_validation():
    t = np.array([1.0, 0.0, 0.5])
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(resample_to_grid(t, x, [0.25, 0.75]), [1.5, 2.5])
    with pytest.raises(ValueError):
        resample_to_grid([0, 1], [1.0], [0.5])
    assert np.isnan(resample_to_grid([], [], [0.0])).all()
