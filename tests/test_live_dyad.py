"""LiveDyad: same numbers as the offline functions, warm-up, validity, chance baseline, leads."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scr_render import scr_pair

from dsp.concordance import (
    DyadConfig,
    DyadMetrics,
    LiveDyad,
    kleinbub_index,
    marci_index,
    slope_concordance,
)
from dsp.concordance.lead import Leader
from dsp.grid import make_grid, resample_to_grid
from dsp.simulate import DyadSimConfig, simulate_dyad

FS = 4.0


def hr_pair(t: np.ndarray, seed: int):
    rng = np.random.default_rng(seed + 100)
    return 70 + 3 * np.sin(2 * np.pi * 0.25 * t) + rng.standard_normal(
        t.size
    ), 64 + rng.standard_normal(t.size)


def run(ld: LiveDyad, t, x, y, hp, hc, chunk=4, every=None):
    snaps = []
    for i in range(0, t.size, chunk):
        s = slice(i, i + chunk)
        ld.push(t[s], x[s], y[s], hp[s], hc[s])
        if every and (i // chunk) % every == 0:
            snaps.append(ld.snapshot())
    return snaps


def test_live_equals_offline_functions():
    t, x, y = scr_pair(1, 400, drift_us_per_s=0.002)
    x[800:812] = np.nan  # 3 s dropout of the patient
    hp, hc = hr_pair(t, 1)
    t = t + 1000.0  # LSL clock
    ld = LiveDyad()
    run(ld, t, x, y, hp, hc)
    tr, r = ld.r_series()
    ref = slope_concordance(x, y, FS)
    np.testing.assert_array_equal(np.isnan(r), np.isnan(ref))
    np.testing.assert_allclose(r, ref, rtol=0, atol=1e-12, equal_nan=True)
    m = ld.snapshot()
    assert m.ci_session == pytest.approx(marci_index(ref), abs=1e-12)
    assert m.ksi_session == pytest.approx(kleinbub_index(ref), abs=1e-12)
    assert m.ci_rolling == pytest.approx(marci_index(ref[-60:]), abs=1e-12)
    assert m.n_correlations == int(np.isfinite(ref).sum())
    assert m.t == t[-1] and m.elapsed_s == pytest.approx(400.0)
    # r is stamped with the time of the newest sample it uses: start + 19 s for the first.
    assert tr[0] == pytest.approx(1000.0 + 19.0)
    assert m.slope_r == pytest.approx(ref[-1])


@pytest.mark.parametrize("chunk", [1, 7, 40, 400])
def test_chunking_does_not_change_results(chunk):
    t, x, y = scr_pair(2, 240, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 2)
    a, b = LiveDyad(), LiveDyad()
    run(a, t, x, y, hp, hc, chunk=4)
    run(b, t, x, y, hp, hc, chunk=chunk)
    np.testing.assert_array_equal(a.r_series()[1], b.r_series()[1])
    ma, mb = a.snapshot(), b.snapshot()
    for f in (
        "ci_session",
        "ksi_session",
        "ci_rolling",
        "wcc_peak_r",
        "wcc_lag_s",
        "hr_ci_rolling",
    ):
        assert getattr(ma, f) == pytest.approx(getattr(mb, f), nan_ok=True), f


def test_warmup_then_baseline_and_coupled_percentile():
    t, x, y = scr_pair(3, 420, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 3)
    ld = LiveDyad(DyadConfig())
    snaps = run(ld, t, x, y, hp, hc, every=5)
    early = [s for s in snaps if s.elapsed_s < 150]
    late = [s for s in snaps if s.elapsed_s >= 160]
    assert all(s.warming_up and math.isnan(s.percentile) and s.n_surrogates == 0 for s in early)
    assert all(math.isnan(s.chance_lo) for s in early)
    assert late and not any(s.warming_up for s in late)
    assert all(s.n_surrogates >= 100 for s in late)
    assert all(s.chance_lo < s.chance_hi for s in late)
    pct = np.array([s.percentile for s in late if s.valid])
    assert np.median(pct) > 90  # coupled pair: the rolling CI sits far above chance
    # the lead is named only by the tested statistic (p < 0.05 against circular shifts)
    assert all(s.lead.leader is Leader.PATIENT for s in late[-10:])
    assert all(abs(s.lead.lag_s - 2.0) <= 0.5 for s in late[-10:])
    assert all(
        s.lead_text.startswith("patient leads by 2.") and "p = " in s.lead_text for s in late[-10:]
    )
    assert all(s.lead.p < 0.05 for s in late[-10:])
    assert all(s.lead_text == "not enough data for a test" for s in early)
    # the coupling test (lead test's first part) starts at 4:40; three checks later the
    # coupled pair is highlighted, and every word about it carries its p
    start = ld.config.coupling_from_s
    assert all(not s.highlight for s in snaps if s.elapsed_s < start + 20)
    assert all(s.highlight and s.hold_s >= 20 for s in snaps if s.elapsed_s >= start + 30)
    assert all(s.lead.p_strength <= 0.01 for s in snaps if s.elapsed_s >= start)
    assert sum(s.wcc_clear for s in late) > 0.7 * len(late)
    lags = np.array([s.wcc_lag_s for s in late if s.wcc_clear])
    assert np.median(lags) == pytest.approx(2.0, abs=0.25)


def test_swapped_roles_give_clinician_leads():
    t, x, y = scr_pair(4, 300, drift_us_per_s=0.002)  # the lead test starts at 4:40
    hp, hc = hr_pair(t, 4)
    ld = LiveDyad()
    run(ld, t, y, x, hc, hp)
    m = ld.snapshot()
    assert m.wcc_clear and m.wcc_lag_s == pytest.approx(-2.0, abs=0.25)
    assert m.lead.leader is Leader.CLINICIAN and m.lead.lag_s == pytest.approx(-2.0, abs=0.5)
    assert m.lead_text.startswith("clinician leads by")


def test_independent_pair_percentile_is_not_extreme():
    t, x, y = scr_pair(5, 900, coupled=False, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 5)
    ld = LiveDyad()
    snaps = run(ld, t, x, y, hp, hc, every=10)
    pct = np.array([s.percentile for s in snaps if not s.warming_up and s.valid])
    assert pct.size > 50
    assert 20 < np.median(pct) < 80
    assert (pct > 95).mean() < 0.25


def test_missing_data_makes_window_invalid_and_recovers():
    t, x, y = scr_pair(6, 400, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 6)
    y = y.copy()
    y[4 * 300 : 4 * 305] = np.nan  # clinician sensor off 300-305 s
    ld = LiveDyad()
    run(ld, t[: 4 * 310], x, y, hp, hc)
    m = ld.snapshot()
    assert not m.valid and math.isnan(m.percentile)
    assert math.isnan(m.slope_r)
    run(ld, t[4 * 310 :], x[4 * 310 :], y[4 * 310 :], hp[4 * 310 :], hc[4 * 310 :])
    m2 = ld.snapshot()
    assert m2.valid and not math.isnan(m2.percentile)
    assert m2.hr_valid


def test_time_jumps_fill_nan_and_duplicates_are_ignored():
    t, x, y = scr_pair(7, 200, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 7)
    keep = (t < 100) | (t >= 110)  # 10 s of grid never delivered
    a = LiveDyad()
    run(a, t[keep], x[keep], y[keep], hp[keep], hc[keep])
    x2 = x.copy()
    x2[~keep] = np.nan
    np.testing.assert_allclose(a.r_series()[1], slope_concordance(x2, y, FS), equal_nan=True)
    b = LiveDyad()
    b.push(t[:40], x[:40], y[:40], hp[:40], hc[:40])
    xo = x[20:60].copy()
    xo[:20] += 1.0  # samples 20..39 were already pushed: ignored
    b.push(t[20:60], xo, y[20:60], hp[20:60], hc[20:60])
    b.push(t[60:], x[60:], y[60:], hp[60:], hc[60:])
    np.testing.assert_allclose(b.r_series()[1], slope_concordance(x, y, FS), equal_nan=True)
    with pytest.raises(ValueError):
        b.push(t[:3], x[:2], y[:3], hp[:3], hc[:3])


def test_memory_is_bounded():
    cfg = DyadConfig(max_session_s=200.0, history_points=8, history_every_s=5.0)
    t, x, y = scr_pair(8, 600, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 8)
    ld = LiveDyad(cfg)
    run(ld, t, x, y, hp, hc, chunk=40)
    tr, r = ld.r_series()
    assert r.size <= 202
    assert tr[-1] == pytest.approx(t[-1] - 0.25 + 0.0, abs=1.0)
    m = ld.snapshot()
    assert m.ci_session == pytest.approx(marci_index(r), abs=1e-9)
    assert m.ksi_session == pytest.approx(kleinbub_index(r), abs=1e-9)
    assert 1 <= m.eda_history_t.size < 8
    assert np.all(np.diff(m.eda_history_t) > 0)
    assert m.eda_history_t[-1] > 500
    assert ld._eda_buf.cap < 2000  # raw buffers hold a fixed few minutes at most


def test_snapshot_is_frozen_and_cached():
    t, x, y = scr_pair(9, 60, drift_us_per_s=0.002)
    hp, hc = hr_pair(t, 9)
    ld = LiveDyad()
    m0 = ld.snapshot()
    assert math.isnan(m0.t) and not m0.valid and m0.lead_text == "not enough data for a test"
    run(ld, t, x, y, hp, hc)
    m = ld.snapshot()
    assert isinstance(m, DyadMetrics) and ld.snapshot() is m
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.ci_rolling = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        m.eda_history_ci[...] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        DyadConfig().fs = 8.0  # type: ignore[misc]


def test_simulated_dyad_live():
    dur = 600.0
    rec = simulate_dyad(DyadSimConfig(duration_s=dur, seed=3, coupling=0.8, lag_s=2.0,
                                      ppg_fs=16.0, eda_fs=16.0))  # fmt: skip
    tg = make_grid(0.0, dur - 1e-9, FS)
    sig = []
    for p in (rec.patient, rec.clinician):
        sig.append(resample_to_grid(np.arange(p.eda.size) / p.eda_fs, p.eda, tg))
    for p in (rec.patient, rec.clinician):
        b = p.truth.beat_times
        sig.append(resample_to_grid(0.5 * (b[1:] + b[:-1]), 60.0 / np.diff(b), tg, 2.0))
    ld = LiveDyad()
    snaps = run(ld, tg, *sig, every=5)
    late = [s for s in snaps if not s.warming_up and s.valid]
    assert np.median([s.percentile for s in late]) > 75
    m = ld.snapshot()
    assert m.ci_session > 1.0
    clear = [s.wcc_lag_s for s in snaps if s.wcc_clear]
    assert np.median(clear) == pytest.approx(2.0, abs=0.5)
    assert np.isfinite([s.hr_ci_rolling for s in late]).all()
    coh = np.array([(s.hr_coherence_lf, s.hr_coherence_hf) for s in late])
    assert np.isfinite(coh).all() and ((coh >= 0) & (coh <= 1)).all()
    assert all(math.isnan(s.hr_coherence_lf) for s in snaps if s.warming_up)
