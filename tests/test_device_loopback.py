"""Each device profile end to end: its simulated bridge over real LSL, through the real
acquisition thread and engine, gives plausible HR and SCL in µS for both people.

The profile simulators publish exactly the bridge conventions (names, types, labels, units,
rates, bursts, Unix-epoch stamps, duplicate source_ids); nothing is mocked.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.engine import EngineConfig
from app.live import assign_visible, start_session
from devices.device_sim import DeviceSimSource, role_glob
from devices.lsl import local_clock
from dsp.simulate import DyadSimConfig

pytestmark = pytest.mark.lsl

HAS_EDA = {"emotibit", "e4", "e4b", "shimmer", "bitalino"}
UNIX = {"e4", "bitalino", "muse"}
FAMILY = {"e4b": "e4"}


def _wait_for(engine, want_scl: bool, timeout: float):
    deadline = time.monotonic() + timeout
    snap = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        snap = engine.last_snapshot
        if snap is None:
            continue
        ps = [snap.persons.get(r) for r in ("patient", "clinician")]
        if all(p is not None and np.isfinite(p.hr_bpm) for p in ps) and (
            not want_scl or all(np.isfinite(p.scl_us) for p in ps)
        ):
            return snap
    return snap


@pytest.mark.parametrize(
    "device", ["emotibit", "e4", "e4b", "shimmer", "bitalino", "polar", "muse"]
)
def test_profile_loopback_gives_plausible_hr_and_scl(device: str, uid: str) -> None:
    ids = {"patient": uid[:6].upper(), "clinician": uid[4:10].upper()}
    src = DeviceSimSource(device, DyadSimConfig(seed=5), ids=ids)
    src.start()
    session = None
    try:
        roles = {r: role_glob(device, i) for r, i in ids.items()}
        assignment, found = assign_visible(roles, None, 15.0, False)
        fam = FAMILY.get(device, device)
        for role in ("patient", "clinician"):
            cardiac = assignment.cardiac(role)
            assert cardiac is not None and cardiac.device == fam, assignment.problem_text
            eda = assignment.get(role, "eda")
            assert (eda is not None) == (device in HAS_EDA), assignment.problem_text
            if eda is not None:
                assert eda.device == fam and eda.conversion.usable
        session = start_session(assignment, found, EngineConfig(publish_metrics=False))
        snap = _wait_for(session.engine, device in HAS_EDA, 60.0)
        assert snap is not None and not snap.errors, snap and snap.errors
        elapsed = local_clock() - src.t0
        for role in ("patient", "clinician"):
            pm = snap.persons[role]
            truth = src.model.truth(role, elapsed)
            recent = truth.ibi_ms[truth.beat_times[1:] > elapsed - 25.0]
            hr_true = 60000.0 / float(np.mean(recent))
            assert abs(pm.hr_bpm - hr_true) < 8.0, (role, pm.hr_bpm, hr_true)
            if device in HAS_EDA:
                fs = src.config.eda_fs
                k1 = int(elapsed * fs)
                true_scl = float(
                    np.median(src.model.render(role, "eda", k1 - int(10 * fs), int(10 * fs)))
                )
                # in µS whatever the device stores (kΩ, 10-bit ADC codes, µS)
                assert abs(pm.scl_us - true_scl) < 0.4, (role, pm.scl_us, true_scl)
        for key in snap.channels.values():
            h = snap.health[key]
            assert h.state == "connected", (key, h)
            notes = " ".join(h.notes)
            assert ("Unix-epoch" in notes) == (device in UNIX), (key, h.notes)
        # every corrected timestamp the DSP sees is on this machine's LSL clock
        newest = [p.cardiac_last_t for p in snap.persons.values()]
        assert all(abs(t - snap.t) < 5.0 for t in newest), (newest, snap.t)
    finally:
        if session is not None:
            session.stop()
        src.stop()
    assert src.error is None
