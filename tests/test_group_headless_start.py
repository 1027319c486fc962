"""The group's headless view started before a person's wearable (``attune run --headless
--role NAME=GLOB ...`` without ``--wait``): that person's line says what it waits for while
the others' show their streams, and the person is connected when their streams appear; the
group demo without a display shows the headless view and ends on Ctrl-C with status 0.
Real LSL loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from app.controller import LiveController
from app.engine import EngineConfig
from app.group_live import group_run_choice
from app.headless import format_group_snapshot
from devices.group_source import GroupSimulatorSource
from dsp.simulate_group import GroupSimConfig

pytestmark = [pytest.mark.lsl]

PEOPLE = ("mother", "father", "child")


def _wait_for(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_late_person_waits_then_connects() -> None:
    prefix = f"GrpHlLate{uuid.uuid4().hex[:8]}"
    roles = {p: f"{prefix}-{p}-*" for p in PEOPLE}
    early = GroupSimulatorSource(GroupSimConfig(people=("mother", "father"), seed=2), prefix)
    late = GroupSimulatorSource(GroupSimConfig(people=("child", "other"), seed=3), prefix)
    blocks: list[list[str]] = []
    control = LiveController(EngineConfig(publish_metrics=False))
    control.on_started = lambda session: session.engine.subscribe(
        lambda snap: blocks.append(format_group_snapshot(snap, PEOPLE))
    )

    def line(block: list[str], person: str) -> str:
        return next(ln for ln in block if re.match(rf"\S+ {person}\s", ln))

    waiting = f"waiting for EDA: {prefix}-child-*; waiting for PPG/ECG: {prefix}-child-*"
    try:
        early.start()
        control.connect(group_run_choice(roles, None, None))

        def parents_on() -> bool:
            b = blocks[-1] if blocks else []
            return bool(b) and all(
                "eda:connected" in line(b, p) and "ppg:connected" in line(b, p)
                for p in ("mother", "father")
            )

        assert _wait_for(parents_on, 10.0), blocks[-1:]
        b = blocks[-1]
        assert line(b, "child").split(maxsplit=2)[2] == waiting
        assert "waiting for 2 signals" in next(ln for ln in b if " status " in ln)
        late.start()  # the child's wearable comes on
        assert _wait_for(lambda: "eda:connected" in line(blocks[-1], "child"), 10.0)
        b = blocks[-1]
        assert "waiting" not in line(b, "child") and "delivering" in line(b, "child")
        assert "waiting for" not in next(ln for ln in b if " status " in ln)
    finally:
        control.stop()
        early.stop()
        late.stop()


def test_group_demo_without_a_display_is_headless_and_ends_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    if sys.platform in ("win32", "darwin"):
        pytest.skip("a window system is always there")
    p = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--people", "3", "--no-preroll"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        out = []
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:  # until the first block's status line
            ln = p.stdout.readline()
            out.append(ln)
            if " status " in ln or not ln:
                break
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    text = "".join(out)
    assert text.startswith("no display is available: showing the headless live view")
    for person in ("patient", "partner", "clinician"):
        assert re.search(rf"^\d\d:\d\d:\d\d {person}\s", text, re.M), text
    assert "patient\u2013partner" in text and "group     mean pairwise CI" in text
