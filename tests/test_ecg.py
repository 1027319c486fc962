"""ECG R-peak detection against the simulator's R-peak times."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.ecg import ECG_PARAMS, ecg_clean, ecg_peaks, ecg_polarity
from dsp.hrv import hrv_time
from dsp.ppg import StreamingBeatDetector
from dsp.quality import match_events
from dsp.simulate import simulate_person

DUR = 180.0


def _interior(t: np.ndarray) -> np.ndarray:
    return t[(t > 2.0) & (t < DUR - 2.0)]


@pytest.mark.parametrize("fs", [130.0, 250.0, 1000.0])
def test_r_peaks_f1_and_timing(fs: float) -> None:
    rec = simulate_person(DUR, seed=11, ecg_fs=fs)
    det = _interior(ecg_peaks(rec.ecg, fs) / fs)
    ref = _interior(rec.truth.r_peak_times)
    m = match_events(det, ref, tol_s=0.05)
    assert m.f1 >= 0.995
    assert np.std(m.errors_s) < 0.002
    ours = hrv_time(np.diff(det) * 1000.0)
    truth = hrv_time(np.diff(ref) * 1000.0)
    assert abs(ours.rmssd_ms / truth.rmssd_ms - 1) < 0.02


def test_motion_artifacts_130hz() -> None:
    rec = simulate_person(DUR, seed=12, ecg_fs=130.0, artifacts=True)
    det = _interior(ecg_peaks(rec.ecg, 130.0) / 130.0)
    assert match_events(det, _interior(rec.truth.r_peak_times)).f1 >= 0.97


def test_inverted_lead_is_detected() -> None:
    rec = simulate_person(60.0, seed=13, ecg_fs=250.0)
    assert ecg_polarity(rec.ecg, 250.0) == 1
    assert ecg_polarity(-rec.ecg, 250.0) == -1
    a = ecg_peaks(rec.ecg, 250.0)
    b = ecg_peaks(-rec.ecg, 250.0)
    np.testing.assert_allclose(a, b)


def test_chunked_equals_offline() -> None:
    rec = simulate_person(60.0, seed=14, ecg_fs=130.0)
    off = ecg_peaks(rec.ecg, 130.0, polarity=1)
    det = StreamingBeatDetector(130.0, ECG_PARAMS)
    live = np.concatenate([det.push(c) for c in np.array_split(rec.ecg, 97)])
    np.testing.assert_array_equal(live, off)


def test_bad_input() -> None:
    assert ecg_peaks(np.zeros(0), 130.0).size == 0
    assert ecg_peaks(np.ones(2000), 130.0).size == 0
    assert ecg_peaks(np.full(2000, np.nan), 130.0).size == 0
    with pytest.raises(ValueError):
        ecg_peaks(np.zeros(100), 0.0)
    with pytest.raises(ValueError):
        ecg_peaks(np.zeros(100), 130.0, polarity=2)
    out = ecg_clean(np.array([1.0, np.nan, 2.0, 3.0]), 130.0)
    assert np.isnan(out[1]) and np.all(np.isfinite(out[[0, 2, 3]]))
