"""Stream-assignment dialog, worker-error reporting and bad-map handling of the console."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402

from app.engine import EngineConfig  # noqa: E402
from app.gui.dialogs import AssignmentDialog  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.gui.theme import ConsoleSettings  # noqa: E402
from app.sources import SourceChoice, attune_command  # noqa: E402
from devices.assign import assign, load_map  # noqa: E402
from devices.source import SimulatorSource  # noqa: E402
from dsp.simulate import DyadSimConfig  # noqa: E402

pytestmark = [
    pytest.mark.lsl,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]


def _attune_threads() -> list[str]:
    """Threads of the console (the fixture's simulator thread is not the window's)."""
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("attune-") and t.name != "attune-simulator" and t.is_alive()
    ]


@pytest.fixture
def dyad(uid):
    """An in-process simulated dyad with unique names; stopped at the end."""
    prefix = f"GuiD{uid}"
    src = SimulatorSource(DyadSimConfig(seed=5), prefix=prefix)
    src.start()
    yield prefix, src
    src.stop()


def _window(qtbot, uid, tmp_path) -> MainWindow:
    controller = SessionController(
        EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
        marker_name=f"Markers-{uid}",
        marker_source_id=f"markers-{uid}",
    )
    w = MainWindow(controller, ConsoleSettings(session_dir=str(tmp_path)), persist=False)
    w.show()
    return w


def _close(qtbot, w: MainWindow) -> None:
    w.close()
    qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
    assert not [t for t in w.findChildren(QTimer) if t.isActive()]
    w.deleteLater()


def test_assignment_dialog_maps_streams_and_round_trips_the_map(qtbot, dyad, tmp_path):
    prefix, _ = dyad
    dlg = AssignmentDialog(wait_s=2.0)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.refresh()
    qtbot.waitUntil(
        lambda: sum(d.name.startswith(prefix) for d, _ in dlg.found) == 4, timeout=15_000
    )
    # other people's simulators may be visible too: clear everything, map ours by hand
    dlg.apply_assignment(assign([], roles=None))
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
    assert "Not complete" in dlg.problems.text()
    for role in ("patient", "clinician"):
        dlg.set_row(f"{prefix}-{role}-EDA", role, "eda")
        dlg.set_row(f"{prefix}-{role}-PPG", role, "ppg")
    a = dlg.current_assignment()
    assert a.complete and not a.problems
    assert a.get("patient", "eda").stream.name == f"{prefix}-patient-EDA"
    assert a.get("clinician", "ppg").stream.source_id == f"{prefix}-clinician-ppg"
    assert dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
    # save -> load -> the same mapping
    path = tmp_path / "streams.toml"
    dlg.save_map_file(str(path))
    mapping = load_map(path)
    assert mapping["patient"]["eda"]["stream"] == f"{prefix}-patient-eda"
    dlg.apply_assignment(assign([], roles=None))
    result = dlg.load_map_file(str(path))
    assert result.complete and dlg.current_assignment().complete
    # a map pointing to streams that are not there says so, without raising
    missing = tmp_path / "missing.toml"
    missing.write_text('[patient]\neda = { stream = "NoSuchStream*" }\n', encoding="utf-8")
    result = dlg.load_map_file(str(missing))
    assert not result.complete
    assert "NoSuchStream" in dlg.problems.text()
    # choosing the table gives a startable source choice
    dlg.load_map_file(str(path))
    dlg.use_table()
    assert dlg.choice is not None and dlg.choice.kind == "lsl"
    assert dlg.choice.assignment.complete and len(dlg.choice.found) >= 4
    dlg.wait_idle()


def test_dialog_choice_starts_the_console_on_the_mapped_streams(qtbot, dyad, uid, tmp_path):
    prefix, _ = dyad
    w = _window(qtbot, uid, tmp_path)
    try:
        dlg = w.open_streams()
        qtbot.waitUntil(
            lambda: sum(d.name.startswith(prefix) for d, _ in dlg.found) == 4, timeout=15_000
        )
        dlg.apply_assignment(
            assign(
                [d for d, _ in dlg.found],
                roles={"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"},
            )
        )
        dlg.use_table()
        qtbot.waitUntil(lambda: w.controller.session is not None, timeout=15_000)
        qtbot.waitUntil(lambda: min(w.traces.samples_shown.values()) > 50, timeout=10_000)
        names = {c.stream.name for c in w.controller.session.assignment.channels}
        assert names == {
            f"{prefix}-{r}-{m}" for r in ("patient", "clinician") for m in ("EDA", "PPG")
        }
    finally:
        _close(qtbot, w)


def test_worker_thread_failure_is_shown(qtbot, dyad, uid, tmp_path):
    prefix, _ = dyad
    w = _window(qtbot, uid, tmp_path)
    try:
        roles = {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
        w.start_source(SourceChoice(roles=roles, wait_s=10.0))
        qtbot.waitUntil(lambda: w.snapshot is not None, timeout=15_000)

        def broken_tick():
            raise RuntimeError("DSP exploded")

        w.controller.session.engine.tick = broken_tick
        qtbot.waitUntil(lambda: "DSP exploded" in w.message.text(), timeout=15_000)
        assert "RuntimeError" in w.message.text() and w.dismiss.isVisible()
        # the last numbers are withdrawn, not left standing as if current
        qtbot.waitUntil(lambda: w.meter.state.text == "no new data", timeout=15_000)
        assert w.table.values[("patient", "hr_bpm")].text() == "–"
    finally:
        _close(qtbot, w)


def test_unassignable_streams_and_failed_source_are_shown(qtbot, uid, tmp_path):
    from devices.source import ProcessSource

    w = _window(qtbot, uid, tmp_path)
    try:
        # a child source that fails at once (bad option) and roles that match nothing yet:
        # the rows say what they wait for, the failed source is one line
        src = ProcessSource(attune_command(["simulate", "--coupling", "7"]), "broken simulator")
        w.start_source(
            SourceChoice(roles={"patient": f"Nope{uid}*", "clinician": f"Nada{uid}*"}), src
        )
        qtbot.waitUntil(
            lambda: any("broken simulator stopped" in e for e in w.errors), timeout=15_000
        )
        qtbot.waitUntil(lambda: w.snapshot is not None, timeout=15_000)
        assert w.traces.waiting[("patient", "eda")] == (
            f"waiting for the patient's EDA: Nope{uid}*"
        )
        assert not any(f"Nope{uid}" in e for e in w.errors)  # waiting is not an error
        # with a limit (a scripted run: --wait) the wait ends in one line
        w.start_source(
            SourceChoice(roles={"patient": f"Nope{uid}*", "clinician": f"Nada{uid}*"}, wait_s=1.0)
        )
        qtbot.waitUntil(lambda: any(f"Nope{uid}" in e for e in w.errors), timeout=15_000)
        assert "stream assignment incomplete after 1 s" in w.message.text()
        # no --role for the clinician: no stream can ever complete it (at once, one line)
        w.start_source(SourceChoice(roles={"patient": f"Nope{uid}*"}))
        qtbot.waitUntil(lambda: "no --role clinician" in w.message.text(), timeout=10_000)
        assert w.controller.session is None
        assert w.status.text() == "not connected"
        # a broken map file is one line, not a crash
        bad = tmp_path / "bad.toml"
        bad.write_text("['the therapist']\neda = 'x'\n", encoding="utf-8")  # not one word
        w.start_source(SourceChoice(map_path=str(bad), wait_s=0.5))
        qtbot.waitUntil(lambda: "unknown section" in w.message.text(), timeout=10_000)
    finally:
        _close(qtbot, w)


def test_settings_round_trip(tmp_path):
    from PySide6.QtCore import QSettings

    from app.gui.theme import load_settings, save_settings

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    s = ConsoleSettings(trace_window_s=500, theme="dark", last_map_file="/x/m.toml")
    save_settings(s.with_window(s.trace_window_s), store)
    got = load_settings(store)
    assert got.trace_window_s == 120 and got.theme == "dark" and got.last_map_file == "/x/m.toml"
    store.setValue("theme", "purple")
    assert load_settings(store).theme == "light"


def test_attune_demo_screenshot_and_settings(qtbot, tmp_path):
    """``attune demo --duration S --screenshot F`` path: window on the child simulator, PNG saved,
    settings persisted (into a temporary QSettings location)."""
    import argparse

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QImage

    from app.gui.launch import run_demo
    from app.gui.theme import load_settings

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    shot = tmp_path / "shot.png"
    args = argparse.Namespace(
        duration=8.0, screenshot=str(shot), seed=2, coupling=0.8, lag=2.0, artifacts=False
    )
    assert run_demo(args) == 0
    img = QImage(str(shot))
    assert not img.isNull() and img.width() >= 800 and img.height() >= 500
    qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
    assert load_settings().trace_window_s == 30.0 and load_settings().geometry


def test_switching_source_while_connecting_never_waits(qtbot, dyad, uid, tmp_path):
    import time

    prefix, _ = dyad
    w = _window(qtbot, uid, tmp_path)
    try:
        first = SimulatorSource(DyadSimConfig(seed=6), prefix=f"GuiA{uid}")
        # roles that match nothing: the first attempt keeps looking for 5 s
        w.start_source(
            SourceChoice(roles={"patient": f"None{uid}*", "clinician": f"Nil{uid}*"}, wait_s=5.0),
            first,
        )
        qtbot.waitUntil(lambda: first._thread is not None, timeout=5_000)
        t0 = time.monotonic()
        roles = {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
        w.start_source(SourceChoice(roles=roles, wait_s=10.0))
        assert time.monotonic() - t0 < 1.0  # the GUI did not wait for the first attempt
        qtbot.waitUntil(lambda: w.controller.session is not None, timeout=15_000)
        # the abandoned attempt stops its own source when its search ends
        qtbot.waitUntil(lambda: not first._thread.is_alive(), timeout=15_000)
        assert not any(f"None{uid}" in e for e in w.errors)  # its failure is not reported
    finally:
        _close(qtbot, w)


def test_streams_dialog_simulated_dyad_is_prerolled_and_labelled(qtbot, uid, tmp_path):
    """Dialog button -> child simulator -> a working, labelled meter within seconds, as the
    demo (no 150 s warm-up); the HR coherence says plainly it has no test yet."""
    import time

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from app.preroll import PREROLL_LABEL, PREROLL_S

    w = _window(qtbot, uid, tmp_path)
    try:
        dlg = w.open_streams()
        (button,) = [b for b in dlg.findChildren(QPushButton) if b.text() == "Simulated dyad"]
        t0 = time.monotonic()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.meter.state.active and w.hr_meter.state.active, timeout=40_000)
        took = time.monotonic() - t0
        snap = w.snapshot
        assert snap.preroll_s == PREROLL_S and not snap.dyad.warming_up
        assert snap.dyad.elapsed_s >= w.controller.config.dyad.warmup_s > took
        label = f"{PREROLL_LABEL}, first {PREROLL_S:.0f} s"
        assert w.meter.state.tag == label and w.hr_meter.state.tag == label
        assert w.controller.choice.preroll is not None  # the session's own history
        assert "shuffled pairings" in w.meter.state.status  # tested on that history
        hr = w.hr_meter.state
        assert hr.detail.startswith("HR coherence LF ") and "not enough data" in hr.detail_status
        assert not hr.detail_highlight
        assert not w.meter.grab().toImage().isNull()
    finally:
        _close(qtbot, w)
