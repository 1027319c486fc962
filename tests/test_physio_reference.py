"""Real single-person recordings with a reference (``../shared/data/physio``; skipped if absent).

PhysioNet records a103l and mixedsignals hold finger PPG and ECG: our PPG beats are scored
against our ECG R-peaks shifted by the median pulse arrival time (PAT), and beside NeuroKit2's
Elgendi PPG detector on the same signals. The OpenSignals (PLUX/BITalino) exports must load and
give plausible heart rates.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from physio_render import physionet_record

from dsp.ecg import ecg_peaks
from dsp.hrv import hrv_time
from dsp.ppg import ppg_peaks
from dsp.quality import match_events
from dsp.session import analyze_person

PHYSIO = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "physio").resolve()

pytestmark = pytest.mark.realdata


def _need(name: str) -> Path:
    p = PHYSIO / name
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


def _record(name: str) -> tuple[np.ndarray, float, np.ndarray, float]:
    """(ECG lead II, its fs, PPG, its fs) of a PhysioNet record."""
    pytest.importorskip("wfdb")
    _need(name + ".hea")
    return physionet_record(PHYSIO, name)


def _f1_vs_ecg(ppg_s: np.ndarray, r_s: np.ndarray, tol_s: float = 0.05) -> tuple[float, float]:
    """F1 of PPG beats against R-peaks shifted by the median PAT (and that PAT, s)."""
    j = np.searchsorted(r_s, ppg_s) - 1
    d = ppg_s[j >= 0] - r_s[j[j >= 0]]
    pat = float(np.median(d[(d > 0.05) & (d < 0.6)]))
    return match_events(ppg_s - pat, r_s, tol_s=tol_s).f1, pat


def _neurokit_ppg(x: np.ndarray, fs: float) -> np.ndarray:
    nk = pytest.importorskip("neurokit2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ppg_clean(np.nan_to_num(x), sampling_rate=int(round(fs)))
        pk = nk.ppg_findpeaks(clean, sampling_rate=int(round(fs)))["PPG_Peaks"]
    return np.asarray(pk, dtype=float) / fs


# measured on these records (benchmarks/bench_beats.py, table 2): neurokit2's Elgendi detector
# scores 0.9027 and 0.992, ours 0.9029 and 0.992 (0.898 on a103l before intervals spanning a
# missed beat were kept out of the rhythm). Most misses of both on a103l are where the reference
# itself fails: PPG dropout at 165-173 s and 314-318 s, corrupted ECG lead at 257-296 s.
@pytest.mark.parametrize(
    ("name", "floor", "gap_to_nk", "hr"),
    [("a103l", 0.9, 0.0, 127.0), ("mixedsignals", 0.99, 0.0, 104.0)],
)
def test_ppg_beats_against_ecg_r_peaks(
    name: str, floor: float, gap_to_nk: float, hr: float
) -> None:
    ecg, efs, ppg, pfs = _record(name)
    r = ecg_peaks(np.nan_to_num(ecg), efs) / efs
    ours = ppg_peaks(np.asarray(ppg, dtype=float), pfs) / pfs
    f1, pat = _f1_vs_ecg(ours, r)
    assert 0.1 < pat < 0.55  # finger pulse arrival incl. the monitor's delay (0.12 / 0.47 s)
    assert f1 >= floor
    f1_nk, _ = _f1_vs_ecg(_neurokit_ppg(ppg, pfs), r)
    assert f1 >= f1_nk - gap_to_nk
    # HR agreement: median beat rate from PPG and from ECG
    hr_ppg = 60.0 / np.median(np.diff(ours))
    hr_ecg = 60.0 / np.median(np.diff(r))
    assert abs(hr_ppg - hr_ecg) < 2.0
    assert abs(hr_ecg - hr) < 5.0  # the README's figure for the record


def test_a103l_beats_resume_after_the_ppg_dropout() -> None:
    """a103l's PPG drops out at 165-173 s. The intervals spanning beats missed there are not
    learnt as the rhythm, so the weak pulses that follow are found: F1 >= 0.9 against the
    R-peaks over 173-185 s (0.82 when they were learnt: the detector then took real beats
    for diastolic waves, half-way through its doubled rhythm; neurokit2 scores 0.85)."""
    ecg, efs, ppg, pfs = _record("a103l")
    r = ecg_peaks(np.nan_to_num(ecg), efs) / efs
    ours = ppg_peaks(np.asarray(ppg, dtype=float), pfs) / pfs
    _, pat = _f1_vs_ecg(ours, r)
    q = ours - pat
    win = (173.0, 185.0)
    m = match_events(q[(q > win[0]) & (q < win[1])], r[(r > win[0]) & (r < win[1])])
    assert m.f1 >= 0.9, m


def test_offline_session_hr_agrees_with_ecg() -> None:
    """analyze_person on the PPG and on the ECG of mixedsignals: mean HR within 1.5 bpm."""
    ecg, efs, ppg, pfs = _record("mixedsignals")
    te, tp = np.arange(ecg.size) / efs, np.arange(ppg.size) / pfs
    pe = analyze_person(np.asarray(ecg, float), te, efs, "ecg")
    pp = analyze_person(np.asarray(ppg, float), tp, pfs, "ppg")
    assert pe.n_ibi > 300 and pp.n_ibi > 300
    assert abs(pe.mean_hr_bpm - pp.mean_hr_bpm) < 1.5
    assert 90.0 < pp.mean_hr_bpm < 120.0


def _opensignals(name: str) -> tuple[dict, np.ndarray]:
    """Header (the device's JSON) and the sample table of an OpenSignals text export."""
    path = _need(name)
    with open(path) as f:
        lines = [f.readline() for _ in range(3)]
    if not lines[0].startswith("# OpenSignals") or "EndOfHeader" not in lines[2]:
        raise ValueError(f"{path} is not an OpenSignals text export")
    header = next(iter(json.loads(lines[1][1:].strip()).values()))
    return header, np.loadtxt(path, comments="#", ndmin=2)


def test_opensignals_ppg_export_gives_plausible_hr() -> None:
    header, data = _opensignals("OSmontagePPG.txt")
    fs = float(header["sampling rate"])
    x = data[:, -1]
    pk = ppg_peaks(x, fs) / fs
    seg = pk[(pk >= 20.0) & (pk < 90.0)]
    hr = 60000.0 / hrv_time(np.diff(seg) * 1000.0).mean_nn_ms
    assert 80.0 < hr < 100.0  # biopeaks' own test expects 90.7 bpm on 20-90 s
    assert abs(hr - 90.7) < 3.0


def test_opensignals_bitalino_ecg_export_loads() -> None:
    header, data = _opensignals("OSmontage1A.txt")
    fs = float(header["sampling rate"])
    labels = header["label"]
    ecg_label = labels[header["sensor"].index("ECGBIT")]
    x = data[:, header["column"].index(ecg_label)]
    assert data.shape[1] == len(header["column"])
    assert 0 <= x.min() and x.max() <= 2 ** header["resolution"][header["column"].index(ecg_label)]
    pk = ecg_peaks(x - x.mean(), fs) / fs
    hr = 60.0 / np.diff(pk)
    assert pk.size > 20
    assert 40.0 < np.median(hr) < 180.0
