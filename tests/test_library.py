"""Session library: listing from session.json + metrics.json, clinician trends, CLI, window."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from xdf_sim import write_simulated_xdf

from app.library import clinician_trend, clinicians, contrast_cell, read_session, scan_sessions
from devices.recorder import create_session_folder, write_private_json
from dsp.simulate import DyadSimConfig, simulate_dyad

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three recorded sessions of clinician C01 (rising coupling) and one of C02, analysed by
    ``attune library --analyze``; plus a folder that is not a session."""
    root = tmp_path_factory.mktemp("lib") / "sessions"
    specs = [("C01", 0.2, 10), ("C01", 0.55, 13), ("C01", 0.95, 16), ("C02", 0.5, 14)]
    for k, (code, c, day) in enumerate(specs):
        d = simulate_dyad(
            DyadSimConfig(
                duration_s=300.0, seed=20 + k, coupling=c,
                coupling_schedule=[(0.0, 150.0, c), (150.0, 300.0, 0.05)],
            )
        )  # fmt: skip
        f = create_session_folder(root, f"2026-11-{day}_P{k}_{code}")
        write_simulated_xdf(
            f / "recording.xdf", d, markers=[(0.0, "listening"), (150.0, "talking")]
        )
        write_private_json(
            f / "session.json",
            {"patient": f"P{k}", "clinician": code, "started_at": f"2026-11-{day}T09:30:00+00:00"},
        )
    (root / "not-a-session").mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), ATTUNE_CACHE_DIR=str(root.parent / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "library", "--dir", str(root), "--analyze", "--list"],
        capture_output=True, text=True, timeout=240, cwd=str(ROOT), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "4 session(s)" in proc.stdout
    return root


def test_list_and_trend(library: Path) -> None:
    entries = scan_sessions(library)
    assert [e.patient for e in entries] == ["P0", "P1", "P3", "P2"]  # by date
    assert clinicians(entries) == ["C01", "C02"]
    for e in entries:
        assert e.analysed and e.duration_s == pytest.approx(300.0, abs=1.0)
        assert math.isfinite(e.eda_ci) and math.isfinite(e.clinician_baseline_ln_rmssd)
        assert (e.folder / "report.html").is_file()
    tr = clinician_trend(entries, "c01")
    assert [e.patient for e in tr.sessions] == ["P0", "P1", "P2"]
    # trend values are each session's own analysed numbers
    import json

    for e, ci, d, p in zip(tr.sessions, tr.session_ci, tr.listening_vs_talking,
                           tr.listening_vs_talking_p, strict=True):  # fmt: skip
        m = json.loads((e.folder / "metrics.json").read_text(encoding="utf-8"))
        assert ci == pytest.approx(m["concordance"]["eda"]["marci_ci"])
        (c,) = m["concordance"]["eda"]["statements"]["contrasts"]
        sign = 1.0 if c["label_a"] == "listening" else -1.0
        assert d == pytest.approx(sign * c["difference"])
        # one listening and one talking block: no test, so no p and no claim
        assert math.isnan(p) and not c["tested"] and contrast_cell(e).endswith("(no test)")
        assert e.listening_vs_talking_text == "listening vs talking: not enough data for a test"
    assert all(3.0 < b < 5.5 for b in tr.baseline_ln_rmssd)


def test_tested_contrast_orientation_and_cell() -> None:
    """The library reads the session's tested contrast, oriented listening - talking whatever
    order the analysis used, with its p; no contrast: a dash."""
    from app.analysis import tested_contrast

    text = "more concordance while listening than talking (p = 0.008)"
    m = {"concordance": {"eda": {"statements": {"contrasts": [
        {"label_a": "talking", "label_b": "listening", "difference": -0.4, "p_value": 0.008,
         "text": text}]}}}}  # fmt: skip
    assert tested_contrast(m) == (pytest.approx(0.4), 0.008, text)
    assert tested_contrast({}) is None
    assert tested_contrast(m, "moment", "talking") is None


def test_session_json_baseline_wins(tmp_path: Path) -> None:
    f = tmp_path / "s1"
    f.mkdir()
    write_private_json(
        f / "session.json",
        {"participants": {"patient": "PX", "clinician": "CX"}, "date": "2026-01-02T10:00:00",
         "baseline": {"clinician": {"rmssd_ms": 40.0}}, "notes": "n"},
    )  # fmt: skip
    e = read_session(f)
    assert e is not None and e.patient == "PX" and e.clinician == "CX"
    assert e.clinician_baseline_ln_rmssd == pytest.approx(math.log(40.0))
    assert not e.analysed and e.recording is None
    assert read_session(tmp_path / "missing") is None


