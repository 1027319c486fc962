"""The group's headless view over real LSL loopback: a simulated triad (the group demo's
machinery with 300 s of simulated history) run by the same :class:`LiveController` as
``attune run --headless``; every printed number is the engine snapshot's, the heart rates
are the simulated people's, and bad input is one line with exit status 2."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from app.cli import main
from app.controller import LiveController
from app.engine import EngineConfig
from app.group_engine import GroupHistory, group_metric_channels, group_metric_values
from app.group_live import group_choice, wait_for_group
from app.group_words import pair_words, person_cells
from app.headless import format_group_snapshot
from app.sources import SourceKind
from devices.group_source import GroupSimulatorSource
from dsp.concordance.group import GroupSignal
from dsp.simulate_group import GroupSimConfig, coupling_parse

pytestmark = [pytest.mark.lsl]

PEOPLE = ("patient", "partner", "clinician")
HISTORY_S = 300.0
CLOCK = r"\d\d:\d\d:\d\d"


@pytest.fixture(scope="module")
def blocks():
    """(snapshot, printed lines) of every tick until the group index has been tested and
    every person's HR, RMSSD and SCL are shown (at most ~10 s)."""
    prefix = f"GrpHl{uuid.uuid4().hex[:8]}"
    cfg = GroupSimConfig(
        people=PEOPLE, couplings=(coupling_parse("patient-partner=0.8@2"),), seed=5
    )
    source = GroupSimulatorSource(cfg, prefix=prefix, start_s=HISTORY_S)
    source.start()
    got: list = []
    control = LiveController(EngineConfig(publish_metrics=False))
    control.on_started = lambda session: session.engine.subscribe(
        lambda snap: got.append((snap, format_group_snapshot(snap, PEOPLE)))
    )
    try:
        while source.t0 is None:
            time.sleep(0.01)
        assignment, found = wait_for_group(PEOPLE, prefix, wait_s=15.0)
        history = GroupHistory(source.model, source.t0, HISTORY_S)
        control.connect(
            group_choice(assignment, found, SourceKind.SIMULATED, "test", history=history)
        )

        def done() -> bool:
            if not got:
                return False
            snap = got[-1][0]
            valid = all(
                snap.persons.get(p) is not None
                and snap.persons[p].hr_valid
                and snap.persons[p].scl_valid
                for p in PEOPLE
            )
            return valid and snap.group.index.mean_ci is not None and len(got) >= 3

        deadline = time.monotonic() + 12.0
        while not done() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        control.stop()
        source.stop()
    assert got, "no snapshot"
    return cfg, got


def _line(lines: list[str], head: str, indent: str = "") -> str:
    hits = [ln for ln in lines if re.match(rf"{CLOCK} {indent}{re.escape(head)}\s", ln)]
    assert len(hits) == 1, (head, lines)
    return hits[0]


def test_people_lines_are_the_snapshot_numbers_and_the_simulated_heart_rates(blocks) -> None:
    cfg, got = blocks
    snap, lines = got[-1]
    assert re.match(rf"{CLOCK} person\s+HR bpm  RMSSD ms  SCL µS  SCR /min  signals$", lines[0])
    for i, person in enumerate(PEOPLE):
        line = _line(lines, person)
        pm = snap.persons[person]
        cells = person_cells(pm)
        fields = line.split()
        assert fields[2:6] == cells, (line, cells)
        assert fields[6] == "delivering" and "eda:connected" in line and "ppg:connected" in line
        hr = float(fields[2])  # the engine's HR, near the simulated person's resting HR
        assert abs(hr - pm.hr_bpm) <= 0.5
        assert abs(hr - cfg.person_config(i).hr_bpm) < 12.0
        assert float(fields[4]) == pytest.approx(pm.scl_us, abs=0.005)


def test_pair_lines_are_the_matrix_cells(blocks) -> None:
    _cfg, got = blocks
    snap, lines = got[-1]
    g = snap.group
    assert len(g.pairs) == 3
    for pc in g.pairs:
        line = _line(lines, f"{pc.a}\u2013{pc.b}", indent="  ")
        if pc.paused:
            assert "paused" in line
            continue
        assert f"CI {pc.ci_rolling:.2f} (last minute)" in line
        if pc.p == pc.p:  # tested: raw and Holm-adjusted p of this cell
            assert f"p = {pc.p:.4f} raw, {pc.p_holm:.3f} after Holm over 3 pairs" in line
            assert f"(rule held {pc.hold_s:.0f} of {g.rule.hold_s:.0f} s)" in line
        else:
            assert "coupling test not run yet" in line
        assert ("\u2605 coupled above chance" in line) == pc.coupled
        assert ("not claimed" in line) == (not pc.coupled)
        assert (" leads, " in line) == (pc.leader is not None)
    tested = [pc for _s, _l in got for pc in _s.group.pairs if pc.p == pc.p]
    assert tested, "no pair's coupling test was filed"
    # under each pair its HR cell, in the HR matrix's words
    hr = g.hr
    assert hr is not None and hr.signal is GroupSignal.HR
    hr_lines = [ln.split("HR: ", 1)[1] for ln in lines if re.match(rf"{CLOCK}\s+HR: ", ln)]
    assert hr_lines == [pair_words(hr.pair(pc.a, pc.b), hr) for pc in g.pairs]
    # and in the metrics outlet's channels, every one with a value
    values = group_metric_values(snap)
    names = [n for n, _u in group_metric_channels(PEOPLE)]
    assert set(values) == set(names)
    hp = hr.pair("patient", "partner")
    assert values["pair_patient_partner_hr_coupled"] == float(hp.coupled)
    assert values["pair_patient_partner_hr_ci_rolling"] == pytest.approx(hp.ci_rolling, nan_ok=True)


def test_group_index_and_status_lines(blocks) -> None:
    _cfg, got = blocks
    snap, lines = got[-1]
    t = snap.group.index.mean_ci
    assert t is not None
    verdict = (
        "moving together above chance" if snap.group.index.above_chance else "not above chance"
    )
    assert any(
        ln.endswith(f"group     mean pairwise CI {t.observed:+.2f} \u2013 {verdict}")
        for ln in lines
    )
    assert any(f"(p = {t.p_value:.3f})" in ln and "shifted groups" in ln for ln in lines)
    assert any(ln.endswith("group     includes 5 min of simulated history") for ln in lines)
    status = _line(lines, "status")
    coupled = [f"{pc.a}\u2013{pc.b}" for pc in snap.group.pairs if pc.coupled]
    assert (
        f"3 people, 3 pairs; coupled above chance after Holm: {', '.join(coupled) or 'none'}"
        in status
    )
    # the selected pair (the clinician's first pair) heads the big meter's lines
    a, b = snap.pair
    assert "clinician" in (a, b)
    assert any(re.match(rf"{CLOCK} {a}\u2013{b} EDA ", ln) for ln in lines)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["demo", "--people", "9", "--headless"], "3 to 8 people"),
        (["demo", "--people", "3", "--headless", "--couple", "patient-nobody=0.8"], "nobody"),
        (
            [
                "--local-only",
                "run",
                "--headless",
                "--role",
                "a=NoSuch1*",
                "--role",
                "b=NoSuch2*",
                "--role",
                "c=NoSuch3*",
                "--wait",
                "0.5",
            ],
            "a",
        ),  # fmt: skip
        (["run", "--headless", "--role", "a=X*", "--role", "a=Y*", "--role", "c=Z*"], "a"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, words, capsys) -> None:
    import signal

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        rc = main(argv)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("attune: error: ") and words in err[0], err
