"""The group console started before anyone's wearables (``attune run --role NAME=GLOB ...``
without ``--wait``): the table says whose signals it waits for, each person is connected when
their streams appear, and a recording started while waiting ends with everyone's stream map
(offscreen Qt, real LSL loopback)."""

from __future__ import annotations

import json
import threading
import uuid

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.engine import EngineConfig  # noqa: E402
from app.gui.group_window import GroupWindow  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.sources import SourceChoice  # noqa: E402
from app.waiting import wanted_signals  # noqa: E402
from devices.group_source import GroupSimulatorSource  # noqa: E402
from devices.stream_map import stored_map  # noqa: E402
from devices.xdf_reader import load_recording  # noqa: E402
from dsp.concordance.group import GroupSignal  # noqa: E402
from dsp.simulate_group import GroupSimConfig  # noqa: E402

pytestmark = [pytest.mark.lsl]

PEOPLE = ("mother", "father", "child")


def _attune_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("attune-") and t.is_alive()]


def test_wanted_signals_name_every_person_of_a_group() -> None:
    roles = {p: f"{p}-*" for p in PEOPLE}
    got = [(w.role, w.signal, w.what) for w in wanted_signals(roles, None)]
    assert got == [(p, s, f"{p}-*") for p in PEOPLE for s in ("eda", "cardiac")]
    # the two-person session is unchanged: its two roles, the missing one impossible
    two = wanted_signals({"patient": "A*"}, None)
    assert [(w.role, w.impossible) for w in two] == [
        ("patient", False), ("patient", False), ("clinician", True), ("clinician", True),
    ]  # fmt: skip


def test_group_console_started_first_connects_everyone_and_records_their_map(
    qtbot, tmp_path
) -> None:
    token = uuid.uuid4().hex[:8]
    prefix = f"GrpAny{token}"
    controller = SessionController(
        EngineConfig(publish_metrics=False),
        marker_name=f"Markers-{token}", marker_source_id=f"markers-{token}",
    )  # fmt: skip
    window = GroupWindow(controller, PEOPLE, 30.0, session_dir=str(tmp_path))
    source = GroupSimulatorSource(GroupSimConfig(people=PEOPLE, seed=6), prefix=prefix)
    choice = SourceChoice(roles={p: f"{prefix}-{p}-*" for p in PEOPLE}, people=PEOPLE,
                          description="test group")  # fmt: skip
    try:
        window.show()
        window.start_source(choice)
        qtbot.waitUntil(lambda: window.snapshot is not None, timeout=15_000)
        col = window.table.columnCount() - 1
        words = [window.table.item(i, col).text() for i in range(len(PEOPLE))]
        assert words == [f"waiting for EDA: {prefix}-{p}-*; waiting for PPG/ECG: {prefix}-{p}-*"
                         for p in PEOPLE]  # fmt: skip
        assert window.status.text().startswith("waiting for 6 signals")
        window.bar.toggle_recording()  # recording before anyone's streams are there
        assert controller.recorder is not None
        source.start()  # the wearables come on

        def everyone() -> bool:
            s = window.snapshot
            return not s.waiting and all(
                s.persons.get(p) is not None and np.isfinite(s.persons[p].eda_last_t)
                for p in PEOPLE
            )

        qtbot.waitUntil(everyone, timeout=25_000)
        assert window.table.item(2, col).text() == "delivering"
        # the matrix's switch: the HR button shows the HR matrix of the same snapshot
        window.signal_buttons[GroupSignal.HR].click()
        m = window.matrix
        assert m.signal is GroupSignal.HR and m.metrics is m.group.hr is not None
        assert m.metrics.signal is GroupSignal.HR and m.metrics.people == PEOPLE
        assert not window.signal_buttons[GroupSignal.EDA].isChecked()
        window.signal_buttons[GroupSignal.EDA].click()
        assert m.metrics is m.group and window.signal_buttons[GroupSignal.EDA].isChecked()
        qtbot.wait(1000)
        folder = controller.folder.path
        window.bar.toggle_recording()
    finally:
        window.close()
        source.stop()
        qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
        window.deleteLater()
    smap = stored_map(load_recording(folder / "recording.xdf").streams)
    assert smap is not None and smap.people == PEOPLE
    sj = json.loads((folder / "session.json").read_text())
    assert sorted((s["role"], s["modality"]) for s in sj["streams"]) == sorted(
        (p, m) for p in PEOPLE for m in ("eda", "ppg")
    )
