"""The demo's pre-roll: a working meter within seconds, labelled, continuous with live data.

Real LSL over loopback: the simulator publishes from simulator time ``seconds`` on while the
engine is primed with the same seed's first ``seconds`` computed in-process. A session
without a pre-roll still warms up.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from app.controller import LiveController
from app.engine import EngineConfig
from app.headless import format_snapshot
from app.preroll import PREROLL_LABEL, Preroll
from app.sources import SourceChoice, SourceKind, demo_source, role_globs
from devices.lsl import local_clock
from devices.source import SimulatorSource
from dsp.simulate import DyadModel, DyadSimConfig

pytestmark = pytest.mark.lsl


def _first_dyad(control: LiveController, pred, timeout: float):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        snap = control.session.engine.last_snapshot
        if snap is not None and snap.dyad is not None and pred(snap):
            return snap
        time.sleep(0.1)
    return None


def _connect(uid: str, preroll: Preroll | None, sim: DyadSimConfig):
    prefix = f"PreT{uid}"
    control = LiveController(EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"))
    start = {} if preroll is None else {"start_s": preroll.seconds, "t0": preroll.end_t}
    source = SimulatorSource(sim, prefix=prefix, **start)
    choice = SourceChoice(
        kind=SourceKind.SIMULATED, roles=role_globs(prefix), wait_s=20.0, preroll=preroll
    )
    control.connect(choice, source)
    return control


def test_demo_meter_is_past_warm_up_within_seconds_and_labelled(uid: str) -> None:
    sim = DyadSimConfig(seed=4, coupling=0.8, lag_s=2.0)
    preroll = Preroll(sim, 170.0, local_clock() + 3.0)
    t_start = time.monotonic()
    control = _connect(uid, preroll, sim)
    try:
        snap = _first_dyad(control, lambda s: not s.dyad.warming_up, 15.0)
        took = time.monotonic() - t_start
        assert snap is not None, "no meter past warm-up 15 s after start"
        d = snap.dyad
        assert snap.preroll_s == 170.0
        assert d.elapsed_s >= 150.0 and d.n_surrogates > 0  # a baseline from the history
        assert math.isfinite(d.ci_rolling) and math.isfinite(d.percentile)
        assert any(PREROLL_LABEL in line for line in format_snapshot(snap))
        # live data continue the same seed: samples line up with the in-process model
        time.sleep(1.5)
        tr = control.session.engine.traces(5.0).traces["patient/eda"]
        assert tr.t.size > 16
        idx = np.rint((tr.t - preroll.end_t + preroll.seconds) * sim.eda_fs).astype(int)
        assert idx.min() >= int(preroll.seconds * sim.eda_fs)  # nothing before the history end
        ref = DyadModel(sim).render(
            "patient", "eda", int(idx.min()), int(idx.max() - idx.min() + 1)
        )
        np.testing.assert_allclose(tr.x, ref[idx - idx.min()], rtol=1e-5)
    finally:
        control.shutdown()
    assert took < 3.0 + 10.0


def test_a_session_without_preroll_still_warms_up(uid: str) -> None:
    control = _connect(uid, None, DyadSimConfig(seed=5))
    try:
        snap = _first_dyad(control, lambda s: True, 15.0)
        assert snap is not None
        assert snap.dyad.warming_up and snap.dyad.elapsed_s < 30.0
        assert snap.preroll_s == 0.0
        assert not any(PREROLL_LABEL in line for line in format_snapshot(snap))
    finally:
        control.shutdown()


def test_preroll_history_ends_where_the_child_starts() -> None:
    sim = DyadSimConfig(seed=1)
    pre = Preroll(sim, 170.0, 1000.0)
    t, x, fs = pre.history(DyadModel(sim), "clinician", "ppg")
    assert fs == 128.0 and t.size == x.size == 170 * 128
    assert t[0] == pytest.approx(830.0) and t[-1] == pytest.approx(1000.0 - 1 / 128)
    # the child is told to continue from there
    cmd = demo_source("P", seed=1, preroll=pre).command
    assert cmd[cmd.index("--start-s") + 1] == "170.0" and cmd[cmd.index("--t0") + 1] == "1000.0"
    with pytest.raises(ValueError):
        pre.history(DyadModel(sim), "patient", "ecg")  # this dyad has no ECG
    for bad in (0.0, -5.0, math.nan):
        with pytest.raises(ValueError):
            Preroll(sim, bad, 1000.0)


def test_console_meters_carry_the_preroll_label() -> None:
    from app.meter_state import MeterState, preroll_state

    st = preroll_state(MeterState(text="+0.10", value=0.1, active=True), 170.0)
    assert st.tag == f"{PREROLL_LABEL}, first 170 s" and st.text == "+0.10" and st.active
    assert MeterState().tag == ""  # real sessions: no tag


def test_a_real_source_after_the_demo_gets_no_simulated_history(uid: str) -> None:
    """The pre-roll belongs to the simulated dyad's choice, not to the controller: the next
    session (here a plain simulator, as a device would be) starts with the full warm-up."""
    sim = DyadSimConfig(seed=4)
    control = _connect(uid, Preroll(sim, 170.0, local_clock() + 3.0), sim)
    try:
        assert _first_dyad(control, lambda s: s.preroll_s > 0, 15.0) is not None
        prefix = f"PreR{uid}"
        roles = role_globs(prefix)
        control.connect(SourceChoice(roles=roles, wait_s=20.0), SimulatorSource(sim, prefix=prefix))
        snap = _first_dyad(control, lambda s: True, 15.0)
        assert snap is not None and snap.preroll_s == 0.0 and snap.dyad.warming_up
        assert snap.dyad.elapsed_s < 30.0
    finally:
        control.shutdown()
