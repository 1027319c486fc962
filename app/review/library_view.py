"""Session library window: the list of sessions and one clinician's trends across sessions.

Double-click a session to open it in the review window. A session not analysed yet is
analysed in a worker thread (about 15 s for an hour) while the library stays usable; the
review opens when it is ready, and an error is shown in the status bar.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.analysis import AnalysisError
from app.formatting import fmt_mmss, fmt_value
from app.gui.qtapp import dispose, make_app, save_screenshot
from app.library import (
    SessionEntry,
    clinician_trend,
    clinicians,
    contrast_cell,
    scan_sessions,
)
from app.review.launch import load_analysis
from app.review.window import ReviewWindow
from dsp.concordance.evidence import ALPHA

COLUMNS = [
    "date", "patient", "clinician", "duration", "EDA CI", "p", "HR CI",
    "clinician baseline ln RMSSD", "listening − talking (EDA, tested)", "folder",
]  # fmt: skip


class DayAxis(pg.DateAxisItem):
    """Date axis labelled "10 Nov" (dates are POSIX seconds)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt naming
        import datetime as dt

        return [dt.datetime.fromtimestamp(v).strftime("%d %b") for v in values]


class LibraryWindow(QMainWindow):
    """The sessions folder as a table plus trend plots for one clinician code."""

    #: (recording path, SessionAnalysis or the exception that stopped it), from the worker
    analysed = Signal(object, object)

    def __init__(self, root: Path, entries: Sequence[SessionEntry] | None = None,
                 clinician: str | None = None) -> None:  # fmt: skip
        super().__init__()
        self.root = Path(root)
        self.entries = list(entries) if entries is not None else scan_sessions(self.root)
        self._reviews: list[QMainWindow] = []
        self._analysing: set[Path] = set()
        self.analysed.connect(self._show_review)
        self.setWindowTitle(f"Attunement session library – {self.root}")
        central = QWidget()
        lay = QVBoxLayout(central)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"<b>{len(self.entries)} session(s)</b> in {self.root}"))
        top.addStretch(1)
        top.addWidget(QLabel("Progress of clinician:"))
        self.combo = QComboBox()
        codes = clinicians(self.entries)
        self.combo.addItems(codes or ["(no clinician codes)"])
        if clinician:
            i = next((k for k, c in enumerate(codes) if c.lower() == clinician.lower()), -1)
            if i >= 0:
                self.combo.setCurrentIndex(i)
        self.combo.currentTextChanged.connect(self.show_trend)
        top.addWidget(self.combo)
        lay.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = self._make_table()
        split.addWidget(self.table)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        split.addWidget(self.glw)
        split.setSizes([200, 640])
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(
            "Double-click a session to review it. Trends: one point per analysed session of the "
            "chosen clinician, oldest left. Listening − talking: the session's tested contrast "
            "(block permutation), filled where p < 0.05."
        )
        self.show_trend(self.combo.currentText())

    def _make_table(self) -> QTableWidget:
        t = QTableWidget(len(self.entries), len(COLUMNS))
        t.setHorizontalHeaderLabels(COLUMNS)
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for i, e in enumerate(self.entries):
            dur = fmt_mmss(e.duration_s)
            cells = [
                e.date_text, e.patient or "?", e.clinician or "?", dur, fmt_value(e.eda_ci),
                fmt_value(e.eda_p, 3), fmt_value(e.hr_ci), fmt_value(e.clinician_baseline_ln_rmssd),
                contrast_cell(e),
                e.folder.name + ("" if e.analysed else "  (not analysed)"),
            ]  # fmt: skip
            for j, c in enumerate(cells):
                item = QTableWidgetItem(c)
                if 3 <= j <= 8:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                t.setItem(i, j, item)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)
        t.setAlternatingRowColors(True)
        t.cellDoubleClicked.connect(self._open)
        return t

    def show_trend(self, code: str) -> None:
        """Draw the three trend plots of clinician ``code``."""
        self.glw.clear()
        tr = clinician_trend(self.entries, code)
        self.trend = tr
        if not tr.sessions:
            self.glw.addLabel("No sessions with a clinician code yet.")
            return
        x = np.array([e.started.timestamp() if e.started else math.nan for e in tr.sessions])
        tested = np.asarray(tr.listening_vs_talking_p, dtype=float) < ALPHA  # NaN: no test
        series = [
            ("Clinician's baseline ln RMSSD (higher = more vagal HRV at rest)",
             "ln RMSSD", tr.baseline_ln_rmssd, "#d95f02", None, None),
            ("Session skin-conductance concordance (Marci CI; > 0 = moving together)",
             "CI", tr.session_ci, "#222222", 0.0, None),
            ("Listening − talking: shared SCRs above chance (● p &lt; 0.05, ○ no reliable "
             "difference or no test)",
             "Δ shared", tr.listening_vs_talking, "#1f6fb4", 0.0, tested),
        ]  # fmt: skip
        self.glw.addLabel(
            f"<b>Clinician {code}</b>: {len(tr.sessions)} session(s), "
            f"{tr.sessions[0].date_text[:10]} – {tr.sessions[-1].date_text[:10]}",
            row=0, col=0,
        )  # fmt: skip
        first = None
        for k, (title, name, vals, color, ref, filled) in enumerate(series):
            p = self.glw.addPlot(row=k + 1, col=0, axisItems={"bottom": DayAxis()})
            p.setTitle(title, size="10pt")
            p.setLabel("left", name)
            p.getAxis("left").setWidth(70)
            p.getAxis("left").enableAutoSIPrefix(False)  # "0.8", not "800 (x0.001)"
            p.showGrid(x=True, y=True, alpha=0.2)
            y = np.asarray(vals, dtype=float)
            ok = np.isfinite(y) & np.isfinite(x)
            fill = np.ones(y.shape, dtype=bool) if filled is None else filled
            p.plot(x[ok], y[ok], pen=pg.mkPen(color, width=1.5), symbol="o", symbolSize=8,
                   symbolBrush=[pg.mkBrush(color if f else "w") for f in fill[ok]],
                   symbolPen=pg.mkPen(color, width=1.5))  # fmt: skip
            if ref is not None:
                p.addItem(
                    pg.InfiniteLine(
                        pos=ref, angle=0, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine)
                    )
                )
            if not ok.any():
                t = pg.TextItem("no value yet (needs an analysed session with these data)",
                                color="#777777")  # fmt: skip
                p.addItem(t)
            if first is None:
                first = p
            else:
                p.setXLink(first)
            if ok.any():
                span = max(float(np.ptp(x[ok])), 86400.0)
                p.setXRange(float(x[ok].min()) - 0.1 * span, float(x[ok].max()) + 0.1 * span)

    def _open(self, row: int, _col: int) -> None:
        e = self.entries[row]
        if e.recording is None:
            self.statusBar().showMessage(f"{e.folder.name}: no recording.xdf to review", 8000)
            return
        if e.recording in self._analysing:
            self.statusBar().showMessage(f"{e.folder.name}: still being analysed…")
            return
        self._analysing.add(e.recording)
        self.statusBar().showMessage(
            f"analysing {e.folder.name}… (the first open takes about 15 s for an hour of "
            "recording; the review opens when it is ready)"
        )
        threading.Thread(
            target=self._analyse, args=(e.recording,), name="attune-review-analysis", daemon=True
        ).start()

    def _analyse(self, path: Path) -> None:
        """Worker thread: the (cached) analysis of ``path``, handed to the GUI thread."""
        try:
            result: object = load_analysis(path)[0]
        except Exception as exc:  # every failure reaches the user in the status bar
            result = exc
        try:
            self.analysed.emit(path, result)
        except RuntimeError:  # the library window was closed meanwhile
            pass

    def _show_review(self, path: Path, result: object) -> None:
        self._analysing.discard(path)
        if isinstance(result, AnalysisError):
            self.statusBar().showMessage(str(result), 10000)
            return
        if isinstance(result, Exception):
            why = f"{type(result).__name__}: {result}"
            self.statusBar().showMessage(f"{path.parent.name}: analysis failed: {why}", 10000)
            return
        win = ReviewWindow(result)
        win.resize(1400, 900)
        win.show()
        self._reviews.append(win)
        self.statusBar().showMessage(f"opened {path.parent.name}", 5000)


def run_library_window(root: Path, entries: Sequence[SessionEntry], clinician: str | None,
                       screenshot: str | None) -> int:  # fmt: skip
    """Open the library window (or save its screenshot); exit status."""
    app = make_app()
    t0 = time.perf_counter()
    w = LibraryWindow(root, entries, clinician)
    if screenshot:
        opened = time.perf_counter() - t0
        try:
            out = save_screenshot(w, screenshot, (1300, 900))
        except OSError as exc:
            print(f"attune: error: {exc}", file=sys.stderr, flush=True)
            return 2
        print(f"screenshot saved to {out} (window ready in {opened:.2f} s)")
        return 0
    w.resize(1300, 900)
    w.show()
    code = int(app.exec())
    for r in w._reviews:
        dispose(r)
    dispose(w)
    return code
