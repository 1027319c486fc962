"""Device files of 3 people imported into one session carry its stream map, so ``attune
analyze`` and ``attune review`` need no ``--role``; the map round-trips; bad input of a group
run is one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import device_writers as W
import pytest

from app.analysis import AnalysisOptions, analyze_file
from app.importer import import_files
from devices.assign import Assignment, Channel, MapError, assign, map_from_text
from devices.lsl import StreamDescription
from devices.stream_map import assignment_map, glob_literal, map_toml, stored_map
from devices.xdf_reader import load_recording
from dsp.simulate_group import GroupSimConfig, simulate_group

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ("mother", "father", "child")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Three E4 sessions of a simulated family imported with any role names."""
    tmp = tmp_path_factory.mktemp("family")
    g = simulate_group(GroupSimConfig(people=PEOPLE, duration_s=60.0, seed=2, eda_fs=32.0))
    files = [W.e4_zip(tmp / f"1767261600_{p[0].upper()}0{i}.zip", g.people[p], seed=i)
             for i, p in enumerate(PEOPLE)]  # fmt: skip
    roles = [f"{p}={f.name}" for p, f in zip(PEOPLE, files, strict=True)]
    res = import_files([str(f) for f in files], tmp / "session", roles)
    return res


def test_import_of_three_people_writes_their_stream_map(imported) -> None:
    assert any(line.startswith("stream map written: mother, father, child") for line in
               imported.lines)  # fmt: skip
    rec = load_recording(imported.recording)
    smap = stored_map(rec.streams)
    assert smap is not None and smap.people == PEOPLE
    # each person's EDA and one cardiac signal (PPG: E4's BVP, not its IBI), by exact name
    assert smap.mapping["child"] == {"eda": {"stream": "child-e4-EDA", "channel": 0},
                                     "ppg": {"stream": "child-e4-BVP", "channel": 0}}  # fmt: skip
    assert list(smap.colours) == list(PEOPLE)


def test_analysis_without_roles_finds_the_three_people(imported) -> None:
    a = analyze_file(imported.recording, AnalysisOptions(formats=()))
    assert a.people == PEOPLE
    got = {(c.role, c.modality): c.stream for c in a.channels}
    assert got == {(p, m): f"{p}-e4-{'EDA' if m == 'eda' else 'BVP'}"
                   for p in PEOPLE for m in ("eda", "ppg")}  # fmt: skip
    assert a.group is not None and {(pc.a, pc.b) for pc in a.group.eda.pairs} == {
        ("mother", "father"),
        ("mother", "child"),
        ("father", "child"),
    }
    # --role still wins over the stored map
    b = analyze_file(imported.recording, AnalysisOptions(
        formats=(), roles={"patient": "mother-*", "clinician": "child-*"}))  # fmt: skip
    assert {c.role for c in b.channels} == {"patient", "clinician"}


def _desc(name: str, host: str, labels: tuple[str, ...] = ("EDA",)) -> StreamDescription:
    return StreamDescription(name, "EDA", f"sid-{name}", host, 4.0, len(labels), "float32",
                             uid=f"u-{name}-{host}", labels=labels)  # fmt: skip


def test_stream_map_round_trips_identical_devices_on_two_hosts() -> None:
    """Two people's identical devices, same name on two PCs, a name with glob characters:
    the stored map gives each person their own stream again, and nothing else."""
    a, b = _desc("Wrist[1]*", "pc-a"), _desc("Wrist[1]*", "pc-b")
    c = _desc("Other", "pc-a", ("x", "GSR"))
    chans = (Channel("mother", "eda", a, 0, "t"), Channel("father", "eda", b, 0, "t"),
             Channel("child", "eda", c, 1, "t"))  # fmt: skip
    text = map_toml(assignment_map(Assignment(chans, people=PEOPLE)), ["child-mother"])
    mapping = map_from_text(text, "test")
    got = assign([a, b, c, _desc("Wrist[1]x", "pc-a")], mapping=mapping)
    assert {(ch.role, ch.stream.hostname, ch.stream.name, ch.channel) for ch in got.channels} == {
        ("mother", "pc-a", "Wrist[1]*", 0),
        ("father", "pc-b", "Wrist[1]*", 0),
        ("child", "pc-a", "Other", 1),
    }
    assert 'pairs = ["child-mother"]' in text and glob_literal("a*b?[c]") == "a[*]b[?][[]c]"
    with pytest.raises(MapError, match="stream map"):
        map_from_text("[mother]\neda = 3\n", "the recording's stream map")


@pytest.mark.lsl
def test_group_run_with_a_host_no_stream_has_is_one_line_and_status_2(uid, capsys) -> None:
    from app.cli import main

    rc = main(["--local-only", "run", "--role", f"a=X{uid}*@nowhere", "--role", f"b=Y{uid}*",
               "--role", f"c=Z{uid}*", "--wait", "1"])  # fmt: skip
    assert rc == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("attune: error:") and "nowhere" in lines[0]


@pytest.mark.lsl
def test_attune_record_with_roles_writes_the_stream_map(uid, tmp_path) -> None:
    """``attune record --role NAME=GLOB`` for three people (the recorder beside a console)
    writes their stream map: the file is analysed without ``--role``."""
    from app.cli import build_parser
    from app.cli.sessions import cmd_record
    from devices.group_source import GroupSimulatorSource

    people = ("patient", "partner", "clinician")
    prefix = f"RecMap{uid}"
    src = GroupSimulatorSource(GroupSimConfig(people=people, seed=3), prefix=prefix)
    src.start()
    out = tmp_path / "group.xdf"
    try:
        roles = [a for p in people for a in ("--role", f"{p}={prefix}-{p}-*")]
        args = build_parser().parse_args(["record", str(out), *roles, "--duration", "2",
                                          "--wait", "15"])  # fmt: skip
        assert cmd_record(args) == 0
    finally:
        src.stop()
    smap = stored_map(load_recording(out).streams)
    assert smap is not None and smap.people == people
    assert {m for e in smap.mapping.values() for m in e} == {"eda", "ppg"}
