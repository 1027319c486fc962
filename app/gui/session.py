"""The console's connection to the live pipeline: sources, the engine bridge, markers, recording.

:class:`EngineBridge` is the only way metrics reach the widgets: the engine's subscribe
callback (engine thread) emits a Qt signal carrying the frozen
:class:`~app.engine.EngineSnapshot`; Qt queues it to the GUI thread. Worker-thread failures
(engine, acquisition, recorder, the source) are turned into ``error`` signals with one line.

:class:`SessionController` starts a source (simulated dyad, replay of an XDF file, or nothing
for real devices), discovers and assigns the streams in a worker thread (the GUI never waits
on LSL), starts acquisition + engine, and owns the Markers outlet and the session recorder.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app import sessionfile
from app.engine import EngineConfig, EngineSnapshot, metric_channels
from app.live import LiveSession, assign_visible, start_session
from app.sources import SourceChoice
from devices.assign import MapError, explain, load_map
from devices.lsl import StreamDescription
from devices.markers import MarkerOutlet
from devices.recorder import Recorder, create_session_folder

log = logging.getLogger(__name__)


@dataclass
class _Attempt:
    """One connection attempt: who owns its source and session (guarded by the lock)."""

    gen: int
    source: object
    done: bool = False
    abandoned: bool = False


def _stop_quietly(source) -> None:
    if source is None:
        return
    try:
        source.stop()
    except Exception:
        log.exception("stopping the source failed")


def rec_folder(recording_path: Path | None) -> Path:
    """The session folder of a recording path."""
    if recording_path is None:
        raise RuntimeError("no recording")
    return Path(recording_path).parent


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
        if isinstance(exc, BaseException):
            text = f"{where} stopped: {type(exc).__name__}: {exc}"
        else:
            text = f"{where}: {exc}"
        self.error.emit(text)


class SessionController(QObject):
    """Owns the live session behind the console (one at a time).

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
        self.config = config or EngineConfig()
        self.bridge = EngineBridge(self)
        self.session: LiveSession | None = None
        self.source = None
        self.choice: SourceChoice | None = None
        self.markers = None
        self.recorder = None
        self.recording_path: Path | None = None
        self._marker_name = marker_name
        self._marker_source_id = marker_source_id
        self._worker: threading.Thread | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._produced: LiveSession | None = None
        self._attempt: _Attempt | None = None
        self._workers: list[threading.Thread] = []
        self._source_timer = QTimer(self)
        self._source_timer.setInterval(1000)
        self._source_timer.timeout.connect(self._check_source)
        self._source_reported = False
        self._ready.connect(self._on_ready)

    # -- markers --------------------------------------------------------------------------
    def marker_outlet(self):
        """The Markers outlet (created on first use)."""
        if self.markers is None:
            self.markers = MarkerOutlet(self._marker_name, self._marker_source_id)
        return self.markers

    # -- starting -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self, choice: SourceChoice, source=None) -> None:
        """Stop what runs, start ``source`` (if any) and connect in a worker thread.

        Never waits for a previous connection attempt: an abandoned attempt cleans up its
        own source and session when its worker finishes.
        """
        self.stop()
        self.marker_outlet()
        self.choice = choice
        self.source = source
        self._source_reported = False
        with self._lock:
            self._generation += 1
            attempt = _Attempt(self._generation, source)
            self._attempt = attempt
        if source is not None:
            self._source_timer.start()
        self.status.emit(f"connecting: {choice.description or choice.kind}")
        self._worker = threading.Thread(
            target=self._connect, args=(choice, attempt), name="attune-connect", daemon=True
        )
        self._workers.append(self._worker)
        self._worker.start()

    def _connect(self, choice: SourceChoice, attempt: _Attempt) -> None:  # worker thread
        session: LiveSession | None = None
        error: Exception | None = None
        try:
            if attempt.source is not None:
                attempt.source.start()
            if choice.assignment is not None:
                assignment, found = choice.assignment, list(choice.found)
                if not assignment.complete:
                    raise MapError(explain(assignment, [d for d, _ in found]))
            else:
                roles = choice.roles or None
                map_path = choice.map_path or None
                if map_path and not roles:
                    load_map(map_path)  # a broken map file fails now, in one line
                assignment, found = assign_visible(
                    roles, map_path, choice.wait_s, require_complete=True
                )
            session = start_session(
                assignment,
                found,
                self.config,
                extra_streams=[(d, None) for d in self._own_streams()],
                on_error=lambda exc: self.bridge.report("a worker thread", exc),
            )
        except Exception as exc:  # AssignmentError, MapError, XdfReadError, LSL errors
            error = exc
        with self._lock:
            abandoned = attempt.abandoned
            if not abandoned:
                attempt.done = True  # from now on the controller owns source and session
                self._produced = session
        if abandoned:  # stopped or restarted meanwhile: clean up what this attempt started
            if session is not None:
                session.stop()
            _stop_quietly(attempt.source)
            return
        if error is not None:
            self.failed.emit(str(error) or type(error).__name__)
        else:
            self._ready.emit(session, attempt.gen)

    def _own_streams(self) -> list[StreamDescription]:
        """The console's own outlets (markers, engine metrics), followed so they get recorded."""
        host = socket.gethostname()
        own = [
            StreamDescription(
                name=self._marker_name,
                type="Markers",
                source_id=self._marker_source_id,
                hostname=host,
                nominal_srate=0.0,
                channel_count=1,
                channel_format="string",
            )
        ]
        if self.config.publish_metrics:
            own.append(
                StreamDescription(
                    name="Attunement-Metrics",
                    type="Metrics",
                    source_id=self.config.metrics_source_id,
                    hostname=host,
                    nominal_srate=0.0,
                    channel_count=len(metric_channels()),
                    channel_format="double64",
                )
            )
        return own

    def _on_ready(self, session: LiveSession, gen: int) -> None:
        with self._lock:
            if self._produced is not session:  # already stopped by stop()
                return
            self._produced = None
        if gen != self._generation:  # stopped or restarted meanwhile
            session.stop()
            return
        self.session = session
        self.bridge.attach(session)
        self.status.emit(f"live: {self.choice.description if self.choice else ''}".strip())
        self.started.emit(session)

    def _check_source(self) -> None:
        """Surface a failed source (child process or thread) once."""
        src = self.source
        if src is None or self._source_reported:
            return
        msg = None
        if hasattr(src, "poll_error"):
            msg = src.poll_error()
        err = getattr(src, "error", None)
        if msg is None and isinstance(err, BaseException):
            msg = f"{type(err).__name__}: {err}"
        if msg:
            self._source_reported = True
            desc = getattr(src, "description", "the source")
            self.bridge.report(f"{desc} stopped", msg)

    # -- recording ------------------------------------------------------------------------
    def start_recording(
        self,
        root: str | Path,
        patient: str = "",
        clinician: str = "",
        baseline: dict | None = None,
    ) -> Path:
        """Record the acquisition (all followed streams, incl. markers and metrics) to a new
        session folder with ``recording.xdf`` and ``session.json`` (codes, map, parameters).
        """
        if self.session is None:
            raise RuntimeError("no live streams to record yet")
        record = sessionfile.start_record(
            patient=patient,
            clinician=clinician,
            assignment=self.session.assignment,
            engine_config=self.session.engine.config,
            source=(self.choice.description or self.choice.kind) if self.choice else "",
            baseline=baseline,
        )
        codes = "_".join(c for c in (patient.strip(), clinician.strip()) if c)
        name = time.strftime("%Y-%m-%d_%H%M%S") + (f"_{codes}" if codes else "")
        folder = create_session_folder(root, name)
        sessionfile.write(folder, record)
        path = folder / "recording.xdf"
        self.recorder = Recorder(
            self.session.acquisition,
            path,
            header_fields={"application": "Attunement console"},
            on_error=lambda msg: self.bridge.report("recording", msg),
        ).start()
        self.recording_path = path
        return path

    def stop_recording(self, baseline: dict | None = None, notes: str | None = None):
        """Stop the recorder and complete session.json; returns the recorder's summary."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        summary = rec.stop()
        try:
            sessionfile.finish(
                rec_folder(self.recording_path),
                baseline=baseline,
                notes=notes,
                recording_summary=summary,
            )
        except Exception as exc:  # the recording itself is safe; say what failed
            self.bridge.report("session.json", exc)
        return summary

    # -- stopping -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop recorder, engine, acquisition and source (the markers outlet stays).

        Does not wait for a connection attempt still in progress (it cleans up itself).
        """
        self._source_timer.stop()
        self.stop_recording()
        with self._lock:
            self._generation += 1
            attempt, self._attempt = self._attempt, None
            owned = attempt is None or attempt.done
            if attempt is not None and not attempt.done:
                attempt.abandoned = True
            orphan, self._produced = self._produced, None
        self._worker = None
        if orphan is not None:
            orphan.stop()
        session, self.session = self.session, None
        if session is not None:
            session.stop()
        src, self.source = self.source, None
        if owned:
            _stop_quietly(src)

    def shutdown(self, timeout: float = 20.0) -> None:
        """Stop everything (waiting for abandoned connection attempts) and close the outlet."""
        self.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0.1))
        self._workers = [w for w in self._workers if w.is_alive()]
        if self.markers is not None:
            self.markers.close()
            self.markers = None
