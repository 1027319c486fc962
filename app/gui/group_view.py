"""Widgets of the group console: the pairwise matrix, the group index, one row per person.

* :class:`PairMatrix`: an N x N matrix, one cell per pair. **Colour = strength**: the pair's
  rolling EDA CI (the big meter's number for that pair) on ColorBrewer's PRGn diverging
  palette (colour-blind safe): purple moving apart, green moving together, pale near 0; the
  number is printed in the cell. **Mark = evidence**: a ring and a star only while the pair
  is coupled after Holm over all pairs (:class:`dsp.concordance.live_group.LivePair`);
  hatched grey with "paused" while one of the two has no signal. The tooltip of every cell
  gives the raw and Holm-adjusted p, its percentile, the shifts drawn, the lead (only when
  coupled) and when it was tested. A click selects the pair for the big meter. It shows
  the EDA matrix or, switched (:meth:`PairMatrix.set_signal`; the console's "EDA | HR"
  buttons), the HR matrix of the same people (``GroupMetrics.hr``: 1-s HR slopes, the
  offline HR matrix's claim rule) in the same palette and marks.
* :class:`GroupIndexPanel`: the mean pairwise CI with its percentile among surrogate groups
  (every member shifted), the highlight rule's verdict, Kuramoto R beside it.
* :class:`PeopleTable`: one row per person (colour, role, HR, RMSSD, SCL, SCR rate, signal).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.formatting import MISSING as DASH
from app.formatting import fmt_value
from app.group_words import (
    DELIVERING,
    PERSON_COLUMNS,
    group_index_words,
    pair_verdict,
    pause_words,
    person_cells,
)
from app.people import people_model
from dsp.concordance.evidence import percentile_words
from dsp.concordance.group import GroupSignal
from dsp.concordance.live_group import GroupMetrics, LivePair

__all__ = ["GroupIndexPanel", "PairMatrix", "PeopleTable", "strength_colour"]

#: ColorBrewer PRGn, 9 classes (colour-blind safe diverging): apart (purple) .. together (green).
PRGN = (
    "#762A83", "#9970AB", "#C2A5CF", "#E7D4E8", "#F7F7F7",
    "#D9F0D3", "#A6DBA0", "#5AAE61", "#1B7837",
)  # fmt: skip
#: CI range mapped onto the palette (the big meter's scale).
CI_RANGE = (-3.0, 3.0)


def strength_colour(ci: float) -> QColor:
    """Palette colour of a rolling CI (linear between the 9 classes); grey when unknown."""
    if not math.isfinite(ci):
        return QColor("#BDBDBD")
    lo, hi = CI_RANGE
    u = min(max((ci - lo) / (hi - lo), 0.0), 1.0) * (len(PRGN) - 1)
    i = min(int(u), len(PRGN) - 2)
    a, b = QColor(PRGN[i]), QColor(PRGN[i + 1])
    w = u - i
    return QColor.fromRgbF(
        a.redF() + w * (b.redF() - a.redF()),
        a.greenF() + w * (b.greenF() - a.greenF()),
        a.blueF() + w * (b.blueF() - a.blueF()),
    )


def pair_tooltip(pc: LivePair, metrics: GroupMetrics) -> str:
    """Every number behind one cell, in words."""
    n_pairs = len(metrics.pairs)
    hr = metrics.signal is GroupSignal.HR
    sig = "HR" if hr else "EDA"
    lines = [f"<b>{pc.a} \u2013 {pc.b}</b>"]
    if pc.paused:
        lines.append(pause_words(pc, sig))
    ci = fmt_value(pc.ci_rolling, 2) if pc.valid else f"{DASH} (too few valid correlations)"
    lines.append(f"{sig} concordance, last minute (rolling CI): {ci}")
    if not math.isfinite(pc.p):
        lines.append("coupling test over the last 10 min: not run yet")
    else:
        lines.append(
            f"coupling test over the last 10 min (best lag within \u00b15 s): "
            f"p = {pc.p:.4f} raw, {pc.p_holm:.3f} after Holm over {n_pairs} pairs "
            f"({percentile_words(pc.percentile, pc.coupling.n_surrogates, 'shifted pairings')})"
        )
    if pc.ci_test is not None:
        lines.append(
            f"CI over the same 10 min at its best lag ({pc.ci_test.lag_s:+.0f} s, within "
            f"\u00b15 s): {pc.ci_test.observed:+.2f}, p = {pc.ci_test.p_value:.3f} against the "
            "same best lag at every time shift (a check counts only when p < 0.05)"
        )
    rule = metrics.rule
    verdict = pair_verdict(pc)
    which = "larger of the two p, " if hr else ""
    lines.append(
        f"<b>{verdict}</b> \u2013 rule: {which}Holm-adjusted, {rule.percentile:.0f}th percentile "
        f"at every check for {rule.hold_s:.0f} s (held {pc.hold_s:.0f} s now)"
    )
    if pc.leader is not None:
        follower = pc.b if pc.leader == pc.a else pc.a
        lines.append(f"{pc.leader} leads, {follower} follows by {abs(pc.lag_s):.1f} s")
    if metrics.note:
        lines.append(metrics.note)
    return "<br>".join(lines)


class PairMatrix(QWidget):
    """The pairwise matrix (see the module docstring). Emits ``pair_selected(a, b)``."""

    pair_selected = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metrics: GroupMetrics | None = None
        self.group: GroupMetrics | None = None  # the EDA matrix, with the HR one as .hr
        self.signal = GroupSignal.EDA
        self.selected: tuple[str, str] | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(260, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")

    def set_metrics(self, metrics: GroupMetrics | None, selected: tuple[str, str] | None) -> None:
        """The group's EDA matrix (its ``hr`` the HR one) and the big meter's pair."""
        self.group, self.selected = metrics, selected
        self._show()

    def set_signal(self, signal: GroupSignal) -> None:
        """Show the EDA or the HR matrix."""
        self.signal = signal
        self._show()

    def _show(self) -> None:
        g = self.group
        self.metrics = g.hr if g is not None and self.signal is GroupSignal.HR else g
        self.update()

    # -- geometry ---------------------------------------------------------------------------
    def _layout(self) -> tuple[float, float, float]:
        """(left, top, cell size) of the matrix in this widget. Beyond 4 people the column
        names stand upright (full names in narrow columns)."""
        people = self.metrics.people if self.metrics else ("",)
        n = len(people)
        fm = self.fontMetrics()
        label_w = max(fm.horizontalAdvance(p) for p in people) + 10.0
        top = label_w if n > 4 else 26.0
        size = max(10.0, min((self.width() - label_w - 8) / n, (self.height() - top - 62) / n))
        return label_w, top, size

    def cell_at(self, x: float, y: float) -> LivePair | None:
        """The pair under a point (None on the diagonal or outside)."""
        if self.metrics is None:
            return None
        left, top, size = self._layout()
        i, j = int((y - top) // size), int((x - left) // size)
        people = self.metrics.people
        if not (0 <= i < len(people) and 0 <= j < len(people)) or i == j or x < left or y < top:
            return None
        return self.metrics.pair(people[i], people[j])

    # -- events -----------------------------------------------------------------------------
    def event(self, ev) -> bool:  # noqa: N802 (Qt API)
        if ev.type() == ev.Type.ToolTip and self.metrics is not None:
            pc = self.cell_at(ev.position().x(), ev.position().y())
            if pc is not None:
                QToolTip.showText(ev.globalPos(), pair_tooltip(pc, self.metrics), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(ev)

    def mousePressEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        pc = self.cell_at(ev.position().x(), ev.position().y())
        if pc is not None:
            self.pair_selected.emit(pc.a, pc.b)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, _ev) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        m = self.metrics
        if m is None:
            p.setPen(text)
            p.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                f"pairwise {self.signal.name} matrix: waiting for data",
            )
            return
        left, top, size = self._layout()
        people = m.people
        colours = {q.role: q.colour for q in people_model(people).persons}
        for i, name in enumerate(people):  # row and column labels in the people's colours
            p.setPen(QColor(colours[name]))
            p.drawText(
                QRectF(0, top + i * size, left - 6, size),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            if len(people) > 4:  # upright, reading bottom to top
                p.save()
                p.translate(left + (i + 0.5) * size, top - 4)
                p.rotate(-90)
                p.drawText(QPointF(0, p.fontMetrics().ascent() / 2 - 1), name)
                p.restore()
            else:
                p.drawText(
                    QRectF(left + i * size, 0, size, top - 2),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                    name,
                )
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, min(11.0, size / 5)))
        p.setFont(f)
        for i, a in enumerate(people):
            for j, b in enumerate(people):
                r = QRectF(left + j * size + 1, top + i * size + 1, size - 2, size - 2)
                if i == j:  # no pair: neutral, never a strength colour
                    p.fillRect(r, self.palette().window().color().darker(104))
                    continue
                self._paint_cell(p, r, m.pair(a, b), size)
        self._paint_legend(p, left, top + len(people) * size + 4, text)

    def _paint_cell(self, p: QPainter, r: QRectF, pc: LivePair, size: float) -> None:
        if pc.paused:
            p.fillRect(r, QBrush(QColor("#BDBDBD"), Qt.BrushStyle.BDiagPattern))
            word = "waiting" if pc.waiting else "paused"
            if p.fontMetrics().horizontalAdvance(word) < r.width() - 2:
                p.setPen(QColor("#555555"))
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, word)
            return
        col = strength_colour(pc.ci_rolling if pc.valid else math.nan)
        p.fillRect(r, col)
        dark = col.lightnessF() < 0.45
        p.setPen(QColor("#FFFFFF" if dark else "#111111"))
        label = fmt_value(pc.ci_rolling, 1) if pc.valid else DASH
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, label)
        if pc.coupled:  # the evidence mark: a ring and a star
            p.setPen(QPen(QColor("#000000"), max(2.0, size / 18)))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(2, 2, -2, -2))
            p.setPen(QColor("#FFFFFF" if dark else "#000000"))
            star = QFont(p.font())
            star.setBold(True)
            p.save()
            p.setFont(star)
            p.drawText(
                r.adjusted(4, 2, -4, -2),
                Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
                "\u2605",
            )
            p.restore()
        if self.selected is not None and {pc.a, pc.b} == set(self.selected):
            p.setPen(QPen(QColor("#0072B2"), 2.0, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(-1, -1, 1, 1))

    def _paint_legend(self, p: QPainter, x: float, y: float, text: QColor) -> None:
        w = 120.0
        for k in range(60):
            ci = CI_RANGE[0] + (CI_RANGE[1] - CI_RANGE[0]) * k / 59
            p.fillRect(QRectF(x + k * w / 60, y, w / 60 + 0.5, 9), strength_colour(ci))
        f = QFont(self.font())
        f.setPointSizeF(8.0)
        p.setFont(f)
        p.setPen(text)
        p.drawText(QPointF(x, y + 21), "apart")
        p.drawText(QPointF(x + w - 44, y + 21), "together")
        sig = "HR" if self.signal is GroupSignal.HR else "EDA"
        p.drawText(QPointF(x + w + 10, y + 9), f"colour: last minute's {sig} CI (in the cell)")
        p.drawText(
            QPointF(0, y + 36), "\u2605 ring: coupled above chance after Holm; hatched: paused"
        )
        p.drawText(QPointF(0, y + 50), "hover a cell: p, percentile, lead; click: big meter")


class GroupIndexPanel(QWidget):
    """The group index in words, with its percentile and the rule's verdict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        self.title = QLabel("<b>Group index</b> (mean pairwise EDA CI, last 10 min)")
        self.title.setWordWrap(True)
        self.value = QLabel(DASH)
        big = QFont(self.value.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        big.setBold(True)
        self.value.setFont(big)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        for w in (self.title, self.value, self.detail):
            lay.addWidget(w)
        self.setToolTip(
            "Mean pairwise EDA concordance (CI) over the last 10 minutes, against 200 "
            "surrogate groups in which every member is shifted in time on their own. Kuramoto "
            "R: how aligned the members' EDA slope phases are, against the same surrogates."
        )

    def set_metrics(self, m: GroupMetrics | None) -> None:
        words = group_index_words(m)  # the headless view prints the same words
        self.value.setText(words.value)
        note = f"<br><b>Pairs:</b> {words.note}." if words.note else ""
        self.detail.setText(words.detail + note)


class PeopleTable(QTableWidget):
    """One row per person: colour and role, HR, RMSSD, SCL, SCR rate and signal state."""

    def __init__(self, people: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(len(people), 2 + len(PERSON_COLUMNS), parent)
        self.people = people
        self.setHorizontalHeaderLabels(["person", *[c[2] for c in PERSON_COLUMNS], "signals"])
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        colours = {q.role: q.colour for q in people_model(people).persons}
        bold = QFont(self.font())
        bold.setBold(True)
        for i, name in enumerate(people):
            it = QTableWidgetItem(f"\u25a0 {name}")
            it.setForeground(QColor(colours[name]))
            it.setFont(bold)
            self.setItem(i, 0, it)
            for j in range(1, self.columnCount()):
                self.setItem(i, j, QTableWidgetItem(DASH))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.resizeRowsToContents()
        rows = sum(self.rowHeight(i) for i in range(len(people)))
        self.setFixedHeight(rows + self.horizontalHeader().sizeHint().height() + 6)

    def update_persons(self, persons, lost: dict[str, str]) -> None:
        """``persons``: role -> PersonMetrics or None; ``lost``: role -> what is not delivering."""
        for i, name in enumerate(self.people):
            pm = persons.get(name) if persons else None
            for j, text in enumerate(person_cells(pm), start=1):
                self.item(i, j).setText(text)
                self.item(i, j).setTextAlignment(
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            state = lost.get(name, "")
            item = self.item(i, self.columnCount() - 1)
            item.setText(state or DELIVERING)
            item.setForeground(QColor("#D55E00" if state else "#009E73"))
