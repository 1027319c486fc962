"""LivePerson: the live contract used by the engine."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.eda import eda_clean, eda_scr
from dsp.hrv import hrv_time
from dsp.person import LivePerson, PersonConfig, PersonMetrics
from dsp.ppg import PPG_PARAMS, ppg_peaks
from dsp.quality import match_events
from dsp.simulate import simulate_person


def _feed(lp: LivePerson, rec, t_end: float, chunk_s: float = 1.0, t0: float = 0.0, snap=None):
    """Push PPG/EDA in chunks with ideal stamps ``t0 + i / fs``; return metrics per chunk."""
    out = []
    fs, efs = rec.ppg_fs, rec.eda_fs
    n_chunks = int(round(t_end / chunk_s))
    for k in range(n_chunks):
        a, b = int(round(k * chunk_s * fs)), int(round((k + 1) * chunk_s * fs))
        lp.push_cardiac(t0 + np.arange(a, b) / fs, rec.ppg[a:b], fs, "ppg")
        ea, eb = int(round(k * chunk_s * efs)), int(round((k + 1) * chunk_s * efs))
        lp.push_eda(t0 + np.arange(ea, eb) / efs, rec.eda[ea:eb], efs)
        if snap is not None:
            out.append(snap(lp, t0 + b / fs))
    return out


@pytest.fixture(scope="module")
def rec():
    return simulate_person(240.0, seed=21, ppg_fs=128.0, eda_fs=32.0)


@pytest.fixture(scope="module")
def fed(rec):
    lp = LivePerson()
    snaps = _feed(lp, rec, 240.0, snap=lambda p, now: p.snapshot(now))
    return lp, snaps


def test_live_beats_equal_offline_except_provisional_tail(rec, fed) -> None:
    _, snaps = fed
    live = snaps[-1].beat_times
    offline = ppg_peaks(rec.ppg, rec.ppg_fs) / rec.ppg_fs
    offline = offline[offline > snaps[-1].t - 300.0]
    assert live.size >= offline.size - 1
    np.testing.assert_allclose(live, offline[: live.size], rtol=0, atol=1e-9)
    # what is still missing is only the provisional tail
    assert np.all(offline[live.size :] > snaps[-1].t - 1.5)
    # committed beats never change and are never reported twice
    for a, b in zip(snaps[:-1], snaps[1:], strict=True):
        np.testing.assert_array_equal(b.beat_times[: a.beat_times.size], a.beat_times)
        assert np.all(np.diff(b.beat_times) > 0.25)


def test_commit_latency(rec) -> None:
    lp = LivePerson()
    seen = 0
    lat: list[float] = []
    first: list[float] = []  # the start-up batch
    fs = rec.ppg_fs
    for k in range(600):  # 60 s in 0.1 s chunks
        a, b = k * 13 - (k // 10) * 2, (k + 1) * 13 - ((k + 1) // 10) * 2  # 12.8 samples/chunk
        lp.push_cardiac(np.arange(a, b) / fs, rec.ppg[a:b], fs, "ppg")
        now = b / fs
        bt = lp.snapshot(now).beat_times
        (lat if first else first).extend((now - bt[seen:]).tolist())
        seen = bt.size
    # the start-up rule holds the first startup_s (4 s, >= 4 beats) of candidates until the
    # rhythm is known (dsp.beat_startup), then commits them together; later beats within 2 s
    assert len(first) >= 4
    assert np.max(first) < 2.0 * PPG_PARAMS.startup_s + 2.0
    assert len(lat) > 60
    assert np.median(lat) <= 1.2
    assert np.max(lat) < 2.0


def test_hrv_matches_truth(rec, fed) -> None:
    _, snaps = fed
    m: PersonMetrics = snaps[-1]
    tb = rec.truth.beat_times
    w = tb[(tb > m.t - 60.0) & (tb <= m.t)]
    truth = hrv_time(np.diff(w) * 1000.0)
    assert m.hrv_valid and m.hr_valid
    assert m.rmssd_ms == pytest.approx(truth.rmssd_ms, rel=0.05)
    assert m.mean_hr_window_bpm == pytest.approx(truth.mean_hr_bpm, abs=1.0)
    assert m.ln_rmssd == pytest.approx(np.log(m.rmssd_ms))
    assert 40 < m.hr_bpm < 180 and m.n_beats_window > 50
    assert m.spectral_valid and m.lf_ms2 > 0 and m.hf_ms2 > 0
    assert m.coherence_valid and m.coherence_ratio > 0
    # the simulator breathes at 0.25 Hz (RSA)
    assert m.breathing_hz == pytest.approx(0.25, abs=0.03)
    assert m.cardiac_quality == "good" and m.eda_quality == "good"
    assert sum(m.artifacts.values()) == 0
    assert m.cardiac_last_t == pytest.approx(240.0 - 1 / 128.0)
    assert m.hr_trend_t.size == m.hr_trend_bpm.size > 200


def test_eda_metrics_and_grid(rec, fed) -> None:
    lp, snaps = fed
    m = snaps[-1]
    assert m.scl_valid and m.scl_us == pytest.approx(np.mean(rec.eda[-320:]), abs=0.1)
    assert m.scr_valid
    true_rate = np.sum((rec.truth.scr_peaks > m.t - 60) & (rec.truth.scr_peaks <= m.t))
    assert abs(m.scr_per_min - true_rate) <= 2
    # live SCRs (causal low-pass, rolling window) agree with the offline detector
    # (zero-phase, whole recording) whose accuracy against truth is tested in test_eda
    off = eda_scr(rec.eda, 32.0)
    live_vs_off = match_events(m.scr_peaks, off.peaks[off.peaks > m.t - 300.0], 1.0)
    assert live_vs_off.f1 >= 0.9
    g = np.arange(100.0, 239.0, 0.25)
    e = lp.eda_on_grid(g)
    assert np.all(np.isfinite(e))
    ref = np.interp(g, np.arange(rec.eda.size) / 32.0, eda_clean(rec.eda, 32.0, causal=True))
    assert np.max(np.abs(e - ref)) < 1e-9  # the live low-pass is the causal eda_clean
    assert np.all(np.isnan(lp.eda_on_grid(np.array([-5.0, 500.0]))))


def test_hr_on_grid(rec, fed) -> None:
    lp, _ = fed
    g = np.arange(0.0, 260.0, 0.25)
    hr = lp.hr_on_grid(g)
    assert np.all(np.isnan(hr[g > 240.0]))  # no extrapolation
    inside = (g > 5.0) & (g < 237.0)
    assert np.all(np.isfinite(hr[inside]))
    tb = rec.truth.beat_times
    ref = np.interp(g[inside], tb[1:], 60.0 / np.diff(tb))
    assert np.median(np.abs(hr[inside] - ref)) < 1.0


def test_gap_in_stream_gives_nan_and_no_ibi_across() -> None:
    rec = simulate_person(120.0, seed=22, ppg_fs=64.0, eda_fs=8.0)
    fs, efs = 64.0, 8.0
    keep = np.ones(rec.ppg.size, dtype=bool)
    keep[int(50 * fs) : int(58 * fs)] = False  # 8 s of samples never arrive
    ekeep = np.ones(rec.eda.size, dtype=bool)
    ekeep[int(50 * efs) : int(58 * efs)] = False
    lp = LivePerson()
    idx, eidx = np.flatnonzero(keep), np.flatnonzero(ekeep)
    for c in np.array_split(idx, 120):
        lp.push_cardiac(c / fs, rec.ppg[c], fs, "ppg")
    for c in np.array_split(eidx, 120):
        lp.push_eda(c / efs, rec.eda[c], efs)
    g = np.arange(40.0, 70.0, 0.25)
    hr, eda = lp.hr_on_grid(g), lp.eda_on_grid(g)
    gap = (g > 50.5) & (g < 58.0)
    assert np.all(np.isnan(hr[gap])) and np.all(np.isnan(eda[gap]))
    assert np.all(np.isfinite(hr[(g > 42) & (g < 49)]))
    # a gap is not an artifact: no Kleckner 5 s margins around it, each side is masked on
    # its own as offline (issue 18: a gap excludes exactly the windows it touches)
    assert np.all(np.isfinite(eda[(g > 42) & (g < 49.9)]))
    assert np.all(np.isfinite(eda[(g >= 58.0) & (g < 69)]))
    assert np.all(np.isfinite(hr[(g > 62) & (g < 69)]))  # window 50-60 s is bad
    m = lp.snapshot(120.0)
    bt = m.beat_times
    assert not np.any((bt > 50.0) & (bt < 58.0))
    assert match_events(bt, rec.truth.beat_times).fp == 0
    assert m.hr_trend_bpm.min() > 40  # no 8-s "IBI" across the gap


def test_nan_runs_and_artifacts() -> None:
    rec = simulate_person(200.0, seed=23, ppg_fs=64.0, eda_fs=4.0, artifacts=True)
    x = rec.ppg.copy()
    x[int(30 * 64) : int(33 * 64)] = np.nan
    lp = LivePerson()
    for c in np.array_split(np.arange(x.size), 200):
        lp.push_cardiac(c / 64.0, x[c], 64.0, "ppg")
    for c in np.array_split(np.arange(rec.eda.size), 200):
        lp.push_eda(c / 4.0, rec.eda[c], 4.0)
    g = np.arange(0.0, 200.0, 0.25)
    hr = lp.hr_on_grid(g)
    assert np.all(np.isnan(hr[(g > 30.2) & (g < 33.0)]))
    m = lp.snapshot(200.0)
    assert np.all(np.isfinite(hr[np.isfinite(hr)]))
    assert np.nanmin(hr) > 40 and np.nanmax(hr) < 180
    tb = rec.truth.beat_times
    w = tb[(tb > 140) & (tb <= 200)]
    if m.hrv_valid:
        assert m.rmssd_ms == pytest.approx(hrv_time(np.diff(w) * 1000).rmssd_ms, rel=0.15)


def test_bursty_timestamps_polar_like() -> None:
    """ECG @130 Hz stamped in bursts of 73 identical values (arrival time of the last one)."""
    rec = simulate_person(120.0, seed=24, ecg_fs=130.0)
    fs = 130.0
    n = rec.ecg.size
    ideal = np.arange(n) / fs
    burst = 73
    stamps = np.empty(n)
    rng = np.random.default_rng(0)
    for s in range(0, n, burst):
        e = min(s + burst, n)
        stamps[s:e] = ideal[e - 1] + 0.02 + abs(rng.normal(0, 0.01))
    lp = LivePerson()
    for s in range(0, n, burst):
        lp.push_cardiac(stamps[s : s + burst], rec.ecg[s : s + burst], fs, "ecg")
    m = lp.snapshot(stamps[-1])
    ref = rec.truth.r_peak_times
    # a constant offset of at most half a burst plus latency, identical IBIs
    off = np.median(m.beat_times - ref[np.argmin(np.abs(ref[:, None] - m.beat_times), axis=0)])
    assert 0.0 < off < 0.6
    match = match_events(m.beat_times - off, ref, tol_s=0.02)
    assert match.f1 >= 0.99
    assert np.std(match.errors_s) < 0.003
    assert m.rmssd_ms == pytest.approx(
        hrv_time(np.diff(ref[ref > m.t - 60]) * 1000).rmssd_ms, rel=0.05
    )


def test_no_data_snapshot_is_all_nan() -> None:
    m = LivePerson().snapshot(10.0)
    for f in ("hr_bpm", "rmssd_ms", "lf_ms2", "coherence_ratio", "scl_us", "scr_per_min"):
        assert np.isnan(getattr(m, f)), f
    assert m.cardiac_quality == "none" and m.eda_quality == "none"
    assert not (m.hr_valid or m.hrv_valid or m.spectral_valid or m.scl_valid)
    assert m.beat_times.size == 0 and np.isnan(m.cardiac_last_t)
    lp = LivePerson()
    assert np.all(np.isnan(lp.hr_on_grid(np.arange(5.0))))
    assert np.all(np.isnan(lp.eda_on_grid(np.arange(5.0))))


def test_stale_data_marks_quality_none(rec) -> None:
    lp = LivePerson()
    _feed(lp, rec, 30.0)
    m = lp.snapshot(60.0)
    assert m.cardiac_quality == "none" and m.eda_quality == "none"
    assert np.isnan(m.hr_bpm) and np.isnan(m.scl_us)


def test_constant_signal_gives_no_beats_and_bad_or_none() -> None:
    lp = LivePerson()
    for k in range(30):
        lp.push_cardiac(k + np.arange(64) / 64.0, np.full(64, 1.0), 64.0, "ppg")
        lp.push_eda(k + np.arange(4) / 4.0, np.full(4, 3.0), 4.0)
    m = lp.snapshot(30.0)
    assert m.beat_times.size == 0 and np.isnan(m.rmssd_ms)
    assert m.cardiac_quality == "bad" and m.eda_quality == "bad"
    assert np.isnan(m.scl_us)


def test_bad_input_raises() -> None:
    lp = LivePerson()
    with pytest.raises(ValueError):
        lp.push_cardiac(np.arange(3.0), np.zeros(4), 64.0, "ppg")
    with pytest.raises(ValueError):
        lp.push_cardiac(np.arange(3.0), np.zeros(3), 0.0, "ppg")
    with pytest.raises(ValueError):
        lp.push_cardiac(np.arange(3.0), np.zeros(3), 64.0, "eeg")
    lp.push_cardiac(np.arange(3.0), np.zeros(3), 64.0, "ppg")
    with pytest.raises(ValueError):
        lp.push_cardiac(np.arange(3.0), np.zeros(3), 128.0, "ppg")
    with pytest.raises(ValueError):
        lp.push_eda(np.arange(3.0), np.zeros(2), 4.0)
    lp.push_cardiac(np.zeros(0), np.zeros(0), 64.0, "ppg")  # empty push is fine


def test_memory_bounded() -> None:
    rec = simulate_person(200.0, seed=25, ppg_fs=64.0, eda_fs=4.0)
    lp = LivePerson(PersonConfig(history_s=60.0))
    _feed(lp, rec, 200.0, chunk_s=2.0)
    m = lp.snapshot(200.0)
    assert m.beat_times.min() > 140.0
    assert lp._beat_t.size < 100 and lp._e_t.size <= (60 + 10) * 4
    assert m.hr_trend_t.min() > 130.0


@pytest.mark.parametrize(("seed", "history_s"), [(0, 300.0), (3, 120.0)])
def test_incremental_ibi_correction_equals_full(seed: int, history_s: float) -> None:
    """Only the newest IBIs are re-corrected each tick; the result equals a full re-run."""
    rec = simulate_person(400.0, seed=seed, ppg_fs=64.0, artifacts=True)
    lp = LivePerson(PersonConfig(history_s=history_s))
    for s in range(400):
        a, b = s * 64, (s + 1) * 64
        lp.push_cardiac(np.arange(a, b) / 64.0, rec.ppg[a:b], 64.0, "ppg")
        lp.snapshot(s + 1.0)
    inc = lp._ibis()
    lp._ibi_cache, lp._ibi_frozen = None, None
    full = lp._ibis()
    np.testing.assert_allclose(inc["t"], full["t"], atol=1e-9)
    np.testing.assert_allclose(inc["ibi"], full["ibi"], atol=1e-9)  # NaN positions equal too
    for k, v in full["flags_t"].items():
        np.testing.assert_allclose(inc["flags_t"][k], v, atol=1e-9)


def test_clock_jumping_back_restarts_the_stream() -> None:
    rec = simulate_person(80.0, seed=26, ppg_fs=64.0, eda_fs=4.0)
    lp = LivePerson()
    stamps = np.arange(rec.ppg.size) / 64.0
    stamps[40 * 64 :] -= 1000.0  # the sender's clock resets after 40 s
    estamps = np.arange(rec.eda.size) / 4.0
    estamps[40 * 4 :] -= 1000.0
    for c in np.array_split(np.arange(rec.ppg.size), 80):
        lp.push_cardiac(stamps[c], rec.ppg[c], 64.0, "ppg")
    for c in np.array_split(np.arange(rec.eda.size), 80):
        lp.push_eda(estamps[c], rec.eda[c], 4.0)
    m = lp.snapshot(80.0 - 1000.0)
    assert m.beat_times.size > 30 and np.all(np.diff(m.beat_times) > 0)
    assert m.beat_times.min() > 40.0 - 1000.0
    assert 40 < m.hr_bpm < 180 and np.isfinite(m.scl_us)


def test_high_rate_eda_is_kept_at_about_32_hz() -> None:
    rec = simulate_person(120.0, seed=27, eda_fs=32.0)
    up = np.interp(np.arange(120 * 256) / 256.0, np.arange(rec.eda.size) / 32.0, rec.eda)
    lp, lp_ref = LivePerson(), LivePerson()
    for k in range(120):
        lp.push_eda(k + np.arange(256) / 256.0, up[k * 256 : (k + 1) * 256], 256.0)
        lp_ref.push_eda(k + np.arange(32) / 32.0, rec.eda[k * 32 : (k + 1) * 32], 32.0)
    assert lp._e_t.size <= 130 * 32
    m, ref = lp.snapshot(120.0), lp_ref.snapshot(120.0)
    assert m.scl_us == pytest.approx(ref.scl_us, abs=0.01)
    assert match_events(m.scr_peaks, ref.scr_peaks, 0.5).f1 >= 0.9
    g = np.arange(30.0, 119.0, 0.25)
    np.testing.assert_allclose(lp.eda_on_grid(g), lp_ref.eda_on_grid(g), atol=0.02)


def test_hostile_input_never_crashes() -> None:
    """Random junk (NaN/inf runs, empty pushes, jittery or repeated stamps, spikes)."""
    rng = np.random.default_rng(5)
    rec = simulate_person(60.0, seed=28, ppg_fs=64.0, eda_fs=4.0)
    lp = LivePerson()
    t_c = t_e = 0.0
    i_c = i_e = 0
    for step in range(120):
        n = int(rng.integers(0, 40))
        x = rec.ppg[i_c : i_c + n].copy()
        i_c = (i_c + n) % (rec.ppg.size - 50)
        t = t_c + np.arange(x.size) / 64.0 + rng.normal(0, 0.02, x.size)
        if step % 7 == 0 and x.size:
            t[:] = t[-1]  # burst: identical stamps
        if step % 11 == 0 and x.size:
            x[: x.size // 2] = np.nan
        if step % 13 == 0 and x.size:
            x[-1] = np.inf
        if step % 17 == 0 and x.size:
            x *= 1e6  # spike
        lp.push_cardiac(t, x, 64.0, "ppg")
        t_c += x.size / 64.0 + (5.0 if step == 60 else 0.0)
        m = int(rng.integers(0, 5))
        e = rec.eda[i_e : i_e + m].copy()
        i_e = (i_e + m) % (rec.eda.size - 10)
        if step % 9 == 0 and e.size:
            e[:] = -1.0  # impossible conductance
        lp.push_eda(t_e + np.arange(e.size) / 4.0, e, 4.0)
        t_e += e.size / 4.0
        now = max(t_c, t_e) + rng.normal(0, 1.0)
        snap = lp.snapshot(now)
        assert snap.t == now
        for v in (snap.hr_bpm, snap.rmssd_ms, snap.scl_us):
            assert np.isnan(v) or np.isfinite(v)
        g = np.linspace(now - 10, now, 9)
        assert lp.hr_on_grid(g).shape == g.shape and lp.eda_on_grid(g).shape == g.shape
    lp.snapshot(float("nan"))


def test_incremental_eda_mask_equals_full() -> None:
    from dsp.quality import eda_valid_mask

    rec = simulate_person(400.0, seed=2, eda_fs=16.0, artifacts=True)
    x = rec.eda.copy()
    x[1000:1200] = 5.0  # 12.5 s flat line
    x[3000:3010] = 100.0  # out of range
    x[4000:4005] += np.arange(5) * 3.0  # 48 µS/s jump
    x[5000:5003] = np.nan
    lp = LivePerson()
    rng = np.random.default_rng(0)
    i = 0
    while i < x.size:
        n = min(int(rng.integers(1, 40)), x.size - i)
        lp.push_eda(np.arange(i, i + n) / 16.0, x[i : i + n], 16.0)
        i += n
        if rng.random() < 0.3:
            lp.snapshot(i / 16.0)
    full = eda_valid_mask(lp._e_raw, 16.0) & np.isfinite(lp._e_x)
    np.testing.assert_array_equal(lp._eda_mask(), full)
    assert (~full).sum() > 50
