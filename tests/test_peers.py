"""Side-by-side with neurokit2 and heartpy (dev/test extras only, never at run time).

* HRV on the same IBIs: our time-domain values equal neurokit2's (pNN50 differs only by its
  denominator); spectral values agree on a long series with the same settings.
* Beat detection on the same simulated PPG: our F1 (50 ms) and timing spread are at least as
  good as neurokit2's default PPG detector (Elgendi) and heartpy's ``process``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from app.heartpy_peer import HeartpyEstimate, heartpy_ppg_estimate, heartpy_status
from dsp.hrv import hrv_frequency, hrv_time, ibi_correct
from dsp.ppg import ppg_peaks
from dsp.quality import match_events
from dsp.simulate import simulate_person

nk = pytest.importorskip("neurokit2")


def _pyhrv_long() -> np.ndarray:
    spec = importlib.util.find_spec("pyhrv")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyhrv data not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "files" / "SampleNNISeriesLong.npy"
    if not path.is_file():
        pytest.skip("SampleNNISeriesLong.npy absent")
    return np.load(path).astype(float)


def _nk_peaks(ibi_ms: np.ndarray) -> np.ndarray:
    return np.round(np.concatenate([[0.0], np.cumsum(ibi_ms)])).astype(int)  # 1 kHz samples


def test_hrv_time_equals_neurokit() -> None:
    ibi = _pyhrv_long()  # integer ms, so the 1 kHz peak positions are exact
    ours = hrv_time(ibi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nk.hrv_time(_nk_peaks(ibi), sampling_rate=1000).iloc[0]
    assert ours.mean_nn_ms == pytest.approx(ref["HRV_MeanNN"], rel=1e-9)
    assert ours.sdnn_ms == pytest.approx(ref["HRV_SDNN"], rel=1e-9)
    assert ours.rmssd_ms == pytest.approx(ref["HRV_RMSSD"], rel=1e-9)
    # Kubios/Task Force: NN50 / (number of differences); neurokit2 divides by the IBI count
    n = ibi.size
    assert ours.pnn50_pct * (n - 1) / n == pytest.approx(ref["HRV_pNN50"], rel=1e-9)
    # SD1 = SDSD / sqrt(2) in both; SD2 is closed form here (SDNN over all IBIs), neurokit2
    # rotates the n-1 Poincare points, so the two differ in the 4th digit
    assert ours.sd1_ms == pytest.approx(ref["HRV_SDSD"] / np.sqrt(2), rel=1e-9)


def test_hrv_frequency_agrees_with_neurokit_on_long_series() -> None:
    ibi = _pyhrv_long()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nk.hrv_frequency(
            _nk_peaks(ibi), sampling_rate=1000, normalize=False, interpolation_rate=4
        ).iloc[0]
    ours = hrv_frequency(ibi, detrend_lambda=None)  # neurokit2 does not detrend
    assert ours.hf_ms2 == pytest.approx(ref["HRV_HF"], rel=0.05)
    assert ours.lf_ms2 == pytest.approx(ref["HRV_LF"], rel=0.10)
    assert ours.lf_hf == pytest.approx(ref["HRV_LFHF"], rel=0.10)
    # with the Kubios default (smoothness priors, lambda 500) only the slowest LF is removed
    kub = hrv_frequency(ibi)
    assert ref["HRV_LF"] * 0.8 < kub.lf_ms2 < ours.lf_ms2
    assert kub.hf_ms2 == pytest.approx(ours.hf_ms2, rel=0.01)


def _score(det_s: np.ndarray, truth_s: np.ndarray, dur: float) -> tuple[float, float]:
    sel = (truth_s > 2.0) & (truth_s < dur - 2.0)
    d = det_s[(det_s > 2.0) & (det_s < dur - 2.0)]
    m = match_events(d, truth_s[sel], tol_s=0.05)
    return m.f1, float(np.std(m.errors_s))


def test_beat_accuracy_at_least_peers() -> None:
    dur = 240.0
    hp_ok, why = heartpy_status()
    rows = []
    for fs in (64.0, 128.0):
        for art in (False, True):
            for seed in (0, 4, 5):
                rec = simulate_person(dur, seed=seed, ppg_fs=fs, artifacts=art)
                truth = rec.truth.beat_times
                ours = _score(ppg_peaks(rec.ppg, fs) / fs, truth, dur)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cl = nk.ppg_clean(rec.ppg, sampling_rate=int(fs))
                    nkp = nk.ppg_findpeaks(cl, sampling_rate=int(fs))["PPG_Peaks"] / fs
                theirs_nk = _score(np.asarray(nkp, dtype=float), truth, dur)
                hp = heartpy_ppg_estimate(rec.ppg, fs) if hp_ok else HeartpyEstimate(False, why)
                theirs_hp = _score(hp.peaks_s, truth, dur) if hp.available else (np.nan, np.nan)
                rows.append((fs, art, seed, *ours, *theirs_nk, *theirs_hp))
    a = np.array(rows, dtype=float)
    for art in (0.0, 1.0):
        r = a[a[:, 1] == art]
        f1_ours, f1_nk, f1_hp = r[:, 3].mean(), r[:, 5].mean(), np.nanmean(r[:, 7])
        assert f1_ours >= f1_nk - 1e-12, (art, f1_ours, f1_nk)
        if hp_ok:
            assert f1_ours >= f1_hp - 1e-12, (art, f1_ours, f1_hp)
        # timing: sub-sample peaks are at least as precise as either peer
        assert np.median(r[:, 4]) <= np.median(r[:, 6])
        if hp_ok:
            assert np.median(r[:, 4]) <= np.nanmedian(r[:, 8])
    # clean signals: every single case meets the acceptance bar
    assert np.all(a[a[:, 1] == 0, 3] >= 0.995)


def test_rmssd_error_at_least_as_small_as_neurokit() -> None:
    """Same correction (ours) on each detector's beats; RMSSD error against truth at 64 Hz."""
    errs_ours, errs_nk = [], []
    for seed in (1, 2, 3):
        rec = simulate_person(180.0, seed=seed, ppg_fs=64.0)
        tb = rec.truth.beat_times
        tb = tb[(tb > 2) & (tb < 178)]
        truth = hrv_time(np.diff(tb) * 1000).rmssd_ms
        ours = ppg_peaks(rec.ppg, 64.0) / 64.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nkp = nk.ppg_findpeaks(nk.ppg_clean(rec.ppg, sampling_rate=64), sampling_rate=64)
        theirs = np.asarray(nkp["PPG_Peaks"], dtype=float) / 64.0
        for det, errs in ((ours, errs_ours), (theirs, errs_nk)):
            det = det[(det > 2) & (det < 178)]
            r = hrv_time(ibi_correct(np.diff(det) * 1000).ibi_ms).rmssd_ms
            errs.append(abs(r / truth - 1))
    assert np.mean(errs_ours) <= np.mean(errs_nk)
    assert max(errs_ours) < 0.05


