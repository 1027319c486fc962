"""The concordance meters, the HRV/EDA metric table and the stream-health bar.

Everything here shows numbers straight from an :class:`~app.engine.EngineSnapshot`; nothing
is computed: a meter paints a :class:`~app.meter_state.MeterState`, whose words and numbers
are decided in :mod:`app.meter_state` (no Qt). Invalid or stale values are dimmed, unknown
values shown as an en dash.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.gui.sparkline import paint_sparkline
from app.gui.theme import (
    DYAD_COLOUR,
    ROLE_COLOURS,
    ROLE_NAMES,
    STATE_COLOURS,
    STATE_SYMBOLS,
    THEMES,
    Theme,
)
from app.meter_state import COHERENCE_RULE, DASH, HIGHLIGHT_RULE, MeterState, finite, fmt
from devices.health import HealthState

CONCORDANCE_TIP = (
    "<b>EDA concordance</b> is a statistical coupling index, not a measure of empathy or of "
    "the relationship. It is the Marci concordance index over the last 60 s: the log ratio of "
    "positive to negative correlations between the two people's skin-conductance slopes "
    "(15 s windows). 0 = as much moving apart as together; positive = their skin "
    "conductance rises and falls together.<br><br>The grey <b>chance band</b> (5th-95th "
    "percentile) comes from the same session with one person's signal circularly shifted "
    "by at least 60 s (shuffled pairings): values inside it are what two unconnected people "
    "would show. The percentile says where the value sits among those pairings.<br><br>"
    + HIGHLIGHT_RULE.explain()
    + " Otherwise the meter stays neutral.<br><br>A lead (who follows whom) is named only "
    "when it beats the same shuffled pairings (p &lt; 0.05). The meter is greyed while "
    "warming up (no chance baseline yet) and whenever either person's EDA is missing or of "
    "poor quality."
)
HR_SYNC_TIP = (
    "<b>HR synchrony</b>: the same Marci concordance index on the two heart-rate slopes over "
    "the last 60 s, with its own chance band from circularly shifted heart-rate series and "
    "the same highlight rule. A statistical coupling index, not empathy. When both people "
    "breathe at about the same rate, their heart rates share that rhythm (respiratory sinus "
    "arrhythmia) without any interpersonal coupling: the meter says so.<br><br>"
    "<b>HR coherence</b> (LF 0.04-0.15 Hz, HF 0.15-0.40 Hz): magnitude-squared coherence of "
    "the two heart rates over the last 5 minutes, beside its chance level (its mean over "
    "pairings with the clinician's heart rate from other times of this session, at least "
    "60 s away) and its percentile among them. Unrelated people reach 0.1-0.3. The words "
    "say above chance only after a band has stayed above "
    f"{COHERENCE_RULE.percentile:.0f} % of those pairings for {COHERENCE_RULE.hold_s:.0f} s; "
    "the test starts once the session is long enough for such pairings (about 8 minutes)."
)


class Meter(QWidget):
    """A horizontal gauge with an optional chance band and session sparkline (painted)."""

    def __init__(
        self,
        title: str,
        scale: tuple[float, float],
        ticks: tuple[float, ...],
        captions: tuple[str, str],
        large: bool,
        tooltip: str,
        threshold: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.scale = scale
        self.ticks = ticks
        self.captions = captions
        self.large = large
        self.threshold = threshold
        self.state = MeterState()
        self.theme: Theme = THEMES["light"]
        #: (top y in px, text) of every word line of the last paint, top to bottom
        self.painted: list[tuple[float, str]] = []
        self._record = False
        self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._min_height = 260 if large else 120
        self.setMinimumHeight(self._min_height)

    def set_state(self, state: MeterState) -> None:
        self.state = state
        self._fit_height()
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Ask the layout for room for every line of the current state (never cut words).

        The lines are laid out exactly as painted, on a one-pixel-high image with this
        widget's DPI; the sparkline of a large meter gets what is left.
        """
        w = max(self.width(), 1)
        img = QImage(w, 1, QImage.Format.Format_ARGB32)
        img.setDotsPerMeterX(round(self.logicalDpiX() / 0.0254))
        img.setDotsPerMeterY(round(self.logicalDpiY() / 0.0254))
        p = QPainter(img)
        y = self._paint_fixed(p, float(w))
        p.end()
        need = int(y + 14.0 + (60 if self.large else 0))
        self.setMinimumHeight(max(self._min_height, need))

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def _x(self, v: float, rect: QRectF) -> float:
        lo, hi = self.scale
        f = (min(max(v, lo), hi) - lo) / (hi - lo)
        return rect.left() + f * rect.width()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Paint top to bottom: title, big text, bar, scale, words, then the sparkline."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = float(self.width()), float(self.height())
        p.fillRect(self.rect(), QColor(self.theme.panel))
        pad = 14.0
        self.painted, self._record = [], True
        try:
            y = self._paint_fixed(p, w)
        finally:
            self._record = False
        if self.large and h - y - pad > 30:
            st = self.state
            small = QFont(self.font())
            small.setPointSizeF(small.pointSizeF() * 0.9)
            rect = QRectF(pad, y, w - 2 * pad, h - y - pad)
            # a description of the session: neutral, the dyad colour is the verdict's
            paint_sparkline(
                p, rect, small, self.theme, self.scale, st.history_t, st.history_v, st.active,
                self.theme.text,
            )  # fmt: skip
        p.end()

    def _paint_fixed(self, p: QPainter, w: float) -> float:
        """Everything above the sparkline, on a ``w``-pixel-wide device; returns the next y.

        Top to bottom: title, the one verdict, then visibly under it the description of the
        last minute (its words, the big number, the bar with its chance band), then the lead
        and the notes.
        """
        pad = 14.0
        base = QFont(self.font())
        y = self._paint_title(p, base, QRectF(pad, pad * 0.6, w - 2 * pad, 0.0))
        y = self._paint_verdict(p, base, QRectF(pad, y + 2, w - 2 * pad, 0.0))
        y = self._paint_text(p, base, QRectF(pad, y, w - 2 * pad, 0.0))
        bar = QRectF(pad, y, w - 2 * pad, 26.0 if self.large else 16.0)
        self._paint_bar(p, bar)
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.9)
        y = self._paint_scale(p, bar, small)
        return self._paint_words(p, base, QRectF(pad, y, w - 2 * pad, 0.0)) + 4

    def _paint_verdict(self, p: QPainter, base: QFont, row: QRectF) -> float:
        """The verdict (bold; the dyad colour only when the rule holds), then the muted
        description line that the number and bar below illustrate; returns the next y."""
        th, st = self.theme, self.state
        f = QFont(base)
        f.setPointSizeF(base.pointSizeF() * (1.1 if self.large else 0.95))
        f.setBold(True)
        colour = DYAD_COLOUR if st.active and st.highlight else th.text
        y = row.top()
        if st.verdict:
            y += self._wrapped(
                p, f, QColor(colour), QRectF(row.left(), y, row.width(), 0.0), st.verdict
            )
        if st.status:
            fd = QFont(base)
            fd.setPointSizeF(base.pointSizeF() * (1.0 if self.large else 0.9))
            box = QRectF(row.left(), y + 2, row.width(), 0.0)
            y += 2 + self._wrapped(p, fd, QColor(th.muted), box, st.status)
        return y + 2

    def _paint_title(self, p: QPainter, base: QFont, row: QRectF) -> float:
        """The bold title and, right-aligned on its line, the muted tag; returns the next y."""
        f = QFont(base)
        f.setPointSizeF(base.pointSizeF() * (1.25 if self.large else 1.05))
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(self.theme.text))
        row = QRectF(row.left(), row.top(), row.width(), p.fontMetrics().height())
        p.drawText(row, Qt.AlignmentFlag.AlignLeft, self.title)
        if self.state.tag:  # e.g. the demo's pre-roll: right-aligned on the title line, muted
            ft = QFont(base)
            ft.setItalic(True)
            p.setFont(ft)
            p.setPen(QColor(self.theme.muted))
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            p.drawText(row, align, self.state.tag)
        return row.bottom()

    def _paint_text(self, p: QPainter, base: QFont, row: QRectF) -> float:
        """The big value or state words (dyad colour only when highlighted); returns next y."""
        th, st = self.theme, self.state
        text_c = QColor(th.text if st.active else th.muted)
        accent = QColor(DYAD_COLOUR if st.active and st.highlight else text_c)
        f = QFont(base)
        f.setPointSizeF(base.pointSizeF() * (3.4 if self.large else 1.9))
        f.setBold(st.active)
        p.setFont(f)
        p.setPen(accent if st.active else text_c)
        big_h = p.fontMetrics().height()
        self._note(row.top(), st.text)
        p.drawText(
            QRectF(row.left(), row.top(), row.width(), big_h), Qt.AlignmentFlag.AlignLeft, st.text
        )
        return row.top() + big_h + 4

    def _paint_bar(self, p: QPainter, bar: QRectF) -> None:
        """The gauge: track, chance band, warm-up progress, value mark, zero and threshold."""
        th, st = self.theme, self.state
        bar_h = bar.height()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(th.background))
        p.drawRoundedRect(bar, 4, 4)
        if st.band is not None and st.active:
            x0, x1 = self._x(st.band[0], bar), self._x(st.band[1], bar)
            p.setBrush(QColor(th.band))
            p.drawRect(QRectF(x0, bar.top() - 3, max(x1 - x0, 2.0), bar_h + 6))
        if finite(st.progress):
            p.setBrush(QColor(th.band))
            done = bar.width() * min(max(st.progress, 0), 1)
            p.drawRoundedRect(QRectF(bar.left(), bar.top(), done, bar_h), 4, 4)
        zero = self._x(0.0, bar) if self.scale[0] < 0 < self.scale[1] else bar.left()
        if finite(st.value) and st.active:
            # the dyad colour only for values beyond chance; otherwise neutral
            mark_c = QColor(DYAD_COLOUR if st.highlight else th.text)
            xv = self._x(st.value, bar)
            fill = QColor(mark_c)
            fill.setAlpha(110 if st.highlight else 60)
            p.setBrush(fill)
            p.drawRect(QRectF(min(zero, xv), bar.top() + 4, abs(xv - zero), bar_h - 8))
            p.setBrush(mark_c)
            p.drawRect(QRectF(xv - 3, bar.top() - 6, 6, bar_h + 12))
        p.setPen(QPen(QColor(th.muted), 1))
        p.drawLine(QPointF(zero, bar.top() - 2), QPointF(zero, bar.bottom() + 2))
        if self.threshold is not None:
            xt = self._x(self.threshold, bar)
            p.setPen(QPen(QColor(th.muted), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(xt, bar.top() - 2), QPointF(xt, bar.bottom() + 2))

    def _paint_scale(self, p: QPainter, bar: QRectF, font: QFont) -> float:
        """Tick labels, end captions and the "chance" label over the band; returns next y."""
        st = self.state
        p.setFont(font)
        p.setPen(QColor(self.theme.muted))
        th_h = p.fontMetrics().height()
        ty = bar.bottom() + 6
        for t in self.ticks:
            xt = self._x(t, bar)
            p.drawText(QRectF(xt - 30, ty, 60, th_h), Qt.AlignmentFlag.AlignHCenter, f"{t:g}")
        if any(self.captions):
            ty += th_h
            left, right = self.captions
            p.drawText(QRectF(bar.left(), ty, 200, th_h), Qt.AlignmentFlag.AlignLeft, left)
            p.drawText(QRectF(bar.right() - 200, ty, 200, th_h), Qt.AlignmentFlag.AlignRight, right)
        if st.band is not None and st.active:
            xb = (self._x(st.band[0], bar) + self._x(st.band[1], bar)) / 2
            p.drawText(
                QRectF(xb - 40, bar.top() - th_h - 3, 80, th_h),
                Qt.AlignmentFlag.AlignHCenter,
                "chance",
            )
        return ty + th_h + 6

    def _paint_words(self, p: QPainter, base: QFont, row: QRectF) -> float:
        """The lead, the second measure (HR coherence) and the note; returns the next y."""
        th, st = self.theme, self.state
        x, y, width = row.left(), row.top(), row.width()
        f4 = QFont(base)
        f4.setPointSizeF(base.pointSizeF() * (1.1 if self.large else 0.95))
        if st.lead and st.active:
            f2 = QFont(base)
            f2.setPointSizeF(base.pointSizeF() * (1.35 if self.large else 1.0))
            f2.setBold(self.large)
            p.setFont(f2)
            p.setPen(QColor(th.text))
            l_h = p.fontMetrics().height()
            self._note(y, st.lead)
            p.drawText(QRectF(x, y, width, l_h), Qt.AlignmentFlag.AlignLeft, st.lead)
            y += l_h + 4
        if st.active:  # a second measure (HR coherence): numbers, then its own verdict
            for text, colour in (
                (st.detail, th.muted),
                (st.detail_status, DYAD_COLOUR if st.detail_highlight else th.text),
            ):
                if text:
                    y += self._wrapped(p, f4, QColor(colour), QRectF(x, y, width, 0.0), text)
        if st.note and st.active:
            y += self._wrapped(p, f4, QColor(th.muted), QRectF(x, y, width, 0.0), st.note)
        return y

    def _note(self, y: float, text: str) -> None:
        """Remember a painted line (``painted``), only while painting the widget itself."""
        if self._record and text:
            self.painted.append((y, text))

    def _wrapped(self, p: QPainter, font: QFont, colour: QColor, row: QRectF, text: str) -> float:
        """``text`` word-wrapped (never cut) from the top of ``row``; returns the height used."""
        self._note(row.top(), text)
        p.setFont(font)
        p.setPen(colour)
        wrap = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        box = QRectF(row.left(), row.top(), row.width(), 8 * p.fontMetrics().height())
        h = p.boundingRect(box, wrap, text).height()
        p.drawText(QRectF(row.left(), row.top(), row.width(), h), wrap, text)
        return h + 2


def concordance_meter() -> Meter:
    """The console's EDA concordance meter (large, with the sparkline)."""
    return Meter(
        "EDA concordance",
        scale=(-3.0, 3.0),
        ticks=(-2, -1, 0, 1, 2),
        captions=("\u2190 moving apart", "moving together \u2192"),
        large=True,
        tooltip=CONCORDANCE_TIP,
    )


def hr_sync_meter() -> Meter:
    """The console's HR synchrony meter (small, with HR coherence and the breathing note)."""
    return Meter(
        "HR synchrony",
        scale=(-3.0, 3.0),
        ticks=(-2, 0, 2),
        captions=("", ""),
        large=False,
        tooltip=HR_SYNC_TIP,
    )


# ----------------------------------------------------------------------------- metric table

#: (attribute, validity flag, label, unit, format, window attribute of PersonConfig)
METRIC_ROWS = (
    ("hr_bpm", "hr_valid", "HR", "bpm", ".0f", "hr_window_s"),
    ("rmssd_ms", "hrv_valid", "RMSSD", "ms", ".0f", "hrv_window_s"),
    ("coherence_ratio", "coherence_valid", "Coherence", "ratio", ".1f", "coherence_window_s"),
    ("scl_us", "scl_valid", "SCL", "µS", ".2f", "scl_window_s"),
    ("scr_per_min", "scr_valid", "SCRs", "/min", ".1f", "scr_window_s"),
)
DELTA_FORMAT = {"hr_bpm": "+.0f", "rmssd_ms": "+.0f", "coherence_ratio": "+.1f"}
DELTA_FORMAT |= {"scl_us": "+.2f", "scr_per_min": "+.1f"}
_CARDIAC = {"hr_bpm", "rmssd_ms", "coherence_ratio"}


class MetricsTable(QWidget):
    """Per-person HR, RMSSD, coherence ratio, SCL and SCR rate, with change from baseline."""

    def __init__(self, person_config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = THEMES["light"]
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(2)
        self.values: dict[tuple[str, str], QLabel] = {}
        self.deltas: dict[tuple[str, str], QLabel] = {}
        self.headers: dict[str, QLabel] = {}
        for col, role in enumerate(ROLE_COLOURS, start=1):
            head = QLabel(ROLE_NAMES[role])
            head.setStyleSheet(f"color: {ROLE_COLOURS[role]}; font-weight: bold;")
            head.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(head, 0, 2 * col - 1)
            self.headers[role] = head
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.6)
        big.setBold(True)
        for row, (attr, _, label, unit, _, win_attr) in enumerate(METRIC_ROWS, start=1):
            win = getattr(person_config, win_attr, float("nan"))
            name = QLabel(f"{label} <span style='font-size:small'>{unit} · {win:g} s</span>")
            name.setToolTip(f"{label} over the last {win:g} s")
            grid.addWidget(name, row, 0)
            for col, role in enumerate(ROLE_COLOURS, start=1):
                v = QLabel(DASH)
                v.setFont(big)
                v.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                v.setMinimumWidth(80)
                d = QLabel("")
                d.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                d.setMinimumWidth(62)
                d.setToolTip("change from the baseline")
                grid.addWidget(v, row, 2 * col - 1)
                grid.addWidget(d, row, 2 * col)
                self.values[(role, attr)] = v
                self.deltas[(role, attr)] = d
        grid.setColumnStretch(0, 1)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme

    def update_persons(self, persons, stale_roles: dict[str, set[str]], baseline) -> None:
        """Show ``persons`` (role -> PersonMetrics or None); dim stale/invalid values.

        ``stale_roles`` maps role -> {'cardiac', 'eda'} whose stream is not connected;
        ``baseline`` maps role -> {attr: value} (or is empty).
        """
        th = self.theme
        for role in ROLE_COLOURS:
            pm = persons.get(role) if persons else None
            for attr, valid_attr, *_rest in METRIC_ROWS:
                fmt_spec = _rest[2]
                lab, dl = self.values[(role, attr)], self.deltas[(role, attr)]
                stream = "cardiac" if attr in _CARDIAC else "eda"
                v = getattr(pm, attr, float("nan")) if pm is not None else float("nan")
                ok = (
                    pm is not None
                    and bool(getattr(pm, valid_attr, False))
                    and finite(v)
                    and stream not in stale_roles.get(role, set())
                )
                lab.setText(fmt(v, fmt_spec))
                lab.setStyleSheet(f"color: {th.text if ok else th.muted};")
                lab.setToolTip("" if ok else "not enough good data in the window (dimmed)")
                b = (baseline or {}).get(role, {}).get(attr, float("nan"))
                if ok and finite(b):
                    dl.setText(f"Δ{float(v) - float(b):{DELTA_FORMAT[attr]}}")
                    dl.setStyleSheet(f"color: {th.muted};")
                else:
                    dl.setText("")


# ----------------------------------------------------------------------------- health bar

MODALITY_NAMES = {"eda": "EDA", "ppg": "PPG", "ecg": "ECG"}


class HealthBar(QWidget):
    """One chip per assigned stream (state, effective rate, quality flags) + the Streams button."""

    open_streams = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = THEMES["light"]
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        lay.setSpacing(16)
        self._lay = lay
        self.chips: dict[str, QLabel] = {}
        self.placeholder = QLabel("no streams yet")
        lay.addWidget(self.placeholder)
        lay.addStretch(1)
        self.button = QPushButton("Streams… (F2)")
        self.button.setToolTip(
            "Assign streams to patient/clinician, load or save a map, "
            "simulate a dyad or replay a recording"
        )
        self.button.clicked.connect(self.open_streams)
        lay.addWidget(self.button)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme

    def reset(self) -> None:
        """Forget the chips of a previous session."""
        for lab in self.chips.values():
            self._lay.removeWidget(lab)
            lab.deleteLater()
        self.chips.clear()
        self.placeholder.setVisible(True)

    def states(self) -> dict[str, HealthState]:
        """role/modality -> state currently shown (for tests and the patient view)."""
        return {k: HealthState(lab.property("state")) for k, lab in self.chips.items()}

    def update_health(self, snap, persons) -> None:
        """Refresh chips from a snapshot's ``channels`` and ``health``."""
        self.placeholder.setVisible(not snap.channels)
        for rm in sorted(snap.channels, key=lambda k: (k.split("/")[0] != "patient", k)):
            key = snap.channels[rm]
            h = snap.health.get(key)
            if h is None:
                continue
            lab = self.chips.get(rm)
            if lab is None:
                lab = QLabel()
                lab.setTextFormat(Qt.TextFormat.RichText)
                self._lay.insertWidget(self._lay.count() - 2, lab)
                self.chips[rm] = lab
            role, mod = rm.split("/")
            pm = persons.get(role) if persons else None
            quality = ""
            if pm is not None:
                q = pm.eda_quality if mod == "eda" else pm.cardiac_quality
                quality = {"bad": " · poor signal", "none": ""}.get(q, "")
            flags = "".join(f" · {f}" for f in h.flags)
            rate = f" {h.effective_rate:.0f} Hz" if finite(h.effective_rate) else ""
            sc = STATE_COLOURS.get(h.state, self.theme.muted)
            sym = STATE_SYMBOLS.get(h.state, "?")
            lab.setText(
                f"<span style='color:{ROLE_COLOURS[role]}; font-weight:bold'>"
                f"{ROLE_NAMES[role]} {MODALITY_NAMES.get(mod, mod)}</span> "
                f"<span style='color:{sc}'>{sym} {h.state}</span>"
                f"<span style='color:{self.theme.muted}'>{rate}{flags}{quality}</span>"
            )
            lab.setProperty("state", str(h.state))
            age = f"{h.last_sample_age:.1f} s ago" if finite(h.last_sample_age) else "never"
            lab.setToolTip(
                f"{key}<br>state: {h.state}{' – ' + h.message if h.message else ''}<br>"
                f"last sample {age}, {h.samples} samples, {h.reconnects} reconnects"
            )
