"""Review window layout (issue 18): legends never cover a curve, the Blocks tab fits."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from xdf_sim import write_simulated_xdf  # noqa: E402

from app.analysis import analyze_file  # noqa: E402
from dsp.simulate import DyadSimConfig, simulate_dyad  # noqa: E402

MARKERS = [(0.0, "listening"), (100.0, "talking"), (200.0, "listening")]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory):
    dyad = simulate_dyad(DyadSimConfig(duration_s=300.0, seed=7, coupling=0.8, lag_s=2.0))
    path = tmp_path_factory.mktemp("layout") / "session.xdf"
    write_simulated_xdf(path, dyad, t0=200.0, markers=MARKERS)
    return analyze_file(path)


@pytest.mark.parametrize("size", [(1400, 900), (1100, 700)])
def test_legends_sit_outside_the_data_and_blocks_need_no_scrolling(qtbot, analysis, size):
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    w = ReviewWindow(analysis)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    for plot in (w.p_eda, w.p_ci):
        legend = plot.legend
        names = [label.text for _, label in legend.items]
        assert len(names) >= 2 and legend.isVisible()
        data = plot.vb.sceneBoundingRect()
        box = legend.sceneBoundingRect()
        assert box.height() > 10 and not box.intersects(data), (names, box, data)
    assert "EDA rolling CI (last 60 s)" in [lab.text for _, lab in w.p_ci.legend.items]
    # the Blocks tab: every label column within the visible width, no horizontal scrolling
    w.tabs.setCurrentWidget(w.blocks)
    qtbot.wait(50)
    b = w.blocks
    assert b.columnCount() == 3
    assert b.horizontalScrollBar().maximum() == 0
    right = b.columnViewportPosition(2) + b.columnWidth(2)
    assert right <= b.viewport().width() + 1
    headers = [b.horizontalHeaderItem(i).text() for i in range(1, 3)]
    assert headers == ["listening", "talking"]
