"""The clinician console's main window.

Layout (readable from a metre away): a session bar on top (start/stop session with record
indicator and elapsed time, marker buttons T/L/M with an optional note, baseline, patient
screen, trace window, theme); the traces of both people on the left; on the right the EDA
concordance meter (the largest element), the smaller HR synchrony meter and the per-person
metric table; the stream-health bar and a message line at the bottom.

Data paths: :class:`~app.gui.session.EngineBridge` delivers snapshots (1 per engine tick) and
worker errors as Qt signals; a ~30 Hz render timer copies the trace window with
:meth:`app.engine.Engine.traces` and updates persistent curves. Nothing here blocks on LSL or
computes DSP.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.dialogs import AssignmentDialog, BaselineDialog
from app.gui.live_picture import LivePicture
from app.gui.meters import HealthBar, MetricsTable, concordance_meter, hr_sync_meter
from app.gui.patient import PatientViewOptions, PatientWindow, patient_window_show
from app.gui.session import SessionController
from app.gui.theme import (
    MARKER_COLOURS,
    THEMES,
    ConsoleSettings,
    apply_theme,
    clamp_window,
    qsettings,
    save_settings,
)
from app.gui.traces import ROWS, TracePanel
from app.library import default_sessions_dir
from app.meter_state import MeterState, meter_states
from app.sources import SourceChoice, source_for
from app.summary import session_contrast
from app.waiting import problem_lines, row_words
from devices.health import HealthState
from devices.lsl import lsl_scope
from devices.markers import MARKER_TEXT

RENDER_HZ = 30.0
CHOOSE = "Streams… (F2)"  # where the console's user picks streams by hand


class MainWindow(QMainWindow):
    """The console. ``controller`` owns the live session; the window only shows it."""

    def __init__(
        self,
        controller: SessionController,
        settings: ConsoleSettings | None = None,
        baseline_s: float = 60.0,
        persist: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Attunement – clinician console")
        self.controller = controller
        self.settings = settings or ConsoleSettings()
        self.baseline_s = baseline_s
        self.persist = persist
        self.snapshot = None
        self.baseline: dict[str, dict[str, float]] = {}
        self.errors: deque[str] = deque(maxlen=50)
        #: Duration (s) and start (perf_counter) of every render-timer frame's data update.
        self.frame_times: deque[float] = deque(maxlen=100_000)
        self.frame_starts: deque[float] = deque(maxlen=100_000)
        self.session_t0: float | None = None
        self._last_snap_mono: float | None = None
        self._stalled = False
        self._channels_shown: set[str] = set()
        self._problems_shown: tuple[str, ...] = ()
        self._was_waiting = False
        self._status_text = ""
        self.patient_window: PatientWindow | None = None
        self.patient_options = PatientViewOptions()
        self.assign_dialog: AssignmentDialog | None = None
        self.remote_links: list = []  # app.remote.RemoteLink, stopped when the window closes
        self.baseline_dialog: BaselineDialog | None = None
        self._build()
        self.set_theme(self.settings.theme)
        bridge = controller.bridge
        bridge.snapshot.connect(self.on_snapshot)
        bridge.error.connect(self.show_error)
        controller.failed.connect(self._on_failed)
        controller.status.connect(self._on_status)
        controller.started.connect(self._on_started)
        self.render_timer = QTimer(self)
        self.render_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.render_timer.setInterval(int(1000 / RENDER_HZ))
        self.render_timer.timeout.connect(self.render_frame)
        self.clock_timer = QTimer(self)
        self.clock_timer.setInterval(500)
        self.clock_timer.timeout.connect(self._update_clock)
        if self.settings.geometry:
            self.restoreGeometry(self.settings.geometry)
        else:
            self.resize(1280, 800)

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 4)
        outer.setSpacing(4)
        outer.addLayout(self._session_bar())
        split = QSplitter(Qt.Orientation.Horizontal)
        self.traces = TracePanel(self.settings.trace_window_s)
        split.addWidget(self.traces)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(6)
        self.meter = concordance_meter()
        self.hr_meter = hr_sync_meter()
        self.table = MetricsTable(self.controller.config.person)
        rl.addWidget(self.meter, 5)
        rl.addWidget(self.hr_meter, 2)
        bottom = QHBoxLayout()  # the table, and beside it the camera when one is shown
        bottom.setSpacing(6)
        bottom.addWidget(self.table, 1)
        self.picture = LivePicture(self.controller.live.video)
        bottom.addWidget(self.picture, 0)
        rl.addLayout(bottom, 0)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 500])
        outer.addWidget(split, 1)
        self.health = HealthBar()
        self.health.open_streams.connect(self.open_streams)
        outer.addWidget(self.health)
        msg = QHBoxLayout()
        self.status = QLabel("starting…")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #D55E00; font-weight: bold;")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setVisible(False)
        self.dismiss.clicked.connect(self.clear_error)
        msg.addWidget(self.status)
        msg.addWidget(self.message, 1)
        # who can see this console's outlets (Markers, metrics): see README "What Attunement
        # publishes on the network"
        local = lsl_scope() == "machine"
        self.lsl_scope = QLabel(
            "LSL: this machine only" if local else "LSL: visible on the network"
        )
        self.lsl_scope.setToolTip(
            "Outlets (markers, metrics) are confined to this computer (--local-only)"
            if local
            else "Any computer on this network can find and read the console's outlets "
            "(markers, metrics); start with --local-only to keep them on this computer"
        )
        msg.addWidget(self.lsl_scope)
        msg.addWidget(self.dismiss)
        outer.addLayout(msg)
        self.setCentralWidget(central)
        QShortcut(QKeySequence("F2"), self, self.open_streams)
        QShortcut(QKeySequence("Ctrl+R"), self, self.toggle_session)
        QShortcut(QKeySequence("B"), self, self.open_baseline)
        QShortcut(QKeySequence("P"), self, self.toggle_patient_screen)
        QShortcut(QKeySequence("Escape"), self, self.clear_error)

    def _session_bar(self) -> QHBoxLayout:
        """Codes, Start/Stop and recording state | marker keys and note | baseline, patient
        screen, trace window and theme."""
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self._add_session_controls(bar)
        bar.addSpacing(18)
        self._add_marker_controls(bar)
        bar.addStretch(1)
        self._add_view_controls(bar)
        return bar

    def _add_session_controls(self, bar: QHBoxLayout) -> None:
        self.session_button = QPushButton("Start (Ctrl+R)")
        self.session_button.setToolTip("Start/stop the session: records all streams and markers")
        self.session_button.clicked.connect(self.toggle_session)
        self.rec = QLabel("not recording")
        self.elapsed = QLabel("")
        big = self.elapsed.font()
        big.setPointSizeF(big.pointSizeF() * 1.4)
        big.setBold(True)
        self.elapsed.setFont(big)
        self.patient_code = QLineEdit()
        self.patient_code.setPlaceholderText("patient")
        self.patient_code.setToolTip("Pseudonymous patient code stored with the session (no names)")
        self.patient_code.setFixedWidth(80)
        self.clinician_code = QLineEdit(str(qsettings().value("clinician_code", "") or ""))
        self.clinician_code.setPlaceholderText("clinician")
        self.clinician_code.setToolTip(
            "Pseudonymous clinician code; the session library shows progress per code"
        )
        self.clinician_code.setFixedWidth(80)
        for field in (self.patient_code, self.clinician_code):
            # never the initial focus: the marker keys T/L/M must work from the start
            field.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            field.returnPressed.connect(self.setFocus)
        bar.addWidget(self.patient_code)
        bar.addWidget(self.clinician_code)
        bar.addWidget(self.session_button)
        bar.addWidget(self.rec)
        bar.addWidget(self.elapsed)

    def _add_marker_controls(self, bar: QHBoxLayout) -> None:
        self.marker_buttons: dict[str, QPushButton] = {}
        for code in ("T", "L", "M"):
            b = QPushButton(f"{code}  {MARKER_TEXT[code].replace('clinician ', '')}")
            b.setToolTip(f"Marker '{MARKER_TEXT[code]}' (key {code})")
            b.setStyleSheet(f"border-left: 5px solid {MARKER_COLOURS[code]}; padding: 4px 8px;")
            b.clicked.connect(lambda _=False, c=code: self.mark(c))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # application-wide: marking works while the ritual or patient screen has focus
            sc = QShortcut(QKeySequence(code), self, lambda c=code: self.mark(c))
            sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
            bar.addWidget(b)
            self.marker_buttons[code] = b
        self.note = QLineEdit()
        self.note.setPlaceholderText("note for M, Enter")
        self.note.setMinimumWidth(110)
        self.note.setMaximumWidth(240)
        self.note.returnPressed.connect(self._send_note)
        bar.addWidget(self.note)
        self._last_moment: float | None = None

    def _add_view_controls(self, bar: QHBoxLayout) -> None:
        self.baseline_button = QPushButton("Baseline (B)")
        self.baseline_button.setToolTip(
            "Threshold ritual: three breaths and a 60 s settling baseline; the table then "
            "shows change from baseline (Δ)"
        )
        self.baseline_button.clicked.connect(self.open_baseline)
        bar.addWidget(self.baseline_button)
        self.patient_button = QToolButton()
        self.patient_button.setText("Patient (P)")
        self.patient_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.patient_button.clicked.connect(self.toggle_patient_screen)
        menu = QMenu(self.patient_button)
        self._patient_actions = {}
        for attr, text in (
            ("concordance", "Show shared concordance"),
            ("pacer", "Show breathing pacer"),
            ("heart_rate", "Show patient's heart rate"),
        ):
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setChecked(getattr(self.patient_options, attr))
            act.toggled.connect(self._patient_options_changed)
            self._patient_actions[attr] = act
        self.patient_button.setMenu(menu)
        bar.addWidget(self.patient_button)
        bar.addWidget(QLabel("window"))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(10, 120)
        self.window_spin.setSingleStep(10)
        self.window_spin.setSuffix(" s")
        self.window_spin.setValue(int(self.settings.trace_window_s))
        self.window_spin.valueChanged.connect(self.set_window)
        bar.addWidget(self.window_spin)
        self.theme_button = QPushButton("Dark")
        self.theme_button.setToolTip("Switch light/dark theme")
        self.theme_button.clicked.connect(
            lambda: self.set_theme("dark" if self.settings.theme == "light" else "light")
        )
        bar.addWidget(self.theme_button)

    # -- settings -------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        theme = THEMES.get(name, THEMES["light"])
        self.settings = ConsoleSettings(**{**self.settings.__dict__, "theme": theme.name})
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        for w in (self.traces, self.meter, self.hr_meter, self.table, self.health):
            w.set_theme(theme)
        self.theme_button.setText("Light" if theme.name == "dark" else "Dark")
        if self.snapshot is not None:
            self.on_snapshot(self.snapshot)

    def set_window(self, seconds: float) -> None:
        self.settings = self.settings.with_window(clamp_window(seconds))
        self.traces.set_window(self.settings.trace_window_s)

    # -- lifecycle ------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.render_timer.start()
        self.clock_timer.start()
        super().showEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop timers, close secondary windows, stop the session, save settings."""
        self.render_timer.stop()
        self.clock_timer.stop()
        self.picture.timer.stop()
        for dlg in (self.assign_dialog, self.baseline_dialog):
            if dlg is not None:
                dlg.reject()
        for link in self.remote_links:
            link.stop()
        self.remote_links.clear()
        if self.patient_window is not None:
            self.patient_window.close()
            self.patient_window.deleteLater()
            self.patient_window = None
        self.controller.shutdown()
        if self.persist:
            self.settings = ConsoleSettings(
                **{**self.settings.__dict__, "geometry": bytes(self.saveGeometry().data())}
            )
            save_settings(self.settings)

    def start_source(self, choice: SourceChoice, source=None) -> None:
        """Connect to ``choice`` (starting ``source`` first, if any) without blocking."""
        self.snapshot = None
        self._last_snap_mono = None
        self._problems_shown = ()
        self.clear_error()
        self.controller.start(choice, source)

    def _on_started(self, session) -> None:
        self.health.reset()
        self.traces.set_modalities({f"{c.role}/{c.modality}" for c in session.assignment.channels})

    def _on_status(self, text: str) -> None:
        self._status_text = text
        self.status.setText(text)

    def _on_failed(self, text: str) -> None:
        self.status.setText("not connected")
        self.show_error(text)

    # -- errors ---------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """Show a one-line problem at the bottom (kept until dismissed)."""
        stamp = time.strftime("%H:%M:%S")
        self.errors.append(f"{stamp} {text}")
        self.message.setText(f"{stamp}  {text}")
        self.message.setToolTip("<br>".join(self.errors))
        self.dismiss.setVisible(True)

    def clear_error(self) -> None:
        self.message.setText("")
        self.dismiss.setVisible(False)

    # -- data -----------------------------------------------------------------------------
    def render_frame(self) -> None:
        """Copy the trace window from the ring buffers and redraw (render timer, ~30 Hz)."""
        session = self.controller.session
        if session is None:
            return
        t0 = time.perf_counter()
        self.frame_starts.append(t0)
        self.traces.update_traces(session.engine.traces(self.settings.trace_window_s))
        self.frame_times.append(time.perf_counter() - t0)

    def on_snapshot(self, snap) -> None:
        """A new engine snapshot (GUI thread, via the bridge)."""
        self.snapshot = snap
        self._last_snap_mono = time.monotonic()
        self._stalled = False
        stale: dict[str, set[str]] = {"patient": set(), "clinician": set()}
        for rm, key in snap.channels.items():
            role, mod = rm.split("/")
            h = snap.health.get(key)
            ok = h is not None and h.state is HealthState.CONNECTED
            kind = "eda" if mod == "eda" else "cardiac"
            if not ok:
                stale[role].add(kind)
            self.traces.set_active(role, kind, ok)
        self.traces.set_events(snap.persons)
        self._show_waiting(snap)
        # one verdict per meter; paused names whose signal is missing; the demo's pre-roll tag
        state, hr_state = meter_states(snap, self.controller.config.dyad.warmup_s)
        self.meter.set_state(state)
        self.hr_meter.set_state(hr_state)
        self.table.update_persons(snap.persons, stale, self.baseline)
        self.health.update_health(snap, snap.persons)
        for e in snap.errors:
            self.show_error(e)
        if self.baseline_dialog is not None:
            self.baseline_dialog.on_snapshot(snap)
        if self.patient_window is not None:
            self.patient_window.on_snapshot(snap)

    def _show_waiting(self, snap) -> None:
        """Per row, what is not connected yet; a problem (two streams fit one signal, an
        unusable stream) once in the message line, short: the Streams dialog lists them all."""
        channels = set(snap.channels)
        if channels != self._channels_shown:  # a signal joined: ECG or PPG row label
            self._channels_shown = channels
            self.traces.set_modalities(channels)
        rows = row_words(snap.waiting, CHOOSE)
        for role, kind in ROWS:
            self.traces.set_waiting(role, kind, rows.get((role, kind), ""))
        problems = problem_lines(snap.waiting, snap.notes, CHOOSE)
        for text in problems:
            if text not in self._problems_shown:
                self.show_error(text)
        self._problems_shown = problems
        if snap.waiting:
            n = len(snap.waiting)
            self.status.setText(f"waiting for {n} signal{'s' if n > 1 else ''} (see the traces)")
        elif self._was_waiting:
            self.status.setText(f"{self._status_text} · every signal connected".lstrip(" ·"))
        self._was_waiting = bool(snap.waiting)

    def _check_stalled(self) -> None:
        """No snapshot for 3 ticks (engine dead or stuck): withdraw the numbers, say so."""
        if self.controller.session is None or self._last_snap_mono is None or self._stalled:
            return
        limit = max(3 * self.controller.config.tick_s, 3.0)
        if time.monotonic() - self._last_snap_mono < limit:
            return
        self._stalled = True
        why = "the metrics stopped updating; see the message below"
        self.meter.set_state(MeterState(text="no new data", verdict=why))
        self.hr_meter.set_state(MeterState(text="no new data", verdict=why))
        self.table.update_persons({}, {}, {})

    # -- session and markers --------------------------------------------------------------
    def _session_contrast(self):
        """Listening vs talking over this session, tested (None without T/L markers)."""
        session, markers = self.controller.session, self.controller.markers
        if session is None or markers is None:
            return None
        dyad = session.engine.dyad
        return session_contrast(dyad, list(markers.sent), dyad.snapshot().t)

    def toggle_session(self) -> None:
        """Start or stop the session (recording of every followed stream + markers)."""
        if self.controller.recorder is not None:
            contrast = self._session_contrast()
            summary = self.controller.stop_recording(baseline=self.baseline or None)
            self.session_t0 = None
            self.session_button.setText("Start (Ctrl+R)")
            self.rec.setText("not recording")
            self.rec.setStyleSheet("")
            if summary is not None:
                self.status.setText(
                    f"saved {summary.path} ({summary.total_samples} samples)"
                    + (f" – {summary.error}" if summary.error else "")
                    + (f" · EDA: {contrast.text}" if contrast is not None else "")
                )
            return
        root = self.settings.session_dir or str(default_sessions_dir())
        qsettings().setValue("clinician_code", self.clinician_code.text().strip())
        try:
            path = self.controller.start_recording(
                root,
                patient=self.patient_code.text(),
                clinician=self.clinician_code.text(),
                baseline=self.baseline or None,
            )
        except Exception as exc:  # no session yet, folder not writable
            self.show_error(f"cannot start the session: {exc}")
            return
        self.session_t0 = time.monotonic()
        self.session_button.setText("Stop (Ctrl+R)")
        self.rec.setText("● REC")
        self.rec.setStyleSheet("color: #D55E00; font-weight: bold;")
        self.rec.setToolTip(str(path))
        self._update_clock()

    def _update_clock(self) -> None:
        self._check_stalled()
        if self.session_t0 is None:
            self.elapsed.setText("")
            return
        s = int(time.monotonic() - self.session_t0)
        self.elapsed.setText(f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}")

    def mark(self, code: str) -> None:
        """Publish marker ``code`` on the Markers outlet and draw it on the traces."""
        try:
            m = self.controller.marker_outlet().push(code)
        except Exception as exc:  # the outlet could not be created
            self.show_error(f"marker not sent: {exc}")
            return
        self.traces.add_marker(m.t, code, m.text)
        self.status.setText(f"marker {m.text} at {time.strftime('%H:%M:%S')}")
        if code == "M":
            self._last_moment = m.t
            self.note.setFocus()

    def _send_note(self) -> None:
        text = self.note.text().strip()
        self.note.clear()
        self.setFocus()
        if not text or self._last_moment is None:
            return
        note, m = self.controller.add_note(self._last_moment, text)
        where = "kept in the session folder" if self.controller.folder else "kept on this machine"
        self.status.setText(f"note {note.number} {where} (not sent on the network): {m.text}")

    # -- dialogs and patient screen -------------------------------------------------------
    def open_streams(self) -> AssignmentDialog:
        """Open the stream-assignment dialog (non-blocking)."""
        if self.assign_dialog is not None:
            self.assign_dialog.raise_()
            return self.assign_dialog
        dlg = AssignmentDialog(self.settings.last_map_file, parent=self,
                               media=self.controller.live.media)  # fmt: skip
        dlg.accepted.connect(lambda: self._stream_choice(dlg))
        dlg.remote_link_started.connect(self.adopt_remote)
        dlg.finished.connect(lambda _r: setattr(self, "assign_dialog", None))
        self.assign_dialog = dlg
        dlg.open()
        dlg.refresh()
        return dlg

    def adopt_remote(self, link) -> None:
        """Keep a remote patient's link for the window's life; show its health line; record
        its clock offsets (``ClockOffsets``) with every session started while it lasts."""
        from app.gui.remote_dialog import RemoteStatus

        self.remote_links.append(link)
        self.controller.live.also_record.append(link.receiver.clock_source_id)
        self.centralWidget().layout().addWidget(RemoteStatus(link))

    def _stream_choice(self, dlg: AssignmentDialog) -> None:
        self.controller.live.media = dlg.media.choice()  # recorded from the next Start
        choice = dlg.choice
        if dlg.map_file and dlg.map_file != self.settings.last_map_file:
            self.settings = ConsoleSettings(
                **{**self.settings.__dict__, "last_map_file": dlg.map_file}
            )
        if choice is None:
            return
        source, choice = source_for(choice, self.settings.last_map_file)
        self.start_source(choice, source)

    def open_baseline(self) -> BaselineDialog:
        """Open the threshold ritual (non-blocking)."""
        if self.baseline_dialog is not None:
            self.baseline_dialog.raise_()
            return self.baseline_dialog
        dlg = BaselineDialog(self.baseline_s, THEMES[self.settings.theme], parent=self)
        dlg.finished_baseline.connect(self._baseline_done)
        dlg.finished.connect(lambda _r: setattr(self, "baseline_dialog", None))
        self.baseline_dialog = dlg
        dlg.show()
        return dlg

    def _baseline_done(self, values: dict) -> None:
        self.baseline = values
        self.baseline_button.setText("Baseline ✓ (B)")
        self.status.setText(f"baseline stored at {time.strftime('%H:%M:%S')}")
        if self.controller.markers is not None:
            m = self.controller.markers.push("M", label="baseline end")
            self.traces.add_marker(m.t, "M", m.text)
        if self.snapshot is not None:
            self.on_snapshot(self.snapshot)

    def toggle_patient_screen(self) -> None:
        """Show or hide the patient screen (second window)."""
        if self.patient_window is not None and self.patient_window.isVisible():
            self.patient_window.hide()
            return
        if self.patient_window is None:
            self.patient_window = PatientWindow(self.patient_options)
        patient_window_show(self.patient_window, self.snapshot)

    def _patient_options_changed(self) -> None:
        self.patient_options = PatientViewOptions(
            concordance=self._patient_actions["concordance"].isChecked(),
            pacer=self._patient_actions["pacer"].isChecked(),
            heart_rate=self._patient_actions["heart_rate"].isChecked(),
        )
        if self.patient_window is not None:
            self.patient_window.set_options(self.patient_options)
