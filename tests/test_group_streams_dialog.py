"""The Streams dialog (F2) of the group console: the two-person console's dialog for the
group's people, showing every person's streams as the session assigned them and the visible
LSL streams; a missing signal is named; accepted, a running recording is saved and the
session restarts on the table's streams. Then the patient screen (P) of the group. Offscreen Qt, real LSL loopback, a
screenshot saved for looking at."""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine import EngineConfig  # noqa: E402
from app.gui.dialogs import NONE  # noqa: E402
from app.gui.group_window import GroupWindow  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.sources import SourceChoice  # noqa: E402
from devices.group_source import GroupSimulatorSource  # noqa: E402
from dsp.simulate_group import GroupSimConfig  # noqa: E402

pytestmark = [pytest.mark.lsl]

PEOPLE = ("mother", "father", "child")


def _attune_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("attune-") and t.is_alive()]


def _rows(dlg, prefix: str) -> dict[str, tuple[str, str]]:
    """Stream name -> (role, signal) shown, for this test's streams."""
    out = {}
    for r, (d, _) in enumerate(dlg.found):
        if d.name.startswith(prefix):
            out[d.name] = (dlg.table.cellWidget(r, 6).currentText(),
                           dlg.table.cellWidget(r, 7).currentText())  # fmt: skip
    return out


def _patient_screen(window, qtbot) -> None:
    """P opens the patient screen: the first person's HR; "moving together" only while the
    matrix marks the selected pair after Holm, not on the pair's own uncorrected rule."""
    window.activateWindow()  # the Streams dialog was the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_P)
    pw = window.patient_window
    assert pw is not None and pw.isVisible() and pw.person == "mother"
    snap = window.snapshot
    persons = dict(snap.persons)  # whose HR: the mother's, shown only while valid
    for i, name in enumerate(PEOPLE):
        persons[name] = replace(persons[name], hr_bpm=70.0 + i, hr_valid=True)
    pw.on_snapshot(replace(snap, persons=MappingProxyType(persons)))
    assert pw.hr == 70.0
    persons["mother"] = replace(persons["mother"], hr_valid=False)
    pw.on_snapshot(replace(snap, persons=MappingProxyType(persons)))
    assert pw.hr != pw.hr
    g = snap.group
    d = replace(snap.dyad, warming_up=False, valid=True, ci_rolling=1.2, highlight=True)
    idx = next(i for i, pc in enumerate(g.pairs) if {pc.a, pc.b} == set(snap.pair))

    def with_mark(coupled: bool):
        pairs = list(g.pairs)
        pairs[idx] = replace(pairs[idx], coupled=coupled)
        return replace(snap, dyad=d, group=replace(g, pairs=tuple(pairs)))

    pw.on_snapshot(with_mark(False))  # the pair's own rule holds, the matrix's does not
    assert pw.active and not pw.beyond_chance
    pw.on_snapshot(with_mark(True))
    assert pw.beyond_chance
    window.activateWindow()  # the patient screen was the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_P)
    assert not pw.isVisible()


