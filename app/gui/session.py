"""The console's Qt adapter over :class:`app.controller.LiveController`.

The session lifecycle (source, connection, markers, recording, stopping) lives in the Qt-free
:class:`~app.controller.LiveController`, which ``attune run --headless`` uses as well. This
module only carries its events into the GUI thread:

- :class:`EngineBridge` is the only way metrics reach the widgets: the engine's subscribe
  callback (engine thread) emits a Qt signal carrying the frozen
  :class:`~app.engine.EngineSnapshot`; Qt queues it to the GUI thread. Worker-thread failures
  (engine, acquisition, recorder, the source) become ``error`` signals with one line.
- :class:`SessionController` turns the controller's callbacks into Qt signals and checks the
  source every second on a QTimer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.controller import LiveController, failure_text
from app.engine import EngineConfig, EngineSnapshot
from app.live import LiveSession
from app.sources import SourceChoice
from devices.markers import MarkerOutlet
from devices.recorder import RecordingSummary


class EngineBridge(QObject):
    """Carries engine snapshots and worker errors into the GUI thread."""

    snapshot = Signal(object)
    error = Signal(str)

    def attach(self, session: LiveSession) -> None:
        """Subscribe to ``session``'s engine (called once per session)."""
        session.engine.subscribe(self._on_snapshot)

    def _on_snapshot(self, snap: EngineSnapshot) -> None:  # engine thread
        self.snapshot.emit(snap)

    def report(self, where: str, exc: BaseException | str) -> None:
        """Any thread: turn a failure into one visible line."""
        self.error.emit(failure_text(where, exc))


class SessionController(QObject):
    """The console's live session: a :class:`LiveController` whose events are Qt signals.

    Signals
    -------
    started(LiveSession)
        Acquisition and engine run.
    failed(str)
        Starting did not work (one line: what was found and how to map it).
    status(str)
        Progress words.
    """

    started = Signal(object)
    failed = Signal(str)
    status = Signal(str)
    _ready = Signal(object, int)

    def __init__(
        self,
        config: EngineConfig | None = None,
        marker_name: str = "Attunement-Markers",
        marker_source_id: str = "attunement-markers",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = EngineBridge(self)
        self.live = LiveController(config, marker_name, marker_source_id)
        # the controller calls these from worker threads: emitting queues them to this thread
        self.live.on_failed = self.failed.emit
        self.live.on_status = self.status.emit
        self.live.on_error = self.bridge.error.emit
        self.live.on_ready = self._ready.emit
        self.live.on_started = self._on_started
        self._ready.connect(self._adopt)
        self._source_timer = QTimer(self)
        self._source_timer.setInterval(1000)
        self._source_timer.timeout.connect(self.live.check_source)

    def _adopt(self, session: LiveSession, gen: int) -> None:
        # a method of this QObject, so the worker thread's signal is queued to the GUI thread
        self.live.adopt(session, gen)

    def _on_started(self, session: LiveSession) -> None:  # GUI thread (adopt runs here)
        self.bridge.attach(session)
        self.started.emit(session)

    # -- the controller's state -------------------------------------------------------------
    @property
    def config(self) -> EngineConfig:
        return self.live.config

    @property
    def session(self) -> LiveSession | None:
        return self.live.session

    @property
    def source(self) -> Any:
        return self.live.source

    @property
    def choice(self) -> SourceChoice | None:
        return self.live.choice

    @property
    def markers(self) -> MarkerOutlet | None:
        return self.live.markers

    @property
    def recorder(self) -> Any:
        return self.live.recorder

    @property
    def recording_path(self) -> Path | None:
        return self.live.recording_path

    @property
    def busy(self) -> bool:
        return self.live.busy

    # -- actions ------------------------------------------------------------------------------
    def marker_outlet(self) -> MarkerOutlet:
        """The Markers outlet (created on first use)."""
        return self.live.marker_outlet()

    def add_note(self, t: float, text: str):
        """See :meth:`LiveController.add_note` (the words stay on this machine)."""
        return self.live.add_note(t, text)

    @property
    def notes(self):
        return self.live.notes

    @property
    def folder(self):
        return self.live.folder

    def start(self, choice: SourceChoice, source: Any = None) -> None:
        """Stop what runs, start ``source`` and connect in a worker thread (see
        :meth:`LiveController.start`)."""
        self._source_timer.stop()
        self.live.start(choice, source)
        if source is not None:
            self._source_timer.start()

    def start_recording(
        self, root: str | Path, patient: str = "", clinician: str = "", baseline: dict | None = None
    ) -> Path:
        """See :meth:`LiveController.start_recording`."""
        return self.live.start_recording(root, patient, clinician, baseline)

    def stop_recording(
        self, baseline: dict | None = None, notes: str | None = None
    ) -> RecordingSummary | None:
        """See :meth:`LiveController.stop_recording`."""
        return self.live.stop_recording(baseline, notes)

    def stop(self) -> None:
        """Stop recorder, engine, acquisition and source (the markers outlet stays)."""
        self._source_timer.stop()
        self.live.stop()

    def shutdown(self, timeout: float = 20.0) -> None:
        """Stop everything (waiting for abandoned connection attempts) and close the outlet."""
        self._source_timer.stop()
        self.live.shutdown(timeout)
