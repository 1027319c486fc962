"""The group console's session bar: codes, Record, markers and the moment note.

Everything it does goes through the console's :class:`app.gui.session.SessionController`
(the Qt adapter over :class:`app.controller.LiveController`, which the two-person console
and ``attune run --headless`` use too): the recording of the session folder (every followed
stream, the markers, the engine's metrics and the stream map naming the people), the Markers
outlet and the moment notes kept on this machine. This widget only turns keys and buttons
into those calls and says what happened.

Marker keys of a group: the number of a person (1-8, in the people's order) marks that this
person starts talking (``"S: partner talking"``, a block until the next talking marker);
``T`` is the clinician's number when a person is the clinician; ``M`` marks a moment
(a note typed after it stays on this machine, only its number goes on the network).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.gui.session import SessionController
from app.gui.theme import qsettings
from app.library import default_sessions_dir
from app.people import clinician_of, people_model
from devices.markers import TALKER, Marker

__all__ = ["SessionBar"]


class SessionBar(QWidget):
    """Record button and clock, participant codes, who-is-talking keys, moment and note.

    Parameters
    ----------
    controller : SessionController
        The console's live session (recording and markers).
    people : sequence of str
        The people in order (their numbers are the marker keys).
    session_dir : str, optional
        Where session folders are made (default: the platform's sessions folder).

    Signals
    -------
    marked(Marker)
        A marker was published (draw it on the traces).
    said(str)
        Words for the status line.
    problem(str)
        A one-line problem for the message line.
    """

    marked = Signal(object)
    said = Signal(str)
    problem = Signal(str)

    def __init__(
        self,
        controller: SessionController,
        people: Sequence[str],
        session_dir: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.people = tuple(people)
        self.session_dir = session_dir
        self.colours = {p.role: p.colour for p in people_model(self.people).persons}
        self.clinician = clinician_of(self.people)
        self.recording_t0: float | None = None
        #: The baseline stored with the recording (set by the window when one is taken).
        self.baseline: dict | None = None
        self._last_moment: float | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self._codes(lay)
        self.record_button = QPushButton("Record (Ctrl+R)")
        self.record_button.setToolTip(
            "Start/stop recording every person's streams, the markers and who is who"
        )
        self.record_button.clicked.connect(self.toggle_recording)
        self.record_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rec = QLabel("not recording")
        lay.addWidget(self.record_button)
        lay.addWidget(self.rec)
        lay.addSpacing(12)
        self.talk_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(self.people, start=1):
            b = QPushButton(f"{i} {name}")
            alias = " or T" if name == self.clinician else ""
            b.setToolTip(f"Marker '{name} talking' (key {i}{alias}): a block until the next")
            b.setStyleSheet(f"border-left: 6px solid {self.colours[name]}; padding: 3px 6px;")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, n=name: self.talking(n))
            self._key(str(i), lambda n=name: self.talking(n))
            lay.addWidget(b)
            self.talk_buttons[name] = b
        if self.clinician is not None:
            self._key("T", lambda: self.talking(self.clinician))
        self._key("L", self._listening)
        self.moment_button = QPushButton("M  moment")
        self.moment_button.setToolTip("Marker 'moment' (key M); type a note after it, Enter")
        self.moment_button.setStyleSheet("border-left: 6px solid #555555; padding: 3px 6px;")
        self.moment_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.moment_button.clicked.connect(self.moment)
        self._key("M", self.moment)
        lay.addWidget(self.moment_button)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note for M, Enter")
        self.note.setMinimumWidth(100)
        self.note.setMaximumWidth(200)
        # never the initial focus (the marker keys would type into it): M gives it focus
        self.note.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.note.returnPressed.connect(self._send_note)
        lay.addWidget(self.note)
        self._key("Ctrl+R", self.toggle_recording)

    def _codes(self, lay: QHBoxLayout) -> None:
        self.patient_code = QLineEdit()
        self.patient_code.setPlaceholderText("client")
        self.patient_code.setToolTip(
            "Pseudonymous code of the couple, family or group stored with the session (no names)"
        )
        self.clinician_code = QLineEdit(str(qsettings().value("clinician_code", "") or ""))
        self.clinician_code.setPlaceholderText("clinician")
        self.clinician_code.setToolTip("Pseudonymous clinician code (the library groups by it)")
        for field in (self.patient_code, self.clinician_code):
            field.setFixedWidth(72)
            # never the initial focus: the marker keys must work from the start
            field.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            field.returnPressed.connect(lambda: self.window().setFocus())
            lay.addWidget(field)

    def _key(self, key: str, slot) -> None:
        sc = QShortcut(QKeySequence(key), self, slot)
        sc.setContext(Qt.ShortcutContext.ApplicationShortcut)

    # -- recording ------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.controller.recorder is not None

    def toggle_recording(self) -> None:
        """Start recording into a new session folder, or stop and say what was saved."""
        if self.recording:
            summary = self.controller.stop_recording(baseline=self.baseline or None)
            self.recording_t0 = None
            self.record_button.setText("Record (Ctrl+R)")
            self.rec.setText("not recording")
            self.rec.setStyleSheet("")
            if summary is not None:
                err = f" – {summary.error}" if summary.error else ""
                self.said.emit(f"saved {summary.path} ({summary.total_samples} samples){err}")
            return
        root = self.session_dir or str(default_sessions_dir())
        qsettings().setValue("clinician_code", self.clinician_code.text().strip())
        try:
            path = self.controller.start_recording(
                root, patient=self.patient_code.text(), clinician=self.clinician_code.text(),
                baseline=self.baseline or None,
            )  # fmt: skip
        except Exception as exc:  # no session yet, a bad code, folder not writable
            self.problem.emit(f"cannot start recording: {exc}")
            return
        self.recording_t0 = time.monotonic()
        self.record_button.setText("Stop (Ctrl+R)")
        self.rec.setText("● REC")
        self.rec.setStyleSheet("color: #D55E00; font-weight: bold;")
        self.rec.setToolTip(str(path))
        self.said.emit(f"recording {path}")

    def elapsed_text(self) -> str:
        """The recording's clock ('' when not recording)."""
        if self.recording_t0 is None:
            return ""
        s = int(time.monotonic() - self.recording_t0)
        return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"

    # -- markers --------------------------------------------------------------------------
    def _push(self, code: str, label: str = "") -> Marker | None:
        try:
            m = self.controller.marker_outlet().push(code, label=label)
        except Exception as exc:  # the outlet could not be created
            self.problem.emit(f"marker not sent: {exc}")
            return None
        self.marked.emit(m)
        self.said.emit(f"marker {m.text} at {time.strftime('%H:%M:%S')}")
        return m

    def talking(self, name: str) -> Marker | None:
        """Mark that ``name`` starts talking."""
        return self._push(TALKER, name)

    def _listening(self) -> None:
        self.problem.emit(
            f"in a group, mark who talks: keys 1-{len(self.people)} (the clinician listens "
            "while another person talks)"
        )

    def moment(self) -> Marker | None:
        """Mark a moment; the note field takes its note."""
        m = self._push("M")
        if m is not None:
            self._last_moment = m.t
            self.note.setFocus()
        return m

    def _send_note(self) -> None:
        text = self.note.text().strip()
        self.note.clear()
        self.window().setFocus()
        if not text or self._last_moment is None:
            return
        note, m = self.controller.add_note(self._last_moment, text)
        where = "kept in the session folder" if self.controller.folder else "kept on this machine"
        self.said.emit(f"note {note.number} {where} (not sent on the network): {m.text}")
