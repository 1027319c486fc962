"""The flat-line EDA rule judged against the sensor's quantisation step (issue 22, part 4).

A 10-bit BITalino EDA channel (3.3 V / 0.132 / 1024 = 0.0244 µS per code) sits on one code for
many seconds while skin conductance drifts slowly; those runs are resolution, not a lost
contact. A run that ends in a jump (electrode off) or lasts longer than one code takes at the
slowest physiological drift is still discarded."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis import AnalysisOptions, analyze_file
from app.importer import import_files
from dsp.params import MethodParams
from dsp.quality import MIN_SCL_DRIFT_US_S, eda_valid_mask
from dsp.session import SessionConfig, analyze_person
from dsp.simulate import simulate_dyad
from tests import device_writers as W

STEP10 = 3.3 / 0.132 / 1024
STEP16 = 3.0 / 0.12 / 65536
FS = 100.0


def _quantised_drift(rate_us_s: float, dur_s: float = 300.0, step: float = STEP10) -> np.ndarray:
    t = np.arange(int(dur_s * FS)) / FS
    return np.round((5.0 + rate_us_s * t) / step) * step


def test_slow_drift_on_a_10_bit_channel_is_resolution():
    x = _quantised_drift(0.002)  # one code every 12 s
    assert eda_valid_mask(x, FS).mean() < 0.1  # the old rule: almost all discarded
    assert eda_valid_mask(x, FS, quant_step_us=STEP10).all()


def test_a_run_longer_than_the_step_allows_is_still_flat():
    # one code per 60 s: longer than 0.0244 / 0.0005 = 49 s
    assert STEP10 / MIN_SCL_DRIFT_US_S == pytest.approx(48.8, abs=0.1)
    x = _quantised_drift(STEP10 / 60.0)
    m = eda_valid_mask(x, FS, quant_step_us=STEP10)
    assert m.mean() < 0.5


def test_lost_contact_is_still_flat():
    x = _quantised_drift(0.002)
    x[10000:13000] = x[9999] + 40 * STEP10  # electrode off: a jump, then stuck for 30 s
    m = eda_valid_mask(x, FS, quant_step_us=STEP10)
    assert not m[10000:13000].any()
    # the runs next to the jump end or start with it, so they go too (plus the 5 s margins)
    assert m[:8000].all() and m[15000:].all()


def test_a_16_bit_step_changes_nothing():
    x = _quantised_drift(0.002, step=STEP10)  # 12 s runs on a channel said to be 16-bit
    a = eda_valid_mask(x, FS)
    b = eda_valid_mask(x, FS, quant_step_us=STEP16)
    assert np.array_equal(a, b)


def test_written_bitalino_files_scl_within_1_percent(tmp_path):
    """On BITalino OpenSignals files written from a simulated dyad with little sensor noise,
    the old rule moved SCL by more than 1 % for one person; judged against the step, both
    people's SCL is within 1 % of the truth."""
    d = simulate_dyad(duration_s=300, seed=5, eda_fs=32.0, ppg_fs=128.0)
    files = [
        str(W.opensignals_txt(tmp_path / f"{r}.txt", getattr(d, r)))
        for r in ("patient", "clinician")
    ]
    res = import_files(files, tmp_path / "S", [f"patient={files[0]}", f"clinician={files[1]}"])
    a = analyze_file(
        res.recording,
        AnalysisOptions(config=SessionConfig(method=MethodParams(n_surrogates=20)), formats=()),
    )
    old_err = []
    for role in ("patient", "clinician"):
        truth = float(np.mean(getattr(d, role).eda))
        assert abs(a.persons[role].scl_us / truth - 1) < 0.01
        eda = [s for s in res.placed if s.role == role][0].recording.signals[0]
        old = analyze_person(eda=eda.values, eda_t=eda.times, eda_fs=eda.rate)
        old_err.append(abs(old.scl_us / truth - 1))
    assert max(old_err) > 0.01, old_err  # the bias the step removes


def test_live_mask_equals_offline_with_the_step():
    """Live (1 s chunks, incremental mask) and offline judge the flat runs alike."""
    from dsp.person import LivePerson
    from dsp.person_metrics import PersonConfig

    fs = 32.0
    t = np.arange(int(400 * fs)) / fs
    x = np.round((5.0 + 0.0008 * t) / STEP10) * STEP10  # one code per 30 s
    x[int(200 * fs) : int(230 * fs)] = 0.01  # electrode off for 30 s
    live = LivePerson(PersonConfig())
    live.eda_step_us = STEP10
    for a in range(0, x.size, int(fs)):
        live.push_eda(1000.0 + t[a : a + int(fs)], x[a : a + int(fs)], fs)
        live._eda_mask()  # noqa: SLF001 - evaluated every tick, as the engine's snapshot does
    offline = eda_valid_mask(x, fs, quant_step_us=STEP10)
    kept = live._eda_mask()  # noqa: SLF001 - the live buffer holds the last ~5 min
    assert kept.size > 240 * fs and np.array_equal(kept, offline[-kept.size :])
    # the run before the electrode came off ends in a jump: it goes too, with its margin
    assert offline[: int(160 * fs)].all() and not offline[int(200 * fs) : int(230 * fs)].any()
    assert offline[int(245 * fs) :].all()


def test_the_engine_gives_live_eda_the_profile_step():
    """A BITalino stream (10-bit ADC codes, converted by its profile) gives the live EDA of
    its person the profile's step; a person without one keeps 0 (the old rule)."""
    from app.engine import Engine, EngineConfig
    from devices.acquisition import Acquisition
    from devices.assign import assign
    from devices.lsl import StreamDescription

    labels = ("A1", "A2", "A3", "A4", "A5", "A6")
    sd = StreamDescription("BITalino", "EEG", "bit-1", "h", 100.0, 6, "float32", "u1", labels,
                           ("microvolts",) * 6)  # fmt: skip
    a = assign([sd], roles={"patient": "BITalino*"})
    assert a.get("patient", "eda") is not None
    e = Engine(Acquisition(), a, {}, EngineConfig(publish_metrics=False))
    assert e.persons["patient"].eda_step_us == pytest.approx(STEP10)
    assert e.persons["clinician"].eda_step_us == 0.0
