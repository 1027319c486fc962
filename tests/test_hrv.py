"""IBI artifact correction and HRV measures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dsp.hrv import coherence_ratio, hrv_frequency, hrv_time, ibi_correct


def _pyhrv_series() -> np.ndarray:
    """pyhrv's real 1-hour NN series, read from the wheel's data folder without importing it."""
    spec = importlib.util.find_spec("pyhrv")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyhrv (data files only) not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "files" / "SampleNNISeriesLong.npy"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return np.load(path).astype(float)


def _inject(rr: np.ndarray) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Missed, extra and ectopic beats injected into the beat times of ``rr``.

    Returns the corrupted IBIs and, per class, the IBI index where each artefact appears.
    """
    beats = np.concatenate([[0.0], np.cumsum(rr)])
    missed, extra, ectopic = [600, 1800, 3000], [1200, 2400, 3600], [900, 2100, 3300, 4200]
    b = beats.copy()
    for i in ectopic:  # premature beat: 30 % of its interval early
        b[i] -= 0.3 * (beats[i] - beats[i - 1])
    inserted = [beats[i] + 0.45 * (beats[i + 1] - beats[i]) for i in extra]
    keep = np.ones(b.size, dtype=bool)
    keep[missed] = False
    nb = np.sort(np.concatenate([b[keep], inserted]))
    where = {
        "missed": [int(np.searchsorted(nb, beats[i])) - 1 for i in missed],
        "extra": [int(np.searchsorted(nb, x)) - 1 for x in inserted],
        "ectopic": [int(np.searchsorted(nb, b[i])) - 1 for i in ectopic],
    }
    return np.diff(nb), where


