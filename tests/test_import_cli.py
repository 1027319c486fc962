"""``attune import`` end to end: roles, two clocks (absolute times, --sync-event, no overlap),
the session folder (session.json provenance, library), and ``attune analyze`` / ``review``
given the device files directly. Files are written from simulated signals
(tests/device_writers.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.xdf_reader import load_recording
from dsp.simulate import simulate_dyad
from tests import device_writers as W

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, timeout=240, cwd=str(ROOT), env=e)  # fmt: skip


@pytest.fixture(scope="module")
def dyad():
    return simulate_dyad(duration_s=200, seed=11, eda_fs=32.0, ppg_fs=128.0)


def _pair(tmp_path: Path, dyad, clinician_clock_s: float = 0.0) -> tuple[Path, Path]:
    """E4 zips of both people, the button pressed together at 100 s; the clinician's E4 clock
    is ``clinician_clock_s`` ahead (its files say everything happened that much later)."""
    p = W.e4_zip(tmp_path / "1767261600_A01234.zip", dyad.patient, tags=(100.0,))
    c = W.e4_zip(tmp_path / "1767261600_B05678.zip", dyad.clinician,
                 start=W.T0 + clinician_clock_s, tags=(100.0,))  # fmt: skip
    return p, c


def test_import_builds_a_session_folder_with_provenance(tmp_path, dyad):
    p, c = _pair(tmp_path, dyad)
    out = tmp_path / "sessions" / "2026-01-01_1000_P01_C01"
    r = run_cli("import", str(p), str(c), "--role", f"patient={p.name}", "--role",
                f"clinician={c.name}", "--patient", "P01", "--clinician", "C01", "-o", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "may be offset by up to ±2 s" in r.stdout
    js = json.loads((out / "session.json").read_text())
    assert js["source"] == "import" and js["patient"] == "P01"
    files = {f["role"]: f for f in js["imported"]["files"]}
    assert files["patient"]["serial"] == "A01234" and files["clinician"]["serial"] == "B05678"
    assert files["patient"]["clock_uncertainty_s"] == 1.0
    assert any(m.endswith("!EDA.csv") for m in files["patient"]["members"])
    ibi = next(s for s in js["streams"] if s["stream"] == "patient-e4-IBI")
    assert ibi["conversion"] == "ms = s x 1000" and ibi["unit"] == "ms"
    assert js["imported"]["alignment"] == {"method": "absolute start times", "uncertainty_s": 2.0}
    assert (out / "session.json").stat().st_mode & 0o777 == 0o600
    rec = load_recording(out / "recording.xdf")
    eda = next(s for s in rec.streams if s.name == "patient-e4-EDA")
    assert "<serial_number>A01234</serial_number>" in eda.header_xml
    assert eda.n_samples == int(200 * 4)
    # the library lists it like a recorded session
    r = run_cli("library", "--dir", str(out.parent), "--list")
    assert r.returncode == 0 and "1 session(s)" in r.stdout and "P01" in r.stdout, r.stdout


def test_sync_event_removes_a_clock_offset(tmp_path, dyad):
    p, c = _pair(tmp_path, dyad, clinician_clock_s=7.25)
    out = tmp_path / "S"
    r = run_cli("import", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "--sync-event", "tag 1", "-o", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "shifted -7.250 s" in r.stdout
    rec = load_recording(out / "recording.xdf")
    first = {s.name: float(s.raw_timestamps[0]) for s in rec.streams if s.n_samples}
    assert first["clinician-e4-EDA"] == pytest.approx(first["patient-e4-EDA"], abs=1e-6)
    tags = {s.name: float(s.raw_timestamps[0]) for s in rec.streams if s.name.endswith("tags")}
    assert tags["clinician-e4-tags"] == pytest.approx(tags["patient-e4-tags"], abs=1e-6)
    js = json.loads((out / "session.json").read_text())
    assert js["imported"]["alignment"]["method"] == "sync event"
    # a sync event one file lacks is named in one line
    r = run_cli("import", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "--sync-event", "*clap*", "-o", str(tmp_path / "T"))  # fmt: skip
    assert r.returncode == 2 and "no marker matches --sync-event '*clap*'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "T").exists()


def test_files_that_do_not_overlap_are_refused(tmp_path, dyad):
    p, c = _pair(tmp_path, dyad, clinician_clock_s=3600.0)
    r = run_cli("import", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "-o", str(tmp_path / "S"))  # fmt: skip
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "do not overlap in time" in r.stderr and "B05678" in r.stderr
    assert not (tmp_path / "S").exists()


def test_two_files_without_roles_are_not_guessed(tmp_path, dyad):
    p, c = _pair(tmp_path, dyad)
    r = run_cli("import", str(p), str(c), "-o", str(tmp_path / "S"))
    assert r.returncode == 2 and "whose file is it?" in r.stderr


def test_analyze_and_review_take_device_files_directly(tmp_path, dyad):
    p, c = _pair(tmp_path, dyad)
    out = tmp_path / "out"
    r = run_cli("analyze", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "-o", str(out), "--n-surrogates", "20")  # fmt: skip
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["persons"]) == {"patient", "clinician"}
    assert abs(m["persons"]["patient"]["mean_hr_bpm"] - dyad.patient.truth.mean_hr_bpm) < 0.5
    assert all("A01234" in i["origin"] or "B05678" in i["origin"] for i in m["inputs"])
    html = (out / "report.html").read_text()
    assert (
        "from device file" in html and "1767261600_A01234.zip; Empatica E4; serial A01234" in html
    )
    shot = tmp_path / "review.png"
    r = run_cli("review", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "--screenshot", str(shot))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert shot.stat().st_size > 10000


def test_a_file_without_absolute_time_is_not_aligned_by_guess(tmp_path, dyad):
    p, _ = _pair(tmp_path, dyad)
    c = W.opensignals_txt(tmp_path / "clinician_os.txt", dyad.clinician)
    c.write_text(c.read_text().replace('"date": "2026-1-1"', '"date": ""'))
    r = run_cli("import", str(p), str(c), "--role", f"patient={p}", "--role", f"clinician={c}",
                "-o", str(tmp_path / "S"))  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "clinician_os.txt: its absolute time is unknown" in r.stderr
    assert "--sync-event" in r.stderr and not (tmp_path / "S").exists()
    # alone, the same file imports, saying the time is unknown
    r = run_cli("import", str(c), "-o", str(tmp_path / "T"))
    assert r.returncode == 0, r.stderr
    assert "absolute time unknown" in r.stdout
    assert json.loads((tmp_path / "T" / "session.json").read_text())["started_at"] is None
