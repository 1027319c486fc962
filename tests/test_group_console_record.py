"""The group console records, marks and names its people (offscreen Qt, real LSL loopback).

Three simulated people publish over LSL, assigned as ``--role NAME=GLOB@HOST`` assigns them;
the group console (the two-person console's
``SessionController``) records them with the Record key, the who-is-talking keys and a moment
with a note; the file read back with pyxdf holds every person's streams, the markers and the
stream map (people, colours, streams); ``attune analyze`` of it without ``--role`` finds the
three people; a device that drops during the recording leaves the others recorded.
"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine import EngineConfig  # noqa: E402
from app.group_engine import GroupHistory  # noqa: E402
from app.group_live import group_choice  # noqa: E402
from app.gui.group_window import GroupWindow  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.live import assign_visible  # noqa: E402
from app.people import people_model  # noqa: E402
from devices.group_source import GroupSimulatorSource  # noqa: E402
from dsp.simulate_group import GroupSimConfig, coupling_parse  # noqa: E402

pytestmark = [pytest.mark.lsl]

PEOPLE = ("patient", "partner", "clinician")


def _attune_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("attune-") and t.is_alive()]


@pytest.fixture(scope="module")
def recorded(qapp, tmp_path_factory, request):
    """One group console session: record ~8 s with keys 1, 2, M (+ note), T; the partner's
    device drops half way; the file and the window afterwards."""
    from pytestqt.qtbot import QtBot

    bot = QtBot(request)
    token = uuid.uuid4().hex[:8]
    prefix = f"GrpRec{token}"
    cfg = GroupSimConfig(people=PEOPLE, couplings=(coupling_parse("patient-partner=0.8@2"),),
                         seed=4)  # fmt: skip
    # 2 minutes of simulated history fed at the start (as the demo's), so the baseline's
    # values are valid at once
    source = GroupSimulatorSource(cfg, prefix=prefix, start_s=120.0)
    source.start()
    controller = SessionController(
        EngineConfig(publish_metrics=False),
        marker_name=f"Markers-{token}", marker_source_id=f"markers-{token}",
    )  # fmt: skip
    root = tmp_path_factory.mktemp("group_sessions")
    window = GroupWindow(controller, PEOPLE, 30.0, baseline_s=1.5, session_dir=str(root))
    try:
        # as `attune run --role NAME=GLOB@HOST` for each person (this machine's streams)
        host = socket.gethostname()
        roles = {p: f"{prefix}-{p}-*@{host}" for p in PEOPLE}
        assignment, found = assign_visible(roles, None, 20.0, True)
        assert assignment.people == PEOPLE
        window.resize(1440, 900)
        window.show()
        history = GroupHistory(source.model, source.t0, 120.0)
        window.start_source(group_choice(assignment, found, description="test group",
                                         history=history))  # fmt: skip
        bot.waitUntil(lambda: window.snapshot is not None, timeout=20_000)

        def press(key, mod=Qt.KeyboardModifier.NoModifier) -> None:
            window.activateWindow()  # the baseline dialog may have been the active window
            # where a key really goes: the widget with the focus (none: the window)
            bot.keyClick(QApplication.focusWidget() or window, key, mod)

        press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert controller.recorder is not None
        press(Qt.Key.Key_B)  # the baseline ritual for everyone, 1.5 s here
        window.baseline_dialog.begin()
        bot.wait(1000)
        press(Qt.Key.Key_1)
        bot.wait(800)
        press(Qt.Key.Key_2)
        bot.wait(300)
        press(Qt.Key.Key_M)
        bot.keyClicks(window.bar.note, "they both laugh")
        bot.keyClick(window.bar.note, Qt.Key.Key_Return)
        source.mute("partner")  # the partner's device drops; the others go on
        bot.wait(500)
        press(Qt.Key.Key_T)  # the clinician's number
        bot.wait(2500)
        folder = controller.folder.path
        press(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert controller.recorder is None
        yield {"folder": folder, "window": window, "controller": controller, "prefix": prefix}
    finally:
        window.close()
        source.stop()
        bot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
        window.deleteLater()


def _streams(folder):
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(folder / "recording.xdf"), dejitter_timestamps=False)
    return {s["info"]["name"][0]: s for s in streams}


def test_recording_holds_every_persons_streams_markers_and_the_stream_map(recorded) -> None:
    by_name = _streams(recorded["folder"])
    prefix = recorded["prefix"]
    for p in PEOPLE:
        for mod in ("EDA", "PPG"):
            s = by_name[f"{prefix}-{p}-{mod}"]
            assert len(s["time_stamps"]) > 10, f"{p} {mod} not recorded"
    marks = [str(v[0]) for v in by_name[f"Markers-{prefix[6:]}"]["time_series"]]
    assert "M: moment: baseline end" in marks
    marks.remove("M: moment: baseline end")
    assert marks == [
        "S: patient talking",
        "S: partner talking",
        "M: moment",
        "M: moment: note 1",  # the note's words stay on this machine
        "S: clinician talking",
    ]
    smap = by_name["Attunement-StreamMap"]
    assert smap["info"]["type"][0] == "StreamMap"
    people = smap["info"]["desc"][0]["people"][0]["person"]
    colours = {p.role: p.colour for p in people_model(PEOPLE).persons}
    assert [(q["role"][0], q["colour"][0]) for q in people] == [(p, colours[p]) for p in PEOPLE]
    text = smap["time_series"][-1][0]
    host = socket.gethostname()
    for p in PEOPLE:
        assert f"[{p}]" in text and f"{prefix}-{p}-EDA" in text
    assert text.count(f'host = "{host}"') == 2 * len(PEOPLE)  # the @HOST of each stream


def test_a_dropped_device_stops_only_its_own_stream(recorded) -> None:
    by_name = _streams(recorded["folder"])
    prefix = recorded["prefix"]
    last = {p: float(by_name[f"{prefix}-{p}-EDA"]["time_stamps"][-1]) for p in PEOPLE}
    # the others were recorded for seconds after the partner's device went quiet
    assert last["patient"] - last["partner"] > 2.0
    assert last["clinician"] - last["partner"] > 2.0
    # (the live side, the pairs of the others going on, is tests/test_group_live.py's)


def test_session_json_and_analysis_without_roles_know_the_people(recorded, tmp_path) -> None:
    import json

    from app.analysis import AnalysisOptions, analyze_file

    sj = json.loads((recorded["folder"] / "session.json").read_text())
    assert [s["role"] for s in sj["streams"]].count("partner") == 2
    # the baseline of everyone: each person's medians (null where no valid value came yet)
    assert set(sj["baseline"]) == set(PEOPLE)
    assert set(sj["baseline"]["partner"]) >= {"hr_bpm", "rmssd_ms", "scl_us"}
    for p in PEOPLE:  # the simulated people's heart rates (about 60-90 bpm)
        assert 50 < sj["baseline"][p]["hr_bpm"] < 100 and sj["baseline"][p]["scl_us"] > 0
    a = analyze_file(recorded["folder"] / "recording.xdf", AnalysisOptions(formats=()))
    assert a.people == PEOPLE
    assert {c.role for c in a.channels} == set(PEOPLE)
    assert any("stream map" in n for n in a.notes)
    labels = [lab for _, _, lab in a.intervals]
    assert labels[:2] == ["patient talking", "partner talking"]
