"""The device readers on real, publicly licensed files (tests/data/README-devices.md): an
Empatica E4 session (devicely), a streamed Shimmer Consensys export (devicely) and EmotiBit
DataParser output with LSL marker sync and user notes (luca-arts/addattachment). Each number
checked is read from the file itself (tags.csv times, the resistance column beside the
conductance, the packet layout)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.importer import ImportFilesError, import_files
from devices.files import DeviceFileError, Modality, read_device_file
from devices.xdf_reader import load_recording

DATA = Path(__file__).resolve().parent / "data"
E4 = DATA / "e4" / "devicely_e4_session.zip"
SHIMMER = DATA / "shimmer" / "devicely_read_test_data.csv"
EMOTIBIT = DATA / "emotibit" / "2022-08-24_09-50-13-292108_EA.csv"


def test_real_e4_session_signals_tags_and_beats():
    r = read_device_file(E4)
    assert r.reader == "e4" and r.serial == ""  # the zip's name carries no serial
    with zipfile.ZipFile(E4) as z:
        tags = [float(x) for x in z.read("tags.csv").decode().split()]
        start = float(z.read("EDA.csv").decode().split()[0])
    assert [t for t, _ in r.markers] == tags and [lab for _, lab in r.markers][0] == "tag 1"
    rates = {s.modality: s.rate for s in r.signals}
    assert rates[Modality.EDA] == 4.0 and rates[Modality.PPG] == 64.0
    assert rates[Modality.ACC] == 32.0
    acc = r.signal(Modality.ACC)
    assert acc.values.shape[1] == 3 and acc.step == 1.0 and acc.unit == "1/64 g"
    # a still wrist: the acceleration's magnitude is about 1 g (64 units)
    assert np.median(np.linalg.norm(acc.values, axis=1)) == pytest.approx(64, rel=0.15)
    eda = r.signal(Modality.EDA)
    assert eda.times[0] == start and np.all(np.diff(eda.times) == 0.25)
    ibi = r.signal(Modality.IBI)
    assert 40 < 60000.0 / np.median(ibi.values) < 150  # a resting heart rate
    assert ibi.times[0] == pytest.approx(start + 145.631666)


def test_real_e4_session_unzipped_folder_or_one_of_its_csvs(tmp_path):
    folder = tmp_path / "1551453301_A0B1C2"
    with zipfile.ZipFile(E4) as z:
        z.extractall(folder)
    ref = read_device_file(E4)
    for given in (folder, folder / "EDA.csv"):
        r = read_device_file(given)
        assert r.reader == "e4" and r.serial == "A0B1C2" and r.markers == ref.markers
        assert [(s.label, s.values.shape) for s in r.signals] == [
            (s.label, s.values.shape) for s in ref.signals
        ]
        assert str(folder / "EDA.csv") in r.files
    (folder / "EDA.csv").write_bytes(b"\xff\xfe not text")
    with pytest.raises(DeviceFileError, match="EDA.csv: not UTF-8"):
        read_device_file(folder)


def test_real_streamed_shimmer_export():
    r = read_device_file(SHIMMER)
    assert r.reader == "shimmer" and r.serial == "40AC"
    eda = r.signal(Modality.EDA)
    # Consensys writes conductance and resistance; conductance is taken, and agrees with the
    # resistance column (µS = 1000 / kΩ)
    assert [s.modality for s in r.signals].count(Modality.EDA) == 1
    assert eda.label == "GSR_Skin_Conductance_CAL" and eda.unit == "microsiemens"
    lines = SHIMMER.read_text().splitlines()
    names = lines[1].split(";")
    res = np.array([float(ln.split(";")[names.index("Shimmer_40AC_GSR_Skin_Resistance_CAL")])
                    for ln in lines[3:]])  # fmt: skip
    np.testing.assert_allclose(eda.values, 1000.0 / res, rtol=2e-3)
    # its timestamps are the PC's arrival times (repeated, jittered): a regular axis is fitted
    assert any("fitted through them" in n for n in r.notes)
    assert eda.rate == pytest.approx(51.2, rel=0.02)
    assert np.ptp(np.diff(eda.times)) < 1e-6  # float64 at 1.6e9 s
    stamps = np.array([float(ln.split(";")[0]) for ln in lines[3:]]) / 1000.0
    assert np.max(np.abs(eda.times - stamps)) < 0.05
    acc = r.signal(Modality.ACC)
    assert acc.values.shape == (eda.values.size, 3) and acc.label.startswith("Accel_LN_X")
    assert np.median(np.linalg.norm(acc.values, axis=1)) == pytest.approx(9.81, rel=0.05)


def test_real_emotibit_with_lsl_columns_packets_and_notes(tmp_path):
    r = read_device_file(EMOTIBIT)
    assert r.reader == "emotibit"
    assert any("_info.json is missing" in n for n in r.notes)
    # user notes typed in the Oscilloscope become markers (once each, though the parser
    # repeats a note within its packet)
    assert [lab for _, lab in r.markers] == ["test", "veel ademen"]
    assert r.markers[0][0] == 1661327421.0
    for s in r.signals:
        if s.rate > 0:  # packets' shared timestamps spread into increasing sample times
            assert np.all(np.diff(s.times) > 0), s.label
    ea = r.signal(Modality.EDA)
    assert ea.rate == pytest.approx(15.0, rel=0.02)
    assert r.signal(Modality.PPG).rate == pytest.approx(25.0, rel=0.02)
    assert r.signal(Modality.ACC).values.shape[1] == 3
    # the first EA packet holds 2 samples stamped 1661327413.687327: the second is there
    assert ea.times[1] == pytest.approx(1661327413.687327)
    assert ea.times[0] == pytest.approx(1661327413.687327 - 1 / ea.rate)
    res = import_files([str(EMOTIBIT)], tmp_path / "S")
    js = json.loads((tmp_path / "S" / "session.json").read_text())
    assert js["imported"]["files"][0]["clock_uncertainty_s"] == 0.1
    rec = load_recording(res.recording)
    tags = next(s for s in rec.streams if s.name.endswith("-tags"))
    assert tags.n_samples == 2


def test_real_files_of_different_days_are_refused(tmp_path):
    with pytest.raises(ImportFilesError, match="do not overlap in time"):
        import_files([str(E4), str(EMOTIBIT)], tmp_path / "S",
                     [f"patient={E4}", f"clinician={EMOTIBIT}"])  # fmt: skip
    assert not (tmp_path / "S").exists()
