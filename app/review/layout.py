"""Layout helpers of the review window: legends outside the data, tables that fit."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget

__all__ = ["fit_width", "legend_above"]


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
