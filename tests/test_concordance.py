"""Definitions, worked values, edge cases, properties and R parity of dsp.concordance."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, coherence, sosfiltfilt

from dsp.concordance import (
    hr_coherence,
    kleinbub_index,
    lead_text,
    marci_index,
    rolling_pearson,
    slope_concordance,
    slope_concordance_times,
    slope_series,
    slope_signal,
    susy,
    wcc,
    wcc_peak,
)

PARITY = json.loads((Path(__file__).parent / "data" / "concordance_parity.json").read_text())
CASES = PARITY["cases"]


def _arr(v):
    return np.array([np.nan if a is None else a for a in v], dtype=float)


def scr_signal(n_s: float, fs: float, events: np.ndarray, rng, noise=0.002) -> np.ndarray:
    """Skin-conductance-like signal: tonic level + SCRs at ``events`` (s) + small noise."""
    t = np.arange(int(n_s * fs)) / fs
    x = 5.0 + 0.001 * t
    for te in events:
        u = np.clip(t - te, 0, None)
        x += 0.3 * (np.exp(-u / 4.0) - np.exp(-u / 0.75))
    return x + noise * rng.standard_normal(t.size)


def coupled_pair(seed=0, n_s=300.0, fs=4.0, lag_s=2.0):
    rng = np.random.default_rng(seed)
    ev = np.sort(rng.uniform(0, n_s - 10, int(n_s / 12)))
    return scr_signal(n_s, fs, ev, rng), scr_signal(n_s, fs, ev + lag_s, rng)


# --------------------------------------------------------------------- Marci / Kleinbub
def test_worked_values():
    assert marci_index([0.5, 0.5, -0.25]) == pytest.approx(math.log(4), abs=1e-12)
    assert marci_index([0.5, 0.5, -0.25]) == pytest.approx(1.3863, abs=1e-4)
    assert kleinbub_index([0.2, 0.4, -0.1, 0.6]) == pytest.approx(0.30, abs=1e-12)


def test_marci_edge_cases():
    assert marci_index([0.1, 0.2, 0.3]) == 10.0
    assert marci_index([-0.1, -0.2]) == -10.0
    assert math.isnan(marci_index([np.nan, np.nan]))
    assert math.isnan(marci_index([]))
    assert math.isnan(marci_index([0.0, 0.0]))
    # NaNs are dropped, not counted.
    assert marci_index([0.5, np.nan, 0.5, -0.25]) == pytest.approx(math.log(4))
    # Clipped at +-10 and symmetric under sign flip.
    r = np.array([0.9] * 5 + [-1e-9])
    assert marci_index(r) == 10.0
    assert marci_index([0.3, -0.1, 0.2]) == pytest.approx(-marci_index([-0.3, 0.1, -0.2]))


def test_kleinbub_edge_cases():
    assert math.isnan(kleinbub_index([np.nan]))
    assert math.isnan(kleinbub_index([-0.2, -0.1]))
    assert kleinbub_index([0.2, 0.4, np.nan, -0.1, 0.6]) == pytest.approx(0.30)
    assert kleinbub_index([0.2, 0.4, -0.1, 0.6], threshold=0.3) == pytest.approx(0.5 * 2 / 4)


# --------------------------------------------------------------------- slopes
def test_slope_series_definition():
    fs = 4.0
    t = np.arange(0, 30, 1 / fs)
    x = 2.0 + 0.1 * t + 0.01 * t**2
    s = slope_series(x, fs, slope_s=5, step_s=1)
    k = np.arange(s.size)
    expected = (x[k * 4 + 20] - x[k * 4]) / 5.0
    np.testing.assert_allclose(s, expected, rtol=0, atol=1e-14)
    assert s.size == (t.size - 1 - 20) // 4 + 1
    # One NaN sample spoils exactly the slopes whose window contains it.
    x2 = x.copy()
    x2[50] = np.nan
    s2 = slope_series(x2, fs)
    bad = (k * 4 <= 50) & (k * 4 + 20 >= 50)
    assert np.isnan(s2[bad]).all() and np.isfinite(s2[~bad]).all()
    with pytest.raises(ValueError):
        slope_series(x, fs, slope_s=5.1)


def test_rolling_pearson_matches_numpy_and_handles_constants():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(40), rng.standard_normal(40)
    r = rolling_pearson(a, b, 15)
    ref = [np.corrcoef(a[j : j + 15], b[j : j + 15])[0, 1] for j in range(26)]
    np.testing.assert_allclose(r, ref, atol=1e-12)
    a[10:30] = 1.5
    r = rolling_pearson(a, b, 15)
    assert np.isnan(r[10:16]).all()
    # Batched over leading axes.
    rb = rolling_pearson(np.stack([a, -a]), b, 15)
    np.testing.assert_allclose(rb[1][np.isfinite(rb[1])], -rb[0][np.isfinite(rb[0])])


def test_slope_concordance_identical_and_inverted_signals():
    x, _ = coupled_pair(seed=2)
    r_same = slope_concordance(x, 2.0 * x + 7.0, 4.0)
    assert np.nanmin(r_same) == pytest.approx(1.0, abs=1e-12)
    assert np.isfinite(r_same).mean() > 0.99
    r_inv = slope_concordance(x, -x, 4.0)
    assert np.nanmax(r_inv) == pytest.approx(-1.0, abs=1e-12)
    assert marci_index(r_same) == 10.0 and marci_index(r_inv) == -10.0


def test_slope_concordance_constant_and_gaps():
    fs = 4.0
    x, y = coupled_pair(seed=3, n_s=120)
    r = slope_concordance(np.full_like(x, 3.0), y, fs)
    assert np.isnan(r).all()
    x2 = x.copy()
    x2[200:204] = np.nan  # one second missing at 50 s
    r2 = slope_concordance(x2, y, fs)
    t_a, t_b = slope_concordance_times(x.size, fs)
    assert r2.size == t_a.size == t_b.size
    touched = (t_a <= 50.75) & (t_b >= 50.0)
    assert np.isnan(r2[touched]).all()
    r1 = slope_concordance(x, y, fs)
    np.testing.assert_array_equal(r2[~touched], r1[~touched])
    # r[j] uses data from j s to j + 14 + 5 s.
    assert t_a[0] == 0 and t_b[0] == 19.0


def test_slope_concordance_is_symmetric_in_people():
    x, y = coupled_pair(seed=4)
    np.testing.assert_allclose(slope_concordance(x, y, 4.0), slope_concordance(y, x, 4.0))


def test_coupled_pair_has_high_ci_and_independent_low():
    x, y = coupled_pair(seed=5, lag_s=0.0)
    _, z = coupled_pair(seed=6, lag_s=0.0)
    assert marci_index(slope_concordance(x, y, 4.0)) > 2.0
    assert abs(marci_index(slope_concordance(x, z, 4.0))) < 1.0


# --------------------------------------------------------------------- WCC (rMEA)
RMEA = [k for k, c in CASES.items() if c["kind"] == "rmea"]
SUSY = [k for k, c in CASES.items() if c["kind"] == "susy"]


@pytest.mark.parametrize("name", RMEA)
def test_wcc_equals_rmea(name):
    c = CASES[name]
    e = c["expected"]
    r = wcc(_arr(c["x"]), _arr(c["y"]), c["fs"], c["lag_s"], c["win_s"], c["inc_s"],
            fisher_z=c["fisher_z"], absolute=c["absolute"])  # fmt: skip
    m = np.array([_arr(row) for row in e["matrix"]])
    assert r.matrix.shape == m.shape == (e["n_windows"], 2 * c["lag_s"] * c["fs"] + 1)
    np.testing.assert_allclose(r.matrix, m, rtol=0, atol=1e-9, equal_nan=True)
    for ours, key in [
        (r.lag_zero, "lag_zero"),
        (r.s1_lead, "s1_lead"),
        (r.s2_lead, "s2_lead"),
        (r.best_lag_s, "bestLag"),
        (r.all_lags, "all_lags"),
        ([r.grand_average], "grandAver"),
    ]:
        np.testing.assert_allclose(ours, _arr(e[key]), rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(r.window_start_s, np.arange(e["n_windows"]) * c["inc_s"])


def test_wcc_lag_sign_and_swap_mirror():
    fs = 4.0
    x, y = coupled_pair(seed=7, lag_s=2.0)
    sx, sy = slope_signal(x, fs), slope_signal(y, fs)
    r = wcc(sx, sy, fs, lag_s=5, win_s=30, inc_s=10)
    np.testing.assert_array_equal(r.lags_s, np.arange(-20, 21) / 4)
    assert np.median(r.best_lag_s) == pytest.approx(2.0, abs=0.25)
    assert np.nanmean(r.s1_lead) > np.nanmean(r.s2_lead)
    rs = wcc(sy, sx, fs, lag_s=5, win_s=30, inc_s=10)
    # Swapping the people mirrors the lag axis.  Window blocks are anchored at the block start
    # for both signs, so mirroring is exact for the shared lag-0 column and for lag profiles
    # computed on the same samples: check the mirrored best lag and the lag-0 column.
    np.testing.assert_allclose(rs.lag_zero, r.lag_zero, atol=1e-12)
    assert np.median(rs.best_lag_s) == pytest.approx(-np.median(r.best_lag_s))


def test_wcc_swap_is_exact_mirror():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal(200), rng.standard_normal(200)
    a = wcc(x, y, 2.0, 3, 10, 5)
    b = wcc(y, x, 2.0, 3, 10, 5)
    np.testing.assert_allclose(b.matrix, a.matrix[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(b.s1_lead, a.s2_lead, atol=1e-12)


def test_wcc_identical_signals():
    rng = np.random.default_rng(9)
    x = np.cumsum(rng.standard_normal(400))
    r = wcc(np.diff(x), 3.0 * np.diff(x) + 1.0, 4.0, 2, 10, 5)
    np.testing.assert_allclose(r.lag_zero, 1.0, atol=1e-12)
    assert (r.best_lag_s == 0).all()
    # Exactly identical series: rMEA's guard (< 2 samples with x != y) gives NA at lag 0.
    same = wcc(np.diff(x), np.diff(x), 4.0, 2, 10, 5)
    assert np.isnan(same.lag_zero).all()


def test_wcc_nan_rules():
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal(120), rng.standard_normal(120)
    x[0:25] = np.nan  # block 0 is samples 0..29 at fs=1, win 20, lag 10 -> > 50 % NaN
    r = wcc(x, y, 1.0, 10, 20, 10)
    assert np.isnan(r.matrix[0]).all() and math.isnan(r.best_lag_s[0])
    assert np.isfinite(r.matrix[2]).all()
    # Constant window -> NaN; Fisher z is clipped at 10 and absolute values are >= 0.
    z = np.ones(60)
    assert np.isnan(wcc(z, rng.standard_normal(60), 1.0, 2, 10, 5).matrix).all()
    f = wcc(np.arange(40.0), np.arange(40.0) * 2, 1.0, 0, 10, 5, fisher_z=True, absolute=True)
    assert (f.matrix == 10.0).all()
    assert np.isnan(f.s1_lead).all()
    # Too short for a window: empty result (rMEA stops with an error).
    assert wcc(z[:5], z[:5], 1.0, 2, 10, 5).matrix.shape == (0, 5)


def test_wcc_peak_and_lead_text():
    lags = np.arange(-5, 6) * 0.5
    row = np.array([0.1, 0.2, 0.1, 0.0, 0.2, 0.35, 0.6, 0.4, 0.2, 0.1, 0.9])
    r, lag, clear = wcc_peak(row, lags)
    assert (r, lag, clear) == (0.6, 0.5, True)  # nearest lag 0 beats the larger edge value
    assert lead_text(lag, r, clear=clear) == "patient leads by 0.5 s"
    assert lead_text(-1.5, 0.5) == "clinician leads by 1.5 s"
    assert lead_text(2.0, 0.7) == "patient leads by 2.0 s"
    assert lead_text(0.0, 0.7) == "in step (no lead)"
    assert lead_text(2.0, 0.2) == "no clear lead"
    assert lead_text(float("nan"), float("nan")) == "no clear lead"
    edge = np.linspace(0, 0.8, lags.size)
    r, lag, clear = wcc_peak(edge, lags)
    assert lag == 2.5 and not clear
    assert lead_text(lag, r, clear=clear) == "no clear lead"
    assert wcc_peak(np.full(5, np.nan), lags[:5])[2] is False


# --------------------------------------------------------------------- SUSY
@pytest.mark.parametrize("name", SUSY)
def test_susy_equals_r_package(name):
    c = CASES[name]
    e = c["expected"]
    r = susy(_arr(c["x"]), _arr(c["y"]), c["fs"], c["segment_s"], c["max_lag_s"])
    pairs = {
        "Z": r.z, "Z-Pseudo": r.z_pseudo, "ES": r.es, "Z(lead1)": r.z_lead1,
        "Z(lead2)": r.z_lead2, "ES(lead1)": r.es_lead1, "ES(lead2)": r.es_lead2,
        "Z(noAbs)": r.z_noabs, "Z(Pseudo-noAbs)": r.z_pseudo_noabs, "ES(noAbs)": r.es_noabs,
        "SD(Z)": r.sd_z, "SD(Z-Pseudo)": r.sd_z_pseudo, "%>Pseudo": r.pct_above_pseudo,
        "%>Pseudo(noAbs)": r.pct_above_pseudo_noabs, "meanZ(in-phase)": r.z_in_phase,
        "meanZ(anti-phase)": r.z_anti_phase, "Anzahl(in-phase)": r.n_in_phase,
        "Anzahl(anti-phase)": r.n_anti_phase, "n(Segmente)": r.n_segments,
        "n(data)": r.n_samples, "n(lags)": r.lags_s.size,
        "prof_meanccorrReal": r.profile_real_r, "prof_meanccorrPseudo": r.profile_pseudo_r,
        "prof_meanccorrRealZ": r.profile_real, "prof_meanccorrPseudoZ": r.profile_pseudo,
        "prof_meanccorrRealZNotAbs": r.profile_real_noabs,
        "prof_meanccorrPseudoZNotAbs": r.profile_pseudo_noabs,
    }  # fmt: skip
    assert set(pairs) <= set(e)
    for key, ours in pairs.items():
        np.testing.assert_allclose(
            np.atleast_1d(ours), _arr(e[key]), rtol=0, atol=1e-9, equal_nan=True, err_msg=key
        )


def test_susy_swap_mirrors_leads_and_detects_lag():
    x, y = coupled_pair(seed=11, n_s=600, lag_s=2.0)
    fs = 4.0
    sx, sy = np.diff(x), np.diff(y)
    a = susy(sx, sy, fs, segment_s=30, max_lag_s=5)
    b = susy(sy, sx, fs, segment_s=30, max_lag_s=5)
    np.testing.assert_allclose(b.profile_real, a.profile_real[::-1], atol=1e-12)
    assert b.z_lead1 == pytest.approx(a.z_lead2) and b.z_lead2 == pytest.approx(a.z_lead1)
    assert a.z == pytest.approx(b.z)
    # Patient leads -> SUSY lead1 (negative ccf lags) dominates and ES is large.
    assert a.z_lead1 > a.z_lead2
    assert a.es > 2.0
    assert a.n_segments == 19  # floor((2400 - 1) / 120)


def test_susy_validation():
    x = np.random.default_rng(0).standard_normal(100)
    with pytest.raises(ValueError):
        susy(x, x, 4.0, segment_s=2, max_lag_s=2)
    with pytest.raises(ValueError):
        susy(x, x, 4.0, segment_s=20, max_lag_s=2)  # one segment only


# --------------------------------------------------------------------- HR coherence
def test_hr_coherence_bands():
    fs = 4.0
    t = np.arange(0, 300, 1 / fs)
    rng = np.random.default_rng(12)
    sos = butter(4, [0.17, 0.38], btype="band", fs=fs, output="sos")
    shared_hf = 20 * sosfiltfilt(sos, rng.standard_normal(t.size))  # RSA-like, HF band only
    a = 70 + shared_hf + 0.5 * rng.standard_normal(t.size)
    b = 64 + 0.8 * shared_hf + 0.5 * rng.standard_normal(t.size)
    c = hr_coherence(a, b, fs)
    assert c.hf > 0.5 and c.lf < c.hf
    assert c.duration_s == 300 and c.n_segments == 8
    f_ref, c_ref = coherence(a, b, fs=fs, nperseg=256, noverlap=128, detrend="linear")
    np.testing.assert_allclose(c.f, f_ref)
    np.testing.assert_allclose(c.cxy, c_ref, rtol=0, atol=1e-10)
    ind = hr_coherence(a, 64 + rng.standard_normal(t.size), fs)
    assert ind.hf < 0.4
    b2 = b.copy()
    b2[-4:] = np.nan  # a trailing gap: the longest clean run (299 s) is used
    assert hr_coherence(a, b2, fs).duration_s == 299.0
    b2[400:404] = np.nan  # gaps at 100 s and 200 s: no clean run reaches 120 s
    b2[800:804] = np.nan
    c2 = hr_coherence(a, b2, fs)
    assert math.isnan(c2.lf) and math.isnan(c2.hf) and c2.n_segments == 0
    assert math.isnan(hr_coherence(a[:400], b[:400], fs).hf)
