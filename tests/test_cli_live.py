"""End to end over real LSL: `attune simulate` in a child process, `attune streams`,
`attune run --headless`, the engine's metrics outlet, and bad CLI input."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.lsl


def attune(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


def start_sim(prefix: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "simulate", "--name-prefix", prefix, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def stop(proc: subprocess.Popen) -> int:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_help_documents_every_command() -> None:
    out = attune("--help")
    assert out.returncode == 0
    for cmd in ("simulate", "streams", "run", "demo"):
        assert cmd in out.stdout
        sub = attune(cmd, "--help")
        assert sub.returncode == 0 and "usage: attune " + cmd in sub.stdout
    sim = attune("simulate", "--help").stdout
    for opt in ("--duration", "--seed", "--coupling", "--lag", "--hr-patient", "--hr-clinician"):
        assert opt in sim
    for opt in ("--ppg-rate", "--eda-rate", "--artifacts", "--name-prefix"):
        assert opt in sim


@pytest.mark.parametrize(
    "args, msg",
    [
        (("simulate", "--coupling", "2"), "coupling must be in 0..1"),
        (("simulate", "--lag", "-3"), "lag_s must be >= 0"),
        (("run", "--headless", "--map", "/nonexistent.toml", "--wait", "0.5"), "not found"),
        (("run", "--headless", "--role", "doctor=x"), "ROLE=GLOB"),
    ],
)
def test_bad_input_one_line_exit_2(args, msg) -> None:
    out = attune(*args)
    assert out.returncode == 2
    err = [line for line in out.stderr.splitlines() if "attune: error" in line]
    assert len(err) == 1 and msg in err[0], out.stderr
    assert "Traceback" not in out.stderr


def test_simulate_streams_and_incomplete_assignment(uid: str) -> None:
    prefix = f"S{uid}"
    sim = start_sim(prefix, "--duration", "30")
    try:
        assert sim.stdout.readline().startswith("simulating")
        out = attune("streams", "--wait", "2", "--role", f"patient={prefix}-patient-*")
        assert out.returncode == 0
        lines = [line for line in out.stdout.splitlines() if line.startswith(prefix)]
        assert len(lines) == 4, out.stdout
        eda = next(line for line in lines if line.startswith(f"{prefix}-patient-EDA"))
        assert "type=EDA" in eda and f"source_id={prefix}-patient-eda" in eda
        assert "32 Hz" in eda and "-> patient eda (EDA)" in eda
        # device, channel and conversion to µS for every stream
        assert "device=generic LSL stream" in eda and "eda ch0 (EDA): µS as published" in eda
        ppg = next(line for line in lines if line.startswith(f"{prefix}-clinician-PPG"))
        assert "-> not assigned" in ppg
        assert "stream assignment incomplete" in out.stdout and "clinician eda" in out.stdout
        # the simulator publishes nothing else
        out = attune("streams", "--wait", "1")
        assert sum(line.startswith(prefix) for line in out.stdout.splitlines()) == 4
    finally:
        assert stop(sim) == 0


def test_run_headless_prints_per_person_lines_and_exits_at_duration(uid: str) -> None:
    prefix = f"H{uid}"
    sim = start_sim(prefix)
    try:
        assert sim.stdout.readline().startswith("simulating")
        out = attune(
            "run",
            "--headless",
            "--duration",
            "8",
            "--role",
            f"patient={prefix}-patient-*",
            "--role",
            f"clinician={prefix}-clinician-*",
        )
        assert out.returncode == 0, out.stderr
        pat = [line for line in out.stdout.splitlines() if " patient " in line]
        cli = [line for line in out.stdout.splitlines() if " clinician " in line]
        assert 5 <= len(pat) <= 9 and 5 <= len(cli) <= 9
        assert "eda:connected" in pat[-1] and "ppg:connected" in pat[-1]
        hr = float(pat[-1].split("HR")[1].split("bpm")[0])
        assert 55 < hr < 95  # simulator patient rests at 72 bpm
        assert any(" dyad " in line for line in out.stdout.splitlines())
    finally:
        assert stop(sim) == 0


def test_run_headless_says_what_is_missing(uid: str) -> None:
    # no --role for the clinician: no stream can ever complete it, so no waiting (at once)
    t0 = time.monotonic()
    out = attune("run", "--headless", "--role", f"patient=Nothing{uid}*")
    assert out.returncode == 2 and time.monotonic() - t0 < 20
    assert out.stderr.strip() == (
        "attune: error: cannot connect the clinician's EDA and PPG/ECG: "
        "no --role clinician=GLOB was given"
    )
    # a scripted limit: after --wait S the run gives up, naming per person what it waited for
    roles = ("--role", f"patient=Nothing{uid}*", "--role", f"clinician=Nil{uid}*")
    out = attune("run", "--headless", "--wait", "1", *roles)
    assert out.returncode == 2
    (err,) = out.stderr.strip().splitlines()
    assert err.startswith("attune: error: stream assignment incomplete after 1 s: ")
    assert f"waiting for the patient's EDA: Nothing{uid}*" in err
    assert f"waiting for the clinician's PPG/ECG: Nil{uid}*" in err
    # meanwhile the per-second lines say it too
    assert f"patient   waiting for the patient's EDA: Nothing{uid}*" in out.stdout


def test_engine_metrics_outlet_carries_values_and_input_times(uid: str) -> None:
    import pylsl

    from app.engine import EngineConfig, metric_channels
    from app.live import assign_visible, start_session
    from devices.source import SimulatorSource
    from dsp.simulate import DyadSimConfig

    prefix = f"M{uid}"
    src = SimulatorSource(DyadSimConfig(seed=3), prefix=prefix)
    src.start()
    session = None
    inlet = None
    try:
        roles = {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
        assignment, found = assign_visible(roles, None, 10.0, require_complete=True)
        cfg = EngineConfig(metrics_source_id=f"metrics-{uid}")
        session = start_session(assignment, found, cfg)
        infos = pylsl.resolve_byprop("source_id", f"metrics-{uid}", 1, 10.0)
        assert infos, "metrics outlet not visible"
        inlet = pylsl.StreamInlet(infos[0])
        info = inlet.info(5.0)
        assert info.name() == "Attunement-Metrics" and info.type() == "Metrics"
        labels = [label for label, _ in metric_channels()]
        assert info.channel_count() == len(labels)
        ch = info.desc().child("channels").child("channel")
        got = []
        while not ch.empty():
            got.append(ch.child_value("label"))
            ch = ch.next_sibling()
        assert got == labels
        # every highlight flag travels with the p of the test behind it
        assert {"dyad_coupling_p", "dyad_hr_coupling_p"} <= set(labels)
        rows, stamps = [], []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(rows) < 13:
            sample, ts = inlet.pull_sample(timeout=2.0)
            if sample is not None:
                rows.append(sample)
                stamps.append(ts)
        assert len(rows) >= 13
        last = dict(zip(labels, rows[-1], strict=True))
        assert 55 < last["patient_hr_bpm"] < 95
        assert 2.0 < last["clinician_scl_us"] < 5.0  # simulator clinician SCL starts at 3 uS
        # each tick says which input it used: newest PPG sample at most ~1.5 s before the tick
        lag = stamps[-1] - last["patient_cardiac_input_t"]
        assert 0 <= lag < 1.5
        assert np.all(np.diff(stamps) > 0.5)
    finally:
        del inlet
        if session is not None:
            session.stop()
        src.stop()


@pytest.mark.slow
def test_run_headless_started_12_s_before_the_simulator_waits_and_connects(uid: str) -> None:
    """The issue's case: `attune run --headless --role ...` 12 s before `attune simulate`
    publishes those streams. It waits, saying per person and signal what for, and shows
    both people's numbers once the streams are there (exit 0 at --duration)."""
    prefix = f"W{uid}"
    run = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--headless", "--duration", "30",
         "--role", f"patient={prefix}-patient-*", "--role", f"clinician={prefix}-clinician-*"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    time.sleep(12.0)
    sim = start_sim(prefix, "--duration", "25")
    try:
        assert run.poll() is None, run.communicate()  # still running: it did not give up
        out, err = run.communicate(timeout=60)
    finally:
        stop(sim)
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    assert "Traceback" not in err and "error" not in err
    lines = out.splitlines()
    first = [line for line in lines if "waiting for" in line]
    assert any(f"waiting for the patient's EDA: {prefix}-patient-*" in x for x in first)
    assert any(f"waiting for the clinician's PPG/ECG: {prefix}-clinician-*" in x for x in first)
    assert len(first) >= 4 * 6  # 4 waiting lines a second for most of the 12 s (start-up ~3 s)
    pat = [x for x in lines if " patient " in x and "HR" in x]
    assert pat and "eda:connected" in pat[-1] and "ppg:connected" in pat[-1]
    hr = float(pat[-1].split("HR")[1].split("bpm")[0])
    assert 55 < hr < 95  # simulator patient rests at 72 bpm
    assert "waiting for" not in "\n".join(lines[-6:])  # nothing is waited for at the end
