"""The group console's widgets offscreen: the pairwise matrix paints each pair's strength
colour and the evidence mark only on a claimed pair, its tooltip carries the p-values, a click
selects the pair; lead words name the group's pair; one table row per person."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.gui.group_view import (  # noqa: E402
    PairMatrix,
    PeopleTable,
    pair_tooltip,
    strength_colour,
)
from app.gui.qtapp import make_app  # noqa: E402
from app.meter_state import name_leader  # noqa: E402
from app.palette import ROLE_COLOURS  # noqa: E402
from app.people import people_model  # noqa: E402
from dsp.concordance import DyadConfig  # noqa: E402
from dsp.concordance.live_group import LiveGroup  # noqa: E402
from dsp.simulate_group import GroupSimConfig, coupling_parse, group_grid, simulate_group  # noqa: E402

PEOPLE = ("patient", "partner", "clinician")


@pytest.fixture(scope="module")
def metrics():
    """A triad after 320 s with one round of tests; the patient-partner cell then marked as
    claimed by hand (the rule needs 10 minutes), the clinician's pairs paused in a copy."""
    cfg = GroupSimConfig(
        people=PEOPLE, couplings=(coupling_parse("patient-partner=0.9@2"),),
        duration_s=320.0, seed=3,
    )  # fmt: skip
    g = group_grid(simulate_group(cfg))
    lg = LiveGroup(PEOPLE, DyadConfig())
    lg.push(g.t, g.eda)
    assert lg.run_due() == 4
    return lg.snapshot()


def _claimed(m, a, b):
    pairs = tuple(replace(pc, coupled=True) if {pc.a, pc.b} == {a, b} else pc for pc in m.pairs)
    return replace(m, pairs=pairs)


def _cell_centre(w: PairMatrix, i: int, j: int) -> QPointF:
    left, top, size = w._layout()
    return QPointF(left + (j + 0.5) * size, top + (i + 0.5) * size)


def test_matrix_paints_strength_and_marks_only_the_claimed_pair(metrics) -> None:
    make_app()
    m = _claimed(metrics, "patient", "partner")
    w = PairMatrix()
    w.resize(420, 380)
    w.set_metrics(m, ("patient", "clinician"))
    img = w.grab().toImage()
    left, top, size = w._layout()
    for pc in m.pairs:
        i, j = PEOPLE.index(pc.a), PEOPLE.index(pc.b)
        # a point inside the cell away from the number, the ring and the star
        x, y = left + j * size + 0.2 * size, top + i * size + 0.75 * size
        got = QColor(img.pixel(int(x), int(y)))
        want = strength_colour(pc.ci_rolling if pc.valid else math.nan)
        assert abs(got.red() - want.red()) <= 3 and abs(got.green() - want.green()) <= 3
        # the ring: dark pixels near the cell border only for the claimed pair
        edge = QColor(img.pixel(int(left + j * size + 4), int(top + i * size + size / 2)))
        assert (edge.lightness() < 40) == pc.coupled
    assert w.cell_at(*(_cell_centre(w, 0, 0).toTuple())) is None  # the diagonal is no pair
    assert w.cell_at(*(_cell_centre(w, 2, 1).toTuple())).b == "clinician"


def test_strength_palette_is_ordered_and_unknown_is_grey() -> None:
    make_app()
    g = [strength_colour(v).greenF() - strength_colour(v).redF() for v in (-3, -1, 0, 1, 3)]
    assert g == sorted(g)  # purple (apart) .. green (together)
    assert strength_colour(math.nan).name() == "#bdbdbd"
    assert strength_colour(99).name() == strength_colour(3).name()


def test_tooltip_carries_the_raw_and_holm_p_and_the_rule(metrics) -> None:
    pc = metrics.pair("patient", "partner")
    text = pair_tooltip(pc, metrics)
    assert f"{pc.p:.4f} raw" in text and f"{pc.p_holm:.3f} after Holm over 3 pairs" in text
    assert "not claimed" in text and "99th percentile" in text
    claimed = _claimed(metrics, "patient", "partner")
    assert "<b>coupled above chance</b>" in pair_tooltip(
        claimed.pair("patient", "partner"), claimed
    )


def test_click_selects_the_pair_and_paused_cells_say_so(metrics) -> None:
    make_app()
    w = PairMatrix()
    w.resize(420, 380)
    paused = replace(
        metrics,
        pairs=tuple(replace(pc, paused="clinician" in (pc.a, pc.b)) for pc in metrics.pairs),
    )
    w.set_metrics(paused, None)
    got = []
    w.pair_selected.connect(lambda a, b: got.append((a, b)))
    QTest.mouseClick(w, Qt.MouseButton.LeftButton, pos=_cell_centre(w, 1, 2).toPoint())
    assert got == [("partner", "clinician")]
    img = w.grab().toImage()
    left, top, size = w._layout()
    px = [QColor(img.pixel(int(left + 2 * size + k), int(top + 0.2 * size))) for k in range(4, 30)]
    assert any(c.name() == "#bdbdbd" for c in px)  # the hatched grey of a paused pair


def test_lead_words_name_the_groups_pair() -> None:
    assert name_leader("patient leads by 2.0 s (p = 0.004)", "partner", "child") == (
        "partner leads by 2.0 s (p = 0.004)"
    )
    assert name_leader("HR lead: clinician leads by 1.0 s", "partner", "child").endswith(
        "child leads by 1.0 s"
    )
    assert name_leader("no clear lead (p = 0.4)", "a", "b") == "no clear lead (p = 0.4)"


def test_group_colours_keep_the_roles_and_differ() -> None:
    m = people_model(("partner", "patient", "child", "clinician", "E", "F", "G", "H"))
    c = {p.role: p.colour for p in m.persons}
    assert c["patient"] == ROLE_COLOURS["patient"] and c["clinician"] == ROLE_COLOURS["clinician"]
    assert len(set(c.values())) == 8


def test_people_table_has_one_row_per_person(metrics) -> None:
    make_app()
    t = PeopleTable(PEOPLE)
    assert t.rowCount() == 3
    t.update_persons({}, {"partner": "eda not delivering"})
    assert t.item(1, t.columnCount() - 1).text() == "eda not delivering"
    assert t.item(0, t.columnCount() - 1).text() == "delivering"
    assert np.all([t.item(i, 0).text().endswith(p) for i, p in enumerate(PEOPLE)])


@pytest.mark.parametrize(
    "people, words",
    [("9", "3 to 8 people"), ("2", "3 to 8 people"), ("a,a,b", "distinct names")],
)
def test_group_demo_bad_input_is_one_line_and_status_2(people: str, words: str) -> None:
    import os
    import subprocess
    import sys

    p = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--people", people, "--screenshot", "x.png"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