def test_heartpy_peer_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.heartpy_peer as peer

    rec = simulate_person(30.0, seed=9, ppg_fs=100.0)
    ok, _ = peer.heartpy_status()
    if ok:
        est = peer.heartpy_ppg_estimate(rec.ppg, 100.0)
        assert est.available and 40 < est.bpm < 180 and est.peaks_s.size > 20
        # heartpy failing on a signal is reported, not raised
        monkeypatch.setattr(peer._STATE["module"], "process", _boom)
        bad = peer.heartpy_ppg_estimate(rec.ppg, 100.0)
        assert not bad.available and "RuntimeError" in bad.error and np.isnan(bad.bpm)
    # heartpy failing to import (e.g. pkg_resources gone) is reported, not raised
    monkeypatch.setattr(peer, "_STATE", {})
    monkeypatch.setattr(peer, "_import_heartpy", _import_fails)
    est = peer.heartpy_ppg_estimate(rec.ppg, 100.0)
    assert not est.available and "pkg_resources" in est.error
    assert peer.heartpy_status()[0] is False
    assert not peer.heartpy_ppg_estimate(np.zeros(10), 100.0).available


def _boom(*_a, **_k):
    raise RuntimeError("bad signal")


def _import_fails():
    raise ModuleNotFoundError("No module named 'pkg_resources'")
