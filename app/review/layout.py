"""Layout helpers of the review window: legends outside the data, tables that fit."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from app.formatting import fmt_mmss

__all__ = ["TimeAxis", "fit_width", "legend_above", "table_widget"]


def table_widget(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    """A read-only table of text cells, values right-aligned after the first column."""
    t = QTableWidget(len(rows), len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            item = QTableWidgetItem(cell)
            if j > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(i, j, item)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setAlternatingRowColors(True)
    return t


def fit_width(t: QTableWidget) -> None:
    """Fit ``t`` to its width: the label column as wide as its words, the value columns
    sharing the rest, long values wrapped onto more lines (no horizontal scrolling)."""
    head = t.horizontalHeader()
    head.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    t.setWordWrap(True)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)


def legend_above(plot: pg.PlotItem, columns: int) -> pg.LegendItem:
    """A legend in ``plot``'s title row, above its data area, so it never covers a curve;
    curves plotted with a ``name`` join it (as with ``PlotItem.addLegend``)."""
    legend = pg.LegendItem(colCount=columns, horSpacing=18, frame=False, labelTextSize="8pt")
    plot.layout.removeItem(plot.titleLabel)  # these plots have no title: its row holds the legend
    plot.titleLabel.hide()
    plot.layout.addItem(legend, 0, 1)
    plot.legend = legend
    return legend


class TimeAxis(pg.AxisItem):
    """Axis labelled in m:ss since the session start (the data are in seconds from it)."""

    NICE_S = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - Qt naming
        span = max(maxVal - minVal, 1e-9)
        want = span / max(size / 90.0, 1.0)  # about one label per 90 px
        major = next((n for n in self.NICE_S if n >= want), self.NICE_S[-1])
        minor = next((n for n in reversed(self.NICE_S) if n <= major / 4), major / 5)
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt naming
        return [fmt_mmss(v) for v in values]
