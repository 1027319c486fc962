"""app.controller.LiveController without Qt: real LSL over loopback, a real recording."""

from __future__ import annotations

import json
import threading
import time

import pytest
import pyxdf

from app.controller import LiveController
from app.engine import EngineConfig
from app.live import AssignmentError
from app.sources import SourceChoice, SourceKind, attune_command, role_globs
from devices.source import ProcessSource, SimulatorSource
from dsp.simulate import DyadSimConfig

pytestmark = pytest.mark.lsl


def _wait(pred, timeout: float) -> bool:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_connect_markers_record_stop(uid, tmp_path) -> None:
    prefix = f"CtlT{uid}"
    control = LiveController(
        EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
        marker_name=f"Markers-{uid}",
        marker_source_id=f"markers-{uid}",
    )
    events: list[str] = []
    control.on_status = events.append
    control.on_started = lambda s: events.append("started")
    source = SimulatorSource(DyadSimConfig(seed=2), prefix=prefix)
    try:
        control.marker_outlet()  # the console creates it first, so recordings hold it
        control.start(SourceChoice(kind=SourceKind.SIMULATED, roles=role_globs(prefix),
                                   wait_s=30.0, description="test dyad"), source)  # fmt: skip
        assert _wait(lambda: control.session is not None, 40.0), events
        assert events[0] == "connecting: test dyad" and "started" in events
        assert _wait(lambda: control.session.engine.last_snapshot is not None, 10.0)
        path = control.start_recording(tmp_path / "sessions", "P7", "C2")
        assert path.name == "recording.xdf" and path.parent.name.endswith("_P7_C2")
        time.sleep(1.5)
        control.markers.push("T")  # sends "T: clinician talking"
        time.sleep(2.0)
        summary = control.stop_recording(baseline={"patient": {"hr_bpm": 71.0}}, notes="ok")
        assert summary is not None and control.recorder is None
    finally:
        control.shutdown()
    assert control.session is None and control.source is None
    assert not [t for t in threading.enumerate() if t.name.startswith("attune-") and t.is_alive()]
    record = json.loads((path.parent / "session.json").read_text())
    assert record["patient"] == "P7" and record["notes"] == "ok"
    assert record["baseline"]["patient"]["hr_bpm"] == 71.0
    streams, _ = pyxdf.load_xdf(str(path))
    names = {s["info"]["name"][0] for s in streams}
    assert f"{prefix}-patient-EDA" in names and f"Markers-{uid}" in names
    marks = next(s for s in streams if s["info"]["name"][0] == f"Markers-{uid}")
    assert ["T: clinician talking"] in [list(v) for v in marks["time_series"]] or any(
        "clinician talking" in str(v) for v in marks["time_series"]
    )


def test_connect_fails_in_one_line_and_a_broken_source_is_reported(uid) -> None:
    control = LiveController(EngineConfig(metrics_source_id=f"metrics-{uid}"))
    errors: list[str] = []
    control.on_error = errors.append
    # a scripted limit (--wait): the session waits, then gives up in one line per signal
    session = control.connect(SourceChoice(roles={"patient": f"Nope{uid}*",
                                                  "clinician": f"Nada{uid}*"}, wait_s=0.5))  # fmt: skip
    assert _wait(lambda: errors, 10.0)
    (line,) = errors
    assert line.startswith("stream assignment incomplete after 0.5 s: ")
    assert f"waiting for the patient's EDA: Nope{uid}*" in line
    assert f"waiting for the clinician's PPG/ECG: Nada{uid}*" in line
    assert "'attune streams' lists them" in line and not session.complete
    errors.clear()

    # no --role for the clinician: nothing can ever complete it, so it fails at once
    broken = ProcessSource(attune_command(["simulate", "--coupling", "7"]), "broken simulator")
    with pytest.raises(AssignmentError, match="no --role clinician=GLOB was given"):
        control.connect(SourceChoice(roles={"patient": f"X{uid}*"}), broken)
    assert _wait(lambda: broken.poll_error() is not None, 30.0)
    msg = control.check_source()
    assert msg and "coupling" in msg
    assert control.check_source() is None  # reported once
    assert errors == [f"broken simulator stopped: {msg}"]
    control.shutdown()


def test_recording_all_adds_a_stream_that_appears_after_start(uid, tmp_path) -> None:
    """Console recording = ``attune record --all``: a late stream is written from its first
    sample (every sample pushed once its inlet was open, in order), and the assigned streams
    are in the same file."""
    import numpy as np
    import pylsl

    prefix = f"CtlL{uid}"
    control = LiveController(
        EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
        marker_name=f"Markers-{uid}",
        marker_source_id=f"markers-{uid}",
    )
    source = SimulatorSource(DyadSimConfig(seed=3), prefix=prefix)
    late_name, n = f"Late{uid}", 300
    outlet = None
    try:
        control.connect(SourceChoice(kind=SourceKind.SIMULATED, roles=role_globs(prefix),
                                     wait_s=30.0, description="test dyad"), source)  # fmt: skip
        path = control.start_recording(tmp_path / "s", "P1", "C1", record_all=True)
        assert control.watcher is not None
        # the stream appears only now, after Start
        info = pylsl.StreamInfo(late_name, "Misc", 1, 100.0, "double64", f"late-{uid}")
        outlet = pylsl.StreamOutlet(info)
        assert outlet.wait_for_consumers(15.0), "the late stream was never followed"
        for i in range(n):
            outlet.push_sample([float(i)])
            if i % 20 == 19:
                time.sleep(0.2)
        time.sleep(1.0)
        keys = control.watcher.added
        summary = control.stop_recording()
        assert control.watcher is None and summary is not None and summary.error is None
    finally:
        control.shutdown()
        del outlet
    assert any(k.startswith(late_name) for k in keys)
    streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert f"{prefix}-patient-EDA" in by_name and f"{prefix}-clinician-EDA" in by_name
    late = [s for s in streams if s["info"]["name"][0] == late_name]
    assert len(late) == 1  # followed once, not once per discovery pass
    values = np.asarray(late[0]["time_series"])[:, 0]
    np.testing.assert_array_equal(values, np.arange(n, dtype=float))
