"""``attune import --sync-event clap@MM:SS``: two people's files aligned on a clap, against
ground truth. The files are written (tests/device_writers.py) with a clap at a known time in
each device's accelerometer (or as a PPG motion artefact) and a known clock offset between
the two devices; the import must find both claps and remove the offset to within the stated
resolution, and refuse when the clap is missing or not the only one near the marked time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.importer import ImportFilesError, import_files
from devices.files.clap import ClapSyncError, clap_parse
from devices.xdf_reader import load_recording
from dsp.simulate import simulate_dyad
from dsp.transient import TransientProblem, transient_find
from tests import device_writers as W

ROOT = Path(__file__).resolve().parents[1]
OFFSET = 7.25  # the clinician's device clock runs this far ahead (s)


@pytest.fixture(scope="module")
def dyad():
    return simulate_dyad(duration_s=130, seed=5, eda_fs=32.0, ppg_fs=128.0)


def _patient(tmp: Path, dyad, claps=(100.0,)) -> Path:
    return W.e4_zip(tmp / "1767261600_A01234.zip", dyad.patient, claps=claps, seed=1)


CLINICIAN = {  # the clinician's device, its clock OFFSET ahead
    "emotibit": lambda tmp, d, c: W.emotibit_csvs(tmp / "emotibit", d.clinician,
                                                  start=W.T0 + OFFSET, claps=c, seed=2),
    "shimmer": lambda tmp, d, c: W.shimmer_csv(tmp / "consensys.csv", d.clinician,
                                               start=W.T0 + OFFSET, claps=c, seed=3),
    "embraceplus": lambda tmp, d, c: W.embraceplus_avro(tmp / "1-1-C1_1767261600.avro",
                                                        d.clinician, start=W.T0 + OFFSET,
                                                        claps=c, seed=4),
    "opensignals (PPG)": lambda tmp, d, c: W.opensignals_txt(tmp / "bitalino.txt", d.clinician,
                                                             start=W.T0 + OFFSET, claps=c),
}  # fmt: skip


@pytest.mark.parametrize(
    ("device", "clap_s"),
    [("emotibit", 100.0), ("shimmer", 100.013), ("embraceplus", 100.027),
     ("opensignals (PPG)", 100.041)],
)  # fmt: skip
def test_clap_removes_a_clock_offset_to_the_sampling_resolution(tmp_path, dyad, device, clap_s):
    p = _patient(tmp_path, dyad, (clap_s,))
    c = CLINICIAN[device](tmp_path, dyad, (clap_s,))
    # noted as 1:43, 3 s late; the search window is ±(10 s + the clocks' uncertainty)
    res = import_files([str(p), str(c)], tmp_path / "S", [f"patient={p}", f"clinician={c}"],
                       "clap@1:43")  # fmt: skip
    shift = {pl.role: pl.shift_s for pl in res.placed}
    js = json.loads((tmp_path / "S" / "session.json").read_text())
    align = js["imported"]["alignment"]
    assert align["method"] == "clap" and align["marked"] == "clap@1:43"
    bound = align["uncertainty_s"]
    assert 0.0 < bound <= 0.075  # one sample of each device: 1/32 s + 1/25 s at most here
    assert shift["patient"] == 0.0
    assert abs(shift["clinician"] + OFFSET) <= bound, (shift, bound)
    want = "ppg" if device == "opensignals (PPG)" else "acc"
    assert [cl["modality"] for cl in align["claps"]] == ["acc", want]
    assert all(cl["strength"] >= 8 and cl["clarity"] >= 2 for cl in align["claps"])
    text = "\n".join(res.lines)
    assert "at most ±" in text and f"shifted {shift['clinician']:+.3f} s" in text
    # the recording's streams carry the shift: the clinician's EDA starts OFFSET later by its
    # clock but at the same moment as the patient's once aligned
    rec = load_recording(res.recording)
    first = {s.name: float(s.raw_timestamps[0]) for s in rec.streams if s.type == "EDA"}
    (pe,) = (v for k, v in first.items() if k.startswith("patient"))
    (ce,) = (v for k, v in first.items() if k.startswith("clinician"))
    assert ce == pytest.approx(pe, abs=bound + 0.07)  # + the devices' first-sample phase


def test_clap_places_a_file_without_absolute_time(tmp_path, dyad):
    """A BITalino file whose header has no date: the clap, marked as time into each file,
    gives it the patient's clock."""
    p = _patient(tmp_path, dyad, (100.0,))
    c = W.opensignals_txt(tmp_path / "bitalino.txt", dyad.clinician, start=W.T0 + 30.0,
                          claps=(70.0,))  # started 30 s after the patient's E4  # fmt: skip
    head = c.read_text().split("\n", 2)
    meta = json.loads(head[1][2:])
    for dev in meta.values():
        del dev["date"], dev["time"]
    c.write_text(f"{head[0]}\n# {json.dumps(meta)}\n{head[2]}")
    res = import_files([str(p), str(c)], tmp_path / "S", [f"patient={p}", f"clinician={c}"],
                       "clap@1:40±35")  # fmt: skip
    cli = res.placed[1]
    assert cli.recording.clock.uncertainty_s == float("inf")
    bound = json.loads((tmp_path / "S" / "session.json").read_text())["imported"]["alignment"][
        "uncertainty_s"
    ]
    assert abs(cli.shift_s - (W.T0 + 30.0)) <= bound
    assert "s into the file (its absolute time is unknown)" in "\n".join(res.lines)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=str(ROOT), env=e)  # fmt: skip


