"""Device-file readers (devices/files): real vendor files, and bad input.

Real files: the two OpenSignals exports in ../shared/data/physio/ (biopeaks' test data, GPL-3.0;
read there, skipped when absent) and two AcqKnowledge files from bioread's test data kept in
tests/data/acq/ (MIT). Every other format is written by tests/device_writers.py from simulated
signals exactly as its vendor documents it (see tests/test_import_truth.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from devices.files import DeviceFileError, Modality, detect, file_specs, read_device_file
from dsp.simulate import simulate_dyad
from tests import device_writers as W

ROOT = Path(__file__).resolve().parents[1]
PHYSIO = (ROOT / ".." / "shared" / "data" / "physio").resolve()
ACQ = ROOT / "tests" / "data" / "acq"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, timeout=180, cwd=str(ROOT), env=env)  # fmt: skip


@pytest.fixture(scope="module")
def person():
    return simulate_dyad(duration_s=60, seed=2, eda_fs=32.0, ppg_fs=128.0).patient


def test_every_reader_is_registered_by_a_profile():
    readers = {s.reader for s in file_specs()}
    assert readers == {"e4", "embraceplus", "emotibit", "opensignals", "shimmer", "polar",
                       "biopac", "csvtoml"}  # fmt: skip
    for s in file_specs():
        assert s.clock and s.clock_uncertainty_s > 0


# ----------------------------------------------------------------------------- real files
def _physio(name: str) -> Path:
    p = PHYSIO / name
    if not p.is_file():
        pytest.skip(f"{p} not present")
    return p


def test_real_bitalino_opensignals_ecg_in_mv():
    """OSmontage1A.txt: BITalino, ECGBIT on A3, 10-bit codes -> mV by the data sheet."""
    r = read_device_file(_physio("OSmontage1A.txt"))
    assert r.reader == "opensignals" and r.model == "bitalino_rev"
    assert r.serial == "20:16:12:22:22:26"
    ecg = r.signal(Modality.ECG)
    assert ecg is not None and ecg.label == "A3_ECGBIT" and ecg.rate == 100.0
    raw = np.loadtxt(_physio("OSmontage1A.txt"), comments="#")[:, 6]
    assert np.allclose(ecg.values, (raw / 1024 - 0.5) * 3.3 / 1100 * 1000)
    assert abs(ecg.step - 3.3 / 1100 * 1000 / 1024) < 1e-12
    # header date 2018-5-28, time 16:16:11.455 (read as UTC)
    assert ecg.times[0] == pytest.approx(1527524171.455)
    assert ecg.values.min() >= -1.65 and ecg.values.max() <= 1.65  # the sensor's ±1.5 mV range


def test_real_opensignals_ppg_already_converted_kept_with_unknown_time():
    r = read_device_file(_physio("OSmontagePPG.txt"))
    ppg = r.signal(Modality.PPG)
    assert ppg is not None and ppg.rate == 125.0 and ppg.conversion == ""
    assert ppg.values[0] == pytest.approx(0.4359707736779858)
    assert r.clock.uncertainty_s == float("inf")
    assert any("absolute time is unknown" in n for n in r.notes)


def test_real_acq_files_read_through_bioread():
    pytest.importorskip("bioread")
    r2 = read_device_file(ACQ / "physio-3.8.1-c.acq")
    eda = [s for s in r2.signals if s.modality is Modality.EDA]
    assert [s.label for s in eda] == ["EDA - GSR100C"]  # the differentiated copy is not EDA
    ecg = r2.signal(Modality.ECG)
    assert ecg.rate == 1000.0 and ecg.values.size == 61893
    assert r2.markers[1] == (pytest.approx(8618 / 2000.0), "Breathe In")


def test_real_acq_r42_file_with_a_newer_bioread():
    pytest.importorskip("bioread")
    from importlib.metadata import version

    if int(version("bioread").split(".")[0]) < 2025:
        # bioread 3.0.x (the last one the dev extra's numpy allows) cannot read this file
        pytest.skip(f"bioread {version('bioread')} does not read r42_test.acq (2025.x does)")
    r = read_device_file(ACQ / "r42_test.acq")
    mods = [(s.modality, s.label) for s in r.signals]
    assert (Modality.ECG, "ECG (.05 - 150 Hz)") in mods
    assert (Modality.EDA, "EDA (0 - 35 Hz)") in mods
    assert [lab for _, lab in r.markers] == ["Segment 1", "Segment 2"]


def test_real_acq_ecg_analysed_to_a_plausible_heart_rate(tmp_path):
    pytest.importorskip("bioread")
    out = tmp_path / "S"
    p = run_cli("import", str(ACQ / "physio-3.8.1-c.acq"), "-o", str(out))
    assert p.returncode == 0, p.stderr
    p = run_cli("analyze", str(out / "recording.xdf"), "-o", str(out), "--format", "json",
                "--n-surrogates", "20")  # fmt: skip
    assert p.returncode == 0, p.stderr
    import json

    m = json.loads((out / "metrics.json").read_text())
    hr = m["persons"]["patient"]["mean_hr_bpm"]
    assert 50 < hr < 100  # a resting adult's ECG, 62 s
    assert [x["label"] for x in m["markers"]][:3] == ["patient: Segment 1", "patient: Breathe In",
                                                       "patient: Breathe Out"]  # fmt: skip


# ----------------------------------------------------------------------------- bad input
def _e4(tmp_path: Path, person, **edit: str) -> Path:
    z = W.e4_zip(tmp_path / "1767261600_A1.zip", person)
    if not edit:
        return z
    with zipfile.ZipFile(z) as src:
        members = {n: src.read(n) for n in src.namelist()}
    for name, text in edit.items():
        members[name] = text.encode("latin-1") if isinstance(text, str) else text
    z.unlink()
    with zipfile.ZipFile(z, "w") as dst:
        for n, b in members.items():
            dst.writestr(n, b)
    return z


def _bad(tmp_path: Path, f: Path, words: str) -> None:
    """One line naming the file and the problem, exit 2, no session folder left."""
    out = tmp_path / "S"
    p = run_cli("import", str(f), "-o", str(out))
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and f.name in lines[0] and words in lines[0], lines
    assert not out.exists()
    assert not [x for x in tmp_path.iterdir() if "importing" in x.name]


def test_truncated_zip(tmp_path, person):
    z = _e4(tmp_path, person)
    data = z.read_bytes()
    z.write_bytes(data[: len(data) // 2])
    _bad(tmp_path, z, "not a valid zip file (truncated or damaged)")


def test_missing_header_row(tmp_path, person):
    z = _e4(tmp_path, person, **{"EDA.csv": "4.000000\n0.5\n0.6\n0.7\n"})
    _bad(tmp_path, z, "row 1 should be the session start")


def test_sample_rate_zero(tmp_path, person):
    z = _e4(tmp_path, person, **{"EDA.csv": "1767261600.000000\n0.000000\n0.5\n0.6\n"})
    _bad(tmp_path, z, "sample rate")
    assert "positive number of Hz" in run_cli("import", str(z), "-o", str(tmp_path / "T")).stderr


def test_unknown_columns(tmp_path, person):
    f = W.shimmer_csv(tmp_path / "shimmer.csv", person)
    text = f.read_text().replace("GSR_Skin_Resistance_CAL", "Mystery_CAL").replace("PPG_A13", "Foo")
    f.write_text(text)
    _bad(tmp_path, f, "unknown columns")


def test_another_format_under_the_right_name(tmp_path, person):
    z = tmp_path / "1767261600_A1.zip"
    with zipfile.ZipFile(z, "w") as dst:
        dst.writestr("data.csv", "a,b\n1,2\n")
    _bad(tmp_path, z, "not an Empatica E4 session zip")
    f = tmp_path / "raw.avro"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    _bad(tmp_path, f, "not a readable Avro file")


def test_non_utf8_text(tmp_path, person):
    f = W.opensignals_txt(tmp_path / "os.txt", person)
    f.write_bytes(f.read_bytes().replace(b'"comments": ""', '"comments": "café"'.encode("latin-1")))
    _bad(tmp_path, f, "not UTF-8 text (byte 0xe9")


def test_unknown_file_names_what_is_read(tmp_path):
    f = tmp_path / "notes.docx"
    f.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DeviceFileError, match="not a device file Attunement reads"):
        detect(f)


def test_opensignals_header_without_end(tmp_path, person):
    f = W.opensignals_txt(tmp_path / "os.txt", person)
    f.write_text(f.read_text().replace("# EndOfHeader\n", ""))
    _bad(tmp_path, f, "missing '# EndOfHeader'")


def test_emotibit_without_time_sync_says_so(tmp_path, person):
    """Without _timeSyncMap.csv the EmotiBit's own clock is used from the file name's start,
    the recording says so and its clock uncertainty is the profile's unsynced one."""
    f = W.emotibit_csvs(tmp_path / "a", person, start=W.T0 + 3.0, synced=False)
    r = read_device_file(f)
    assert any("time sync was off" in n for n in r.notes)
    assert r.clock.uncertainty_s == 60.0
    eda = r.signal(Modality.EDA)
    assert eda.times[0] == pytest.approx(W.T0)  # the name's 10:00:00, not LocalTimestamp
    g = W.emotibit_csvs(tmp_path / "b", person, start=W.T0 + 3.0, synced=True)
    r2 = read_device_file(g.with_name(g.name.replace("_EA.csv", "_info.json")))
    assert r2.serial == "MD-V5-0000123" and r2.model == "EmotiBit V05c"
    assert r2.signal(Modality.EDA).times[0] == pytest.approx(W.T0 + 3.0)
    assert r2.clock.uncertainty_s == 0.1


def test_a_bad_row_is_named_by_its_line(tmp_path, person):
    f = W.emotibit_csvs(tmp_path, person)
    lines = f.read_text().splitlines()
    lines[41] = lines[41].rsplit(",", 1)[0] + ",n/a"
    f.write_text("\n".join(lines) + "\n")
    _bad(tmp_path, f, "line 42: a timestamp or value is not a number")
    g = W.shimmer_csv(tmp_path / "s.csv", person)
    rows = g.read_text().splitlines()
    rows[10] = rows[10].replace("\t", "\tx", 1)
    g.write_text("\n".join(rows) + "\n")
    _bad(tmp_path, g, "line 11: 'x")