def test_group_streams_dialog_shows_everyone_and_restarts_on_the_table(qtbot, tmp_path) -> None:
    token = uuid.uuid4().hex[:8]
    prefix = f"GrpF2{token}"
    controller = SessionController(
        EngineConfig(publish_metrics=False),
        marker_name=f"Markers-{token}", marker_source_id=f"markers-{token}",
    )  # fmt: skip
    window = GroupWindow(controller, PEOPLE, 30.0, session_dir=str(tmp_path))
    source = GroupSimulatorSource(GroupSimConfig(people=PEOPLE, seed=8), prefix=prefix)
    choice = SourceChoice(roles={p: f"{prefix}-{p}-*" for p in PEOPLE}, people=PEOPLE,
                          description="test group")  # fmt: skip
    shot = Path(os.environ.get("ATTUNE_SHOT_DIR", str(tmp_path))) / "group_streams_dialog.png"
    try:
        source.start()
        window.show()
        window.start_source(choice)
        qtbot.waitUntil(
            lambda: window.snapshot is not None and not window.snapshot.waiting, timeout=15_000
        )
        QTest.keyClick(window, Qt.Key.Key_F2)  # the console's key, as in the two-person one
        dlg = window.assign_dialog
        assert dlg is not None and dlg.people == PEOPLE
        qtbot.waitUntil(lambda: dlg._filled_once and bool(_rows(dlg, prefix)), timeout=10_000)
        want = {f"{prefix}-{p}-{m.upper()}": (p, m) for p in PEOPLE for m in ("eda", "ppg")}
        assert _rows(dlg, prefix) == want  # every person's assignment, from the session
        roles = [dlg.table.cellWidget(0, 6).itemText(i)
                 for i in range(dlg.table.cellWidget(0, 6).count())]  # fmt: skip
        assert roles == [NONE, *PEOPLE]
        assert dlg.problems.text() == "Complete: every person has EDA and a cardiac signal."
        assert "mother, father, child" in dlg.windowTitle()
        hidden = [b.text() for b in dlg.findChildren(type(window.streams_button))
                  if not b.isVisible()]  # fmt: skip
        assert {"Simulated dyad", "Replay a recording…", "Remote patient…"} <= set(hidden)
        dlg.grab().save(str(shot))
        assert shot.stat().st_size > 10_000
        # the child's EDA taken away: named as missing, "Use these streams" disabled
        dlg.set_row(f"{prefix}-child-EDA", NONE, NONE)
        assert "child" in dlg.problems.text() and dlg.problems.text().startswith("Not complete")
        assert not dlg.buttons.buttons()[0].isEnabled()
        dlg.set_row(f"{prefix}-child-EDA", "child", "eda")
        old = window.session
        window.bar.toggle_recording()  # a recording running when the streams change
        folder = controller.folder.path
        dlg.use_table()
        assert not window.bar.recording and (folder / "recording.xdf").stat().st_size > 0
        new = dlg.choice
        assert new.people == PEOPLE and new.assignment.people == PEOPLE
        assert {(c.role, c.modality) for c in new.assignment.channels} == set(want.values())
        qtbot.waitUntil(lambda: window.session is not None and window.session is not old,
                        timeout=15_000)  # fmt: skip

        def everyone() -> bool:
            s = window.snapshot
            return (s is not None and s.dyad is not None and not s.waiting and all(
                s.persons.get(p) is not None and np.isfinite(s.persons[p].eda_last_t)
                for p in PEOPLE))  # fmt: skip

        qtbot.waitUntil(everyone, timeout=15_000)
        assert window.session.engine.people == PEOPLE
        _patient_screen(window, qtbot)
    finally:
        window.close()
        source.stop()
        qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
        window.deleteLater()


def test_declared_pairs_choose_the_big_meters_pair(qtbot, tmp_path) -> None:
    """A map file's ``pairs`` (the choice's declared pairs) choose the big meters' pair in
    the window and in the engine the controller starts (the headless view's too); without
    them, the clinician's first pair."""
    from app.controller import LiveController
    from app.group_engine import default_pair

    people = ("mother", "father", "child", "clinician")
    assert default_pair(people) == ("mother", "clinician")
    assert default_pair(people, ("child-father", "mother-clinician")) == ("father", "child")
    token = uuid.uuid4().hex[:8]
    prefix = f"GrpPairs{token}"
    controller = SessionController(
        EngineConfig(publish_metrics=False),
        marker_name=f"Markers-{token}", marker_source_id=f"markers-{token}",
    )  # fmt: skip
    window = GroupWindow(controller, people, 30.0, session_dir=str(tmp_path))
    source = GroupSimulatorSource(GroupSimConfig(people=people, seed=9), prefix=prefix)
    choice = SourceChoice(roles={p: f"{prefix}-{p}-*" for p in people}, people=people,
                          pairs=("child-father",), description="test group")  # fmt: skip
    try:
        assert window.pair_box.currentData() == ("mother", "clinician")
        source.start()
        window.show()
        window.start_source(choice)
        assert window.pair_box.currentData() == ("father", "child")
        qtbot.waitUntil(lambda: window.session is not None, timeout=15_000)
        assert set(window.session.engine.pair) == {"father", "child"}
        window.close()
        headless = LiveController(EngineConfig(publish_metrics=False))  # as `run --headless`
        try:
            assert headless.connect(choice).engine.pair == ("father", "child")
        finally:
            headless.stop()
    finally:
        window.close()
        source.stop()
        qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
        window.deleteLater()
