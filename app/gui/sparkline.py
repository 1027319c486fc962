"""The session sparkline painted under the large concordance meter.

Draws what it is given (times in s, values on the meter's scale); nothing is computed
beyond placing the points.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from app.gui.theme import DYAD_COLOUR, Theme


def paint_sparkline(
    p: QPainter,
    rect: QRectF,
    font: QFont,
    theme: Theme,
    scale: tuple[float, float],
    t: np.ndarray,
    v: np.ndarray,
    active: bool,
    colour: str = DYAD_COLOUR,
) -> None:
    """Paint the "session" sparkline of ``v`` against ``t`` into ``rect``.

    Parameters
    ----------
    p : QPainter
        An active painter on the meter.
    rect : QRectF
        Where to paint: a label row ("session", "last N s/min") above the line's area.
    font : QFont
        Font of the labels.
    theme : Theme
        Colours (the line in the dyad colour when ``active``, muted otherwise).
    scale : tuple of float
        (lo, hi) of the meter's scale; values are clipped to it, 0 gets a grid line.
    t, v : ndarray
        Point times (s, any origin; the x axis spans first to last finite point) and values.
        Non-finite points are skipped; fewer than two finite points draw no line.
    active : bool
        False draws the line muted (meter greyed).
    colour : str
        The line's colour when ``active``; the console's meter passes a neutral one, since
        the dyad colour there means "above chance by the live rule".
    """
    p.setFont(font)
    p.setPen(QColor(theme.muted))
    label_h = p.fontMetrics().height()
    p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "session")
    area = QRectF(rect.left(), rect.top() + label_h, rect.width(), rect.height() - label_h)
    lo, hi = scale
    mid_y = area.bottom() - (0 - lo) / (hi - lo) * area.height()
    p.setPen(QPen(QColor(theme.grid), 1))
    p.drawLine(QPointF(area.left() + 14, mid_y), QPointF(area.right(), mid_y))
    p.setPen(QColor(theme.muted))
    p.drawText(QRectF(area.left(), mid_y - 10, 12, 20), Qt.AlignmentFlag.AlignVCenter, "0")
    ok = np.isfinite(t) & np.isfinite(v) if len(t) == len(v) else np.zeros(0, bool)
    if ok.sum() < 2:
        return
    t, v = t[ok], np.clip(v[ok], lo, hi)
    span = max(float(t[-1] - t[0]), 1e-9)
    path = QPainterPath()
    for i, (ti, vi) in enumerate(zip(t, v, strict=True)):
        pt = QPointF(
            area.left() + (ti - t[0]) / span * area.width(),
            area.bottom() - (vi - lo) / (hi - lo) * area.height(),
        )
        if i == 0:
            path.moveTo(pt)
        else:
            path.lineTo(pt)
    p.setPen(QPen(QColor(colour if active else theme.muted), 2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    span_text = f"{span:.0f} s" if span < 120 else f"{span / 60:.0f} min"
    p.setPen(QColor(theme.muted))
    label_row = QRectF(rect.left(), rect.top(), rect.width(), label_h)
    p.drawText(label_row, Qt.AlignmentFlag.AlignRight, f"last {span_text}")
