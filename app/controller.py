"""The lifecycle of one live session, without Qt: connect, markers, record, stop.

:class:`LiveController` starts the chosen source (simulated dyad, replay, or nothing for
devices already publishing), discovers and assigns the streams, starts acquisition and the
engine, owns the Markers outlet and the recorder of the session folder, and stops all of it
in order. ``attune run --headless`` uses it directly (:meth:`LiveController.connect`, in the
calling thread); the console uses it through the thin Qt adapter
:class:`app.gui.session.SessionController` (:meth:`LiveController.start`, in a worker thread,
so the window never waits on LSL).

Events reach the owner through plain callables; they may run on a worker thread, so an owner
with a thread of its own (the Qt adapter) forwards them there.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app import sessionfile
from app.engine import EngineConfig, metric_channels
from app.group_engine import group_metric_channels
from app.group_live import engine_maker
from app.live import LiveSession, open_waiting, start_session
from app.live_video import LiveVideo
from app.people import people_model
from app.sessionfolder import SessionFolder
from app.sources import SourceChoice, SourceKind
from app.video import MediaChoice, start_session_capture
from devices.assign import MapError, explain, load_map
from devices.health import HealthState
from devices.lsl import StreamDescription, local_clock, resolve_streams
from devices.markers import Marker, MarkerOutlet, Note, NoteLog
from devices.recorder import Recorder, RecordingSummary, StreamWatcher, follow_new
from devices.stream_map import STREAM_MAP_SOURCE_ID, assignment_map, map_header_xml, map_toml
from devices.video_capture import MediaCapture, VideoError

log = logging.getLogger(__name__)


@dataclass
class _Attempt:
    """One connection attempt: who owns its source and session (guarded by the lock)."""

    gen: int
    source: object
    done: bool = False
    abandoned: bool = False


def _stop_quietly(source: Any) -> None:
    if source is None:
        return
    try:
        source.stop()
    except Exception:
        log.exception("stopping the source failed")


def failure_text(where: str, exc: BaseException | str) -> str:
    """One line for a failure: ``"<where> stopped: <Type>: <message>"`` or ``"<where>: <text>"``."""
    if isinstance(exc, BaseException):
        return f"{where} stopped: {type(exc).__name__}: {exc}"
    return f"{where}: {exc}"


def _ignore(*_args: Any) -> None:
    return None


class LiveController:
    """Owns the live session of the console or the headless view (one at a time).

    Parameters
    ----------
    config : EngineConfig, optional
        Engine settings of every session started; each session's pre-roll comes from its
        :class:`~app.sources.SourceChoice` (``preroll``), so a real source started after the
        demo never inherits simulated history.
    marker_name, marker_source_id : str
        The Markers outlet (created on first use, kept across sessions).

    Attributes (callbacks; any thread)
    ----------------------------------
    on_started : callable(LiveSession)
        Acquisition and engine run.
    on_failed : callable(str)
        Starting did not work (one line: what was found and how to map it).
    on_status : callable(str)
        Progress words.
    on_error : callable(str)
        A worker thread, the source or the recorder failed (one line).
    on_ready : callable(LiveSession, int)
        The worker thread's hand-over; defaults to :meth:`adopt` in that thread. The Qt
        adapter replaces it to adopt in the GUI thread.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        marker_name: str = "Attunement-Markers",
        marker_source_id: str = "attunement-markers",
    ) -> None:
        self.config = config or EngineConfig()
        self.session: LiveSession | None = None
        self.source: Any = None
        self.choice: SourceChoice | None = None
        self.markers: MarkerOutlet | None = None
        self.notes = NoteLog()
        self.recorder: Recorder | None = None
        self.watcher: StreamWatcher | None = None
        #: LSL source_ids recorded with every session beside the followed streams, from their
        #: first sample after Start or from when they appear: a remote patient's
        #: ``ClockOffsets`` (the offsets applied to its samples).
        self.also_record: list[str] = []
        self.folder: SessionFolder | None = None
        self._map_written = ""  # the stream map last written into the recording
        #: The console's live picture: the chosen camera, or a replayed recording's video.
        self.video = LiveVideo(on_error=lambda msg: self.report("video", msg))
        self._media = MediaChoice()
        self.capture: MediaCapture | None = None
        self.on_started: Callable[[LiveSession], None] = _ignore
        self.on_failed: Callable[[str], None] = _ignore
        self.on_status: Callable[[str], None] = _ignore
        self.on_error: Callable[[str], None] = lambda text: log.error("%s", text)
        self.on_ready: Callable[[LiveSession, int], None] = self.adopt
        self._marker_name = marker_name
        self._marker_source_id = marker_source_id
        self._worker: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._finders: list[Any] = []  # stream finders of stopped sessions (joined at shutdown)
        self._generation = 0
        self._lock = threading.Lock()
        self._produced: LiveSession | None = None
        self._attempt: _Attempt | None = None
        self._source_reported = False

    @property
    def media(self) -> MediaChoice:
        """Camera and microphone recorded with each session (none unless chosen). Setting a
        camera shows it in the live picture at once (a preview until a session records)."""
        return self._media

    @media.setter
    def media(self, choice: MediaChoice) -> None:
        self._media = choice
        self.video.choose_camera(choice.video)

    # -- markers --------------------------------------------------------------------------
    def marker_outlet(self) -> MarkerOutlet:
        """The Markers outlet (created on first use)."""
        if self.markers is None:
            self.markers = MarkerOutlet(self._marker_name, self._marker_source_id)
        return self.markers

    def add_note(self, t: float, text: str) -> tuple[Note, Marker]:
        """Keep a free-text note on the moment at ``t``; only its number goes on the network.

        While a session is recorded the notes are saved (0600) in its folder.
        """
        note = self.notes.add(t, text)
        marker = self.marker_outlet().push("M", note_id=note.number, t=t)
        if self.folder is not None:
            try:
                self.notes.save(self.folder.moment_notes)
            except OSError as exc:
                self.report("moment notes", exc)
        return note, marker

    def report(self, where: str, exc: BaseException | str) -> None:
        """Any thread: turn a failure into one line for :attr:`on_error`."""
        self.on_error(failure_text(where, exc))

    # -- connecting -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A connection attempt is running in its worker thread."""
        return self._worker is not None and self._worker.is_alive()

    def _open(self, choice: SourceChoice, source: Any, own_streams: bool) -> LiveSession:
        """Start ``source``, assign the streams and start acquisition + engine (blocking).

        With ``own_streams`` the app's own Markers and Metrics outlets are followed too, so
        a recording holds them (the console records; the headless view does not).

        Without an explicit assignment the session starts at once and waits for the
        streams its roles name, connecting each signal when its stream appears (start in
        any order); ``choice.wait_s`` (scripted runs) turns that wait into a limit, after
        which one line goes to :attr:`on_error`.

        Raises
        ------
        AssignmentError, MapError, OSError, RuntimeError
            An assignment no stream can complete, a broken map, or LSL failing (one line).
        """
        if source is not None:
            source.start()
        config = replace(self.config, preroll=choice.preroll)  # history only for its source
        extra = [(d, None) for d in self._own_streams(choice.people)] if own_streams else None
        on_error = lambda exc: self.report("a worker thread", exc)  # noqa: E731
        if choice.assignment is not None:
            assignment, found = choice.assignment, list(choice.found)
            if not assignment.complete:
                raise MapError(explain(assignment, [d for d, _ in found]))
            return start_session(
                assignment, found, config, extra_streams=extra, on_error=on_error,
                make_engine=engine_maker(choice),
            )  # fmt: skip
        roles = choice.roles or None
        mapping = load_map(choice.map_path) if choice.map_path and not roles else None
        return open_waiting(
            roles,
            mapping,
            config,
            extra_streams=extra,
            on_error=on_error,
            every_s=choice.look_every_s,
            limit_s=choice.wait_s,
            on_give_up=self.on_error,
            make_engine=engine_maker(choice),
        )

    def connect(self, choice: SourceChoice, source: Any = None) -> LiveSession:
        """Stop what runs and connect in this thread (the headless view); raises on failure.

        The source keeps running after a failure until :meth:`stop`, as with :meth:`start`.
        """
        self.stop()
        self.choice, self.source, self._source_reported = choice, source, False
        self.on_status(f"connecting: {choice.description or choice.kind}")
        session = self._open(choice, source, own_streams=False)
        self.session = session
        self.on_status(f"live: {choice.description}".strip())
        self.on_started(session)
        return session

    def start(self, choice: SourceChoice, source: Any = None) -> None:
        """Stop what runs, then start ``source`` (if any) and connect in a worker thread.

        Never waits for a previous connection attempt: an abandoned attempt cleans up its
        own source and session when its worker finishes.
        """
        self.stop()
        self.marker_outlet()
        self.choice, self.source, self._source_reported = choice, source, False
        if choice.kind == SourceKind.REPLAY and choice.replay_path:
            self.video.follow_replay(choice.replay_path)  # its recorded video, if any
        with self._lock:
            self._generation += 1
            attempt = _Attempt(self._generation, source)
            self._attempt = attempt
        self.on_status(f"connecting: {choice.description or choice.kind}")
        self._worker = threading.Thread(
            target=self._connect, args=(choice, attempt), name="attune-connect", daemon=True
        )
        self._workers.append(self._worker)
        self._worker.start()

    def _connect(self, choice: SourceChoice, attempt: _Attempt) -> None:  # worker thread
        session: LiveSession | None = None
        error: Exception | None = None
        try:
            session = self._open(choice, attempt.source, own_streams=True)
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
            self.on_failed(str(error) or type(error).__name__)
        elif session is not None:
            self.on_ready(session, attempt.gen)

    def adopt(self, session: LiveSession, gen: int) -> None:
        """Take over the session a connection attempt produced (unless stopped meanwhile)."""
        with self._lock:
            if self._produced is not session:  # already stopped by stop()
                return
            self._produced = None
            current = gen == self._generation
        if not current:  # stopped or restarted meanwhile
            session.stop()
            return
        self.session = session
        self.on_status(f"live: {self.choice.description if self.choice else ''}".strip())
        self.on_started(session)

    def _own_streams(self, people: tuple[str, ...] = ()) -> list[StreamDescription]:
        """This app's own outlets (markers, engine metrics: a group's has its own channels),
        followed so they get recorded."""
        n_metrics = len(group_metric_channels(people) if people else metric_channels())
        host = socket.gethostname()
        own = []
        if self.markers is not None:
            own.append(
                StreamDescription(
                    name=self._marker_name, type="Markers", source_id=self._marker_source_id,
                    hostname=host, nominal_srate=0.0, channel_count=1, channel_format="string",
                )
            )  # fmt: skip
        if self.config.publish_metrics:
            own.append(
                StreamDescription(
                    name="Attunement-Metrics", type="Metrics",
                    source_id=self.config.metrics_source_id, hostname=host, nominal_srate=0.0,
                    channel_count=n_metrics, channel_format="double64",
                )
            )  # fmt: skip
        return own

    def check_source(self) -> str | None:
        """The source's failure as one line, reported once through :attr:`on_error`.

        Call it periodically (the console every second, the headless loop every 0.1 s).
        """
        src = self.source
        if src is None or self._source_reported:
            return None
        msg = src.poll_error() if hasattr(src, "poll_error") else None
        err = getattr(src, "error", None)
        if msg is None and isinstance(err, BaseException):
            msg = f"{type(err).__name__}: {err}"
        if not msg:
            return None
        self._source_reported = True
        where = f"{getattr(src, 'description', 'the source')} stopped"
        self.report(where, msg)
        return msg

    # -- recording ------------------------------------------------------------------------
    def start_recording(
        self,
        root: str | Path,
        patient: str = "",
        clinician: str = "",
        baseline: dict | None = None,
        record_all: bool = False,
        watch_every_s: float = 0.5,
    ) -> Path:
        """Record the acquisition (all followed streams, incl. markers and metrics) into a new
        session folder under ``root``: ``recording.xdf`` and ``session.json`` (codes, map,
        parameters). Returns the recording's path.

        As ``attune record``: every followed stream is written from its first sample after
        Start; an assigned stream that is not connected yet (or lost) is waited for and
        written from its first sample once it is there (the status line names it). With
        ``record_all``, every other stream visible now or appearing later (checked every
        ``watch_every_s`` s) is added and written from its first sample.
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
        folder = SessionFolder.create(root, time.strftime("%Y-%m-%d_%H%M%S"), patient, clinician)
        sessionfile.write(folder.path, record)
        self.notes = NoteLog()  # this session's notes, saved in its folder
        also = list(self.also_record)

        def discover():
            found = resolve_streams(0.0)
            return found if record_all else [(d, i) for d, i in found if d.source_id in also]

        if also:  # those visible now are written from the first sample after Start
            follow_new(self.session.acquisition, discover())
        self.recorder = Recorder(
            self.session.acquisition,
            folder.recording,
            header_fields={"application": "Attunement console"},
            on_error=lambda msg: self.report("recording", msg),
        ).start()
        self._map_written = ""
        try:
            self._write_stream_map()
        except Exception as exc:  # the recording runs on; say what failed
            self.report("stream map", exc)
        if record_all or also:
            self.watcher = StreamWatcher(
                self.session.acquisition,
                discover,
                every_s=watch_every_s,
                on_error=lambda msg: self.report("recording", msg),
            ).start()
        self.folder = folder
        if self.media.any:  # a camera that fails is reported; the physiology records on
            tap = self.video.before_recording()  # the preview lets go of the camera
            try:
                self.capture = start_session_capture(
                    self.media, folder.recording, self.session.acquisition,
                    on_error=lambda msg: self.report("video", msg), preview=tap,
                )  # fmt: skip
            except VideoError as exc:
                # nothing to show, and no preview to retry (it would fail the same way)
                self.video.recording, self.video.recorded = False, ""
                self.report("video", str(exc))
        waiting = [
            s.name for s in self.session.acquisition.slots
            if s.channel is not None and s.health().state is not HealthState.CONNECTED
        ]  # fmt: skip
        later = [w.whose for w in self.session.waiting]  # signals not connected yet
        if waiting or later:
            self.on_status(f"recording; waiting for {', '.join([*sorted(set(waiting)), *later])}")
        return folder.recording

    def _write_stream_map(self) -> None:
        """Write the session's stream map into the recording when it changed
        (:mod:`devices.stream_map`: the people, their colours, their streams, the pairs)."""
        session, rec = self.session, self.recorder
        if session is None or rec is None:
            return
        assignment = session.assignment
        pairs = tuple(self.choice.pairs) if self.choice is not None else ()
        mapping = assignment_map(assignment)
        text = map_toml(mapping, pairs)
        if text == self._map_written or len(mapping) < 2:  # a map names 2-8 people
            return
        model = people_model(assignment.people, pairs)
        colours = {p.role: p.colour for p in model.persons}
        header = map_header_xml(colours, [f"{a}-{b}" for a, b in model.pairs] if pairs else (),
                                socket.gethostname())  # fmt: skip
        rec.add_text(STREAM_MAP_SOURCE_ID, header, text, local_clock())
        self._map_written = text

    @property
    def recording_path(self) -> Path | None:
        """``recording.xdf`` of the last session folder recorded into (None before)."""
        return self.folder.recording if self.folder is not None else None

    def stop_recording(
        self, baseline: dict | None = None, notes: str | None = None
    ) -> RecordingSummary | None:
        """Stop the recorder and complete session.json; returns the recorder's summary."""
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            watcher.stop()
        cap, self.capture = self.capture, None
        if cap is not None:  # the camera stops first, so its last stamps reach the XDF
            cap.stop()
            self.video.after_recording()  # the camera is shown again (preview)
            time.sleep(0.8)
        if self.recorder is not None:  # signals connected since the start complete the map
            try:
                self._write_stream_map()
            except Exception as exc:  # the recording itself is safe; say what failed
                self.report("stream map", exc)
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        summary = rec.stop()
        if self.folder is None:
            return summary
        try:
            sessionfile.finish(
                self.folder.path,
                baseline=baseline,
                notes=notes,
                recording_summary=summary,
                assignment=self.session.assignment if self.session is not None else None,
            )
        except Exception as exc:  # the recording itself is safe; say what failed
            self.report("session.json", exc)
        return summary

    # -- stopping -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop recorder, engine, acquisition and source (the markers outlet stays).

        Does not wait for a connection attempt still in progress (it cleans up itself).
        """
        self.stop_recording()
        self.video.stop_replay()
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
        for stopped in (orphan, session):
            if stopped is not None and stopped.finder is not None:
                self._finders.append(stopped.finder)  # its last look ends by itself
        if session is not None:
            session.stop()
        src, self.source = self.source, None
        if owned:
            _stop_quietly(src)

    def shutdown(self, timeout: float = 20.0) -> None:
        """Stop everything (waiting for abandoned connection attempts) and close the outlet."""
        self.stop()
        self.video.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0.1))
        self._workers = [w for w in self._workers if w.is_alive()]
        for finder in self._finders:
            finder.stop(max(deadline - time.monotonic(), 0.1))
        self._finders = []
        if self.markers is not None:
            self.markers.close()
            self.markers = None
