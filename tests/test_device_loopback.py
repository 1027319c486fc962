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
from app.live import discover, start_session
from devices.device_sim import DeviceSimSource, role_glob
from devices.inventory import inventory
from devices.lsl import local_clock
from dsp.person import PersonConfig
from dsp.simulate import DyadSimConfig

pytestmark = pytest.mark.lsl

HAS_EDA = {"emotibit", "e4", "e4b", "shimmer", "bitalino"}
UNIX = {"e4", "bitalino", "muse"}
FAMILY = {"e4b": "e4"}
TITLE = {
    "emotibit": "EmotiBit",
    "e4": "Empatica E4",
    "shimmer": "Shimmer3 GSR+",
    "bitalino": "BITalino / PLUX (OpenSignals)",
    "polar": "Polar H10",
    "muse": "Muse (PPG)",
}


def _assign_until(roles, map_path, want, timeout: float = 45.0):
    """Discover and assign until ``want(assignment)`` holds (the resolver may need a while)."""
    from devices.assign import assign, load_map

    mapping = load_map(map_path) if map_path else None
    deadline = time.monotonic() + timeout
    while True:
        found = discover(1.0)
        a = assign([d for d, _ in found], roles=roles, mapping=mapping)
        if want(a) or time.monotonic() > deadline:
            return a, found


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
        assignment, found = _assign_until(
            roles,
            None,
            lambda a: all(a.cardiac(r) and (device not in HAS_EDA or a.get(r, "eda")) for r in ids),
        )
        fam = FAMILY.get(device, device)
        for role in ("patient", "clinician"):
            cardiac = assignment.cardiac(role)
            assert cardiac is not None and cardiac.device == fam, assignment.problem_text
            eda = assignment.get(role, "eda")
            assert (eda is not None) == (device in HAS_EDA), assignment.problem_text
            if eda is not None:
                assert eda.device == fam and eda.conversion.usable
        # what `attune streams` prints: device, conversion and role for every stream
        rows = {r.stream.uid: r for r in inventory([d for d, _ in found], assignment)}
        for role in ("patient", "clinician"):
            c = assignment.cardiac(role)
            row = rows[c.stream.uid]
            assert row.device == TITLE[fam] and f"{role} {c.modality}" in row.role, row.text()
            eda = assignment.get(role, "eda")
            if eda is not None:
                text = rows[eda.stream.uid].text()
                assert eda.conversion.text() in text and f"{role} eda" in text, text
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


@pytest.mark.parametrize("device, stream", [("e4b", "Empatica{id}IBI"), ("polar", "RR {id}")])
def test_interval_streams_are_a_cardiac_source(device: str, stream: str, uid, tmp_path) -> None:
    """E4 IBI (seconds, stamped at the beat) and BLE RR (1/1024 s, stamped on arrival, one
    source_id for every belt) give beats and HRV directly, without a waveform."""
    ids = {"patient": uid[:6].upper(), "clinician": uid[4:10].upper()}
    src = DeviceSimSource(device, DyadSimConfig(seed=7), ids=ids)
    src.start()
    session = None
    lines = []
    for role, dev_id in ids.items():
        lines += [f"[{role}]", f'ibi = {{ stream = "{stream.format(id=dev_id)}" }}']
    (tmp_path / "map.toml").write_text("\n".join(lines) + "\n")
    try:
        assignment, found = _assign_until(
            None, str(tmp_path / "map.toml"), lambda a: all(a.cardiac(r) for r in ids)
        )
        for role in ("patient", "clinician"):
            c = assignment.cardiac(role)
            assert c is not None and c.modality == "ibi", assignment.problem_text
            assert c.conversion.kind.value == "scale"  # seconds or 1/1024 s -> ms
        # a 20 s HRV window keeps the test short; the IBIs are the same as with 60 s
        cfg = EngineConfig(publish_metrics=False, person=PersonConfig(hrv_window_s=20.0))
        session = start_session(assignment, found, cfg)
        deadline = time.monotonic() + 45.0
        snap = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            snap = session.engine.last_snapshot
            if snap is not None and all(
                p is not None and np.isfinite(p.rmssd_ms) for p in snap.persons.values()
            ):
                break
        assert snap is not None and not snap.errors, snap and snap.errors
        t_sim = snap.t - src.t0  # both devices stamp on this machine's LSL clock
        cfg = session.engine.config.person
        for role in ("patient", "clinician"):
            pm = snap.persons[role]
            truth = src.model.truth(role, t_sim + 5.0)
            ends = truth.r_peak_times[1:] if device == "polar" else truth.beat_times[1:]

            def ending_within(w: float, ends=ends, truth=truth) -> np.ndarray:
                return truth.ibi_ms[(ends > t_sim - w) & (ends <= t_sim)]

            hr_true = 60000.0 / np.mean(ending_within(cfg.hr_window_s))
            assert abs(pm.hr_bpm - hr_true) < 3.0, (role, pm.hr_bpm, hr_true)
            w = ending_within(cfg.hrv_window_s)
            rmssd_true = float(np.sqrt(np.mean(np.diff(w) ** 2)))
            assert pm.cardiac_quality == "good"
            assert abs(pm.rmssd_ms / rmssd_true - 1.0) < 0.2, (role, pm.rmssd_ms, rmssd_true)
    finally:
        if session is not None:
            session.stop()
        src.stop()
