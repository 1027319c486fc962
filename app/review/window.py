"""The trainer's review window for one recorded session.

Layout: a header with the key numbers; three linked detail plots (skin conductance, heart
rate, concordance with the chance band) over the zoomed stretch; an overview strip of the whole
session below them whose shaded region sets the zoom (drag it to scrub, drag its edges to zoom,
or zoom with the mouse wheel in a detail plot); on the right, tabs with the markers list (click
to jump), the block table (talking vs listening), the HRV table, notes, and warnings. Export
buttons write the HTML report and the CSVs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import sessionfolder
from app.analysis import SessionAnalysis, write_outputs
from app.analysis.group import index_text
from app.analysis.tables import (
    Table,
    blocks_table,
    concordance_table,
    contrasts_table,
    heartpy_table,
    hr_synchrony_table,
    physiology_table,
)
from app.formatting import fmt_mmss, fmt_value
from app.review.layout import TimeAxis, fit_width, legend_above
from app.review.layout import table_widget as _table
from app.review.pairs_panel import pairs_panel
from app.review.video_panel import install_video
from app.sessionfolder import SessionFolder
from dsp.concordance.dyad import HIGHLIGHT

BLOCK_COLORS = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5"]


def _view(t: Table) -> QTableWidget:
    """A :class:`~app.analysis.tables.Table` (the report shows the same one) as a widget."""
    return _table(list(t.header), [list(r) for r in t.rows])


class ReviewWindow(QMainWindow):
    """Review of one analysed session (see the module docstring).

    Parameters
    ----------
    analysis : SessionAnalysis
        From :func:`app.analysis.analyze_file`.
    notes_path : Path, optional
        Where the notes are saved (default: ``notes.txt`` next to the recording).
    """

    zoomChanged = Signal(float, float)  # noqa: N815 - Qt naming

    def __init__(
        self, analysis: SessionAnalysis, notes_path: Path | None = None, pending: str = ""
    ) -> None:
        super().__init__()
        self.notes_path = notes_path or sessionfolder.notes_path(analysis.path)
        self.setWindowTitle(f"Attunement review – {analysis.path.name}")
        self.video = None
        self._pending = pending  # the concordance still being computed: what to say
        # the hint first: a line from building the window (video not shown, …) replaces it
        self.statusBar().showMessage(
            "Drag the shaded region in the overview to move through the session; drag its "
            "edges or use the mouse wheel on a plot to zoom. Click a marker to jump to it."
        )
        self._populate(analysis)
        self.set_zoom(0.0, min(self.duration, 300.0))

    def _populate(self, analysis: SessionAnalysis) -> None:
        """Build the header, plots, side tabs and buttons of ``analysis``."""
        self.a = analysis
        self.t0 = analysis.t_start
        self.duration = max(analysis.duration_s, 1.0)
        self._labels = list(dict.fromkeys(lab for _, _, lab in analysis.intervals))
        self._block_color = {
            lab: BLOCK_COLORS[i % len(BLOCK_COLORS)] for i, lab in enumerate(self._labels)
        }
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        self.header = QLabel(self._header_html())
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_plots())
        split.addWidget(self._build_side())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([1050, 430])
        lay.addWidget(split, 1)
        lay.addLayout(self._build_buttons())
        self.setCentralWidget(central)
        self.video = install_video(self)  # the session's video beside the traces, if any

    def set_pending(self, text: str) -> None:
        """What the header says while the concordance is being computed ('' when done)."""
        self._pending = text
        self.header.setText(self._header_html())

    def fill(self, analysis: SessionAnalysis) -> None:
        """Show the whole analysis (concordance and its tests) in place of the per-person one
        shown so far, keeping the zoomed stretch."""
        zoom = self.zoom_range()
        if self.video is not None:
            self.video.close()
        self._pending = ""
        self._populate(analysis)
        self.set_zoom(*zoom)

    # ------------------------------------------------------------------ header

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Stop the video's decoding thread with the window."""
        if self.video is not None:
            self.video.close()
            self.video = None
        super().closeEvent(event)

    def _header_html(self) -> str:
        a = self.a
        rec = (a.recorded_at or "")[:16].replace("T", " ")
        info = a.people_info
        ppl = (" and " if len(a.roles) == 2 else ", ").join(
            f'<span style="color:{info.colour(r)};font-weight:bold">{r}</span>' for r in a.roles
        )
        parts = [
            f"<b>{a.path.name}</b>",
            f"recorded {rec}" if rec else "",
            f"duration {fmt_mmss(a.duration_s)}",
            ppl,
        ]
        line1 = " · ".join(p for p in parts if p)
        if a.group is not None:
            gi = a.group.eda.mean_ci
            coupled = [f"{pc.a}–{pc.b}" for pc in a.group.pairs() if pc.coupled]
            line2 = (
                f"Group index (mean pairwise EDA CI) <b>{index_text(gi)}</b> · coupled pairs "
                f"(Holm): {', '.join(coupled) or 'none'} · see the Pairs tab"
            )
        elif a.dyad is None and self._pending:
            line2 = f"Concordance and its chance tests: {self._pending}"
        elif a.dyad is None:
            line2 = "One person only: concordance needs two people."
        else:
            eda, hr = a.dyad.eda.session, a.dyad.hr.session
            if eda is not None:
                line2 = (
                    f"Skin-conductance concordance (Marci CI) <b>{fmt_value(eda.ci)}</b> "
                    f"(p = {fmt_value(eda.surrogate.p_value, 3)} against chance) · {eda.lead_text}"
                )
                if hr is not None:
                    line2 += (
                        f" · heart-rate CI {fmt_value(hr.ci)} "
                        f"(p = {fmt_value(hr.surrogate.p_value, 3)})"
                    )
                extra = [c.text for c in a.dyad.eda.contrasts[:1]] + [a.dyad.hr.breathing_note]
                line2 += "".join(f"<br>{x}" for x in extra if x)
            else:
                line2 = a.dyad.eda.note
        warn = ""
        if a.warnings:
            warn = f'<br><span style="color:#b00">⚠ {len(a.warnings)} warning(s): see the Warnings tab</span>'
        return f"{line1}<br>{line2}{warn}"

    # ------------------------------------------------------------------ plots
    def _build_plots(self) -> QWidget:
        pg.setConfigOptions(antialias=False, foreground="k")
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        self.p_eda = self.glw.addPlot(row=0, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.p_hr = self.glw.addPlot(row=1, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.p_ci = self.glw.addPlot(row=2, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.p_ov = self.glw.addPlot(row=3, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.glw.ci.layout.setRowStretchFactor(0, 3)
        self.glw.ci.layout.setRowStretchFactor(1, 3)
        self.glw.ci.layout.setRowStretchFactor(2, 3)
        self.glw.ci.layout.setRowStretchFactor(3, 1)
        self.p_eda.setLabel("left", "skin conductance", units="µS")
        self.p_hr.setLabel("left", "heart rate", units="bpm")
        self.p_ci.setLabel("left", "concordance (CI)")
        self.p_ov.setLabel("left", "whole session")
        self.p_ov.setToolTip("Each trace scaled to its own range; drag the blue region to move")
        self.p_ov.setMaximumHeight(110)
        for p in (self.p_hr, self.p_ci):
            p.setXLink(self.p_eda)
        for p in (self.p_eda, self.p_hr):
            p.getAxis("bottom").setStyle(showValues=False)
        self.p_ci.setLabel("bottom", "time since session start (m:ss)")
        for p in (self.p_eda, self.p_hr, self.p_ci, self.p_ov):
            p.showGrid(x=True, y=True, alpha=0.12)
            p.getAxis("left").setWidth(62)
            p.setMouseEnabled(x=True, y=False)
        self.p_ov.setMouseEnabled(x=False, y=False)
        self.p_ov.hideButtons()
        legend_above(self.p_eda, 2)
        self._traces: dict[str, Any] = {}
        self._plot_people()
        self._plot_concordance()
        self._mark_empty_plots()
        self._add_blocks()
        # zoom region on the overview
        self.region = pg.LinearRegionItem(
            values=(0, min(300.0, self.duration)),
            brush=pg.mkBrush(31, 111, 180, 50),
            pen=pg.mkPen("#1f6fb4", width=2),
        )
        self.region.setZValue(10)
        self.region.setBounds((0, self.duration))
        self.p_ov.addItem(self.region)
        self.p_ov.setXRange(0, self.duration, padding=0)
        self.region.sigRegionChanged.connect(self._region_moved)
        self.p_eda.sigXRangeChanged.connect(self._view_moved)
        self._syncing = False
        return self.glw

    def _plot_people(self) -> None:
        """Both people's EDA and HR (0.25 s grid), and the overview strip."""
        a, t0 = self.a, self.t0
        grid = np.arange(math.floor(t0), a.t_end, 0.25)
        rel = grid - t0
        ov_series = []
        info = a.people_info
        for role in a.roles:
            p = a.persons.get(role)
            if p is None:
                continue
            pen = pg.mkPen(info.colour(role), width=1.4)
            if p.has_eda:
                y = p.eda_on_grid(grid)
                self._traces[f"eda_{role}"] = self.p_eda.plot(
                    rel, y, pen=pen, name=role, connect="finite"
                )
                ov_series.append((y, pen))
            if p.has_cardiac:
                y = p.hr_on_grid(grid)
                self._traces[f"hr_{role}"] = self.p_hr.plot(
                    rel, y, pen=pg.mkPen(info.colour(role), width=1.0), connect="finite"
                )
                if not p.has_eda:
                    ov_series.append((y, pen))
        for p in (self.p_eda, self.p_hr, self.p_ci):
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
        # overview: each series scaled to 0..1 so both people fit one strip
        for y, pen in ov_series:
            fin = y[np.isfinite(y)]
            if fin.size:
                lo, hi = np.percentile(fin, [1, 99])
                yy = (y - lo) / (hi - lo) if hi > lo else y - lo
                self.p_ov.plot(rel[::4], yy[::4], pen=pen, connect="finite")
        self.p_ov.getAxis("left").setTicks([[]])

    def _plot_concordance(self) -> None:
        """Rolling CI of EDA and HR with the EDA chance band (or no row for one person)."""
        a, t0 = self.a, self.t0
        self._ci_legend = legend_above(self.p_ci, 2)
        if a.dyad is not None:
            for sig, style, name in (
                (a.dyad.eda, Qt.PenStyle.SolidLine, "EDA rolling CI (last 60 s)"),
                (a.dyad.hr, Qt.PenStyle.DashLine, "HR rolling CI"),
            ):
                tl = sig.timeline
                if not tl.t.size:
                    continue
                if sig.signal == "eda" and math.isfinite(tl.chance_lo):
                    band = pg.LinearRegionItem(
                        values=(tl.chance_lo, tl.chance_hi),
                        orientation="horizontal",
                        movable=False,
                        brush=pg.mkBrush(150, 150, 150, 80),
                        pen=pg.mkPen(None),
                    )
                    band.setZValue(-20)
                    self.p_ci.addItem(band)
                    self.p_ci.plot(
                        [], [], pen=pg.mkPen(150, 150, 150, 160, width=8),
                        name="EDA chance band (5-95 % of surrogates)",
                    )  # fmt: skip
                self._traces[f"ci_{sig.signal}"] = self.p_ci.plot(
                    tl.t - t0,
                    tl.ci_rolling,
                    pen=pg.mkPen("#222222", width=1.4, style=style),
                    name=name,
                    connect="finite",
                )
            self.p_ci.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#888888")))
            self._plot_highlight()
        else:
            # one person: no concordance row; the heart-rate plot carries the time axis
            self.glw.removeItem(self.p_ci)
            self.p_ci.hide()
            self.glw.ci.layout.setRowStretchFactor(2, 0)
            self.p_hr.getAxis("bottom").setStyle(showValues=True)
            self.p_hr.setLabel("bottom", "time since session start (m:ss)")

    def _plot_highlight(self) -> None:
        """A green line above the traces where the console would have said "above chance"
        for EDA (its coupling test over the last 10 minutes, replayed at the same checks)."""
        tl = self.a.dyad.eda.timeline
        if tl.highlight is None or not tl.highlight.any():
            return
        vals = [v for v in (tl.ci_rolling, self.a.dyad.hr.timeline.ci_rolling) if v.size]
        tops = [float(np.nanmax(v)) for v in vals if np.isfinite(v).any()]
        top = max(tops + [tl.chance_hi if math.isfinite(tl.chance_hi) else 0.0]) + 0.4
        self._traces["highlight_eda"] = self.p_ci.plot(
            tl.t - self.t0, np.where(tl.highlight, top, np.nan),
            pen=pg.mkPen("#1a9850", width=6), connect="finite",
            name="EDA above chance in the console (last 10 min, rule below)",
        )  # fmt: skip

    def _mark_empty_plots(self) -> None:
        """Say so in a plot that has nothing to show."""
        for plot, what in ((self.p_eda, "skin conductance in µS"), (self.p_hr, "heart beats")):
            legend = plot.legend
            if legend is not None and not legend.items:
                legend.hide()
            if not plot.listDataItems():
                msg = pg.TextItem(
                    f"no {what} for this session (see the Warnings tab)", color="#555555",
                    anchor=(0.5, 0.5),
                )  # fmt: skip
                plot.addItem(msg)
                plot.setYRange(0, 1)
                msg.setPos(self.duration / 2, 0.5)
                self._empty_texts = getattr(self, "_empty_texts", []) + [(plot, msg)]

    def _add_blocks(self) -> None:
        t0 = self.t0
        for a0, a1, lab in self.a.intervals:
            col = QColor(self._block_color[lab])
            col.setAlpha(70)
            for p in (self.p_eda, self.p_hr, self.p_ci, self.p_ov):
                r = pg.LinearRegionItem(
                    values=(a0 - t0, a1 - t0), movable=False, brush=pg.mkBrush(col),
                    pen=pg.mkPen(None),
                )  # fmt: skip
                r.setZValue(-30)
                p.addItem(r)
            txt = pg.TextItem(lab, color="#333333", anchor=(0, 0))
            txt.setFont(QFont("Sans", 8))
            self.p_eda.addItem(txt)
            txt.setPos(a0 - t0, 0)
            self._block_texts = getattr(self, "_block_texts", []) + [(txt, a0 - t0)]
        if not self.a.intervals:
            for tm, lab in self.a.markers:
                for p in (self.p_eda, self.p_hr, self.p_ci):
                    p.addItem(
                        pg.InfiniteLine(
                            pos=tm - t0,
                            angle=90,
                            pen=pg.mkPen("#777777", style=Qt.PenStyle.DotLine),
                            label=lab if p is self.p_eda else None,
                        )  # fmt: skip
                    )

    def _place_block_texts(self) -> None:
        vb = self.p_eda.getViewBox()
        (_, _), (y0, y1) = vb.viewRange()
        for txt, x in getattr(self, "_block_texts", []):
            txt.setPos(x, y1)
        for plot, msg in getattr(self, "_empty_texts", []):
            (a0, a1), (b0, b1) = plot.getViewBox().viewRange()
            msg.setPos((a0 + a1) / 2, (b0 + b1) / 2)

    def _region_moved(self) -> None:
        if self._syncing:
            return
        a0, a1 = self.region.getRegion()
        self._syncing = True
        self.p_eda.setXRange(a0, a1, padding=0)
        self._syncing = False
        self._autoscale_y(a0, a1)
        self.zoomChanged.emit(a0, a1)

    def _view_moved(self, _vb: Any, rng: Any) -> None:
        if self._syncing:
            return
        self._syncing = True
        self.region.setRegion(rng)
        self._syncing = False
        self._autoscale_y(*rng)

    def _autoscale_y(self, a0: float, a1: float) -> None:
        grid_t = np.arange(math.floor(self.t0), self.a.t_end, 0.25) - self.t0
        i0, i1 = np.searchsorted(grid_t, [a0, a1])
        for plot, keys in ((self.p_eda, ("eda_patient", "eda_clinician")),
                           (self.p_hr, ("hr_patient", "hr_clinician"))):  # fmt: skip
            vals = []
            for k in keys:
                item = self._traces.get(k)
                if item is not None:
                    y = item.yData[i0:i1] if item.yData is not None else np.zeros(0)
                    vals.append(y[np.isfinite(y)])
            v = np.concatenate(vals) if vals else np.zeros(0)
            if v.size:
                lo, hi = float(v.min()), float(v.max())
                pad = 0.08 * (hi - lo) if hi > lo else 0.5
                plot.setYRange(lo - pad, hi + pad * 2.2, padding=0)
        cis = []
        for k in ("ci_eda", "ci_hr"):
            item = self._traces.get(k)
            if item is not None and item.yData is not None:
                x = item.xData
                m = (x >= a0) & (x <= a1) & np.isfinite(item.yData)
                cis.append(item.yData[m])
        if self.a.dyad is not None:
            tl = self.a.dyad.eda.timeline
            cis.append(np.array([tl.chance_lo, tl.chance_hi]))
        c = np.concatenate(cis) if cis else np.zeros(0)
        c = c[np.isfinite(c)]
        if c.size:
            self.p_ci.setYRange(min(c.min(), -0.5) - 0.3, max(c.max(), 0.5) + 0.8, padding=0)
        self._place_block_texts()

    def set_zoom(self, a0: float, a1: float) -> None:
        """Show ``[a0, a1]`` seconds since the session start in the detail plots."""
        a0 = max(0.0, a0)
        a1 = min(self.duration, max(a1, a0 + 5.0))
        self.region.setRegion((a0, a1))
        self._region_moved()

    def zoom_range(self) -> tuple[float, float]:
        """The detail plots' time range (s since the session start)."""
        a0, a1 = self.region.getRegion()
        return float(a0), float(a1)

    def jump_to(self, t_rel: float) -> None:
        """Centre the current zoom width on ``t_rel`` (s since the session start)."""
        a0, a1 = self.zoom_range()
        w = a1 - a0
        start = min(max(0.0, t_rel - w / 2), max(self.duration - w, 0.0))
        self.set_zoom(start, start + w)

    # ------------------------------------------------------------------ side panel
    def _build_side(self) -> QWidget:
        self.tabs = QTabWidget()
        self.markers = QListWidget()
        for tm, lab in self.a.markers:
            item = QListWidgetItem(f"{fmt_mmss(tm - self.t0):>8}   {lab}")
            item.setData(Qt.ItemDataRole.UserRole, float(tm - self.t0))
            self.markers.addItem(item)
        if not self.a.markers:
            self.markers.addItem("No markers in this recording.")
        self.markers.itemClicked.connect(self._marker_clicked)
        self.tabs.addTab(self.markers, f"Markers ({len(self.a.markers)})")
        if self.a.group is not None:
            self.pairs = pairs_panel(self.a.group)
            self.tabs.addTab(self.pairs, f"Pairs ({len(self.a.group.eda.pairs)})")
        self.blocks = self._blocks_table()
        self.tabs.addTab(self.blocks, "Blocks")
        self.tests = self._tests_table()
        self.tabs.addTab(self.tests, "Tested statements")
        self.hrv = self._hrv_table()
        self.tabs.addTab(self.hrv, "HRV / EDA")
        self.peer = self._heartpy_table()
        self.tabs.addTab(self.peer, "heartpy")
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes on this session (saved with 'Save notes').")
        self.notes.setPlainText(self._initial_notes())
        self.tabs.addTab(self.notes, "Notes")
        warn = QPlainTextEdit()
        warn.setReadOnly(True)
        warn.setPlainText(
            "\n\n".join(list(self.a.notes) + [f"Warning: {w}" for w in self.a.warnings])
            or "No warnings."
        )
        self.tabs.addTab(warn, f"Warnings ({len(self.a.warnings)})")
        first = self.blocks if self.a.intervals else self.hrv
        self.tabs.setCurrentWidget(self.pairs if self.a.group is not None else first)
        return self.tabs

    def _initial_notes(self) -> str:
        """Saved notes, else the clinician's notes from the session folder's session.json."""
        import json

        if self.notes_path.is_file():
            return self.notes_path.read_text(encoding="utf-8")
        sj = SessionFolder.of_recording(self.a.path).session_json
        if sj.is_file():
            try:
                notes = json.loads(sj.read_text(encoding="utf-8")).get("notes")
            except (OSError, ValueError, AttributeError):
                notes = None
            if isinstance(notes, str):
                return notes
        return ""

    def _blocks_table(self) -> QTableWidget:
        """The report's blocks table, turned so the labels are the columns."""
        t = blocks_table(self.a)
        if t is None:
            return _table(["blocks"], [["No markers: no blocks to compare."]])
        w = _view(t.transposed())
        w.setToolTip(t.note)
        fit_width(w)
        return w

    def _tests_table(self) -> QWidget:
        """Every statement about coupling with its test: the report's three tables."""
        box = QWidget()
        lay = QVBoxLayout(box)
        tables = [concordance_table(self.a), contrasts_table(self.a), hr_synchrony_table(self.a)]
        tables = [t for t in tables if t is not None]
        if not tables:
            lay.addWidget(QLabel("Being computed: the tested statements follow." if self._pending
                                 else "One person only: no coupling statements."))  # fmt: skip
        for t in tables:
            lay.addWidget(QLabel(f"<b>{t.title}</b>"))
            w = _view(t.transposed() if t.key == "concordance" else t)
            w.setToolTip(t.note)
            lay.addWidget(w)
        note = QLabel(HIGHLIGHT.explain())
        note.setWordWrap(True)
        lay.addWidget(note)
        return box

    def _hrv_table(self) -> QTableWidget:
        return _view(physiology_table(self.a))

    def _heartpy_table(self) -> QTableWidget:
        t = heartpy_table(self.a)
        if t is None:
            return _table(["heartpy"], [["Not computed for this session."]])
        w = _view(t.transposed())
        w.setToolTip(t.note)
        return w

    def _marker_clicked(self, item: QListWidgetItem) -> None:
        t = item.data(Qt.ItemDataRole.UserRole)
        if t is not None:
            self.jump_to(float(t))

    # ------------------------------------------------------------------ buttons
    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        b_all = QPushButton("Whole session")
        b_all.clicked.connect(lambda: self.set_zoom(0.0, self.duration))
        b_5 = QPushButton("5 min")
        b_5.clicked.connect(lambda: self.set_zoom(self.zoom_range()[0], self.zoom_range()[0] + 300))
        b_notes = QPushButton("Save notes")
        b_notes.clicked.connect(self.save_notes)
        b_rep = QPushButton("Export report…")
        b_rep.clicked.connect(lambda: self._export_dialog(("html",)))
        b_csv = QPushButton("Export CSVs…")
        b_csv.clicked.connect(lambda: self._export_dialog(("csv", "json")))
        for b in (b_all, b_5):
            row.addWidget(b)
        row.addStretch(1)
        for b in (b_notes, b_rep, b_csv):
            row.addWidget(b)
        return row

    def save_notes(self) -> Path:
        """Write the notes text to ``notes_path`` (owner-only permissions)."""
        import os

        p = self.notes_path
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.notes.toPlainText())
        self.statusBar().showMessage(f"notes saved to {p}", 5000)
        return p

    def export(self, folder: str | Path, formats: tuple[str, ...]) -> list[Path]:
        """Write the report and/or CSVs of this session into ``folder``."""
        files = write_outputs(self.a, folder, formats)
        self.statusBar().showMessage(f"wrote {', '.join(f.name for f in files)} to {folder}", 8000)
        return files

    def _export_dialog(self, formats: tuple[str, ...]) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(self.a.path.parent))
        if not folder:
            return
        try:
            self.export(folder, formats)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write to {folder}: {exc}")
