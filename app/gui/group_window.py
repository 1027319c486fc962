"""The console for a group of 3-8 people.

Layout: a session bar on top (participant codes, Record, who-is-talking and moment keys with
the moment note, Baseline; :class:`app.gui.session_bar.SessionBar`), then the pair that
drives the big meter, elapsed time and simulated history;
on the left one trace row per person (cardiac and EDA, in the person's colour); on the right
the big EDA concordance meter and the HR synchrony meter of the selected pair (the two-person
console's meters, words and rules, for that pair), the pairwise matrix under its "Skin (EDA) |
Heart rate (HR)" switch (each button with its matrix's number of marked pairs), the group index and
one table row per person; a status line at the bottom.

The session is the two-person console's: a :class:`app.gui.session.SessionController` starts
it from a :class:`app.sources.SourceChoice` carrying the group's assignment and people, and
records, marks and stops it with the same code. The window only shows what the engine's
snapshots say (the controller's :class:`app.gui.session.EngineBridge`) and draws the trace
window at ~30 Hz from :meth:`app.engine.Engine.traces`; choosing a pair (the list above, or a
click on a matrix cell) asks the engine to drive the big meter from it.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.formatting import fmt_mmss
from app.group_engine import default_pair
from app.group_words import person_states, status_words
from app.gui.dialogs import AssignmentDialog, BaselineDialog
from app.gui.group_view import GroupIndexPanel, PairMatrix, PeopleTable
from app.gui.meters import concordance_meter, hr_sync_meter
from app.gui.patient import PatientWindow, patient_window_show
from app.gui.session import SessionController
from app.gui.session_bar import SessionBar
from app.gui.theme import THEMES
from app.live import LiveSession
from app.meter_state import meter_states
from app.people import people_model
from app.sources import SourceChoice
from devices.markers import TALKER, Marker
from dsp.concordance.group import GroupSignal

__all__ = ["GroupTraces", "GroupWindow"]

RENDER_HZ = 30.0
#: A moment's line (a person's colour would read as that person talking).
MOMENT_COLOUR = "#555555"


class GroupTraces(pg.GraphicsLayoutWidget):
    """One row per person: cardiac (left) and EDA (right) over the last ``window_s``."""

    def __init__(self, people: tuple[str, ...], window_s: float = 30.0, parent=None) -> None:
        super().__init__(parent)
        self.people = people
        self.window_s = window_s
        self.setBackground("w")
        colours = {q.role: q.colour for q in people_model(people).persons}
        self.colours = colours
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.plots: list[pg.PlotItem] = []
        self._markers: list[tuple[float, Marker, list[pg.InfiniteLine]]] = []
        for i, name in enumerate(people):
            for col, mod in enumerate(("cardiac", "eda")):
                plot = self.addPlot(row=i, col=col)
                plot.setMouseEnabled(x=False, y=False)
                plot.hideButtons()
                plot.setXRange(-window_s, 0, padding=0)
                plot.getAxis("bottom").setStyle(showValues=i == len(people) - 1)
                plot.getAxis("left").setWidth(44)
                label = f"{name} {'PPG' if mod == 'cardiac' else 'EDA µS'}"
                plot.setTitle(label, color=colours[name], size="9pt")
                self.curves[f"{name}/{mod}"] = plot.plot(pen=pg.mkPen(colours[name], width=1))
                self.plots.append(plot)

    def add_marker(self, m: Marker) -> None:
        """Draw a session marker on every row: a talking marker in the talker's colour."""
        who = m.text.partition(": ")[2].removesuffix(" talking") if m.code == TALKER else ""
        # a talker's line in their colour (the rows say whose); a moment grey with its "M"
        colour = self.colours.get(who, MOMENT_COLOUR)
        lines = []
        for k, plot in enumerate(self.plots):
            line = pg.InfiniteLine(
                pos=0.0, angle=90, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                label=None if who or k else m.code,
                labelOpts={"position": 0.9, "color": colour},
            )  # fmt: skip
            line.setToolTip(m.text)
            plot.addItem(line, ignoreBounds=True)
            lines.append(line)
        self._markers.append((m.t, m, lines))

    @property
    def markers(self) -> list[Marker]:
        return [m for _, m, _ in self._markers]

    def _place_markers(self, now: float) -> None:
        keep = []
        for t, m, lines in self._markers:
            if t < now - self.window_s - 5.0:
                for line, plot in zip(lines, self.plots, strict=True):
                    plot.removeItem(line)
                continue
            for line in lines:
                line.setPos(t - now)
            keep.append((t, m, lines))
        self._markers = keep

    def update_traces(self, traces) -> None:
        """Redraw from an :class:`app.engine.TraceSnapshot` (times relative to now)."""
        now = traces.t
        self._place_markers(now)
        for key, tr in traces.traces.items():
            role, mod = key.split("/")
            curve = self.curves.get(f"{role}/{'eda' if mod == 'eda' else 'cardiac'}")
            if curve is None:
                continue
            if tr.t.size:
                keep = tr.t >= now - self.window_s
                curve.setData(tr.t[keep] - now, np.asarray(tr.x)[keep])
            else:
                curve.setData([], [])


