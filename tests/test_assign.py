"""Role and modality assignment rules, map files and their error lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.assign import (
    MapError,
    ProblemKind,
    assign,
    dump_map,
    explain,
    load_map,
    parse_role_options,
)
from devices.lsl import StreamDescription


def sd(name, stype, sid="", n=1, labels=(), fmt="float32", rate=32.0) -> StreamDescription:
    return StreamDescription(name, stype, sid, "host", rate, n, fmt, uid=name + sid, labels=labels)


SIM = [
    sd("Sim-patient-EDA", "EDA", "sim-patient-eda"),
    sd("Sim-patient-PPG", "PPG", "sim-patient-ppg", rate=128),
    sd("Sim-clinician-EDA", "gsr", "sim-clinician-eda"),
    sd("Sim-clinician-PPG", "BVP", "sim-clinician-ppg", rate=128),
    sd("Muse", "EEG", "muse-1", n=4),
]


def test_role_words_assign_a_complete_dyad() -> None:
    a = assign(SIM)
    assert a.complete and not a.problems
    assert a.get("clinician", "eda").stream.name == "Sim-clinician-EDA"  # GSR -> eda
    assert a.cardiac("clinician").stream.type == "BVP"


def test_role_globs_win_and_ambiguity_is_reported() -> None:
    streams = [
        sd("ShimmerA", "EDA", "A1"),
        sd("ShimmerA-ppg", "PPG", "A2"),
        sd("ShimmerB", "EDA", "B1"),
        sd("ShimmerB2", "EDA", "B3"),
        sd("ShimmerB-ppg", "PPG", "B2"),
    ]
    a = assign(streams, roles=parse_role_options(["patient=ShimmerA*", "clinician=ShimmerB*"]))
    assert a.get("patient", "eda").stream.source_id == "A1"
    assert not a.complete
    amb = [p for p in a.problems if p.kind is ProblemKind.AMBIGUOUS]
    assert [(p.role, p.modality) for p in amb] == [("clinician", "eda")]
    assert "clinician eda: 2 streams match" in str(amb[0])
    line = explain(a, streams)
    assert line.startswith("stream assignment incomplete") and "\n" not in line
    assert "--role" in line


def test_nothing_is_guessed_without_role_words() -> None:
    a = assign([sd("Shimmer", "EDA", "x"), sd("Polar", "ECG", "y")])
    assert not a.channels
    missing = {(p.role, p.modality) for p in a.problems if p.kind is ProblemKind.MISSING}
    assert ("patient", "eda") in missing
    assert "patient eda: no stream assigned" in a.problem_text


def test_map_file_with_channel_labels(tmp_path: Path) -> None:
    multi = sd("BrainAmp", "EEG", "ba", n=3, labels=("ECG", "RESP", "GSR"), rate=100)
    streams = [multi, sd("P2-eda", "EDA", "p2"), sd("P2-ecg", "ECG", "p2e", rate=130)]
    f = tmp_path / "map.toml"
    f.write_text(
        '[patient]\neda = { stream = "BrainAmp", channel = "GSR" }\n'
        'ecg = { stream = "BrainAmp", channel = "ECG" }\n'
        '[clinician]\neda = "P2-eda"\necg = { stream = "p2e" }\n'
    )
    a = assign(streams, mapping=load_map(f))
    assert a.complete, a.problems
    assert a.get("patient", "eda").channel == 2
    assert a.get("patient", "ecg").channel == 0
    # round trip through dump_map
    f2 = tmp_path / "map2.toml"
    f2.write_text(dump_map(a))
    b = assign(streams, mapping=load_map(f2))
    assert {(c.role, c.modality, c.channel) for c in b.channels} == {
        (c.role, c.modality, c.channel) for c in a.channels
    }


def test_missing_channel_and_string_stream_are_problems(tmp_path: Path) -> None:
    streams = [sd("X", "EDA", "x", n=2, labels=("a", "b")), sd("M", "EDA", "m", fmt="string")]
    f = tmp_path / "m.toml"
    f.write_text('[patient]\neda = { stream = "X", channel = "GSR" }\n[clinician]\neda = "M"\n')
    a = assign(streams, mapping=load_map(f))
    kinds = {p.kind: p for p in a.problems}
    assert "has no channel 'GSR'" in str(kinds[ProblemKind.NO_CHANNEL])
    assert "carries string values" in str(kinds[ProblemKind.NOT_NUMERIC])
    assert all(
        p.blocks_assigned for p in (kinds[ProblemKind.NO_CHANNEL], kinds[ProblemKind.NOT_NUMERIC])
    )


@pytest.mark.parametrize(
    "text, msg",
    [
        ("['the doctor']\neda = 'x'\n", "unknown section"),  # any one-word role is fine
        ("[patient]\nemg = 'x'\n", "not one of eda, ppg, ecg"),
        ("[patient\n", "not valid TOML"),
        ("[patient]\neda = { channel = 'x' }\n", "needs stream"),
    ],
)
def test_bad_map_files_give_one_line(tmp_path: Path, text: str, msg: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(MapError, match=msg):
        load_map(f)


def test_missing_map_and_bad_role_option() -> None:
    with pytest.raises(MapError, match="not found"):
        load_map("/nonexistent/map.toml")
    with pytest.raises(MapError, match="ROLE=GLOB"):
        parse_role_options(["therapist"])  # any role name is fine; the = is not


def test_digit_string_channel_is_a_label_first() -> None:
    """NPLab labels its channels "1", "2", "3": "1" means the channel labelled 1 (index 0)."""
    s = sd("ExG", "EEG", "nplab", n=3, labels=("1", "2", "3"), rate=100)
    p = sd("other", "EDA", "o")
    mapping = {
        "patient": {
            "ecg": {"stream": "ExG", "channel": "1"},
            "eda": {"stream": "ExG", "channel": 2},
        },
        "clinician": {"eda": {"stream": "other"}},
    }
    a = assign([s, p], mapping=mapping)
    assert a.get("patient", "ecg").channel == 0
    assert a.get("patient", "eda").channel == 2
    # a slot that already has a problem is not reported again as merely missing
    assert not any(
        p.kind is ProblemKind.MISSING and p.concerns("patient", "eda") for p in a.problems
    )
    cardiac = [p for p in a.problems if p.concerns("clinician", "cardiac")]
    assert [p.kind for p in cardiac] == [ProblemKind.MISSING]
    assert str(cardiac[0]) == "clinician ppg/ecg: no stream assigned"
