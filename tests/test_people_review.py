"""The review window of a group session: the Pairs tab shows the matrix (coloured by CI, ● on
the pair coupled after Holm), the pairs and the group index; traces in the people's colours."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from xdf_sim import write_group_xdf  # noqa: E402

from app.analysis import AnalysisOptions, analyze_file  # noqa: E402
from app.review.window import ReviewWindow  # noqa: E402
from devices.assign import parse_role_options  # noqa: E402
from dsp.params import MethodParams  # noqa: E402
from dsp.session import SessionConfig  # noqa: E402
from dsp.simulate_group import coupling_parse, simulate_group  # noqa: E402

TRIAD = ("partner", "patient", "clinician")


def test_pairs_tab_of_a_triad(qtbot, tmp_path) -> None:
    rec = simulate_group(people=TRIAD, couplings=(coupling_parse("partner-patient=0.8@2"),),
                         duration_s=600, seed=3)  # fmt: skip
    path = write_group_xdf(tmp_path / "t.xdf", rec)
    roles = parse_role_options([f"{n}=AttuneSim-{n}-*" for n in TRIAD])
    cfg = SessionConfig(method=MethodParams(n_surrogates=100))
    a = analyze_file(path, AnalysisOptions(roles=roles, config=cfg))
    w = ReviewWindow(a, notes_path=tmp_path / "n.txt")
    qtbot.addWidget(w)
    assert w.tabs.currentWidget() is w.pairs and w.tabs.tabText(1) == "Pairs (3)"
    matrix = w.pairs.layout().itemAt(0).widget()
    cell = matrix.item(0, 2)  # partner row, patient column
    assert cell.text().endswith("●") and cell.background().color().red() > 200
    assert not matrix.item(0, 3).text().endswith("●")  # partner-clinician: not coupled
    assert matrix.item(1, 0).foreground().color().name() == "#0072b2"  # the patient is blue
    assert "Group index" in w._header_html() and "partner–patient" in w._header_html()
    # the HR matrix and the HR of the pairs below the EDA ones: one row per person, every
    # cell either a number or not tested, the pairs table one row per pair that matters
    lay = w.pairs.layout()
    assert lay.count() == 6
    assert "Heart rate" in lay.itemAt(3).widget().text()
    hr_matrix, hr_pairs = lay.itemAt(4).widget(), lay.itemAt(5).widget()
    assert hr_matrix.rowCount() == 3 and hr_pairs.rowCount() == 3
    assert hr_pairs.horizontalHeaderItem(1).text() == "CI at best lag"
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.grab().save(str(tmp_path / "pairs.png"))
