"""`attune analyze` on simulated groups recorded to XDF: the pair matrix against the known
coupling and lead, the group index, metrics.json (schema 2: people, pairs, group), the report,
and the bad input of a group (a pair that never overlaps, two people on one stream)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from xdf_sim import write_group_xdf

from app.analysis import AnalysisError, AnalysisOptions, analyze_file
from app.analysis.export import SCHEMA_VERSION, write_outputs
from devices.assign import parse_role_options
from dsp.params import MethodParams
from dsp.session import SessionConfig
from dsp.simulate_group import GroupSimConfig, coupling_parse, simulate_group

TRIAD = ("partner", "patient", "clinician")
CFG = SessionConfig(method=MethodParams(n_surrogates=100))


def _roles(names, prefix="AttuneSim"):
    return parse_role_options([f"{n}={prefix}-{n}-*" for n in names])


@pytest.fixture(scope="module")
def triad(tmp_path_factory):
    """10 minutes, partner -> patient coupled 0.8 at 2 s, the clinician independent; heart
    rates answering each event by 12 bpm over half the default breathing (the default 5 bpm
    is too weak for 10 minutes of HR to show the coupling; the EDA is the default model's)."""
    tmp = tmp_path_factory.mktemp("triad")
    base = GroupSimConfig(people=TRIAD, seed=3)
    phys = tuple(
        replace(
            base.person_config(i), hr_response_bpm=12.0, rsa_bpm=base.person_config(i).rsa_bpm / 2
        )
        for i in range(len(TRIAD))
    )
    rec = simulate_group(
        people=TRIAD, couplings=(coupling_parse("partner-patient=0.8@2"),), duration_s=600,
        seed=3, physiology=phys,
    )  # fmt: skip
    marks = [(float(t), "talking" if i % 2 == 0 else "listening") for i, t in
             enumerate(range(0, 600, 60))]  # fmt: skip
    path = write_group_xdf(tmp / "triad.xdf", rec, markers=marks)
    a = analyze_file(path, AnalysisOptions(roles=_roles(TRIAD), config=CFG))
    out = tmp / "out"
    write_outputs(a, out, ("json", "html", "csv"))
    return a, out


def test_triad_matrix_finds_the_coupled_pair_and_its_lead(triad) -> None:
    a, _ = triad
    assert a.people == TRIAD and a.roles == TRIAD and a.dyad is None and a.group is not None
    gc = a.group.eda
    assert [pc.coupled for pc in gc.pairs] == [True, False, False]  # partner-patient only
    pc = gc.pair("partner", "patient")
    assert pc.leader == "partner" and 1.0 <= pc.lag_s <= 3.0
    assert gc.mean_ci is not None and gc.mean_ci.above_chance
    # default order: the clinician's pairs first
    assert a.group.people.pairs[0] == ("partner", "clinician")
    assert a.group.contrasts[("partner", "patient")]  # talking vs listening tested


def test_metrics_json_schema_2_pairs_and_group(triad) -> None:
    _, out = triad
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["schema_version"] == SCHEMA_VERSION == 2
    assert [p["role"] for p in m["people"]] == list(TRIAD)
    assert m["concordance"] is None and set(m["persons"]) == set(TRIAD)
    assert len(m["pairs"]) == 3
    coupled = [p for p in m["pairs"] if p["coupled"]]
    assert [p["people"] for p in coupled] == [["partner", "patient"]]
    assert "above chance" in coupled[0]["statement"] and coupled[0]["p_claim"] < 0.05
    assert coupled[0]["lead"]["leader"] == "partner" and coupled[0]["contrasts"]
    g = m["group"]
    assert g["index"]["name"] == "mean pairwise CI" and g["index"]["above_chance"]
    assert g["index"]["p_value"] < 0.05 and g["coupled_pairs"] == [["partner", "patient"]]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Who moves with whom: 3 people, 3 pairs" in html and "Group index" in html
    for name in TRIAD:
        assert (out / f"beats_{name}.csv").is_file()
    head = (out / "timeseries.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "scl_partner_us" in head


def test_triad_hr_matrix_finds_the_coupled_pair_in_metrics_and_report(triad) -> None:
    a, out = triad
    hr = a.group.hr
    assert hr is not None and hr.people == TRIAD and hr.mean_ci is None
    assert [pc.coupled for pc in hr.pairs] == [True, False, False]  # partner-patient only
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    by = {tuple(p["people"]): p["hr"] for p in m["pairs"]}
    h = by[("partner", "patient")]
    assert h["signal"] == "hr" and h["coupled"] and h["p_claim"] < 0.05
    assert h["p_claim"] == max(h["p_holm"], h["ci_best_lag_p_value"])
    assert h["lead"]["leader"] == "partner" and 1.0 <= h["lead"]["lag_s"] <= 3.0
    assert "partner and patient's heart rates move together above chance" in h["statement"]
    assert h["ci_best_lag"] > h["ci_best_lag_chance_median"] and 1 <= h["ci_best_lag_s"] <= 3
    for pair in (("partner", "clinician"), ("patient", "clinician")):
        assert not by[pair]["coupled"] and "not above chance" in by[pair]["statement"]
    assert m["group"]["hr"]["coupled_pairs"] == [["partner", "patient"]]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Who moves with whom: heart rate, 3 people, 3 pairs" in html
    assert "Heart rate of the pairs that matter" in html


def test_a_pair_that_never_overlaps_is_one_line_the_others_go_on(tmp_path: Path) -> None:
    names = ("early", "always", "late")
    rec = simulate_group(people=names, duration_s=320, seed=4)
    spans = {"early": (0.0, 150.0), "late": (170.0, 320.0)}
    path = write_group_xdf(tmp_path / "g.xdf", rec, offsets=spans)
    a = analyze_file(path, AnalysisOptions(roles=_roles(names), config=CFG))
    lines = [n for n in a.notes if n.startswith("early-late")]
    assert len(lines) == 1 and "never overlaps" in lines[0]
    assert a.group.eda.pair("early", "always").overlap_s > 100
    assert a.group.eda.pair("always", "late").overlap_s > 100


def test_two_people_on_one_stream_are_one_line_the_others_go_on(tmp_path: Path) -> None:
    names = ("a", "b", "c")
    rec = simulate_group(people=names, duration_s=200, seed=5)
    path = write_group_xdf(tmp_path / "g.xdf", rec)
    roles = _roles(names)
    roles["d"] = "AttuneSim-c-*"  # c's devices given to d too: neither gets them
    a = analyze_file(path, AnalysisOptions(roles=roles, config=CFG))
    assert a.roles == ("a", "b") and a.group is not None
    shared = [n for n in a.notes if "given to 2 people" in n]
    assert len(shared) == 2 and all(n.startswith("c and d ") for n in shared)  # EDA, PPG
    # two people left on one stream: nothing to go on with, one line
    roles = {"a": "AttuneSim-a-*", "b": "AttuneSim-a-*", "c": "AttuneSim-b-EDA"}
    with pytest.raises(AnalysisError, match="given to 2 people"):
        analyze_file(path, AnalysisOptions(roles=roles, config=CFG))


def test_library_lists_a_group_session(triad) -> None:
    from app.library import format_table, read_session

    _, out = triad
    e = read_session(out)
    assert e is not None and e.people == TRIAD
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert e.eda_ci == pytest.approx(m["group"]["index"]["value"])
    line = format_table([e])[1]
    assert "group of 3: partner, patient, clinician" in line


def test_summary_row_of_a_group(triad) -> None:
    from app.analysis.export import SUMMARY_FIELDS, summary_row

    _, out = triad
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    row = summary_row(m, str(out))
    assert set(row) <= set(SUMMARY_FIELDS)  # summary.csv takes it (a partner_* key did not)
    assert row["group_people"] == "partner+patient+clinician"
    assert (
        row["group_coupled_pairs"] == "partner-patient" and float(row["group_index_p_value"]) < 0.05
    )