def test_unclear_claps_are_refused_in_one_line(tmp_path, dyad):
    far = W.e4_zip(tmp_path / "1767261600_A01234.zip", dyad.patient, claps=(30.0,), seed=1)
    c = W.e4_zip(tmp_path / "1767261600_B05678.zip", dyad.clinician, start=W.T0 + OFFSET,
                 claps=(100.0, 103.0), seed=2)  # fmt: skip
    # the patient clapped at 0:30, not near the marked 1:40: nothing sharp there
    r = run_cli("import", str(far), str(c), "--role", f"patient={far}", "--role",
                f"clinician={c}", "--sync-event", "clap@1:40", "-o", str(tmp_path / "S"))  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "A01234.zip: no clear clap within ±11 s" in r.stderr
    assert "not sharper than the ordinary movement" in r.stderr
    assert not (tmp_path / "S").exists()
    # the clinician clapped twice, 3 s apart, both near the marked time: which one is unclear
    (tmp_path / "p").mkdir()
    p = _patient(tmp_path / "p", dyad, (100.0,))
    with pytest.raises(ImportFilesError, match=r"B05678.zip: no clear clap .*nearly as large"):
        import_files([str(p), str(c)], tmp_path / "T", [f"patient={p}", f"clinician={c}"],
                     "clap@1:40")  # fmt: skip
    assert not (tmp_path / "T").exists()
    with pytest.raises(ImportFilesError, match="use clap@MM:SS"):
        import_files([str(p), str(c)], tmp_path / "U", [f"patient={p}", f"clinician={c}"],
                     "clap@soon")  # fmt: skip
    assert not (tmp_path / "U").exists()


def test_clap_marks_parse():
    assert clap_parse("clap@2:15").elapsed_s == 135.0
    assert clap_parse("clap@1:02:15").elapsed_s == 3735.0
    assert clap_parse("CLAP@135.5±20").elapsed_s == 135.5
    assert clap_parse("clap@2:15 +- 20").tolerance_s == 20.0
    assert clap_parse("clap@2:15").tolerance_s == 10.0
    m = clap_parse("clap@2026-01-01T10:02:15Z")
    assert m.absolute_s == W.T0 + 135.0 and m.elapsed_s is None
    for bad in ("clap@", "clap@soon", "clap@1:2:3:4", "clap@2:15±0", "clap@-5"):
        with pytest.raises(ClapSyncError, match="use clap@MM:SS"):
            clap_parse(bad)


def test_transient_onset_within_half_a_sample_of_a_step():
    rng = np.random.default_rng(0)
    for fs, tc in ((32.0, 50.003), (25.0, 50.031), (100.0, 49.9951)):
        t = 1000.0 + np.arange(int(100 * fs)) / fs
        x = rng.normal(0, 0.01, t.size) + np.where(t >= 1000.0 + tc, 1.0, 0.0)
        f = transient_find(x, t, 1040.0, 1060.0)
        assert f.found and f.resolution_s == pytest.approx(1.0 / fs)
        assert abs(f.onset_s - (1000.0 + tc)) <= 0.5 / fs + 1e-9  # a clean step: half a sample
    noise = rng.normal(0, 1, 3000)
    f = transient_find(noise, np.arange(3000) / 30.0, 40.0, 60.0)
    assert f.problem is TransientProblem.WEAK


def test_transient_onset_not_pulled_early_by_a_gesture_just_before():
    """A separate movement 0.15 s before the clap, above the onset threshold, is not the
    clap's onset; a one-sample dip inside the clap's ringing is bridged."""
    fs = 32.0
    t = np.arange(int(60 * fs)) / fs
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.005, t.size)
    i0 = int(30.0 * fs)  # the clap starts in the interval before sample i0
    x[i0:] += 1.0
    x[i0 - 5] += 0.5  # a gesture ~0.15 s earlier: two changes of 0.5 (above 30 % of the clap)
    f = transient_find(x, t, 25.0, 35.0)
    assert f.found and abs(f.onset_s - (t[i0] - 0.5 / fs)) < 1e-9
    y = rng.normal(0, 0.005, t.size)
    y[i0:] += 0.8  # the clap's first swing, then a sample where the ringing crosses back ...
    y[i0 + 1 :] -= 0.45  # ... (a change of 0.45 < 30 % of the peak), then the large swing
    y[i0 + 2 :] += 2.0
    f = transient_find(y, t, 25.0, 35.0)
    assert f.found and abs(f.onset_s - (t[i0] - 0.5 / fs)) < 1e-9