def test_cli_errors_and_screenshot(library: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    env["ATTUNE_CACHE_DIR"] = str(tmp_path / "cache")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "app.cli", "library", *a],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), env=env,
    )  # fmt: skip
    p = run("--dir", str(tmp_path / "nope"))
    assert p.returncode == 2 and "does not exist" in p.stderr
    p = run("--dir", str(library), "--clinician", "C99", "--list")
    assert p.returncode == 2 and "C01, C02" in p.stderr
    png = tmp_path / "lib.png"
    p = run("--dir", str(library), "--clinician", "C01", "--screenshot", str(png))
    assert p.returncode == 0, p.stderr
    assert png.stat().st_size > 20_000


def test_library_window(qtbot, library: Path) -> None:
    pytest.importorskip("pytestqt")
    from app.gui.compat import pin_none
    from app.review.library_view import LibraryWindow

    pin_none()
    w = LibraryWindow(library, clinician="C01")
    qtbot.addWidget(w)
    w.show()
    assert w.table.rowCount() == 4
    assert w.combo.currentText() == "C01"
    assert len(w.trend.sessions) == 3
    w.combo.setCurrentText("C02")
    assert len(w.trend.sessions) == 1


def _double_click(qtbot, table, pos) -> None:
    """A user's double-click: press/release, then the double-click event (Qt's item views
    act on a double-click only over the item the press landed on)."""
    from PySide6.QtCore import Qt

    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_double_click_opens_the_sessions_review(qtbot, library: Path, tmp_path, monkeypatch):
    """A double-click on a library row opens that session's review window (real widgets,
    a real recording analysed in-process); a row without a recording says so instead."""
    from app.gui.qtapp import dispose, make_app
    from app.review.library_view import LibraryWindow
    from app.review.window import ReviewWindow

    monkeypatch.setenv("ATTUNE_CACHE_DIR", str(tmp_path / "cache"))
    make_app()
    w = LibraryWindow(library)
    qtbot.addWidget(w)
    w.show()
    row = 1
    rect = w.table.visualItemRect(w.table.item(row, 0))
    _double_click(qtbot, w.table, rect.center())
    # analysed in a worker thread: the library says so and keeps answering meanwhile
    assert w.statusBar().currentMessage().startswith("analysing ")
    assert w._reviews == []
    w.combo.setCurrentText("C02")
    assert len(w.trend.sessions) == 1
    qtbot.waitUntil(lambda: len(w._reviews) == 1, timeout=30_000)
    assert w.statusBar().currentMessage().startswith("opened ")
    review = w._reviews[0]
    assert isinstance(review, ReviewWindow) and review.isVisible()
    assert review.a.path == w.entries[row].recording
    assert review.a.persons.keys() == {"patient", "clinician"}
    assert w.entries[row].folder.name in str(review.a.path)
    # the same session opened from the cache the first open filled
    assert list((tmp_path / "cache").glob("*.pkl"))
    # a session folder whose recording is gone: one status line, no window
    gone = w.entries[2].recording
    moved = gone.with_suffix(".moved")
    gone.rename(moved)
    try:
        w.entries[2] = type(w.entries[2])(**{**w.entries[2].__dict__, "recording": None})
        rect = w.table.visualItemRect(w.table.item(2, 0))
        _double_click(qtbot, w.table, rect.center())
        assert "no recording.xdf" in w.statusBar().currentMessage()
        assert len(w._reviews) == 1
    finally:
        moved.rename(gone)
    # a recording that is not XDF: one status line from the worker, no window
    bad = w.entries[3].recording
    saved = bad.read_bytes()
    bad.write_bytes(b"not an xdf file")
    try:
        rect = w.table.visualItemRect(w.table.item(3, 0))
        _double_click(qtbot, w.table, rect.center())
        qtbot.waitUntil(lambda: not w._analysing, timeout=30_000)
        assert "recording.xdf" in w.statusBar().currentMessage() and len(w._reviews) == 1
    finally:
        bad.write_bytes(saved)
    for r in w._reviews:
        dispose(r)
