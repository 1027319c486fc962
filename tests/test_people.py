"""N people in the stream assignment (any role names, 2-8), the people model (colours, pairs)
and the bad input of a group: two people on one stream, a role with no stream, nine people."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.people import PALETTE, default_pairs, parse_pairs, people_model
from devices.assign import (
    ROLES,
    MapError,
    ProblemKind,
    assign,
    dump_map,
    explain,
    load_map,
    map_pairs,
    parse_role_options,
    people_of,
)
from devices.lsl import StreamDescription


def sd(name, stype, sid="", n=1, labels=(), host="host", rate=32.0) -> StreamDescription:
    return StreamDescription(
        name, stype, sid or name, host, rate, n, "float32", uid=name + sid, labels=labels
    )


def group_streams(names, host="host"):
    out = []
    for n in names:
        out += [
            sd(f"Sim-{n}-EDA", "EDA", host=host),
            sd(f"Sim-{n}-PPG", "PPG", host=host, rate=128),
        ]
    return out


FAMILY = ("mother", "father", "child", "clinician")


def test_any_role_names_assign_a_complete_group() -> None:
    roles = parse_role_options([f"{n}=Sim-{n}-*" for n in FAMILY])
    a = assign(group_streams(FAMILY), roles=roles)
    assert a.people == FAMILY and a.complete and not a.problems
    for n in FAMILY:
        assert a.get(n, "eda").stream.name == f"Sim-{n}-EDA"
        assert a.cardiac(n).stream.name == f"Sim-{n}-PPG"
    # a person without streams: their slots are missing, the others stay assigned
    b = assign(group_streams(FAMILY[:3]), roles=roles)
    assert not b.complete
    assert {(p.kind, p.role) for p in b.problems} == {(ProblemKind.NO_MATCH, "clinician")}
    assert all(b.get(n, "eda") is not None for n in FAMILY[:3])
    assert "--role mother=GLOB --role father=GLOB" in explain(b, [])


def test_two_default_roles_keep_their_order_and_messages() -> None:
    assert people_of({"clinician": "B*", "patient": "A*"}) == ROLES
    assert people_of({"patient": "A*"}) == ROLES  # the clinician is still expected
    assert people_of(None, None) == ROLES
    assert people_of({"partner": "B*", "patient": "A*"}) == ("partner", "patient")
    a = assign(group_streams(["patient"]), roles=parse_role_options(["patient=Sim-patient-*"]))
    assert a.people == ROLES
    assert [str(p) for p in a.problems] == [
        "clinician eda: no stream assigned",
        "clinician ppg/ecg: no stream assigned",
    ]


def test_glob_at_host_picks_each_persons_device_among_identical_ones() -> None:
    streams = [
        sd("E4-EDA", "EDA", "e4-eda-1", host="pc-a"),
        sd("E4-BVP", "BVP", "e4-bvp-1", host="pc-a", rate=64),
        sd("E4-EDA", "EDA", "e4-eda-2", host="pc-b"),
        sd("E4-BVP", "BVP", "e4-bvp-2", host="pc-b", rate=64),
        sd("E4-EDA", "EDA", "e4-eda-3", host="pc-c"),
        sd("E4-BVP", "BVP", "e4-bvp-3", host="pc-c", rate=64),
    ]
    roles = parse_role_options(["partner=E4*@pc-b", "patient=E4*@pc-a", "cotherapist=E4*@pc-c"])
    a = assign(streams, roles=roles)
    assert a.people == ("partner", "patient", "cotherapist") and a.complete, a.problem_text
    assert a.get("partner", "eda").stream.source_id == "e4-eda-2"
    assert a.get("cotherapist", "ppg").stream.hostname == "pc-c"


def test_map_file_with_any_sections_pairs_and_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "family.toml"
    f.write_text(
        'pairs = ["child-clinician", "mother-child"]\n'
        + "".join(f'[{n}]\neda = "Sim-{n}-EDA"\nppg = "Sim-{n}-PPG"\n' for n in FAMILY)
    )
    mapping = load_map(f)
    assert tuple(mapping) == FAMILY and map_pairs(f) == ["child-clinician", "mother-child"]
    a = assign(group_streams(FAMILY), mapping=mapping)
    assert a.people == FAMILY and a.complete, a.problem_text
    f2 = tmp_path / "again.toml"
    f2.write_text(dump_map(a))
    b = assign(group_streams(FAMILY), mapping=load_map(f2))
    assert b.people == FAMILY and set(b.channels) == set(a.channels)
    # a multi-channel amplifier may still give each person their own channel
    amp = sd("Amp", "EEG", "amp", n=2, labels=("GSR1", "GSR2"))
    mapping = {
        "patient": {"eda": {"stream": "Amp", "channel": "GSR1"}},
        "partner": {"eda": {"stream": "Amp", "channel": "GSR2"}},
    }
    c = assign([amp], mapping=mapping)
    assert not any(p.kind is ProblemKind.SHARED for p in c.problems)
    assert c.get("partner", "eda").channel == 1


@pytest.mark.parametrize(
    "options",
    [
        ["patient=Sim-patient-*", "clinician=Sim-patient-*"],
        ["patient=Sim-patient-EDA", "partner=Sim-patient-*", "clinician=Sim-clinician-*"],
    ],
)
def test_two_people_on_one_stream_is_one_line_and_the_others_continue(options) -> None:
    streams = group_streams(["patient", "clinician"])
    a = assign(streams, roles=parse_role_options(options))
    shared = [p for p in a.problems if p.kind is ProblemKind.SHARED]
    assert shared and all(p.blocks_assigned for p in shared)
    line = str(shared[0])
    assert "\n" not in line and "given to 2 people" in line
    # neither of them gets the shared channel: nothing is analysed against itself
    keys = [(c.stream.uid, c.channel) for c in a.channels]
    assert len(keys) == len(set(keys))
    if "partner" in a.people:  # the others continue: the clinician and the partner's PPG
        assert a.get("clinician", "eda") and a.cardiac("clinician") and a.cardiac("partner")
        assert a.get("partner", "eda") is None and a.get("patient", "eda") is None
    # the shared slot is not reported again as merely missing
    assert not any(p.kind is ProblemKind.MISSING and p.concerns(shared[0].role, "eda")
                   for p in a.problems)  # fmt: skip


def test_bad_role_options_and_map_files(tmp_path: Path) -> None:
    nine = [f"p{i}=S{i}*" for i in range(9)]
    with pytest.raises(MapError, match="names 9 people.*at most 8"):
        parse_role_options(nine)
    with pytest.raises(MapError, match="given twice"):
        parse_role_options(["patient=A*", "patient=B*"])
    with pytest.raises(MapError, match="names one person"):
        parse_role_options(["mother=A*"])  # (patient alone is today's: clinician missing)
    with pytest.raises(MapError, match="one word"):
        parse_role_options(["co therapist=A*"])
    with pytest.raises(MapError, match="at most 8"):
        assign([], roles={f"p{i}": "x" for i in range(9)})
    bad = {
        "empty.toml": ("[patient]\neda = 'A'\n[partner]\n", "names no stream"),
        "nine.toml": ("".join(f"[p{i}]\neda = 'S{i}'\n" for i in range(9)), "at most 8"),
        "pairs.toml": ("pairs = 'a-b'\n[patient]\neda = 'A'\n", "unknown section"),
        "one.toml": ("[mother]\neda = 'A'\n", "names one person"),
    }
    for name, (text, msg) in bad.items():
        f = tmp_path / name
        f.write_text(text)
        with pytest.raises(MapError, match=msg) as err:
            load_map(f)
        assert "\n" not in str(err.value)


def test_people_model_colours_and_pairs() -> None:
    dyad = people_model(ROLES)
    assert dyad.is_dyad and dyad.pairs == (("patient", "clinician"),)
    assert dyad.colour("patient") == "#0072B2" and dyad.colour("clinician") == "#E69F00"
    fam = people_model(FAMILY)
    colours = [p.colour for p in fam.persons]
    assert len(set(colours)) == 4 and set(colours) <= set(PALETTE)
    assert fam.colour("clinician") == "#E69F00"  # the clinician keeps their colour
    # default: every pair, the clinician's first, each pair in the people's order
    assert fam.pairs[:3] == (("mother", "clinician"), ("father", "clinician"),
                             ("child", "clinician"))  # fmt: skip
    assert len(fam.pairs) == 6 and not fam.declared
    assert default_pairs(("a", "b", "c")) == (("a", "b"), ("a", "c"), ("b", "c"))
    couple = people_model(("partner", "patient", "therapist"))
    assert couple.clinician == "therapist" and couple.first_pair == ("partner", "therapist")
    declared = people_model(FAMILY, ["clinician-child", "mother-father"])
    assert declared.declared and declared.pairs == (("child", "clinician"), ("mother", "father"))
    eight = people_model([f"p{i}" for i in range(8)])
    assert len({p.colour for p in eight.persons}) == 8
    for names, pairs, msg in [
        (["a"], (), "2 to 8 people"),
        ([f"p{i}" for i in range(9)], (), "2 to 8 people"),
        (["a", "a"], (), "named twice"),
        (["a", "b"], ["a-c"], "not one of the people"),
        (["a", "b"], ["a-a"], "two different people"),
        (["a", "b"], ["a-b", "b-a"], "given twice"),
        (["a", "b"], ["ab"], "A-B"),
    ]:
        with pytest.raises(MapError, match=msg):
            people_model(names, pairs)
    assert parse_pairs(["a-b, b-c"], ("a", "b", "c")) == (("a", "b"), ("b", "c"))


def test_analyze_refuses_two_people_on_one_stream(tmp_path: Path) -> None:
    """Today's `attune analyze --role patient=X* --role clinician=X*` analysed one person
    against themselves and exited 0; now one line and exit status 2."""
    from xdf_sim import write_simulated_xdf

    from dsp.simulate import simulate_dyad

    f = write_simulated_xdf(tmp_path / "s.xdf", simulate_dyad(duration_s=20, seed=1))
    cmd = [sys.executable, "-m", "app.cli", "analyze", str(f), "--out", str(tmp_path / "o"),
           "--role", "patient=AttuneSim-patient-*", "--role", "clinician=AttuneSim-patient-*"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "given to 2 people" in lines[0], r.stderr
