"""Every device-file format, written from a simulated dyad with known truth
(tests/device_writers.py, layouts as the vendors document them), imported with
``app.importer.import_files`` and analysed with ``attune analyze``'s pipeline: HR within
0.5 bpm, RMSSD within 5 %, SCL within 1 % of the truth, markers at their times (±1 sample)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis import AnalysisOptions, analyze_file
from app.importer import import_files
from dsp.params import MethodParams
from dsp.session import SessionConfig
from dsp.simulate import simulate_dyad
from tests import device_writers as W

DUR = 240.0
TAG_S = 100.0
OPTS = AnalysisOptions(config=SessionConfig(method=MethodParams(n_surrogates=20)), formats=())

WRITERS = {
    "e4": (lambda f, p: W.e4_zip(f / "1767261600_A01234.zip", p, tags=(TAG_S,)), 4.0),
    "embraceplus": (lambda f, p: W.embraceplus_avro(f / "1-1-P1_1767261600.avro", p, tags=(TAG_S,)), 4.0),
    "emotibit": (lambda f, p: W.emotibit_csvs(f, p), 15.0),
    "opensignals": (lambda f, p: W.opensignals_txt(f / "opensignals.txt", p), 100.0),
    "shimmer": (lambda f, p: W.shimmer_csv(f / "consensys.csv", p), 51.2),
    "polar_rr": (lambda f, p: W.polar_rr(f / "Polar_H10_1A2B3C_RR.txt", p), 0.0),
    "polar_ecg": (lambda f, p: W.polar_ecg(f / "Polar_H10_1A2B3C_ECG.txt", p), 130.0),
    "csvtoml": (lambda f, p: W.csv_with_toml(f / "amplifier.csv", p), 32.0),
}  # fmt: skip


@pytest.fixture(scope="module")
def dyad():
    return simulate_dyad(duration_s=DUR, seed=5, eda_fs=32.0, ppg_fs=128.0, ecg_fs=260.0)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_format_against_truth(fmt, dyad, tmp_path):
    write, eda_fs = WRITERS[fmt]
    files = []
    for role in ("patient", "clinician"):
        folder = tmp_path / role
        folder.mkdir()
        files.append(str(write(folder, getattr(dyad, role))))
    res = import_files(files, tmp_path / "S", [f"patient={files[0]}", f"clinician={files[1]}"])
    a = analyze_file(res.recording, OPTS)
    assert set(a.persons) == {"patient", "clinician"}
    for role in ("patient", "clinician"):
        truth, got = getattr(dyad, role).truth, a.persons[role]
        assert abs(got.mean_hr_bpm - truth.mean_hr_bpm) < 0.5, (role, got.mean_hr_bpm)
        assert abs(got.rmssd_ms / truth.rmssd_ms - 1) < 0.05, (role, got.rmssd_ms, truth.rmssd_ms)
        if eda_fs and not fmt.startswith("polar"):
            scl = float(np.mean(getattr(dyad, role).eda))
            assert abs(got.scl_us / scl - 1) < 0.01, (role, got.scl_us, scl)
    chans = {(c.role, c.modality): c for c in a.channels}
    assert all(c.origin for c in a.channels)  # every stream says where it came from
    if fmt in ("e4", "embraceplus"):
        t_rel = {lab: t - W.T0 for t, lab in a.markers}
        assert set(t_rel) == {"M: moment: patient tag 1", "M: moment: clinician tag 1"}
        for t in t_rel.values():  # ±1 sample of the 4 Hz EDA
            assert abs(t - TAG_S) <= 1.0 / eda_fs
    if fmt == "opensignals":
        assert chans[("patient", "eda")].resolution == pytest.approx(3.3 / 0.132 / 1024)
