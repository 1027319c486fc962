"""Review window (pytest-qt, offscreen): timeline, zoom/scrub, markers, tables, notes, export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from xdf_sim import write_simulated_xdf  # noqa: E402

from app.analysis import analyze_file  # noqa: E402
from dsp.simulate import DyadSimConfig, simulate_dyad  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARKERS = [(0.0, "listening"), (100.0, "talking"), (200.0, "listening")]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    dyad = simulate_dyad(DyadSimConfig(duration_s=300.0, seed=7, coupling=0.8, lag_s=2.0))
    path = tmp_path_factory.mktemp("review") / "session.xdf"
    write_simulated_xdf(path, dyad, t0=200.0, markers=MARKERS)
    return path, analyze_file(path)


@pytest.fixture
def window(qtbot, session):
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    path, a = session
    w = ReviewWindow(a, notes_path=path.parent / "notes.txt")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    return w


def test_timeline_traces_and_tables(window, session) -> None:
    _, a = session
    w = window
    for key in ("eda_patient", "eda_clinician", "hr_patient", "hr_clinician", "ci_eda", "ci_hr"):
        item = w._traces[key]
        assert np.isfinite(item.yData).sum() > 100, key
    # whole-session data is in the traces (not only the first zoom)
    assert w._traces["eda_patient"].xData[-1] == pytest.approx(a.duration_s, abs=1.0)
    # "above chance" exactly where the console would have said it (the replayed checks)
    hl = a.dyad.eda.timeline.highlight
    if hl.any():
        assert np.array_equal(np.isfinite(w._traces["highlight_eda"].yData), hl)
    else:
        assert "highlight_eda" not in w._traces
    assert w.markers.count() == 3
    assert w.blocks.columnCount() == 3  # label + listening + talking
    assert w.blocks.horizontalHeaderItem(1).text() == "listening"
    ci_row = [w.blocks.item(i, 0).text() for i in range(w.blocks.rowCount())].index("EDA CI")
    ci_listen = float(w.blocks.item(ci_row, 1).text())
    assert ci_listen == pytest.approx(a.dyad.eda.segments.by_label("listening").ci, abs=0.01)
    hrv_rows = [w.hrv.item(i, 0).text() for i in range(w.hrv.rowCount())]
    r = hrv_rows.index("RMSSD (ms)")
    assert float(w.hrv.item(r, 1).text()) == pytest.approx(a.persons["patient"].rmssd_ms, abs=0.06)
    assert "concordance" in w.header.text().lower()


def test_zoom_scrub_and_marker_jump(window, qtbot) -> None:
    w = window
    w.set_zoom(30.0, 90.0)
    assert w.zoom_range() == pytest.approx((30.0, 90.0), abs=0.01)
    x0, x1 = w.p_hr.getViewBox().viewRange()[0]
    assert (x0, x1) == pytest.approx((30.0, 90.0), abs=0.5)
    # dragging the overview region moves the detail plots
    w.region.setRegion((120.0, 150.0))
    assert w.p_ci.getViewBox().viewRange()[0] == pytest.approx([120.0, 150.0], abs=0.5)
    # clicking the "talking" marker centres the view on it, keeping the zoom width
    item = w.markers.item(1)
    w.markers.itemClicked.emit(item)
    a0, a1 = w.zoom_range()
    assert (a0 + a1) / 2 == pytest.approx(100.0, abs=0.5)
    assert a1 - a0 == pytest.approx(30.0, abs=0.5)


def test_notes_and_export(window, tmp_path: Path) -> None:
    w = window
    w.notes.setPlainText("client calmer after 3 min")
    p = w.save_notes()
    assert p.read_text(encoding="utf-8") == "client calmer after 3 min"
    assert (p.stat().st_mode & 0o777) == 0o600
    files = w.export(tmp_path / "exp", ("html", "csv"))
    names = sorted(f.name for f in files)
    assert names == ["beats_clinician.csv", "beats_patient.csv", "report.html", "timeseries.csv"]


def test_cli_screenshot_and_cache(session, tmp_path: Path) -> None:
    path, _ = session
    env = dict(os.environ, PYTHONPATH=str(ROOT), ATTUNE_CACHE_DIR=str(tmp_path / "cache"))
    env["QT_QPA_PLATFORM"] = "offscreen"
    shots = []
    for k in range(2):
        png = tmp_path / f"shot{k}.png"
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "review", str(path), "--screenshot", str(png)],
            capture_output=True, text=True, timeout=120, cwd=str(ROOT), env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert png.stat().st_size > 20_000
        shots.append(proc.stdout)
    assert "cached analysis" not in shots[0] and "cached analysis" in shots[1]
    # first open: the window on the per-person part, then filled in from the analysis process
    assert "window ready in" in shots[0] and "filled in" in shots[0]
    assert (tmp_path / "shot0-filled.png").stat().st_size > 20_000
    bad = tmp_path / "bad.xdf"
    bad.write_text("nope")
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "review", str(bad), "--screenshot", str(tmp_path / "x.png")],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), env=env,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("attune: error:") and "Traceback" not in proc.stderr


def test_window_fills_in_the_concordance(qtbot, session) -> None:
    """The per-person part first (header says the concordance is being computed, no
    concordance row), then :meth:`fill` with the whole analysis keeps the zoom and shows it."""
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    path, a = session
    parts = []
    full = analyze_file(path, on_persons=parts.append)
    assert len(parts) == 1 and parts[0].dyad is None and parts[0].persons.keys() == a.persons.keys()
    w = ReviewWindow(
        parts[0], notes_path=path.parent / "notes.txt", pending="being computed (55 %)"
    )
    qtbot.addWidget(w)
    w.show()
    assert "being computed (55 %)" in w.header.text() and "ci_eda" not in w._traces
    assert "eda_patient" in w._traces and "hr_clinician" in w._traces
    w.set_zoom(30.0, 130.0)
    w.fill(full)
    assert "being computed" not in w.header.text() and "Marci CI" in w.header.text()
    assert np.isfinite(w._traces["ci_eda"].yData).sum() > 100
    assert w.zoom_range() == pytest.approx((30.0, 130.0), abs=1.0)


def test_single_person_window(qtbot, tmp_path: Path) -> None:
    from app.analysis import AnalysisOptions
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    dyad = simulate_dyad(DyadSimConfig(duration_s=120.0, seed=2))
    p = tmp_path / "solo.xdf"
    write_simulated_xdf(p, dyad, prefix="Solo")
    a = analyze_file(p, AnalysisOptions(roles={"patient": "Solo-patient-*"}))
    w = ReviewWindow(a, notes_path=tmp_path / "n.txt")
    qtbot.addWidget(w)
    w.show()
    assert "two people" in w.header.text()
    assert "ci_eda" not in w._traces and "eda_patient" in w._traces
