"""The review window's "Pairs" tab of a group session: the pair matrix (cell colour = session
CI, ● = coupled after Holm), the pairs that matter and the group index; the same numbers and
words as the report's group section (:mod:`app.analysis.group`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.analysis.group import (
    COUPLED_MARK,
    HR_PAIRS_HEADER,
    GroupAnalysis,
    hr_pairs_rows,
    index_text,
    matrix_cells,
    pairs_rows,
)
from app.review.layout import table_widget
from dsp.concordance.group import GroupSignal

__all__ = ["ci_colour", "pairs_panel"]


def ci_colour(v: float) -> QColor:
    """Diverging colour-blind-safe (PuOr): -1 purple, 0 white, +1 orange (``v`` scaled CI)."""
    v = max(-1.0, min(1.0, float(v)))
    end = (230, 159, 0) if v > 0 else (94, 60, 153)
    w = abs(v)
    return QColor(*(int(round(255 + (c - 255) * w)) for c in end))


def pairs_panel(g: GroupAnalysis) -> QWidget:
    """The tab's widget for group ``g``."""
    head, rows = matrix_cells(g)
    matrix = table_widget(list(head), [list(r) for r in rows])
    ci = g.eda.matrix("ci")
    lim = max(0.2, float(np.nanmax(np.abs(ci))) if np.isfinite(ci).any() else 0.2)
    for i in range(ci.shape[0]):
        matrix.item(i, 0).setForeground(QColor(g.people.colour(head[i + 1])))
        for j in range(ci.shape[1]):
            if i != j and np.isfinite(ci[i, j]):
                matrix.item(i, j + 1).setBackground(ci_colour(ci[i, j] / lim))
    pairs = table_widget(["pair", "CI", "p (Holm)", "coupled", "lead", "label contrasts"],
                         [list(r) for r in pairs_rows(g)])  # fmt: skip
    text = QLabel(
        f"Colour: session CI (orange positive, purple negative). {COUPLED_MARK}: above "
        f"chance after Holm over {len(g.eda.pairs)} pairs.<br>Group index (mean pairwise "
        f"CI): {index_text(g.eda.mean_ci)}"
    )
    text.setWordWrap(True)
    box = QWidget()
    lay = QVBoxLayout(box)
    for w in (matrix, text, pairs, *_hr_widgets(g)):
        lay.addWidget(w)
    return box


def _hr_widgets(g: GroupAnalysis) -> list[QWidget]:
    """The HR matrix (CI at each pair's best lag, ● = coupled after Holm) and the HR of the
    pairs that matter; nothing without two people's HR."""
    if g.hr is None:
        return []
    head, rows = matrix_cells(g, GroupSignal.HR)
    matrix = table_widget(list(head), [list(r) for r in rows])
    for i in range(len(rows)):
        matrix.item(i, 0).setForeground(QColor(g.people.colour(head[i + 1])))
    text = QLabel(
        f"<b>Heart rate</b>: CI of the 1-s HR slopes at the pair's best lag (within \u00b15 s) "
        f"minus its chance median (a best lag is above zero even by chance; both in the table "
        f"below). {COUPLED_MARK}: above chance after Holm over {len(g.hr.pairs)} pairs."
    )
    text.setWordWrap(True)
    pairs = table_widget(list(HR_PAIRS_HEADER), [list(r) for r in hr_pairs_rows(g)])
    return [text, matrix, pairs]
