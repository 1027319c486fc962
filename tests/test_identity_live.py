"""Two identical devices on the two roles: one drops out and returns, roles never swap.

Real duplicates share source_id, name and type (PolarBand2lsl gives every belt ``myuid2424``);
only the outlet's uid (and, across PCs, the hostname) differ. Each device runs in its own
child process (a real LSL participant); killing the process destroys its outlet. Every sample
carries its device's tag in channel 0, so a swap shows up in the ring buffers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.lsl

DEVICE = textwrap.dedent(
    """
    import sys, time
    import pylsl
    name, sid, tag = sys.argv[1], sys.argv[2], float(sys.argv[3])
    info = pylsl.StreamInfo(name, "EDA", 2, 16.0, "float32", sid)
    outlet = pylsl.StreamOutlet(info)
    print("ready", flush=True)
    i = 0
    t0 = pylsl.local_clock()
    while True:
        due = int((pylsl.local_clock() - t0) * 16.0)
        while i < due:
            outlet.push_sample([tag, float(i)])
            i += 1
        time.sleep(0.02)
    """
)


def _device(name: str, sid: str, tag: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", DEVICE, name, sid, str(tag)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _wait(cond, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _resolve(name: str, n: int, exclude: set[str] = frozenset(), timeout: float = 10.0):
    from devices.lsl import resolve_streams

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [(d, i) for d, i in resolve_streams(0.5) if d.name == name]
        found = [(d, i) for d, i in found if d.uid not in exclude]
        if len(found) >= n:
            return found
    raise AssertionError(f"{n} streams named {name} did not appear")


def _tags(slot, since: int = 0) -> set[float]:
    return set(np.unique(slot.buffer.read_since(since).values[:, 0]).tolist())


def test_identical_devices_keep_their_roles_across_a_dropout(uid: str) -> None:
    from app.live import start_session
    from devices.assign import Assignment, Channel
    from devices.health import HealthState

    name, sid = f"Polar{uid}", "myuid2424"  # PolarBand2lsl's shared source_id
    procs = {"patient": _device(name, sid, 1), "clinician": _device(name, sid, 2)}
    session = None
    try:
        found = _resolve(name, 2)
        descs = [d for d, _ in found]
        assert descs[0].identity == descs[1].identity and descs[0].uid != descs[1].uid
        # which uid is which process: its tag is read back once connected, so assign by
        # order and learn the tags from the data
        chans = (
            Channel("patient", "eda", descs[0], 0, "test"),
            Channel("clinician", "eda", descs[1], 0, "test"),
        )
        session = start_session(Assignment(chans), found)
        keys = session.engine.slot_keys
        assert keys[("patient", "eda")] != keys[("clinician", "eda")]
        pat = session.acquisition.slot(keys[("patient", "eda")])
        cli = session.acquisition.slot(keys[("clinician", "eda")])
        assert _wait(lambda: pat.written > 16 and cli.written > 16, 10)
        tag_p, tag_c = _tags(pat), _tags(cli)
        assert len(tag_p) == 1 and len(tag_c) == 1 and tag_p != tag_c
        tag_of = {1.0: "patient", 2.0: "clinician"}
        # the device (process) on the patient role drops out: its outlet is destroyed
        role_proc = {
            r: procs[tag_of[next(iter(t))]] for r, t in (("patient", tag_p), ("clinician", tag_c))
        }
        role_proc["patient"].kill()
        role_proc["patient"].wait(5)
        assert _wait(lambda: pat.health().state is HealthState.LOST, 10)
        before_p, before_c = pat.written, cli.written
        # while it is away the identical device stays on its own role, never on both
        time.sleep(1.5)
        assert pat.written == before_p and cli.written > before_c
        assert cli.health().state is HealthState.CONNECTED
        # the same device comes back (new process, new uid, same everything else)
        back_tag = int(next(iter(tag_p)))
        procs["back"] = _device(name, sid, back_tag)
        assert _wait(lambda: pat.health().state is HealthState.CONNECTED, 15)
        assert pat.health().reconnects == 1 and cli.health().reconnects == 0
        assert _wait(lambda: pat.written > before_p + 16, 5)
        assert _tags(pat, before_p) == tag_p
        assert _tags(cli) == tag_c
        assert pat.desc.uid not in (descs[0].uid, descs[1].uid)
        assert cli.desc.uid == descs[1].uid
        assert session.acquisition.error is None
    finally:
        if session is not None:
            session.stop()
        for p in procs.values():
            p.kill()
            p.wait(5)


def test_identical_devices_both_away_are_not_guessed(uid: str) -> None:
    """Both identical devices drop out: the one that returns could be either, so it takes
    neither role (a swapped patient/clinician would be worse than a gap) and health says why."""
    from app.live import start_session
    from devices.assign import Assignment, Channel
    from devices.health import HealthState

    name, sid = f"Twin{uid}", "RR_markers"
    procs = [_device(name, sid, 1), _device(name, sid, 2)]
    session = None
    try:
        found = _resolve(name, 2)
        descs = [d for d, _ in found]
        chans = (
            Channel("patient", "eda", descs[0], 0, "test"),
            Channel("clinician", "eda", descs[1], 0, "test"),
        )
        session = start_session(Assignment(chans), found)
        slots = [session.acquisition.slot(k) for k in session.engine.slot_keys.values()]
        assert _wait(lambda: all(s.written > 8 for s in slots), 10)
        for p in procs:
            p.kill()
            p.wait(5)
        assert _wait(lambda: all(s.health().state is HealthState.LOST for s in slots), 10)
        before = [s.written for s in slots]
        procs.append(_device(name, sid, 1))
        assert _wait(lambda: all("cannot be told apart" in s.health().message for s in slots), 10)
        time.sleep(1.0)
        assert [s.written for s in slots] == before
        assert all(s.health().state is HealthState.LOST for s in slots)
    finally:
        if session is not None:
            session.stop()
        for p in procs:
            p.kill()
            p.wait(5)
