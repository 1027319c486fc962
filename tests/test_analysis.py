"""``attune analyze``: ground truth on a simulated coupled session, outputs, bad input, real files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from xdf_sim import header_xml, write_simulated_xdf

from app.analysis import AnalysisError, AnalysisOptions, analyze_file
from dsp.simulate import DyadSimConfig, simulate_dyad

ROOT = Path(__file__).resolve().parents[1]
CACHE = tempfile.mkdtemp(prefix="attune-test-cache-")
BLOCK_S = 150.0
SCHEDULE = [(0.0, 150.0, 0.95), (150.0, 300.0, 0.1), (300.0, 450.0, 0.95), (450.0, 600.0, 0.1)]
MARKERS = [(0.0, "listening"), (150.0, "talking"), (300.0, "listening"), (450.0, "talking")]


def run_cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), ATTUNE_CACHE_DIR=CACHE)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(ROOT),
        env=env,
    )


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    """10 min coupled dyad (coupling 0.8, lag 2 s), listening/talking blocks, written to XDF."""
    cfg = DyadSimConfig(
        duration_s=600.0, seed=3, coupling=0.8, lag_s=2.0, coupling_schedule=SCHEDULE
    )
    dyad = simulate_dyad(cfg)
    path = tmp_path_factory.mktemp("sim") / "session.xdf"
    write_simulated_xdf(path, dyad, t0=5000.0, markers=MARKERS)
    return dyad, path


@pytest.fixture(scope="module")
def result(sim):
    return analyze_file(sim[1])


def test_recovers_heart_rate_and_rmssd(sim, result) -> None:
    dyad, _ = sim
    for role in ("patient", "clinician"):
        truth = getattr(dyad, role).truth
        p = result.persons[role]
        assert p.mean_hr_bpm == pytest.approx(truth.mean_hr_bpm, rel=0.05)
        assert p.rmssd_ms == pytest.approx(truth.rmssd_ms, rel=0.05)
        assert abs(p.n_beats - truth.beat_times.size) <= 0.02 * truth.beat_times.size
        assert p.cardiac_good_fraction > 0.9
        assert p.scr_count > 10


def test_recovers_lag_and_listening_beats_talking(result) -> None:
    eda = result.dyad.eda
    assert eda.session.median_peak_lag_s == pytest.approx(2.0, abs=0.5)
    assert eda.session.median_best_lag_s == pytest.approx(2.0, abs=0.5)
    assert eda.frac_patient_leads > 0.5
    assert eda.session.ci > 0 and eda.session.surrogate.p_value < 0.05
    listening = eda.segments.by_label("listening")
    talking = eda.segments.by_label("talking")
    assert listening.ci > talking.ci
    assert listening.n_intervals == talking.n_intervals == 2
    assert listening.duration_s == pytest.approx(2 * BLOCK_S, abs=1.0)
    tl = eda.timeline
    assert tl.chance_lo < tl.chance_hi
    assert np.isfinite(tl.ci_rolling).sum() > 400
    assert np.nanmax(tl.percentile) <= 100.0


def test_cli_writes_every_output(sim, tmp_path: Path) -> None:
    _, path = sim
    out = tmp_path / "out"
    proc = run_cli("analyze", str(path), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["schema_version"] == 2  # 2: people, pairs, group (app.analysis.export)
    assert m["duration_s"] == pytest.approx(600.0, abs=1.0)
    assert {c["role"] for c in m["inputs"]} == {"patient", "clinician"}
    assert m["parameters"]["n_surrogates"] == 200
    for role in ("patient", "clinician"):
        p = m["persons"][role]
        for key in ("beats", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "pnn50_pct", "lf_ms2",
                    "hf_ms2", "lf_hf", "coherence_ratio", "artifacts", "scl_us", "scr_count",
                    "scr_per_min", "eda_noise_us", "scr_threshold_us", "quality",
                    "baseline"):  # fmt: skip
            assert key in p, key
            assert p[key] is not None, key
        assert p["scr_threshold_us"] >= max(0.01, m["parameters"]["scr_min_amplitude_us"])
    c = m["concordance"]["eda"]
    assert c["available"] and c["susy"]["z"] is not None
    assert c["wcc"]["median_best_lag_s"] == pytest.approx(2.0, abs=0.5)
    labels = [row["label"] for row in m["segments"]["per_label"]]
    assert labels == ["listening", "talking"]
    assert len(m["segments"]["per_interval"]) == 4
    with open(out / "beats_patient.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["lsl_time_s", "ibi_ms", "corrected", "used", "artifact"]
    assert len(rows) > 600
    ibi = np.array([float(r[1]) for r in rows[1:] if r[3] == "1"])
    assert 60000.0 / ibi.mean() == pytest.approx(m["persons"]["patient"]["mean_hr_bpm"], rel=1e-6)
    with open(out / "timeseries.csv", encoding="utf-8") as fh:
        ts = list(csv.DictReader(fh))
    assert 590 <= len(ts) <= 602
    assert {"hr_patient_bpm", "scl_clinician_us", "eda_ci_rolling", "eda_ci_percentile",
            "eda_wcc_peak_r", "eda_wcc_lag_s"} <= set(ts[0])  # fmt: skip
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "listening" in html and "RMSSD" in html
    assert "empathy" not in html.lower()


def test_truncated_file_is_analysed_with_a_warning(sim, tmp_path: Path) -> None:
    _, path = sim
    data = path.read_bytes()
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(data[: int(len(data) * 0.6) + 7])
    a = analyze_file(cut)
    assert any("truncated" in w for w in a.warnings)
    assert 300.0 < a.duration_s < 400.0
    assert a.dyad is not None and np.isfinite(a.dyad.eda.session.ci)
    proc = run_cli("analyze", str(cut), "-o", str(tmp_path / "o"), "--format", "json")
    assert proc.returncode == 0
    assert "warning" in proc.stderr and "truncated" in proc.stderr
    assert sorted(x.name for x in (tmp_path / "o").iterdir()) == ["metrics.json"]


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xdf"
    empty.write_bytes(b"")
    text = tmp_path / "notes.xdf"
    text.write_text("this is not a recording\n")
    cases = [empty, text, tmp_path / "missing.xdf"]
    for f in cases:
        proc = run_cli("analyze", str(f), "-o", str(tmp_path / "o"))
        assert proc.returncode == 2, (f, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("attune: error:"), proc.stderr
        assert "Traceback" not in proc.stderr


def test_file_without_physiology_is_rejected(tmp_path: Path) -> None:
    from devices.xdf_writer import XdfWriter

    p = tmp_path / "eeg.xdf"
    with XdfWriter(p) as w:
        sid = w.add_stream(header_xml("Amp", "EEG", "float32", ["Cz"], "uV", 100.0, "amp"))
        w.write_samples(sid, np.zeros((200, 1)), np.arange(200) / 100.0)
    with pytest.raises(AnalysisError, match="no usable EDA/PPG/ECG"):
        analyze_file(p)


def test_several_files_summary_and_failures(sim, tmp_path: Path) -> None:
    _, path = sim
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"XDF:garbage")
    out = tmp_path / "many"
    proc = run_cli(
        "analyze", str(path), str(bad), "-o", str(out), "--format", "json", "--surrogates", "50"
    )
    assert proc.returncode == 2
    assert proc.stderr.count("attune: error:") == 1 and "bad.xdf" in proc.stderr
    with open(out / "summary.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert float(rows[0]["eda_median_peak_lag_s"]) == pytest.approx(2.0, abs=0.5)
    assert float(rows[0]["eda_ci_listening_minus_talking"]) > 0
    assert (out / "session" / "metrics.json").is_file()


def test_single_person_reports_without_concordance(tmp_path: Path) -> None:
    dyad = simulate_dyad(DyadSimConfig(duration_s=200.0, seed=5))
    p = tmp_path / "one.xdf"
    write_simulated_xdf(p, dyad, prefix="Solo")
    a = analyze_file(p, AnalysisOptions(roles={"patient": "Solo-patient-*"}))
    assert a.dyad is None and list(a.persons) == ["patient"]
    assert any("concordance needs two people" in n for n in a.notes)
    from app.analysis import metrics_dict

    assert metrics_dict(a)["concordance"] is None


@pytest.mark.realdata
def test_real_files_analysed_or_rejected(shared_xdf: Path, tmp_path: Path) -> None:
    files = sorted(shared_xdf.glob("*.xdf"))
    assert files
    for f in files:
        try:
            a = analyze_file(f)
        except AnalysisError as exc:
            assert "\n" not in str(exc)
            continue
        assert a.persons
        for p in a.persons.values():
            if p.n_ibi > 5:
                assert 30 < p.mean_hr_bpm < 200


@pytest.mark.realdata
def test_nplab_channels_by_map(shared_xdf: Path, tmp_path: Path) -> None:
    f = shared_xdf / "NPLab__000.xdf"
    if not f.is_file():
        pytest.skip("NPLab file absent")
    m = tmp_path / "map.toml"
    m.write_text(
        '[patient]\necg = { stream = "BrainVision RDA", channel = 0 }\n'
        'eda = { stream = "BrainVision RDA", channel = 2 }\n'
    )
    proc = run_cli("analyze", str(f), "-o", str(tmp_path / "o"), "--map", str(m))
    assert proc.returncode == 0, proc.stderr
    met = json.loads((tmp_path / "o" / "metrics.json").read_text(encoding="utf-8"))
    p = met["persons"]["patient"]
    assert met["inputs"][0]["stream_type"] == "EEG"
    assert p["cardiac_signal"] == "ECG" and 45 < p["mean_hr_bpm"] < 110
    assert p["beats"] > 200
    assert any("concordance needs two people" in n for n in met["notes"])
    assert len(met["segments"]["per_label"]) == 5  # the PsychoPy markers 1..5
    assert p["scl_us"] is None and any("--eda-scale" in w for w in met["warnings"])
    # the GSR channel is stored in another unit: --eda-scale converts it
    a = analyze_file(f, AnalysisOptions(map_path=str(m), eda_scale=0.001))
    assert a.persons["patient"].has_eda and a.persons["patient"].eda_valid_fraction > 0.5
    assert a.channels[1].unit.startswith("µS")


def test_segments_from_and_progress_bar(tmp_path: Path) -> None:
    import io

    from app.analysis import ProgressBar

    dyad = simulate_dyad(DyadSimConfig(duration_s=200.0, seed=6))
    p = tmp_path / "seg.xdf"
    write_simulated_xdf(p, dyad, markers=[(0.0, "baseline"), (100.0, "talking")])
    steps: list[str] = []
    a = analyze_file(
        p, AnalysisOptions(segments_from="AttuneSim-Markers"), progress=lambda f, s: steps.append(s)
    )
    assert [lab for _, _, lab in a.intervals] == ["baseline", "talking"]
    assert a.baseline["patient"][1] == "marker 'baseline'"
    assert steps[0] == "loading" and steps[-1] == "done"
    with pytest.raises(AnalysisError, match="no marker stream matches"):
        analyze_file(p, AnalysisOptions(segments_from="Nope*"))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = ProgressBar("seg.xdf", stream=out)
    bar(0.5, "concordance")
    bar.close()
    assert "[" + "#" * 15 + "-" * 15 + "]" in out.getvalue() and "50%" in out.getvalue()
    quiet = io.StringIO()
    ProgressBar("x", stream=quiet)(0.5, "y")
    assert quiet.getvalue() == ""


def test_dropout_gap_is_not_bridged(tmp_path: Path) -> None:
    """A 20 s dropout of the clinician's PPG and EDA: no beats or HR invented across it."""
    from app.analysis import timeseries_rows
    from devices.xdf_writer import XdfWriter

    dyad = simulate_dyad(DyadSimConfig(duration_s=240.0, seed=8))
    p = tmp_path / "gap.xdf"
    t0, g0, g1 = 100.0, 120.0, 140.0
    with XdfWriter(p) as w:
        for role in ("patient", "clinician"):
            pr = getattr(dyad, role)
            for mod, x, fs in (("EDA", pr.eda, pr.eda_fs), ("PPG", pr.ppg, pr.ppg_fs)):
                name = f"Sim-{role}-{mod}"
                sid = w.add_stream(
                    header_xml(name, mod, "float32", [mod], "microsiemens", fs, name)
                )
                t = np.arange(x.size) / fs
                keep = np.ones(x.size, bool) if role == "patient" else (t < g0) | (t >= g1)
                w.write_samples(sid, x[keep, None], t0 + t[keep])
    a = analyze_file(p)
    c = a.persons["clinician"]
    assert not np.any((c.beat_times > t0 + g0 + 0.5) & (c.beat_times < t0 + g1 - 0.5))
    hr = c.hr_on_grid(np.arange(t0 + g0 + 1, t0 + g1 - 1, 0.5))
    assert np.all(np.isnan(hr))
    assert c.mean_hr_bpm == pytest.approx(dyad.clinician.truth.mean_hr_bpm, rel=0.05)
    header, rows = timeseries_rows(a)
    i = header.index("scl_clinician_us")
    in_gap = [r for r in rows if t0 + g0 + 1 < float(r[0]) < t0 + g1 - 1]
    assert in_gap and all(r[i] == "" for r in in_gap)
    assert a.dyad is not None and np.isfinite(a.dyad.eda.session.ci)


