"""Start in any order: the app first, the wearables later (issue 18, item 6).

Real LSL outlets over loopback: streams that appear late (a few seconds, and once 30 s),
signals that appear one by one among 40 unrelated streams, the demo's pre-rolled simulator
appearing after its history ends, and several streams that fit one signal. The words per
person and signal are checked without LSL first.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.controller import LiveController
from app.engine import EngineConfig
from app.live import AssignmentError
from app.sources import SourceChoice, SourceKind, demo_preroll, role_globs
from app.waiting import (
    impossible_line,
    problem_lines,
    row_words,
    still_wanted,
    wanted_signals,
)
from devices.assign import assign
from devices.health import HealthState
from devices.lsl import StreamDescription, make_outlet
from devices.source import SimulatorSource
from dsp.simulate import DyadSimConfig


def _wait(pred, timeout: float, step: float = 0.05) -> bool:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def _desc(name: str, stype: str, sid: str = "") -> StreamDescription:
    return StreamDescription(name, stype, sid or name.lower(), "host", 32.0, 1, "float32", uid=name)


# ------------------------------------------------------------------------ words, no LSL


def test_waiting_words_per_person_and_signal() -> None:
    roles = {"patient": "EmotiBit-A*", "clinician": "EmotiBit-B*"}
    texts = [w.text for w in wanted_signals(roles, None)]
    assert texts == [
        "waiting for the patient's EDA: EmotiBit-A*",
        "waiting for the patient's PPG/ECG: EmotiBit-A*",
        "waiting for the clinician's EDA: EmotiBit-B*",
        "waiting for the clinician's PPG/ECG: EmotiBit-B*",
    ]
    mapping = {
        "patient": {"eda": {"stream": "Shimmer-A*"}, "ppg": {"stream": "Shimmer-A*"}},
        "clinician": {"eda": {"stream": "Shimmer-B*", "host": "pc2"}, "ecg": {"stream": "H10*"}},
    }
    texts = [w.text for w in wanted_signals(None, mapping)]
    assert texts[1] == "waiting for the patient's PPG: Shimmer-A*"
    assert texts[2] == "waiting for the clinician's EDA: Shimmer-B* on host pc2"
    assert texts[3] == "waiting for the clinician's ECG: H10*"
    words = wanted_signals(None, None)[0].text
    assert words == (
        "waiting for the patient's EDA: a stream whose name or source_id contains "
        "'patient' or 'client'"
    )
    # what no stream can ever complete is said at once, per person and reason
    assert impossible_line(wanted_signals({"patient": "A*"}, None)) == (
        "cannot connect the clinician's EDA and PPG/ECG: no --role clinician=GLOB was given"
    )
    half = {"patient": {"eda": {"stream": "A*"}}, "clinician": mapping["clinician"]}
    assert impossible_line(wanted_signals(None, half)) == (
        "cannot connect the patient's PPG/ECG: the map file names no PPG/ECG for the patient"
    )
    assert impossible_line(wanted_signals(roles, None)) == ""


def test_ambiguity_is_one_short_line_among_forty_streams() -> None:
    """Six EDA streams fit the patient's glob, 40 others are visible: the patient's EDA
    says how many fit and names three, never the whole list."""
    streams = [_desc(f"Other{k}", ("EDA", "PPG", "EEG", "Markers")[k % 4]) for k in range(40)]
    streams += [_desc(f"Wrist-{k}", "EDA") for k in range(6)]
    streams += [_desc("Ear-1", "PPG"), _desc("Clin-eda", "EDA"), _desc("Clin-ppg", "PPG")]
    roles = {"patient": "Wrist-*", "clinician": "Clin-*"}
    result = assign(streams, roles=roles)
    left = still_wanted(wanted_signals(roles, None), set(), result)
    by = {(w.role, w.signal): w for w in left}
    eda = by[("patient", "eda")]
    assert eda.text == (
        "the patient's EDA: 6 streams fit (Wrist-0, Wrist-1, Wrist-2 and 3 more); "
        "which one is theirs must be chosen"
    )
    assert by[("patient", "cardiac")].text == "waiting for the patient's PPG/ECG: Wrist-*"
    assert not by[("clinician", "eda")].problem  # assignable: no problem, only not connected
    assert all("Other" not in w.text for w in left)
    # the console: a few words on the row, one line below, nothing about the other streams
    rows = row_words(left, "Streams… (F2)")
    assert rows[("patient", "eda")] == "the patient's EDA: 6 streams fit; choose in Streams… (F2)"
    assert problem_lines(left, (), "Streams… (F2)") == (f"{eda.text} in Streams… (F2)",)


# --------------------------------------------------------------------- live, real LSL


def _controller(uid: str) -> tuple[LiveController, list[str]]:
    control = LiveController(
        EngineConfig(tick_s=0.5, publish_metrics=False),
        marker_name=f"Markers-{uid}",
        marker_source_id=f"markers-{uid}",
    )
    errors: list[str] = []
    control.on_error = errors.append
    return control, errors


def _late_dyad(uid: str, delay_s: float) -> None:
    """Run headless-style from before the streams exist until they are all connected."""
    prefix = f"Late{uid}"
    control, errors = _controller(uid)
    source = SimulatorSource(DyadSimConfig(seed=4), prefix=prefix)
    timer = threading.Timer(delay_s, source.start)
    try:
        session = control.connect(
            SourceChoice(kind=SourceKind.LSL, roles=role_globs(prefix), look_every_s=0.25)
        )
        timer.start()
        t_start = time.monotonic()
        assert _wait(lambda: session.engine.last_snapshot is not None, 5.0)
        snap = session.engine.last_snapshot
        assert [w.text for w in snap.waiting] == [
            f"waiting for the patient's EDA: {prefix}-patient-*",
            f"waiting for the patient's PPG/ECG: {prefix}-patient-*",
            f"waiting for the clinician's EDA: {prefix}-clinician-*",
            f"waiting for the clinician's PPG/ECG: {prefix}-clinician-*",
        ]
        assert not snap.channels
        # still waiting just before the streams appear (no limit: it never gives up)
        assert _wait(lambda: time.monotonic() - t_start > delay_s - 1.0, delay_s + 1)
        assert session.waiting and not errors
        assert _wait(lambda: session.complete, delay_s + 15.0)
        connected_after = time.monotonic() - t_start - delay_s
        assert connected_after < 8.0, f"connected {connected_after:.1f} s after appearing"

        def flowing() -> bool:
            s = session.engine.last_snapshot
            if s is None or len(s.channels) != 4 or s.waiting:
                return False
            return all(s.health[k].state is HealthState.CONNECTED for k in s.channels.values())

        assert _wait(flowing, 10.0)
        # numbers follow: both people's heart rate from the live PPG (simulator 72 / 64 bpm)
        assert _wait(
            lambda: all(
                np.isfinite(session.engine.last_snapshot.persons[r].hr_bpm)
                for r in ("patient", "clinician")
            ),
            20.0,
        )
        pm = session.engine.last_snapshot.persons
        assert 60 < pm["patient"].hr_bpm < 85 and 52 < pm["clinician"].hr_bpm < 76
        assert not errors, errors
    finally:
        timer.cancel()
        control.shutdown()
        source.stop()


@pytest.mark.lsl
def test_streams_that_appear_late_are_connected_when_they_appear(uid) -> None:
    _late_dyad(uid, 4.0)


@pytest.mark.lsl
@pytest.mark.slow
def test_streams_that_appear_30_s_late_are_connected(uid) -> None:
    _late_dyad(uid, 30.0)


class _Pusher:
    """Outlets made one by one, each pushing a plausible signal at its rate (own thread)."""

    def __init__(self) -> None:
        self.outlets: list[tuple[object, float, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def add(self, name: str, stype: str, rate: float) -> None:
        out = make_outlet(name, stype, name, rate, [stype.lower()], "microsiemens")
        with self._lock:
            self.outlets.append((out, rate, stype))

    def _run(self) -> None:
        k = 0
        while not self._stop.wait(0.1):
            k += 1
            with self._lock:
                outs = list(self.outlets)
            for out, rate, stype in outs:
                n = int(rate / 10)
                t = (k * n + np.arange(n)) / rate
                x = 4.0 + 0.01 * t if stype == "EDA" else np.sin(2 * np.pi * 1.2 * t)
                out.push_chunk(x.reshape(-1, 1).tolist())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.outlets.clear()


@pytest.mark.lsl
def test_signals_appear_one_by_one_among_forty_unrelated_streams(uid) -> None:
    """Each signal is connected on its own (the patient's EDA long before their PPG); the
    40 other streams on the machine (some of them EDA and PPG) are never taken or listed."""
    others = [
        make_outlet(f"Other{uid}-{k}", ("EDA", "PPG", "EEG", "Gaze")[k % 4], f"o{uid}{k}",
                    32.0, ["x"], "au")
        for k in range(40)
    ]  # fmt: skip
    pusher = _Pusher()
    control, errors = _controller(uid)
    roles = {"patient": f"Pat{uid}-*", "clinician": f"Cli{uid}-*"}
    order = [
        ("patient", "eda", f"Pat{uid}-EDA", "EDA", 32.0),
        ("patient", "ppg", f"Pat{uid}-PPG", "PPG", 64.0),
        ("clinician", "ppg", f"Cli{uid}-PPG", "PPG", 64.0),
        ("clinician", "eda", f"Cli{uid}-EDA", "EDA", 32.0),
    ]
    try:
        session = control.connect(SourceChoice(roles=roles, look_every_s=0.25))
        assert _wait(lambda: session.engine.last_snapshot is not None, 5.0)
        time.sleep(2.0)  # the 40 others are visible by now; nothing of them is taken
        assert not session.engine.last_snapshot.channels and len(session.waiting) == 4
        for i, (role, mod, name, stype, rate) in enumerate(order):
            pusher.add(name, stype, rate)
            sig = "eda" if mod == "eda" else "cardiac"

            def joined(role=role, mod=mod) -> bool:
                snap = session.engine.last_snapshot
                return snap is not None and f"{role}/{mod}" in snap.channels

            assert _wait(joined, 15.0), f"{name} not connected"
            snap = session.engine.last_snapshot
            assert len(snap.channels) == i + 1  # this one only, nothing else yet
            assert (role, sig) not in {(w.role, w.signal) for w in snap.waiting}
            assert len(snap.waiting) == 3 - i
            assert all(f"Other{uid}" not in w.text for w in snap.waiting)
            key = snap.channels[f"{role}/{mod}"]
            assert _wait(
                lambda key=key: (
                    session.engine.last_snapshot.health[key].state is HealthState.CONNECTED
                ),
                10.0,
            )
            if i == 0:  # the patient's EDA is processed while their PPG is still missing
                assert _wait(
                    lambda: np.isfinite(session.engine.last_snapshot.persons["patient"].scl_us),
                    10.0,
                )
                assert "patient/ppg" not in session.engine.last_snapshot.channels
            time.sleep(1.5)
        assert session.complete
        names = {c.stream.name for c in session.assignment.channels}
        assert names == {o[2] for o in order}
        assert not errors, errors
    finally:
        control.shutdown()
        pusher.close()
        del others


@pytest.mark.lsl
def test_demo_waits_for_its_own_simulator_started_late(uid) -> None:
    """A loaded machine: the demo's simulator appears 6 s after its pre-rolled history ends.
    The session waits for it, feeds each signal its history first and then the live data."""
    prefix = f"Demo{uid}"
    pre = demo_preroll(seed=2, start_in_s=1.0)
    source = SimulatorSource(pre.sim, prefix=prefix, start_s=pre.seconds, t0=pre.end_t)
    control, errors = _controller(uid)
    timer = threading.Timer(7.0, source.start)
    try:
        choice = SourceChoice(
            kind=SourceKind.SIMULATED, roles=role_globs(prefix), preroll=pre, look_every_s=0.25
        )
        session = control.connect(choice)
        timer.start()
        assert _wait(lambda: session.complete, 25.0)

        def live() -> bool:
            s = session.engine.last_snapshot
            p = s.persons if s is not None else {}
            return bool(p) and all(
                np.isfinite(p[r].eda_last_t) and p[r].eda_last_t > pre.end_t + 5.0 for r in p
            )

        assert _wait(live, 20.0)
        snap = session.engine.last_snapshot
        assert snap.preroll_s == pre.seconds and not snap.waiting
        assert snap.dyad is not None and not snap.dyad.warming_up  # the history was fed
        for role in ("patient", "clinician"):
            t = np.asarray(snap.persons[role].hr_trend_t)
            assert t.min() < pre.end_t - 200.0  # HR trend holds the simulated history
        assert not errors, errors
    finally:
        timer.cancel()
        control.shutdown()
        source.stop()


@pytest.mark.lsl
def test_one_role_only_fails_at_once_in_one_line(uid) -> None:
    control, _ = _controller(uid)
    try:
        t0 = time.monotonic()
        with pytest.raises(AssignmentError) as err:
            control.connect(SourceChoice(roles={"clinician": f"X{uid}*"}))
        assert time.monotonic() - t0 < 2.0
        assert str(err.value) == (
            "cannot connect the patient's EDA and PPG/ECG: no --role patient=GLOB was given"
        )
    finally:
        control.shutdown()


@pytest.mark.lsl
def test_recording_started_before_the_streams_holds_them_and_their_map(uid, tmp_path) -> None:
    """Start pressed before the wearables are on: the recording gets every signal from the
    moment it is connected, and session.json lists the streams connected by the end."""
    import json

    import pyxdf

    prefix = f"Rec{uid}"
    control, errors = _controller(uid)
    statuses: list[str] = []
    control.on_status = statuses.append
    source = SimulatorSource(DyadSimConfig(seed=6), prefix=prefix)
    try:
        control.connect(SourceChoice(roles=role_globs(prefix), look_every_s=0.25))
        path = control.start_recording(tmp_path, "P1", "C1")
        assert statuses[-1].startswith("recording; waiting for the patient's EDA, ")
        source.start()
        assert _wait(lambda: control.session.complete, 20.0)
        time.sleep(4.0)
        control.stop_recording()
    finally:
        control.shutdown()
        source.stop()
    assert not errors, errors
    record = json.loads((path.parent / "session.json").read_text())
    assert {(s["role"], s["modality"]) for s in record["streams"]} == {
        (r, m) for r in ("patient", "clinician") for m in ("eda", "ppg")
    }
    assert f"{prefix}-clinician-ppg" in record["stream_map_toml"]
    streams, _ = pyxdf.load_xdf(str(path))
    counts = {s["info"]["name"][0]: len(s["time_stamps"]) for s in streams}
    for r in ("patient", "clinician"):
        assert counts.get(f"{prefix}-{r}-EDA", 0) > 32 * 2  # seconds of EDA at 32 Hz
        assert counts.get(f"{prefix}-{r}-PPG", 0) > 128 * 2


@pytest.mark.lsl
def test_a_stream_that_also_fits_a_connected_signal_is_noted_never_switched(uid) -> None:
    pusher = _Pusher()
    control, errors = _controller(uid)
    try:
        session = control.connect(
            SourceChoice(
                roles={"patient": f"Wrist{uid}-*", "clinician": f"Cli{uid}-*"}, look_every_s=0.25
            )
        )
        pusher.add(f"Wrist{uid}-1", "EDA", 32.0)
        snap = lambda: session.engine.last_snapshot  # noqa: E731
        assert _wait(lambda: snap() is not None and "patient/eda" in snap().channels, 15)
        assert session.engine.last_snapshot.notes == ()
        pusher.add(f"Wrist{uid}-2", "EDA", 32.0)
        note = f"the patient's EDA: Wrist{uid}-2 also fits; still using Wrist{uid}-1"
        assert _wait(lambda: session.engine.last_snapshot.notes == (note,), 15)
        assert session.assignment.get("patient", "eda").stream.name == f"Wrist{uid}-1"
        assert not errors, errors
    finally:
        control.shutdown()
        pusher.close()
