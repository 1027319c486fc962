"""The engine over real LSL: bad input never kills it, thread errors surface, snapshots are
immutable and come from the data."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.lsl


def _outlets(uid: str):
    """A patient with a NaN EDA stream and a flat PPG stream, a clinician with good streams."""
    import pylsl

    from dsp.simulate import DyadModel, DyadSimConfig

    model = DyadModel(DyadSimConfig(seed=2))
    spec = {
        ("patient", "eda"): (32.0, lambda i, n: np.full(n, np.nan)),
        ("patient", "ppg"): (128.0, lambda i, n: np.full(n, 1.5)),
        ("clinician", "eda"): (32.0, lambda i, n: model.render("clinician", "eda", i, n)),
        ("clinician", "ppg"): (128.0, lambda i, n: model.render("clinician", "ppg", i, n)),
    }
    outs = {}
    for (role, mod), (fs, gen) in spec.items():
        name = f"E{uid}-{role}-{mod}"
        info = pylsl.StreamInfo(name, mod.upper(), 1, fs, "float32", name)
        outs[(role, mod)] = [pylsl.StreamOutlet(info), fs, gen, 0]
    return outs


def _pump(outs, stop: threading.Event) -> None:
    import pylsl

    t0 = pylsl.local_clock()
    while not stop.is_set():
        el = pylsl.local_clock() - t0
        for o in outs.values():
            due = int(el * o[1])
            if due > o[3]:
                x = o[2](o[3], due - o[3])
                o[0].push_chunk(
                    x[:, None].astype(np.float32).tolist(),
                    [t0 + (o[3] + k) / o[1] for k in range(due - o[3])],
                )
                o[3] = due
        stop.wait(0.02)


def test_nan_and_flat_streams_are_flagged_and_the_engine_keeps_going(uid: str) -> None:
    from app.engine import EngineConfig
    from app.live import assign_visible, start_session

    outs = _outlets(uid)
    stop = threading.Event()
    pump = threading.Thread(target=_pump, args=(outs, stop))
    pump.start()
    session = None
    errors: list[BaseException] = []
    try:
        roles = {"patient": f"E{uid}-patient-*", "clinician": f"E{uid}-clinician-*"}
        assignment, found = assign_visible(roles, None, 10.0, require_complete=True)
        session = start_session(
            assignment,
            found,
            EngineConfig(tick_s=0.5, metrics_source_id=f"m{uid}"),
            on_error=errors.append,
        )
        snaps = []
        session.engine.subscribe(snaps.append)
        t_start = time.monotonic()
        deadline = t_start + 40
        while time.monotonic() < deadline:
            s = snaps[-1] if snaps else None
            # the first 10 s quality window needs ~12 s of data to be assessed
            if s and time.monotonic() - t_start > 16 and s.persons.get("clinician"):
                if s.persons["clinician"].scl_valid and s.persons["clinician"].hr_valid:
                    break
            time.sleep(0.2)
        snap = snaps[-1]
        assert session.engine.running and session.acquisition.running and not errors
        pat, cli = snap.persons["patient"], snap.persons["clinician"]
        # nothing is invented for the patient: NaN EDA and flat PPG give no numbers
        assert not np.isfinite(pat.scl_us) and not np.isfinite(pat.hr_bpm)
        assert pat.eda_quality != "good" and pat.cardiac_quality != "good"
        health = {k.split("|")[0]: v for k, v in snap.health.items()}
        assert "nan" in health[f"E{uid}-patient-eda"].flags
        assert health[f"E{uid}-patient-ppg"].flat
        # the clinician's numbers come from the data: simulator clinician rests at 64 bpm
        assert 50 < cli.hr_bpm < 85 and 2.0 < cli.scl_us < 5.0
        assert cli.eda_quality == "good"
        # frozen snapshots
        with pytest.raises(AttributeError):
            snap.seq = 3  # type: ignore[misc]
        with pytest.raises(TypeError):
            snap.persons["patient"] = None  # type: ignore[index]
    finally:
        stop.set()
        pump.join()
        if session is not None:
            session.stop()
        outs.clear()


def test_worker_thread_error_reaches_the_caller(uid: str) -> None:
    """An exception that kills the engine thread is kept and handed to on_error."""
    from app.engine import Engine, EngineConfig
    from devices.acquisition import Acquisition
    from devices.assign import Assignment

    got: list[BaseException] = []
    acq = Acquisition()
    engine = Engine(
        acq,
        Assignment(()),
        {("patient", "eda"): "missing-slot"},  # a key the acquisition does not have
        EngineConfig(tick_s=0.05, publish_metrics=False),
        on_error=got.append,
    )
    engine.start()
    deadline = time.monotonic() + 5
    while engine.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not engine.running
    assert got and isinstance(got[0], KeyError) and engine.error is got[0]