def test_console_markers_make_listening_and_talking_blocks_moments_do_not(sim, tmp_path) -> None:
    """A console recording carries "L: clinician listening", "T: clinician talking" and
    "M: moment[: note N]" markers: blocks are named listening / talking (so the contrast, the
    per-label table and the library's trend find them) and a moment never cuts a block."""
    from app.analysis import listening_minus_talking, metrics_dict
    from devices.markers import marker_text

    dyad, _ = sim
    marks = [(a, marker_text("L" if lab == "listening" else "T")) for a, lab in MARKERS]
    marks += [(70.0, marker_text("M")), (200.0, marker_text("M", note_id=1))]
    path = write_simulated_xdf(tmp_path / "console.xdf", dyad, t0=5000.0, markers=marks)
    a = analyze_file(path)
    assert [lab for _, _, lab in a.intervals] == ["listening", "talking"] * 2
    assert [b - t for t, b, _ in a.intervals] == pytest.approx([BLOCK_S] * 4, abs=1.0)
    listening = a.dyad.eda.segments.by_label("listening")
    assert listening.n_intervals == 2 and listening.duration_s == pytest.approx(
        2 * BLOCK_S, abs=1.0
    )
    (c,) = a.dyad.eda.contrasts
    assert (c.label_a, c.label_b) == ("listening", "talking")
    assert listening_minus_talking(metrics_dict(a)) is not None
    other = [(0.0, "rest"), (300.0, "task")]  # another tool's markers keep their own names
    b = analyze_file(write_simulated_xdf(tmp_path / "other.xdf", dyad, markers=other))
    assert [lab for _, _, lab in b.intervals] == ["rest", "task"]