def test_injected_artifacts_found_and_rmssd_restored() -> None:
    rr = _pyhrv_series()
    clean_rmssd = hrv_time(rr).rmssd_ms
    bad, where = _inject(rr)
    assert abs(hrv_time(bad).rmssd_ms / clean_rmssd - 1) > 0.1  # the injection matters
    res = ibi_correct(bad)
    flagged = np.concatenate([res.ectopic, res.missed, res.extra, res.longshort])
    for cls, idx in where.items():
        found = getattr(res, cls)
        exact = [i for i in idx if found.size and np.min(np.abs(found - i)) <= 1]
        for i in idx:  # every injected artefact is flagged, at worst as long/short
            assert np.min(np.abs(flagged - i)) <= 1, (cls, i)
        # missed and extra beats are always recognised as such; an ectopic beat with a
        # small prematurity may be classed long/short (it is corrected by interpolation)
        assert len(exact) >= (len(idx) if cls != "ectopic" else len(idx) // 2), (cls, exact)
    # this real series has its own artifacts: NeuroKit2 (kubios) and systole flag 83 intervals
    # of it (11 ectopic, 3 missed, 69 long/short), so the reference is the corrected clean series
    ref_rmssd = hrv_time(ibi_correct(rr).ibi_ms).rmssd_ms
    assert abs(hrv_time(res.ibi_ms).rmssd_ms / ref_rmssd - 1) < 0.02
    # beats are inserted / deleted: the corrected series has the clean length again
    assert abs(res.ibi_ms.size - rr.size) <= 4
    assert res.counts["missed"] >= 3 and res.counts["extra"] >= 3 and res.counts["ectopic"] >= 4


def test_clean_synthetic_series_untouched() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(400)
    rr = 850 + 40 * np.sin(2 * np.pi * t / 4.5) + rng.normal(0, 8, t.size)
    res = ibi_correct(rr)
    assert res.n_artifacts == 0
    np.testing.assert_array_equal(res.ibi_ms, rr)


def test_nan_splits_runs_and_is_kept() -> None:
    rr = np.full(60, 800.0) + np.tile([0.0, 10.0, -5.0], 20)
    rr[30] = np.nan
    rr[10] = 1600.0  # missed beat in the first run
    res = ibi_correct(rr)
    assert 10 in res.missed
    assert np.isnan(res.ibi_ms).sum() == 1
    assert res.ibi_ms.size == rr.size + 1


def test_ibi_correct_bad_input() -> None:
    with pytest.raises(ValueError):
        ibi_correct(np.array([800.0, -1.0, 800.0]))
    with pytest.raises(ValueError):
        ibi_correct(np.zeros((3, 3)))
    assert ibi_correct(np.zeros(0)).ibi_ms.size == 0
    short = ibi_correct(np.array([800.0, 1600.0]))
    assert short.n_artifacts == 0 and short.ibi_ms.size == 2


def test_hrv_time_formulas() -> None:
    rr = np.array([800.0, 860.0, 790.0, 900.0, 820.0, 805.0])
    h = hrv_time(rr)
    d = np.diff(rr)
    assert h.valid and h.n_ibi == 6
    assert h.mean_nn_ms == pytest.approx(rr.mean())
    assert h.mean_hr_bpm == pytest.approx(60000 / rr.mean())
    assert h.sdnn_ms == pytest.approx(np.sqrt(np.sum((rr - rr.mean()) ** 2) / 5))
    assert h.rmssd_ms == pytest.approx(np.sqrt(np.mean(d**2)))
    assert h.ln_rmssd == pytest.approx(np.log(h.rmssd_ms))
    assert h.pnn50_pct == pytest.approx(100 * 4 / 5)  # 60, -70, 110, -80 exceed 50; -15 not
    # Poincare by rotation of the (RR_n, RR_n+1) cloud agrees with the closed form
    x, y = rr[:-1], rr[1:]
    sd1 = np.std((y - x) / np.sqrt(2), ddof=1)
    assert h.sd1_ms == pytest.approx(sd1)
    assert h.sd2_ms**2 == pytest.approx(2 * h.sdnn_ms**2 - h.sd1_ms**2)


def test_hrv_time_gaps_and_too_few() -> None:
    h = hrv_time(np.array([800.0, 810.0, np.nan, 900.0, 950.0, 960.0]))
    assert h.valid and h.n_ibi == 5
    assert h.rmssd_ms == pytest.approx(np.sqrt(np.mean(np.array([10.0, 50.0, 10.0]) ** 2)))
    for bad in (np.zeros(0), np.array([800.0]), np.array([800.0, 900.0]), np.full(5, np.nan)):
        r = hrv_time(bad)
        assert not r.valid and np.isnan(r.rmssd_ms) and np.isnan(r.mean_hr_bpm)


def _sine_ibi(freqs_amps: list[tuple[float, float]], dur_s: float, seed: int = 0) -> np.ndarray:
    """IBIs whose value oscillates in time (s) at the given (Hz, ms amplitude) components."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    while t < dur_s:
        v = 900.0 + sum(a * np.sin(2 * np.pi * f * t) for f, a in freqs_amps)
        v += rng.normal(0, 1.0)
        out.append(v)
        t += v / 1000.0
    return np.asarray(out)


def test_hrv_frequency_bands() -> None:
    ibi = _sine_ibi([(0.1, 30.0), (0.25, 15.0)], 300.0)
    f = hrv_frequency(ibi, detrend_lambda=None)
    assert f.valid
    assert f.lf_peak_hz == pytest.approx(0.1, abs=0.01)
    assert f.hf_peak_hz == pytest.approx(0.25, abs=0.01)
    # a sine of amplitude A ms carries A^2 / 2 ms^2
    assert f.lf_ms2 == pytest.approx(30.0**2 / 2, rel=0.15)
    assert f.hf_ms2 == pytest.approx(15.0**2 / 2, rel=0.15)
    assert f.lf_hf == pytest.approx(f.lf_ms2 / f.hf_ms2)
    assert f.lfnu + f.hfnu == pytest.approx(100.0)
    # smoothness priors (lambda 500) removes a slow trend but keeps LF
    trend = np.linspace(0, 150, ibi.size)
    g = hrv_frequency(ibi + trend)
    assert g.lf_ms2 == pytest.approx(f.lf_ms2, rel=0.2)
    assert g.vlf_ms2 < hrv_frequency(ibi + trend, detrend_lambda=None).vlf_ms2


def test_hrv_frequency_invalid() -> None:
    assert not hrv_frequency(_sine_ibi([(0.1, 20.0)], 40.0)).valid  # too short
    assert not hrv_frequency(np.array([800.0, np.nan] * 100)).valid
    assert not hrv_frequency(np.zeros(0)).valid
    assert np.isnan(hrv_frequency(np.zeros(3)).lf_ms2)


def test_coherence_ratio_recipe() -> None:
    paced = _sine_ibi([(0.1, 60.0)], 70.0)
    c = coherence_ratio(paced)
    assert c.valid
    assert c.peak_hz == pytest.approx(0.1, abs=0.01)
    assert c.breathing_hz == pytest.approx(0.1, abs=0.01)
    assert c.ratio == pytest.approx((c.peak_ms2 / (c.total_ms2 - c.peak_ms2)) ** 2)
    assert 60.0 <= c.duration_s <= 65.0
    rng = np.random.default_rng(1)
    noisy = 900 + rng.normal(0, 40, 80)
    n = coherence_ratio(noisy)
    assert n.valid and n.ratio < c.ratio / 20
    fast = coherence_ratio(_sine_ibi([(0.3, 30.0)], 70.0))
    assert fast.breathing_hz == pytest.approx(0.3, abs=0.01)


def test_coherence_invalid_when_short() -> None:
    c = coherence_ratio(np.full(40, 900.0))  # 36 s < 0.9 * 64 s
    assert not c.valid and np.isnan(c.ratio)
    assert not coherence_ratio(np.array([900.0, np.nan] * 50)).valid
