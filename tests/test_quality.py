"""Per-window quality rules (Orphanidou 2015 cardiac, Kleckner 2018 EDA) and event matching."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.quality import (
    eda_quality,
    eda_valid_mask,
    match_events,
    ppg_quality,
    quality_windows,
)
from dsp.simulate import simulate_person


def test_clean_ppg_windows_are_good_and_artifacts_flagged() -> None:
    rec = simulate_person(300.0, seed=0, ppg_fs=64.0, artifacts=True)
    starts, res = quality_windows(rec.ppg, 64.0, window_s=10.0)
    spans = rec.truth.artifact_spans
    hit = [any(s < a1 and s + 10.0 > a0 for a0, a1 in spans) for s in starts]
    clean = [q.good for q, h in zip(res, hit, strict=True) if not h]
    assert all(clean), [q.reason for q, h in zip(res, hit, strict=True) if not h and not q.good]
    assert any(not q.good for q, h in zip(res, hit, strict=True) if h)
    q = res[0]
    assert 40 <= q.hr_bpm <= 180 and q.template_corr >= 0.86 and q.ibi_ratio < 2.2


def test_ecg_windows_good() -> None:
    rec = simulate_person(60.0, seed=1, ecg_fs=130.0)
    _, res = quality_windows(rec.ecg, 130.0, kind="ecg")
    assert all(q.good for q in res)


@pytest.mark.parametrize(
    ("signal", "reason"),
    [
        (np.zeros(0), "empty"),
        (np.full(640, 2.0), "flat"),
        (np.full(640, np.nan), "missing"),
    ],
)
def test_bad_cardiac_windows(signal: np.ndarray, reason: str) -> None:
    q = ppg_quality(signal, 64.0)
    assert not q.good and reason in q.reason


def test_cardiac_rules_individually() -> None:
    fs = 64.0
    x = simulate_person(10.0, seed=2, ppg_fs=fs).ppg
    base = np.array([0.5, 1.3, 2.1, 2.9, 3.7, 4.5, 5.3, 6.1, 6.9, 7.7, 8.5, 9.3]) * fs
    assert ppg_quality(x, fs, peaks=base).n_beats == 12
    slow = ppg_quality(x, fs, peaks=base[::3])  # 25 bpm
    assert not slow.good and "HR" in slow.reason
    gap = ppg_quality(x, fs, peaks=np.r_[base[:3], base[8:]])
    assert not gap.good and "gap" in gap.reason
    uneven = np.r_[base[:5], base[5] + 0.5 * fs, base[6:]]
    assert "IBI" in ppg_quality(x, fs, peaks=uneven).reason
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(x.size)
    assert "template" in ppg_quality(noise, fs, peaks=base).reason


def test_eda_rules() -> None:
    fs = 8.0
    x = 5.0 + 0.1 * np.sin(np.arange(800) / 20.0)
    assert eda_quality(x, fs).good
    low = x.copy()
    low[100:300] = 0.01
    q = eda_quality(low, fs)
    assert not q.good and "range" in q.reason
    jump = x.copy()
    jump[400:] += 5.0  # 40 µS/s step
    m = eda_valid_mask(jump, fs)
    assert not m[399] and not m[400] and m[100] and m[700]
    flat = x.copy()
    flat[200:600] = 5.0
    assert not eda_valid_mask(flat, fs)[400]
    sat = eda_valid_mask(np.minimum(x, 5.05), fs, saturation_us=5.05)
    assert not sat.all() and sat.any()
    assert not eda_quality(np.zeros(0), fs).good


def test_match_events() -> None:
    m = match_events(np.array([1.0, 2.02, 3.5, 5.0]), np.array([1.01, 2.0, 3.0]), tol_s=0.05)
    assert (m.tp, m.fp, m.fn) == (2, 2, 1)
    assert m.f1 == pytest.approx(4 / 7)
    np.testing.assert_allclose(m.errors_s, [-0.01, 0.02])
    assert np.isnan(match_events(np.zeros(0), np.zeros(0)).f1)
