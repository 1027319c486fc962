"""app.analysis.tables: one view model, rendered by the report and the review window alike;
heartpy's second opinion beside ours, and a heartpy failure that breaks nothing."""

from __future__ import annotations

import html

import numpy as np
import pytest
from xdf_sim import write_simulated_xdf

import app.heartpy_peer as peer
from app.analysis import analyze_file, metrics_dict
from app.analysis.report import render_report
from app.analysis.tables import heartpy_table, session_tables
from app.formatting import MISSING, fmt_mmss, fmt_value
from app.heartpy_peer import longest_span
from dsp.simulate import DyadSimConfig, simulate_dyad

MARKERS = [(0.0, "listening"), (100.0, "talking"), (200.0, "listening")]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    dyad = simulate_dyad(DyadSimConfig(duration_s=300.0, seed=11, coupling=0.8, lag_s=2.0))
    path = write_simulated_xdf(tmp_path_factory.mktemp("t") / "s.xdf", dyad, markers=MARKERS)
    return dyad, analyze_file(path)


def test_report_shows_every_cell_of_every_table(session) -> None:
    _, a = session
    page = render_report(a, metrics_dict(a))
    tables = session_tables(a)
    assert [t.key for t in tables] == ["concordance", "contrasts", "hr_synchrony", "blocks",
                                       "intervals", "physiology", "heartpy", "quality",
                                       "inputs"]  # fmt: skip
    for t in tables:
        assert all(len(row) == len(t.header) for row in t.rows), t.key
        for row in t.rows:
            for cell in row:
                assert f"<td>{html.escape(cell)}</td>" in page, (t.key, cell)


def test_cells_come_from_the_analysis(session) -> None:
    _, a = session
    by = {t.key: t for t in session_tables(a)}
    blocks = {row[0]: row for row in by["blocks"].rows}
    assert set(blocks) == {"listening", "talking"} and blocks["listening"][1] == "2"
    assert blocks["talking"][3] == fmt_value(a.dyad.eda.segments.by_label("talking").ci, 2)
    phys = {row[0]: row for row in by["physiology"].rows}
    assert phys["RMSSD (ms)"][1] == fmt_value(a.persons["patient"].rmssd_ms, 1)
    assert by["intervals"].rows[1][1] == fmt_mmss(100.0)
    t = by["blocks"].transposed()
    assert t.header == ("label", "listening", "talking") and t.rows[0][0] == "blocks"
    # every statement about coupling is the tested one, with its words from dsp
    conc = {row[0]: row for row in by["concordance"].rows}
    assert conc["Skin conductance (EDA)"][-1] == a.dyad.eda.lead.text
    assert "p = " in a.dyad.eda.lead.text or a.dyad.eda.lead.text == "not enough data for a test"
    (c,) = [row for row in by["contrasts"].rows if row[0] == "EDA"]
    assert c[-1] == a.dyad.eda.contrasts[0].text


def test_heartpy_agrees_on_heart_rate(session) -> None:
    dyad, a = session
    if not peer.heartpy_status()[0]:
        pytest.skip("heartpy does not import here")
    for role in ("patient", "clinician"):
        c = a.heartpy[role]
        assert c.estimate.available, c.estimate.error
        assert c.t1 - c.t0 == pytest.approx(300.0, abs=1.0)
        truth = getattr(dyad, role).truth.mean_hr_bpm
        assert c.estimate.bpm == pytest.approx(truth, rel=0.03)
        assert c.our_hr_bpm == pytest.approx(c.estimate.bpm, abs=2.0)
        assert c.estimate.rmssd_ms == pytest.approx(c.our_rmssd_ms, rel=0.5)


def test_a_heartpy_failure_breaks_nothing(session, monkeypatch) -> None:
    """heartpy failing to import (e.g. pkg_resources gone): the analysis, the tables and the
    report still come out, with the reason in the heartpy column."""
    monkeypatch.setattr(peer, "_STATE", {})
    monkeypatch.setattr(peer, "_import_heartpy", _import_fails)
    a = analyze_file(session[1].path)
    assert all(not c.estimate.available for c in a.heartpy.values())
    t = heartpy_table(a)
    assert all(row[3] == MISSING and "pkg_resources" in row[-1] for row in t.rows)
    assert "heartpy n/a" in render_report(a, metrics_dict(a))
    assert a.persons["patient"].mean_hr_bpm == session[1].persons["patient"].mean_hr_bpm


def test_longest_span_skips_gaps_and_caps_length() -> None:
    t = np.concatenate([np.arange(0, 100, 0.5), 200 + np.arange(0, 1000, 0.5)])
    i0, i1 = longest_span(t, max_gap_s=1.0, max_s=600.0)
    assert t[i0] == 200.0 and t[i1 - 1] == pytest.approx(799.5)
    assert longest_span(np.zeros(0), 1.0) == (0, 0)


def _import_fails():
    raise ModuleNotFoundError("No module named 'pkg_resources'")
