"""`attune simulate --people N --couple A-B=0.8` over real LSL: every person's EDA and PPG
outlet, the samples of the seeded group model, and bad input (one line, exit status 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dsp.simulate_group import GroupModel, GroupSimConfig, coupling_parse

pytestmark = pytest.mark.lsl


def _attune(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


def test_group_simulator_publishes_every_person_with_the_model_samples(uid: str) -> None:
    import pylsl

    prefix = f"G{uid}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "simulate", "--name-prefix", prefix, "--seed", "4",
         "--people", "patient,partner,clinician", "--couple", "patient-partner=0.8@2",
         "--duration", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        names = {
            f"{prefix}-{p}-{m}" for p in ("patient", "partner", "clinician") for m in ("EDA", "PPG")
        }
        found: dict[str, object] = {}
        t_end = time.monotonic() + 15
        while time.monotonic() < t_end and set(found) != names:
            for info in pylsl.resolve_streams(1.0):
                if info.name() in names:
                    found[info.name()] = info
        assert set(found) == names
        eda = found[f"{prefix}-clinician-EDA"]
        assert eda.type() == "EDA" and eda.nominal_srate() == 32.0
        inlet = pylsl.StreamInlet(eda)
        got: list[float] = []
        t_end = time.monotonic() + 10
        while len(got) < 64 and time.monotonic() < t_end:
            chunk, _ = inlet.pull_chunk(timeout=0.5)
            got += [row[0] for row in chunk]
        assert len(got) >= 64
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
    assert rc == 0, proc.stderr.read()
    cfg = GroupSimConfig(
        people=("patient", "partner", "clinician"),
        couplings=(coupling_parse("patient-partner=0.8@2"),),
        seed=4,
    )
    want = GroupModel(cfg).render("clinician", "eda", 0, 32 * 30).astype(np.float32)
    start = int(np.flatnonzero(want == np.float32(got[0]))[0])
    np.testing.assert_array_equal(np.asarray(got, np.float32), want[start : start + len(got)])


@pytest.mark.parametrize(
    "args, words",
    [
        (("--people", "9"), "2 to 8 people"),
        (("--people", "1"), "2 to 8 people"),
        (("--people", "3", "--couple", "A-Z=0.5"), "'Z'"),
        (("--people", "A,A"), "distinct names"),
        (("--people", "3", "--couple", "A-B=2"), "0..1"),
    ],
)
def test_bad_group_input_is_one_line_and_status_2(args: tuple[str, ...], words: str) -> None:
    out = _attune("simulate", "--duration", "1", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