class GroupWindow(QMainWindow):
    """The group console over a :class:`SessionController` whose session is a group.

    Parameters
    ----------
    controller : SessionController
        Starts, records, marks and stops the session (the two-person console's).
    people : tuple of str
        The people in order.
    warmup_s : float
        The big meter's warm-up (s).
    baseline_s : float
        The settling baseline's length (s).
    session_dir : str, optional
        Where recordings go (default: the platform's sessions folder).
    """

    def __init__(
        self,
        controller: SessionController,
        people: tuple[str, ...],
        warmup_s: float,
        baseline_s: float = 60.0,
        session_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.session: LiveSession | None = None
        self.people = people
        self.warmup_s = warmup_s
        self.baseline_s = baseline_s
        self.session_dir = session_dir
        self.snapshot = None
        self.baseline_dialog: BaselineDialog | None = None
        self.assign_dialog: AssignmentDialog | None = None
        self.patient_window: PatientWindow | None = None
        self.t_start = time.monotonic()
        self.setWindowTitle(f"Attunement – group console ({len(people)} people)")
        self._build()
        controller.bridge.snapshot.connect(self.on_snapshot)
        controller.bridge.error.connect(self.show_error)
        controller.failed.connect(self.show_error)
        controller.status.connect(self.status.setText)
        controller.started.connect(self._on_started)
        self.render_timer = QTimer(self)
        self.render_timer.setInterval(int(1000 / RENDER_HZ))
        self.render_timer.timeout.connect(self.render_frame)
        self.render_timer.start()
        self.resize(1440, 900 if len(people) <= 4 else 1080)

    def start_source(self, choice: SourceChoice, source=None) -> None:
        """Start the group's session (the controller's worker thread; never blocks). A
        choice with declared pairs (a map file's ``pairs``) shows its first pair."""
        if choice.pairs:
            self.select_pair(*default_pair(self.people, choice.pairs))
        self.controller.start(choice, source)

    def _on_started(self, session: LiveSession) -> None:
        self.session = session
        self._box_changed(self.pair_box.currentIndex())

    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 4)
        top = QHBoxLayout()
        self.bar = SessionBar(self.controller, self.people, self.session_dir)
        self.bar.said.connect(lambda text: self.status.setText(text))
        self.bar.problem.connect(self.show_error)
        self.bar.marked.connect(lambda m: self.traces.add_marker(m))
        top.addWidget(self.bar)
        top.addStretch(1)
        self.baseline_button = QPushButton("Baseline (B)")
        self.baseline_button.setToolTip(
            "Threshold ritual: three breaths together and a 60 s settling baseline of everyone, "
            "stored with the recording"
        )
        self.baseline_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.baseline_button.clicked.connect(self.open_baseline)
        QShortcut(QKeySequence("B"), self, self.open_baseline)
        top.addWidget(self.baseline_button)
        self.streams_button = QPushButton("Streams… (F2)")
        self.streams_button.setToolTip(
            "Every person's streams: which stream gives whose EDA and PPG/ECG, and the LSL "
            "streams visible now; reassign them or load / save a map"
        )
        self.streams_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.streams_button.clicked.connect(self.open_streams)
        QShortcut(QKeySequence("F2"), self, self.open_streams)
        top.addWidget(self.streams_button)
        self.patient_button = QPushButton("Patient (P)")
        self.patient_button.setToolTip(
            "The calm screen for the clients (second monitor): the selected pair's concordance "
            "as a circle; 'moving together' only while the matrix marks that pair"
        )
        self.patient_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.patient_button.clicked.connect(self.toggle_patient_screen)
        QShortcut(QKeySequence("P"), self, self.toggle_patient_screen)
        top.addWidget(self.patient_button)
        outer.addLayout(top)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Big meter:"))
        self.pair_box = QComboBox()
        self._pairs = [(a, b) for i, a in enumerate(self.people) for b in self.people[i + 1 :]]
        for a, b in self._pairs:
            self.pair_box.addItem(f"{a} \u2013 {b}", (a, b))
        self.pair_box.setCurrentIndex(self._pair_index(default_pair(self.people)))
        self.pair_box.setToolTip("The pair whose concordance the big meters show")
        self.pair_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.pair_box.currentIndexChanged.connect(self._box_changed)
        bar.addWidget(self.pair_box)
        bar.addStretch(1)
        self.history = QLabel("")
        self.elapsed = QLabel("")
        f = self.elapsed.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.elapsed.setFont(f)
        bar.addWidget(self.history)
        bar.addWidget(self.elapsed)
        outer.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.traces = GroupTraces(self.people)
        split.addWidget(self.traces)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.meter = concordance_meter()
        self.hr_meter = hr_sync_meter()
        self.matrix = PairMatrix()
        self.matrix.pair_selected.connect(self.select_pair)
        self.group = GroupIndexPanel()
        self.table = PeopleTable(self.people)
        big = len(self.people) > 4  # a larger matrix, the group index beside it narrower
        rl.addWidget(self.meter, 3 if big else 4)
        rl.addWidget(self.hr_meter, 0)
        row = QHBoxLayout()
        row.addLayout(self._matrix_column(), 3 if big else 3)
        row.addWidget(self.group, 1 if big else 2)
        if big:
            self.matrix.setMinimumSize(430, 420)
        rl.addLayout(row, 6 if big else 4)
        rl.addWidget(self.table, 0)
        split.addWidget(right)
        split.setSizes([600, 840])
        outer.addWidget(split, 1)
        self.status = QLabel("starting…")
        self.message = QLabel("")
        self.message.setStyleSheet("color: #D55E00; font-weight: bold;")
        msg = QHBoxLayout()
        msg.addWidget(self.status)
        msg.addWidget(self.message, 1)
        outer.addLayout(msg)
        self.setCentralWidget(central)

    def _matrix_column(self) -> QVBoxLayout:
        """The matrix under its "EDA | HR" switch (the HR button counts the HR matrix's
        marked pairs, so a claim is never out of sight)."""
        col = QVBoxLayout()
        switch = QHBoxLayout()
        self.signal_buttons: dict[GroupSignal, QPushButton] = {}
        for sig, text in ((GroupSignal.EDA, "Skin (EDA)"), (GroupSignal.HR, "Heart rate (HR)")):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setChecked(sig is GroupSignal.EDA)
            b.setToolTip(f"show the pairwise {sig.name} matrix")
            b.clicked.connect(lambda _c=False, s=sig: self.show_signal(s))
            switch.addWidget(b)
            self.signal_buttons[sig] = b
        switch.addStretch(1)
        col.addLayout(switch)
        col.addWidget(self.matrix, 1)
        return col

    def show_signal(self, signal: GroupSignal) -> None:
        """Show the EDA or the HR pairwise matrix."""
        for sig, b in self.signal_buttons.items():
            b.setChecked(sig is signal)
        self.matrix.set_signal(signal)

    def _signal_counts(self, g) -> None:
        """Each switch button with its matrix's number of marked pairs."""
        for sig, b in self.signal_buttons.items():
            m = g.hr if sig is GroupSignal.HR else g
            n = sum(pc.coupled and not pc.paused for pc in m.pairs) if m is not None else 0
            base = "Heart rate (HR)" if sig is GroupSignal.HR else "Skin (EDA)"
            b.setText(f"{base}  \u2605 {n}" if n else base)

    def show_error(self, text: str) -> None:
        """A one-line problem at the bottom (kept until the next)."""
        self.message.setText(f"{time.strftime('%H:%M:%S')}  {text}")

    def _pair_index(self, pair: tuple[str, str]) -> int:
        for i, p in enumerate(self._pairs):
            if set(p) == set(pair):
                return i
        return 0

    # -- actions ----------------------------------------------------------------------------
    def _box_changed(self, i: int) -> None:
        a, b = self._pairs[i]
        if self.session is not None:
            self.session.engine.select_pair(a, b)
        self.meter.title = f"EDA concordance: {a} \u2013 {b}"
        self.hr_meter.title = f"HR synchrony: {a} \u2013 {b}"

    def select_pair(self, a: str, b: str) -> None:
        """Drive the big meters from ``a`` and ``b`` (a matrix click or the list)."""
        i = self._pair_index((a, b))
        if i != self.pair_box.currentIndex():
            self.pair_box.setCurrentIndex(i)

    # -- updates ----------------------------------------------------------------------------
    def render_frame(self) -> None:
        if self.session is not None:
            self.traces.update_traces(self.session.engine.traces(self.traces.window_s))
        self.bar.rec.setText("● REC " + self.bar.elapsed_text() if self.bar.recording
                             else "not recording")  # fmt: skip

    def open_baseline(self) -> BaselineDialog:
        """The threshold ritual for everyone (non-blocking); its medians per person go into
        the recording's session.json."""
        if self.baseline_dialog is not None:
            self.baseline_dialog.raise_()
            return self.baseline_dialog
        dlg = BaselineDialog(self.baseline_s, THEMES["light"], parent=self, people=self.people)
        dlg.finished_baseline.connect(self._baseline_done)
        dlg.finished.connect(lambda _r: setattr(self, "baseline_dialog", None))
        self.baseline_dialog = dlg
        dlg.show()
        return dlg

    def open_streams(self) -> AssignmentDialog:
        """The Streams dialog for this group (non-blocking): every person's assignment so far
        and the visible streams; accepted, the session restarts on the table's streams."""
        if self.assign_dialog is not None:
            self.assign_dialog.raise_()
            return self.assign_dialog
        choice = self.controller.live.choice
        session = self.session
        dlg = AssignmentDialog(
            choice.map_path if choice is not None else "",
            parent=self,
            media=self.controller.live.media,
            people=self.people,
            roles=choice.roles if choice is not None else None,
            current=session.assignment if session is not None else None,
            pairs=choice.pairs if choice is not None else (),
        )
        dlg.accepted.connect(lambda: self._stream_choice(dlg))
        dlg.finished.connect(lambda _r: setattr(self, "assign_dialog", None))
        self.assign_dialog = dlg
        dlg.open()
        dlg.refresh()
        return dlg

    def toggle_patient_screen(self) -> None:
        """Show or hide the patient screen (the two-person console's, for the selected pair;
        the heart rate it may show is the first person's)."""
        if self.patient_window is not None and self.patient_window.isVisible():
            self.patient_window.hide()
            return
        if self.patient_window is None:
            first = people_model(self.people).persons[0]
            self.patient_window = PatientWindow(person=first.role, colour=first.colour)
        patient_window_show(self.patient_window, self.snapshot)

    def _stream_choice(self, dlg: AssignmentDialog) -> None:
        self.controller.live.media = dlg.media.choice()  # recorded from the next Start
        if dlg.choice is not None:
            if self.bar.recording:  # saved first, with the baseline, saying where
                self.bar.toggle_recording()
            self.session = None
            self.start_source(dlg.choice)

    def _baseline_done(self, values: dict) -> None:
        self.bar.baseline = values
        self.baseline_button.setText("Baseline ✓ (B)")
        self.status.setText(f"baseline stored at {time.strftime('%H:%M:%S')}")
        if self.controller.markers is not None:
            m = self.controller.markers.push("M", label="baseline end")
            self.traces.add_marker(m)

    def on_snapshot(self, snap) -> None:
        self.snapshot = snap
        if self.baseline_dialog is not None:
            self.baseline_dialog.on_snapshot(snap)
        if self.patient_window is not None:
            self.patient_window.on_snapshot(snap)
        if snap.group is None:  # not a group session (never here)
            return
        a, b = snap.pair
        self.meter.title = f"EDA concordance: {a} \u2013 {b}"
        self.hr_meter.title = f"HR synchrony: {a} \u2013 {b}"
        state, hr_state = meter_states(snap, self.warmup_s)
        self.meter.set_state(state)
        self.hr_meter.set_state(hr_state)
        self.matrix.set_metrics(snap.group, snap.pair)
        self._signal_counts(snap.group)
        self.group.set_metrics(snap.group)
        lost = person_states(snap)  # the headless view prints the same states
        self.table.update_persons(snap.persons, lost)
        g = snap.group
        if snap.preroll_s > 0:
            self.history.setText(f"includes {snap.preroll_s / 60:.0f} min of simulated history  ")
        self.elapsed.setText(fmt_mmss(g.elapsed_s if g is not None else 0.0))
        self.status.setText(status_words(snap, self.people))
        for e in snap.errors:
            self.show_error(e)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the timers, the baseline, the recording (saved) and the session."""
        self.render_timer.stop()
        if self.patient_window is not None:
            self.patient_window.close()
        if self.baseline_dialog is not None:
            self.baseline_dialog.reject()
        if self.bar.recording:
            self.bar.toggle_recording()
        self.controller.shutdown()
