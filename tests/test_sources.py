"""app.sources: what the console's source choices start (real child processes, no Qt)."""

from __future__ import annotations

import sys
import time

from app.preroll import PREROLL_S
from app.sources import (
    SourceChoice,
    SourceKind,
    attune_command,
    demo_source,
    simulated_dyad,
    source_for,
)
from devices.source import ProcessSource


def test_source_for_each_choice() -> None:
    src, choice = source_for(SourceChoice(kind=SourceKind.SIMULATED))
    assert src.command[:3] == [sys.executable, "-m", "app.cli"]
    assert src.command[3] == "simulate" and "--name-prefix" in src.command
    prefix = src.command[src.command.index("--name-prefix") + 1]
    assert choice.roles == {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
    # pre-rolled as `attune demo`: the child continues the history the engine is given
    pre = choice.preroll
    assert pre is not None and pre.seconds == PREROLL_S
    assert src.command[src.command.index("--start-s") + 1] == repr(pre.seconds)
    assert src.command[src.command.index("--t0") + 1] == repr(pre.end_t)
    assert src.command[src.command.index("--seed") + 1] == str(pre.sim.seed)
    same, demo = simulated_dyad(prefix)  # the demo's own path gives the same dyad
    assert demo.preroll.sim == pre.sim and same.command[3:9] == src.command[3:9]
    no_pre, plain = simulated_dyad(prefix, preroll=False)
    assert plain.preroll is None and "--start-s" not in no_pre.command
    src, choice = source_for(
        SourceChoice(kind=SourceKind.REPLAY, replay_path="/x/s.xdf"), "/m.toml"
    )
    assert src.command[3:] == ["replay", "/x/s.xdf", "--loop"] and choice.map_path == "/m.toml"
    src, choice = source_for(SourceChoice(kind=SourceKind.LSL))
    assert src is None and choice.kind == "lsl" and choice.preroll is None


def test_demo_source_arguments() -> None:
    src = demo_source("P1", seed=4, coupling=0.3, lag_s=1.5, artifacts=True)
    assert src.command[3:] == ["simulate", "--seed", "4", "--coupling", "0.3", "--lag", "1.5",
                               "--name-prefix", "P1", "--artifacts"]  # fmt: skip
    assert "seed 4" in src.description


def test_process_source_runs_the_callers_command_and_reports_its_failure() -> None:
    """devices/ does not know `attune`: the command comes from the caller and really runs."""
    src = ProcessSource(attune_command(["simulate", "--coupling", "7"]), "broken")
    src.start()
    try:
        t_end = time.monotonic() + 30
        while src.poll_error() is None and time.monotonic() < t_end:
            time.sleep(0.1)
        assert "coupling" in (src.poll_error() or "")
    finally:
        src.stop()
    ok = ProcessSource([sys.executable, "-c", "pass"], "nothing")
    ok.start()
    ok.proc.wait(30)
    assert ok.poll_error() is None


def test_process_source_needs_a_command() -> None:
    import pytest

    with pytest.raises(ValueError, match="command"):
        ProcessSource([], "empty")
