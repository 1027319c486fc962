"""Scrolling traces of both people on one LSL time axis, plus the 5-minute HR trend.

Persistent pyqtgraph curves updated with ``setData`` (clip-to-view, peak downsampling). The
x axis is seconds relative to "now" on the LSL clock, shared by every row. Committed beats
(PPG/ECG) and SCR onsets (EDA) from the engine are marked on the traces; session markers are
vertical lines across all rows.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.gui.theme import MARKER_COLOURS, ROLE_COLOURS, ROLE_NAMES, THEMES, Theme

ROWS = (("patient", "cardiac"), ("patient", "eda"), ("clinician", "cardiac"), ("clinician", "eda"))
HR_TREND_S = 300.0


def _alpha(colour: str, a: int) -> tuple[int, int, int, int]:
    c = pg.mkColor(colour)
    return (c.red(), c.green(), c.blue(), a)


class TracePanel(pg.GraphicsLayoutWidget):
    """Four signal rows (patient cardiac/EDA, clinician cardiac/EDA) and an HR trend row."""

    def __init__(self, window_s: float = 30.0, parent=None) -> None:
        super().__init__(parent=parent)
        self.window_s = window_s
        self.theme: Theme = THEMES["light"]
        self.plots: dict[tuple[str, str], pg.PlotItem] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.marks: dict[tuple[str, str], pg.ScatterPlotItem] = {}
        self.modality: dict[str, str] = {"patient": "ppg", "clinician": "ppg"}
        self.active: dict[tuple[str, str], bool] = {}
        self.samples_shown: dict[tuple[str, str], int] = {}
        self._events: dict[tuple[str, str], np.ndarray] = {}
        self._events_dirty: set[tuple[str, str]] = set()
        self._t_ref: float | None = None  # marks live in (t - t_ref); moved with setPos
        self._last_rescale = -np.inf
        self._markers: list[tuple[float, str, str, list[pg.InfiniteLine]]] = []
        #: Per row, what it waits for (a stream not connected yet), shown across the row.
        self.waiting: dict[tuple[str, str], str] = {}
        self._waiting_items: dict[tuple[str, str], pg.LabelItem] = {}
        #: Durations (s) of the latest paints of this view (GUI thread), for the benchmark.
        self.paint_times: deque[float] = deque(maxlen=100_000)
        self.ci.layout.setSpacing(2)
        first = None
        for i, (role, kind) in enumerate(ROWS):
            plot = self.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setXRange(-window_s, 0, padding=0)
            plot.disableAutoRange()  # y is set by _rescale (calmer and cheaper than autorange)
            plot.getAxis("left").setWidth(62)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if i < len(ROWS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            curve = plot.plot(pen=pg.mkPen(ROLE_COLOURS[role], width=1))
            curve.setClipToView(True)
            # peak downsampling to ~1 bin per pixel (min and max kept): what the eye can see
            curve.opts["autoDownsampleFactor"] = 1.0
            curve.setDownsampling(auto=True, method="peak")
            marks = pg.ScatterPlotItem(
                size=9 if kind == "cardiac" else 12,
                symbol="t1" if kind == "eda" else "o",
                pen=pg.mkPen(None),
                brush=pg.mkBrush(_alpha(ROLE_COLOURS[role], 200)),
            )
            plot.addItem(marks)
            self.plots[(role, kind)] = plot
            self.curves[(role, kind)] = curve
            self.marks[(role, kind)] = marks
            self.active[(role, kind)] = True
            self.samples_shown[(role, kind)] = 0
        self.plots[ROWS[-1]].setLabel("bottom", "seconds (0 = now)")
        hr = self.addPlot(row=len(ROWS), col=0)
        hr.setMenuEnabled(False)
        hr.setMouseEnabled(x=False, y=False)
        hr.hideButtons()
        hr.setXRange(-HR_TREND_S / 60, 0, padding=0)
        hr.getAxis("left").setWidth(62)
        hr.setLabel("left", "HR bpm")
        hr.setLabel("bottom", "minutes (HR trend)")
        self.hr_plot = hr
        self.hr_curves = {
            role: hr.plot(pen=pg.mkPen(ROLE_COLOURS[role], width=2)) for role in ROLE_COLOURS
        }
        self.ci.layout.setRowStretchFactor(len(ROWS), 1)
        for i in range(len(ROWS)):
            self.ci.layout.setRowStretchFactor(i, 1)
        self._relabel()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        t0 = time.perf_counter()
        super().paintEvent(event)
        self.paint_times.append(time.perf_counter() - t0)

    # -- appearance -----------------------------------------------------------------------
    def _relabel(self) -> None:
        for (role, kind), plot in self.plots.items():
            name = "EDA µS" if kind == "eda" else self.modality[role].upper()
            state = "" if self.active[(role, kind)] else " ⚠"
            colour = ROLE_COLOURS[role] if self.active[(role, kind)] else self.theme.muted
            plot.setLabel(
                "left",
                f"<span style='color:{colour}; font-weight:bold'>{ROLE_NAMES[role]}</span>"
                f"<br><span style='color:{self.theme.text}'>{name}{state}</span>",
            )
            if kind == "cardiac":
                plot.getAxis("left").setStyle(showValues=False)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.panel)
        for plot in [*self.plots.values(), self.hr_plot]:
            for ax in ("left", "bottom"):
                axis = plot.getAxis(ax)
                axis.setPen(pg.mkPen(theme.muted))
                axis.setTextPen(pg.mkPen(theme.text))
        self._relabel()

    def set_window(self, seconds: float) -> None:
        self.window_s = float(seconds)
        self.plots[ROWS[0]].setXRange(-self.window_s, 0, padding=0)

    def set_modalities(self, channels) -> None:
        """Use ECG instead of PPG for a role whose cardiac signal is ECG."""
        for role in ROLE_COLOURS:
            mod = "ecg" if f"{role}/ecg" in channels and f"{role}/ppg" not in channels else "ppg"
            self.modality[role] = mod
        self._relabel()

    def set_active(self, role: str, kind: str, active: bool) -> None:
        """Dim a row whose stream is not delivering (stale, lost...)."""
        if self.active[(role, kind)] == active:
            return
        self.active[(role, kind)] = active
        colour = ROLE_COLOURS[role] if active else self.theme.muted
        self.curves[(role, kind)].setPen(pg.mkPen(colour, width=1))
        self._relabel()

    def set_waiting(self, role: str, kind: str, text: str) -> None:
        """Say across a row what it waits for ('' when its stream is connected)."""
        if self.waiting.get((role, kind), "") == text:
            return
        self.waiting[(role, kind)] = text
        item = self._waiting_items.get((role, kind))
        if item is None:
            item = pg.LabelItem("", size="11pt")
            item.setParentItem(self.plots[(role, kind)].vb)
            item.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
            self._waiting_items[(role, kind)] = item
        item.setText(text, color=self.theme.muted)
        item.setVisible(bool(text))

    # -- data -----------------------------------------------------------------------------
    def set_events(self, persons) -> None:
        """Committed beats and SCR onsets from the newest snapshot (LSL times)."""
        for role in ROLE_COLOURS:
            pm = persons.get(role) if persons else None
            if pm is None:
                continue
            self._events[(role, "cardiac")] = np.asarray(pm.beat_times, float)
            self._events[(role, "eda")] = np.asarray(pm.scr_onsets, float)
            self._events_dirty.update({(role, "cardiac"), (role, "eda")})
            t, bpm = np.asarray(pm.hr_trend_t, float), np.asarray(pm.hr_trend_bpm, float)
            if len(t):
                keep = t >= pm.t - HR_TREND_S
                self.hr_curves[role].setData((t[keep] - pm.t) / 60.0, bpm[keep])

    def update_traces(self, traces) -> None:
        """Draw a :class:`~app.engine.TraceSnapshot` (called at ~30 Hz)."""
        now = traces.t
        lo = now - self.window_s
        if self._t_ref is None:
            self._t_ref = now
        rescale = now - self._last_rescale >= 0.5
        if rescale:
            self._last_rescale = now
        for (role, kind), curve in self.curves.items():
            mod = "eda" if kind == "eda" else self.modality[role]
            tr = traces.traces.get(f"{role}/{mod}")
            marks = self.marks[(role, kind)]
            if tr is None or not len(tr.t):
                curve.setData([], [])
                marks.setData([], [])
                self.samples_shown[(role, kind)] = 0
                continue
            i0 = int(np.searchsorted(tr.t, lo))
            t, x = tr.t[i0:], tr.x[i0:]
            fin = np.isfinite(x)
            all_finite = bool(fin.all())
            # gaps (NaN) break the line; the plain path is faster when there are none
            curve.setData(t - now, x, connect="all" if all_finite else "finite")
            self.samples_shown[(role, kind)] = len(t)
            if (role, kind) in self._events_dirty and fin.sum() > 1:
                self._set_marks(role, kind, t[fin], x[fin], lo)
            marks.setPos(self._t_ref - now, 0.0)
            # the scatter culls with a cached view rect that setPos does not invalidate
            pg.GraphicsItem.viewTransformChanged(marks)
            if rescale and fin.any():
                self._rescale(role, kind, x[fin])
        for t_m, _code, _text, lines in self._markers:
            for line in lines:
                line.setValue(t_m - now)
        self._drop_old_markers(now)

    def _set_marks(self, role: str, kind: str, t: np.ndarray, x: np.ndarray, lo: float) -> None:
        """Beat / SCR marks at the trace's value, in (t - t_ref) coordinates."""
        self._events_dirty.discard((role, kind))
        ev = self._events.get((role, kind), np.empty(0))
        ev = ev[(ev >= max(lo - 5.0, t[0])) & (ev <= t[-1])]
        if len(ev):
            self.marks[(role, kind)].setData(ev - self._t_ref, np.interp(ev, t, x))
        else:
            self.marks[(role, kind)].setData([], [])

    def _rescale(self, role: str, kind: str, x: np.ndarray) -> None:
        """Keep the visible data inside the y range; shrink only when it is far too wide."""
        lo, hi = float(x.min()), float(x.max())
        span = max(hi - lo, 0.1 if kind == "eda" else 1e-9)  # EDA: at least 0.1 µS tall
        mid = (lo + hi) / 2
        lo, hi = mid - span / 2, mid + span / 2
        plot = self.plots[(role, kind)]
        (y0, y1) = plot.viewRange()[1]
        inside = y0 <= lo and hi <= y1
        too_wide = (y1 - y0) > 2.5 * span
        if not inside or too_wide:
            pad = 0.12 * span
            plot.setYRange(lo - pad, hi + pad, padding=0)

    # -- markers --------------------------------------------------------------------------
    def add_marker(self, t: float, code: str, text: str) -> None:
        """Draw a session marker (LSL time ``t``) on every trace row."""
        colour = MARKER_COLOURS.get(code, "#999999")
        lines = []
        for (_role, _kind), plot in self.plots.items():
            line = pg.InfiniteLine(
                pos=0.0,
                angle=90,
                pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                label=code if plot is self.plots[ROWS[0]] else None,
                labelOpts={"position": 0.92, "color": colour, "fill": self.theme.panel},
            )
            line.setToolTip(text)
            plot.addItem(line, ignoreBounds=True)
            lines.append(line)
        self._markers.append((t, code, text, lines))

    @property
    def markers(self) -> list[tuple[float, str, str]]:
        return [(t, c, x) for t, c, x, _ in self._markers]

    def _drop_old_markers(self, now: float) -> None:
        keep = []
        for item in self._markers:
            if item[0] < now - 125.0:
                for line, plot in zip(item[3], self.plots.values(), strict=True):
                    plot.removeItem(line)
            else:
                keep.append(item)
        self._markers = keep
