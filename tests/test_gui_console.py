"""The clinician console over a live simulated dyad (pytest-qt, offscreen, real LSL loopback).

One console runs for the module (the concordance warm-up needs tens of seconds of live data):
traces fill, the meter leaves "warming up", T/L/M hotkeys reach the Markers outlet (read back
with a real pylsl inlet), the baseline ritual stores values, and a killed stream turns "lost"
and recovers. Qt warnings fail the tests; every attune thread and timer must be gone at the
end.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from app.engine import EngineConfig  # noqa: E402
from app.gui.compat import none_refcount_leak  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.gui.theme import ConsoleSettings  # noqa: E402
from app.sources import SourceChoice  # noqa: E402
from devices.health import HealthState  # noqa: E402
from devices.source import SimulatorSource  # noqa: E402
from dsp.concordance import DyadConfig  # noqa: E402
from dsp.params import MethodParams  # noqa: E402
from dsp.simulate import DyadSimConfig  # noqa: E402

pytestmark = [
    pytest.mark.lsl,
    pytest.mark.qt_log_level_fail("WARNING"),
    # the offscreen platform plugin itself warns about window size hints; not ours
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]

WARMUP_S = 30.0


def _attune_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("attune-") and t.is_alive()]


def _config(token: str) -> EngineConfig:
    return EngineConfig(
        tick_s=0.5,
        dyad=DyadConfig(
            warmup_s=WARMUP_S,
            surrogate_every_s=5.0,
            method=MethodParams(min_shift_s=5.0, rolling_n=10),
        ),
        metrics_source_id=f"metrics-{token}",
    )


class Console:
    """A console window on an in-process simulated dyad with unique stream names."""

    def __init__(self, qtbot, tmp_path, baseline_s: float = 3.0) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.prefix = f"GuiT{self.token}"
        self.marker_sid = f"markers-{self.token}"
        self.source = SimulatorSource(DyadSimConfig(seed=3, coupling=0.9), prefix=self.prefix)
        self.controller = SessionController(
            _config(self.token),
            marker_name=f"Markers-{self.token}",
            marker_source_id=self.marker_sid,
        )
        settings = ConsoleSettings(session_dir=str(tmp_path / "sessions"))
        self.window = MainWindow(self.controller, settings, baseline_s=baseline_s, persist=False)
        self.window.resize(1280, 800)
        self.window.show()
        roles = {"patient": f"{self.prefix}-patient-*", "clinician": f"{self.prefix}-clinician-*"}
        self.window.start_source(
            SourceChoice(kind="simulated", roles=roles, wait_s=15.0, description="test dyad"),
            self.source,
        )
        qtbot.waitUntil(lambda: self.controller.session is not None, timeout=20_000)

    def close(self, qtbot) -> None:
        self.window.close()
        qtbot.waitUntil(lambda: not _attune_threads(), timeout=15_000)
        active = [t for t in self.window.findChildren(QTimer) if t.isActive()]
        active += [t for t in self.controller.findChildren(QTimer) if t.isActive()]
        assert not active, f"timers left running: {[t.objectName() or t for t in active]}"
        self.window.deleteLater()


@pytest.fixture(scope="module")
def console(qapp, tmp_path_factory, request):
    """The shared console (module scope); closed and checked for leftovers at the end."""
    from pytestqt.qtbot import QtBot

    bot = QtBot(request)
    c = Console(bot, tmp_path_factory.mktemp("console"))
    yield c, bot
    c.close(bot)
    assert not _attune_threads()


def test_pyside_none_refcount_is_harmless():
    """The work-around in app.gui.compat keeps None alive whatever the binding does."""
    import sys

    leak = none_refcount_leak(2000)
    assert sys.getrefcount(None) > 1 << 39 or leak == 0


def test_traces_receive_data(console):
    c, bot = console
    w = c.window
    bot.waitUntil(lambda: all(n > 100 for n in w.traces.samples_shown.values()), timeout=15_000)
    ppg = w.traces.curves[("patient", "cardiac")].getData()[1]
    eda = w.traces.curves[("clinician", "eda")].getData()[1]
    assert np.isfinite(ppg).sum() > 128 and np.isfinite(eda).sum() > 32
    # the x axis is seconds before now, shared by every row
    x = w.traces.curves[("patient", "eda")].getData()[0]
    assert -w.settings.trace_window_s - 1 <= x[0] and x[-1] <= 0.5
    # the engine's snapshots reach the window through the bridge
    bot.waitUntil(
        lambda: w.snapshot is not None and w.snapshot.persons.get("patient") is not None,
        timeout=10_000,
    )
    assert set(w.health.states().values()) == {HealthState.CONNECTED}
    assert len(w.frame_times) > 10
    # the tests confine LSL to this machine, and the console says so
    assert w.lsl_scope.text() == "LSL: this machine only"


def test_marker_hotkeys_reach_the_markers_outlet(console):
    import pylsl

    c, bot = console
    w = c.window
    w.activateWindow()
    w.setFocus()
    outlet = c.controller.marker_outlet()
    infos = pylsl.resolve_byprop("source_id", c.marker_sid, 1, 10.0)
    assert infos, "Markers outlet not visible"
    assert infos[0].type() == "Markers" and infos[0].nominal_srate() == 0
    inlet = pylsl.StreamInlet(infos[0], recover=False)
    try:
        inlet.open_stream(timeout=5.0)
        bot.waitUntil(outlet.have_consumers, timeout=5_000)
        t0 = pylsl.local_clock()
        for key in (Qt.Key.Key_T, Qt.Key.Key_L, Qt.Key.Key_M):
            bot.keyClick(w, key)
        bot.keyClicks(w.note, "patient sighs")
        bot.keyClick(w.note, Qt.Key.Key_Return)
        got = []
        deadline = time.monotonic() + 10.0
        while len(got) < 4 and time.monotonic() < deadline:
            sample, ts = inlet.pull_sample(timeout=0.5)
            if sample is not None:
                got.append((sample[0], ts))
    finally:
        inlet.close_stream()
        del inlet
    texts = [g[0] for g in got]
    assert texts == [
        "T: clinician talking",
        "L: clinician listening",
        "M: moment",
        "M: moment: note 1",  # the note's words stay on this machine
    ]
    assert [(n.number, n.text) for n in c.controller.notes.notes] == [(1, "patient sighs")]
    assert all("sighs" not in t for t in texts)
    assert all(ts >= t0 - 0.01 for _, ts in got)
    assert got[3][1] == pytest.approx(got[2][1], abs=1e-6)  # the note carries the moment's time
    # drawn on the traces too
    assert [m[1] for m in w.traces.markers[-3:]] == ["T", "L", "M"]


def test_meter_leaves_warming_up(console):
    c, bot = console
    w = c.window
    assert w.meter.state.text in ("warming up", "waiting for data")
    assert not w.meter.state.active
    bot.waitUntil(
        lambda: (
            w.snapshot is not None
            and w.snapshot.dyad is not None
            and not w.snapshot.dyad.warming_up
        ),
        timeout=int((WARMUP_S + 40) * 1000),
    )
    bot.waitUntil(lambda: w.meter.state.text != "warming up", timeout=5_000)
    d = w.snapshot.dyad
    st = w.meter.state
    if d.valid:
        assert st.active
        assert st.text in (f"{d.ci_rolling:+.2f}", "all together", "all apart")
        assert st.band == (d.chance_lo, d.chance_hi)
    else:
        assert not st.active and st.text == "paused"
    assert "empathy" not in st.text.lower() + st.status.lower()
    assert "not a measure of empathy" in w.meter.toolTip()


def test_baseline_ritual_stores_values_and_shows_change(console):
    c, bot = console
    w = c.window
    dlg = w.open_baseline()
    dlg.pacer_box.setChecked(True)
    dlg.start_button.click()
    bot.waitUntil(lambda: bool(w.baseline), timeout=15_000)
    hr = w.baseline["patient"]["hr_bpm"]
    assert 40 < hr < 140
    bot.waitUntil(
        lambda: w.table.deltas[("patient", "hr_bpm")].text().startswith("Δ"), timeout=5_000
    )


def test_session_records_streams_and_markers(console):
    from devices.xdf_reader import load_recording

    c, bot = console
    w = c.window
    # the acquisition follows the console's own Markers outlet, so the recorder gets it
    bot.waitUntil(c.controller.marker_outlet().have_consumers, timeout=10_000)
    w.patient_code.setText("P012")
    w.clinician_code.setText("C003")
    w.toggle_session()
    assert c.controller.recorder is not None and w.rec.text() == "● REC"
    bot.wait(800)
    w.mark("L")  # the hotkeys themselves are tested above
    assert c.controller.markers.sent[-1].text == "L: clinician listening"
    w.mark("M")
    w.note.setText("P012 cried")
    w._send_note()
    bot.wait(1500)
    w.toggle_session()
    assert c.controller.recorder is None
    rec = load_recording(c.controller.recording_path)
    by_type = {}
    for s in rec.streams:
        by_type.setdefault(s.type, []).append(s)
    assert len(by_type.get("PPG", [])) == 2 and len(by_type.get("EDA", [])) == 2
    metrics = [s for s in by_type.get("Metrics", []) if s.source_id == f"metrics-{c.token}"]
    assert metrics and len(metrics[0].timestamps) >= 2  # the engine's metrics, 2 per second
    markers = [s for s in by_type.get("Markers", []) if s.source_id == c.marker_sid]
    assert markers and "L: clinician listening" in [str(v[0]) for v in markers[0].values]
    assert "saved" in w.status.text()
    # session.json beside the recording: codes, map, parameters, times; owner-only
    import json
    import stat

    sj = c.controller.recording_path.with_name("session.json")
    meta = json.loads(sj.read_text())
    assert meta["patient"] == "P012" and meta["clinician"] == "C003"
    assert meta["started_at"] and meta["ended_at"] and meta["recorded_samples"] > 0
    assert {s["role"] for s in meta["streams"]} == {"patient", "clinician"}
    assert "[patient]" in meta["stream_map_toml"]
    assert (
        meta["dsp_parameters"]["dyad"]["warmup_s"]
        == c.controller.session.engine.config.dyad.warmup_s
    )
    assert stat.S_IMODE(sj.stat().st_mode) == 0o600
    assert c.controller.recording_path.parent.name.endswith("_P012_C003")
    # the note stays in the session folder (0600); the network only saw its number
    notes = c.controller.recording_path.with_name("moment_notes.jsonl")
    assert stat.S_IMODE(notes.stat().st_mode) == 0o600
    assert json.loads(notes.read_text().splitlines()[0])["text"] == "P012 cried"
    sent = [str(v[0]) for v in markers[0].values]
    assert "M: moment: note 1" in sent and not any("cried" in t for t in sent)
    # participant codes appear in no stream's metadata
    assert not any("P012" in s.header_xml or "C003" in s.header_xml for s in rec.streams)


def test_patient_screen_shows_only_the_chosen_view(console):
    c, bot = console
    w = c.window
    w.toggle_patient_screen()
    pw = w.patient_window
    assert pw is not None and pw.isVisible() and pw.timer.isActive()
    w._patient_actions["pacer"].setChecked(True)
    assert pw.options.pacer and pw.options.concordance and not pw.options.heart_rate
    # long enough for the whole warm-up: the test must not rely on running after the others
    bot.waitUntil(
        lambda: pw.active or w.meter.state.text != "warming up",
        timeout=int((WARMUP_S + 20.0) * 1000),
    )
    img = pw.grab()
    assert not img.isNull()
    assert not pw.findChildren(type(w.session_button))  # no controls on the patient screen
    w.toggle_patient_screen()
    assert not pw.isVisible() and not pw.timer.isActive()


def test_killed_stream_turns_lost_and_recovers(console):
    c, bot = console
    w = c.window
    bot.waitUntil(
        lambda: set(w.health.states().values()) == {HealthState.CONNECTED}, timeout=10_000
    )
    c.source.stop()  # every outlet of the dyad disappears
    bot.waitUntil(
        lambda: (
            set(w.health.states().values())
            <= {HealthState.LOST, HealthState.STALE, HealthState.RECONNECTING}
        ),
        timeout=15_000,
    )
    bot.waitUntil(lambda: HealthState.LOST in w.health.states().values(), timeout=15_000)
    assert not w.traces.active[("patient", "cardiac")]
    c.source = SimulatorSource(DyadSimConfig(seed=4), prefix=c.prefix)
    c.controller.live.source = c.source
    c.source.start()
    bot.waitUntil(
        lambda: set(w.health.states().values()) == {HealthState.CONNECTED}, timeout=20_000
    )
    assert w.traces.active[("patient", "cardiac")]
    snap = w.snapshot
    assert all(h.reconnects >= 1 for h in snap.health.values() if h.key in snap.channels.values())
