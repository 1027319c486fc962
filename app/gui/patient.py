"""The patient screen: a calm, control-free view showing only what the clinician chose."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QRadialGradient
from PySide6.QtWidgets import QApplication, QWidget

from app.gui.theme import DYAD_COLOUR, ROLE_COLOURS
from app.meter_state import finite

BACKGROUND = "#10141A"


@dataclass(frozen=True)
class PatientViewOptions:
    """What the patient screen shows.

    Attributes
    ----------
    concordance : bool
        The shared EDA concordance as a circle that grows when the two move together
        (hidden while warming up or when the signal is poor).
    pacer : bool
        A breathing pacer at ``breaths_per_min``.
    heart_rate : bool
        The patient's own heart rate.
    breaths_per_min : float
        Pacer rate.
    """

    concordance: bool = True
    pacer: bool = False
    heart_rate: bool = False
    breaths_per_min: float = 6.0


class PatientWindow(QWidget):
    """Second window (or monitor) for the patient; no numbers about the clinician, no controls.

    Parameters
    ----------
    options : PatientViewOptions, optional
    parent : QWidget, optional
    person : str
        Whose heart rate the screen may show (a group's first person; default the patient).
    colour : str, optional
        That person's colour (default the patient's).

    In a group session (``snap.group``) the circle is the selected pair's (the big meter's)
    and "moving together" appears only while the pairwise matrix marks that pair (coupled
    above chance after Holm over every pair), never on the pair's own uncorrected rule.
    """

    def __init__(
        self,
        options: PatientViewOptions | None = None,
        parent=None,
        person: str = "patient",
        colour: str | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Attunement")
        self.options = options or PatientViewOptions()
        self.person = person
        self.colour = colour or ROLE_COLOURS["patient"]
        self.ci: float = float("nan")
        self.active = False
        self.hr: float = float("nan")
        self.beyond_chance = False
        self._t0 = time.monotonic()
        self._shown_ci = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.update)
        self.resize(800, 600)

    def set_options(self, options: PatientViewOptions) -> None:
        self.options = options
        self.update()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.timer.stop()
        super().closeEvent(event)

    def on_snapshot(self, snap) -> None:
        d = snap.dyad
        self.active = bool(d is not None and not d.warming_up and d.valid and finite(d.ci_rolling))
        self.ci = float(d.ci_rolling) if self.active else float("nan")
        # words only when the console's verdict says so: the live rule (DyadConfig.highlight),
        # never one minute above the chance band, which the console shows as a description
        evidence = d is not None and d.highlight
        g, pair = getattr(snap, "group", None), getattr(snap, "pair", None)
        if g is not None and pair is not None:  # a group: the matrix's mark after Holm
            evidence = g.pair(*pair).coupled
        self.beyond_chance = bool(self.active and evidence)
        pm = snap.persons.get(self.person)
        self.hr = float(pm.hr_bpm) if pm is not None and pm.hr_valid else float("nan")

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = float(self.width()), float(self.height())
        p.fillRect(self.rect(), QColor(BACKGROUND))
        el = time.monotonic() - self._t0
        cx, cy = w / 2, h / 2
        base_font = QFont(self.font())
        base_font.setPointSizeF(max(base_font.pointSizeF() * 1.6, 16))
        if self.options.concordance:
            target = min(max(self.ci, -3.0), 3.0) if self.active else 0.0
            self._shown_ci += 0.05 * (target - self._shown_ci)  # gentle easing
            r = min(w, h) * (0.18 + 0.05 * self._shown_ci)
            g = QRadialGradient(QPointF(cx, cy), r)
            c = QColor(DYAD_COLOUR if self.active else "#5A6068")
            c.setAlpha(220)
            g.setColorAt(0.0, c)
            c2 = QColor(c)
            c2.setAlpha(0)
            g.setColorAt(1.0, c2)
            p.setBrush(g)
            p.setPen(Qt.PenStyle.NoPen)
            p.drawEllipse(QPointF(cx, cy), r, r)
            p.setFont(base_font)
            p.setPen(QColor("#C8CDD3"))
            words = (
                "moving together" if self.beyond_chance else ("" if self.active else "settling in")
            )
            p.drawText(QRectF(0, cy + r + 10, w, 40), Qt.AlignmentFlag.AlignHCenter, words)
        if self.options.pacer:
            period = 60.0 / self.options.breaths_per_min
            level = 0.5 - 0.5 * math.cos(2 * math.pi * (el % period) / period)
            bw, bh = w * 0.04, h * 0.6
            bar = QRectF(w * 0.88, (h - bh) / 2, bw, bh)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#262C34"))
            p.drawRoundedRect(bar, 8, 8)
            p.setBrush(QColor("#8FB8DE"))
            fh = bh * level
            p.drawRoundedRect(QRectF(bar.left(), bar.bottom() - fh, bw, fh), 8, 8)
            p.setFont(base_font)
            p.setPen(QColor("#C8CDD3"))
            word = "in" if (el % period) < period / 2 else "out"
            p.drawText(
                QRectF(bar.center().x() - 60, bar.bottom() + 8, 120, 40),
                Qt.AlignmentFlag.AlignHCenter,
                word,
            )
        if self.options.heart_rate and finite(self.hr):
            p.setFont(base_font)
            p.setPen(QColor(self.colour).lighter(150))
            p.drawText(
                QRectF(20, h - 60, w / 2, 40), Qt.AlignmentFlag.AlignLeft, f"{self.hr:.0f} bpm"
            )
        p.end()


def patient_window_show(window: PatientWindow, snapshot=None) -> None:  # noqa: ANN001
    """Show the patient screen full-size on a second monitor when there is one, with the
    latest engine snapshot at once (the two-person and the group console)."""
    screens = QApplication.screens()
    if len(screens) > 1:
        window.setGeometry(screens[1].availableGeometry())
    window.show()
    if snapshot is not None:
        window.on_snapshot(snapshot)
