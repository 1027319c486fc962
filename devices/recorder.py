"""Record the live acquisition to XDF, crash-safe, as LabRecorder would.

:class:`Recorder` runs its own writer thread. Every ``poll_s`` (default 0.25 s) it

- picks up streams that appeared in the acquisition since the last poll (their StreamHeader
  is the full LSL info XML the acquisition fetched, so ``<desc>`` survives),
- writes every sample that arrived since the previous poll, with its **raw** timestamp (the
  sender's LSL clock), read from the stream's ring buffer by write counter (no sample is
  written twice or skipped while the buffer holds it),
- writes the clock offsets the acquisition measured (every ~5 s per stream) as ClockOffset
  chunks (``local_time - offset, offset``, LabRecorder's convention),
- flushes (one ``os.write``) so data reaches the file at least every poll; a Boundary chunk
  goes in every ~10 s.

Stopping writes the StreamFooters (first/last timestamp, sample count, clock offsets). A
write error (disk full, medium gone) stops the recording with one clear message in
:attr:`Recorder.error`; what was written stays readable.

The recorder reads anything with a ``slots`` attribute listing objects that have ``key``,
``info_xml``, ``channel_format``, ``n_channels``, ``buffer.read_since(counter)``,
``written`` and ``clock_offsets`` (``devices.acquisition.StreamSlot``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.xdf_writer import StreamRecordStats, XdfWriteError, XdfWriter


@dataclass(frozen=True)
class RecordingSummary:
    """What a recording wrote.

    Attributes
    ----------
    path : Path
        The XDF file.
    streams : tuple of StreamRecordStats
        Per stream: name, samples, first/last raw timestamp (s), clock offsets.
    duration : float
        Wall-clock seconds the recorder ran.
    bytes_written : int
        File size reached.
    lost : dict of str to int
        Per stream key: samples the ring buffer overwrote before the recorder read them
        (0 normally; non-zero means the writer thread was starved for minutes).
    error : str or None
        The write error that stopped the recording, if any.
    warnings : tuple of str
        Streams that could not be recorded and why.
    """

    path: Path
    streams: tuple[StreamRecordStats, ...]
    duration: float
    bytes_written: int
    lost: dict[str, int]
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def total_samples(self) -> int:
        """Samples written over all streams."""
        return sum(s.sample_count for s in self.streams)


class _Track:
    __slots__ = ("slot", "sid", "counter", "offsets_seen", "lost", "skip")

    def __init__(self, slot: Any, counter: int) -> None:
        self.slot = slot
        self.skip = False
        self.sid: int | None = None
        self.counter = counter
        self.offsets_seen = 0
        self.lost = 0


class Recorder:
    """Write the acquisition's streams to an XDF file from a background thread.

    Parameters
    ----------
    acquisition : object with ``slots``
        Usually a ``devices.acquisition.Acquisition``.
    path : str or Path
        Output file (created 0600; an existing file is an error unless ``overwrite``).
    include : callable, optional
        ``include(slot) -> bool`` choosing which slots to record (default: all).
    poll_s : float
        Writer thread period, s (0.25-0.5 keeps data on disk within a second).
    from_start : bool
        For slots present at :meth:`start`, also write what their buffers already hold;
        default False: only samples arriving after the start. Slots appearing later are
        always recorded from their first sample.
    fsync : bool
        ``os.fsync`` at every poll (survives power loss; more disk I/O).
    overwrite : bool
        Replace an existing file.
    header_fields : dict, optional
        Extra FileHeader elements (app version, session id...).
    on_error : callable, optional
        Called from the writer thread with the one-line message when recording fails.
    """

    def __init__(
        self,
        acquisition: Any,
        path: str | Path,
        *,
        include: Callable[[Any], bool] | None = None,
        poll_s: float = 0.25,
        from_start: bool = False,
        fsync: bool = False,
        overwrite: bool = False,
        header_fields: dict[str, str] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.acquisition = acquisition
        self.path = Path(path)
        self.include = include
        self.poll_s = float(poll_s)
        self.from_start = from_start
        self.on_error = on_error
        self.error: str | None = None
        #: Streams that could not be recorded (one line each); the others go on.
        self.warnings: list[str] = []
        self._writer = XdfWriter(
            self.path,
            overwrite=overwrite,
            fsync=fsync,
            flush_interval=0.0,
            boundary_interval=10.0,
            header_fields=header_fields,
        )
        self._tracks: dict[str, _Track] = {}
        self._texts: list[tuple[str, str, str, float]] = []  # (key, header, text, t) to write
        self._text_ids: dict[str, int] = {}
        self._text_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._t1: float | None = None
        self._summary: RecordingSummary | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> Recorder:
        """Start the writer thread. Samples arriving from now on are recorded."""
        if self._thread is not None:
            raise RuntimeError("recorder already started")
        for slot in self._slots():
            self._tracks[slot.key] = _Track(slot, 0 if self.from_start else int(slot.written))
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="attune-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> RecordingSummary:
        """Write what is left, the footers, and close the file. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._summary is None:
            self._t1 = time.monotonic()
            stats = self._writer.close()
            self._summary = RecordingSummary(
                path=self.path,
                streams=tuple(stats),
                duration=(self._t1 - self._t0) if self._t0 else 0.0,
                bytes_written=self._writer.bytes_written,
                lost={k: t.lost for k, t in self._tracks.items()},
                error=self.error,
                warnings=tuple(self.warnings),
            )
        return self._summary

    @property
    def running(self) -> bool:
        """True while the writer thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def add_text(self, key: str, header_xml: str, text: str, t: float) -> None:
        """Write one sample of a one-channel string stream the recorder keeps itself (no LSL
        stream behind it: the session's stream map, :mod:`devices.stream_map`), stamped ``t``
        (s, this machine's LSL clock). The stream ``key`` is created with ``header_xml`` at its
        first sample; the writer thread writes it at its next poll (any thread may call this).
        """
        with self._text_lock:
            self._texts.append((key, header_xml, str(text), float(t)))

    def _write_texts(self) -> None:
        with self._text_lock:
            todo, self._texts = self._texts, []
        for key, header, text, t in todo:
            sid = self._text_ids.get(key)
            if sid is None:
                sid = self._text_ids[key] = self._writer.add_stream(header)
            self._writer.write_samples(sid, [[text]], np.array([t]))

    def stats(self) -> list[StreamRecordStats]:
        """Per-stream counts written so far."""
        return self._writer.stats()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ thread
    def _slots(self) -> list[Any]:
        slots = list(self.acquisition.slots)
        if self.include is not None:
            slots = [s for s in slots if self.include(s)]
        return slots

    def _run(self) -> None:
        try:
            while True:
                stopping = self._stop.wait(self.poll_s)
                self._poll()
                if stopping:
                    break
        except XdfWriteError as exc:
            self.error = str(exc)
            if self.on_error is not None:
                self.on_error(self.error)
        except Exception as exc:  # never a silent dead writer: report and keep the file
            self.error = f"recording to {self.path} stopped: {type(exc).__name__}: {exc}"
            if self.on_error is not None:
                self.on_error(self.error)

    def _poll(self) -> None:
        w = self._writer
        self._write_texts()
        for slot in self._slots():
            tr = self._tracks.get(slot.key)
            if tr is None:
                tr = self._tracks[slot.key] = _Track(slot, 0)
            if tr.skip:
                continue
            if tr.sid is None:
                if not slot.info_xml:
                    continue  # inlet not open yet; its samples wait in the buffer
                try:
                    tr.sid = w.add_stream(
                        slot.info_xml,
                        channel_format=slot.channel_format,
                        n_channels=slot.n_channels,
                    )
                except ValueError as exc:  # e.g. an unknown channel format: skip this stream only
                    tr.skip = True
                    self.warnings.append(f"not recording stream {slot.key!r}: {exc}")
                    continue
            offsets = list(slot.clock_offsets)
            for local_time, offset in offsets[tr.offsets_seen :]:
                w.write_clock_offset(tr.sid, float(local_time), float(offset))
            tr.offsets_seen = len(offsets)
            chunk = slot.buffer.read_since(tr.counter)
            tr.lost += int(chunk.lost)
            if len(chunk):
                w.write_samples(tr.sid, chunk.values, np.asarray(chunk.raw_ts, dtype=float))
            tr.counter = chunk.stop
        w.maybe_flush()


def discover_streams(wait_s: float = 2.0) -> list[tuple[Any, Any]]:
    """Streams visible within ``wait_s`` seconds, as (StreamDescription, pylsl.StreamInfo).

    Uses a continuous resolver for the whole wait and keeps the union of what it saw: a
    single ``resolve_streams`` call was observed to miss some of several outlets that live
    in one process.
    """
    import pylsl

    from devices.lsl import describe

    resolver = pylsl.ContinuousResolver(forget_after=max(wait_s, 1.0) + 5.0)
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + max(wait_s, 0.1)
    while True:
        for info in resolver.results():
            seen.setdefault(info.uid(), info)
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    del resolver
    return [(describe(i), i) for i in seen.values()]


def follow_new(acquisition: Any, found: Sequence[tuple[Any, Any]]) -> list[str]:
    """Add the streams in ``found`` that ``acquisition`` does not follow yet; returns their keys.

    A stream is new when no slot has its uid. A stream a searching slot will claim (same
    identity: a device that dropped out and returns with a new uid, or one of this app's own
    outlets) is left to that slot, so it is never followed, and recorded, twice.
    """
    slots = list(acquisition.slots)
    uids = {s.desc.uid for s in slots if s.desc.uid}
    followed = {s.key for s in slots}  # a slot whose description changed keeps its key
    claimed = {s.identity for s in slots if s.searching}
    keys = []
    for desc, info in found:
        if not desc.uid or desc.uid in uids:
            continue
        if desc.identity in claimed or desc.identity_without_source_id in claimed:
            continue
        uids.add(desc.uid)
        key = f"{desc.name}|{desc.type}|{desc.source_id}|{desc.uid}"
        if key in followed:
            continue
        keys.append(acquisition.add(desc, info, key=key).key)
    return keys


class StreamWatcher:
    """Adds streams that appear later to a running acquisition (recording all streams).

    A thread calls ``discover()`` every ``every_s`` seconds and follows what is new (see
    :func:`follow_new`); a :class:`Recorder` on the same acquisition writes each added stream
    from its first sample, so nothing a late stream sends after its inlet opened is lost.

    Parameters
    ----------
    acquisition : devices.acquisition.Acquisition
        The running acquisition.
    discover : callable
        ``discover() -> [(StreamDescription, pylsl.StreamInfo), ...]``: streams visible now.
    every_s : float
        Seconds between discovery passes.
    on_error : callable, optional
        Called once with a one-line message when discovery fails (the thread then stops).
    """

    def __init__(
        self,
        acquisition: Any,
        discover: Callable[[], Sequence[tuple[Any, Any]]],
        every_s: float = 0.5,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.acquisition = acquisition
        self.discover = discover
        self.every_s = float(every_s)
        self.on_error = on_error
        self.added: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StreamWatcher:
        self._thread = threading.Thread(target=self._run, name="attune-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.added.extend(follow_new(self.acquisition, self.discover()))
            except Exception as exc:  # never a silent dead watcher
                if self.on_error is not None:
                    self.on_error(f"looking for new streams failed: {type(exc).__name__}: {exc}")
                return
            self._stop.wait(self.every_s)


def record_streams(
    path: str | Path,
    streams: Sequence[tuple[Any, Any]],
    *,
    duration: float | None = None,
    stop_event: threading.Event | None = None,
    overwrite: bool = False,
    fsync: bool = False,
    poll_s: float = 0.25,
    header_fields: dict[str, str] | None = None,
    on_status: Callable[[Recorder], None] | None = None,
    status_every: float = 5.0,
    watch: Callable[[], Sequence[tuple[Any, Any]]] | None = None,
    watch_every: float = 0.5,
    ready: Callable[[list[Any]], bool] | None = None,
    ready_timeout: float = 0.0,
    on_ready: Callable[[list[Any]], None] | None = None,
    stream_map: Callable[[list[Any]], tuple[str, str] | None] | None = None,
) -> RecordingSummary | None:
    """Record LSL streams to ``path`` until ``duration`` or ``stop_event`` (headless).

    Builds its own :class:`devices.acquisition.Acquisition` over ``streams`` (plus what
    ``watch`` finds later) and a :class:`Recorder` on it. Inlets open as soon as a stream is
    seen and the recorder writes every buffer from its first sample, so nothing a stream sent
    after it became visible is lost, whether it appeared before the recording, while waiting
    for the required streams, or in the middle of the recording.

    Parameters
    ----------
    path : str or Path
        Output XDF file.
    streams : sequence of (StreamDescription, pylsl.StreamInfo)
        Streams to record from the start (may be empty when ``watch`` is given).
    duration : float, optional
        Seconds to record once writing started (default: until ``stop_event`` or Ctrl-C).
    stop_event : threading.Event, optional
        Set it to end the recording (or the wait).
    overwrite, fsync, poll_s, header_fields
        Passed to :class:`Recorder`.
    on_status : callable, optional
        Called every ``status_every`` seconds with the running recorder.
    watch : callable, optional
        ``watch() -> [(desc, info), ...]``: streams visible now that should be recorded;
        polled every ``watch_every`` s, new ones (by uid) are added (``--all``, late streams).
    ready : callable, optional
        ``ready(descriptions followed) -> bool``: writing starts only once it is true (the
        required streams are there, as LabRecorder waits for them); their samples are
        buffered meanwhile and written from the first one.
    ready_timeout : float
        Seconds to wait for ``ready``; None is returned when they pass (no file is created).
    on_ready : callable, optional
        Called with the followed descriptions when writing starts.
    stream_map : callable, optional
        ``stream_map(descriptions followed) -> (header XML, TOML text) or None``: the
        session's stream map (:mod:`devices.stream_map`), written when writing starts and
        again at the end when streams that appeared later changed it.

    Returns
    -------
    RecordingSummary or None
        None when the required streams did not appear within ``ready_timeout``. Also
        returned on KeyboardInterrupt (the recording is closed properly first).

    Raises
    ------
    XdfWriteError
        The file cannot be created.
    """
    from devices.acquisition import Acquisition
    from devices.stream_map import write_stream_map

    stop_event = stop_event or threading.Event()
    acq = Acquisition(buffer_s=120.0)
    follow_new(acq, streams)
    acq.start()
    rec: Recorder | None = None
    written: str | None = None  # the stream map written last
    try:
        next_watch = _wait_until_ready(acq, ready, ready_timeout, watch, watch_every, stop_event)
        if next_watch is None:
            return None
        if on_ready is not None:
            on_ready([s.desc for s in acq.slots])
        rec = Recorder(
            acq,
            path,
            poll_s=poll_s,
            from_start=True,
            fsync=fsync,
            overwrite=overwrite,
            header_fields=header_fields,
        )
        rec.start()
        written = write_stream_map(rec, acq, stream_map, written)
        _record_until_done(
            rec, acq, duration, stop_event, watch, watch_every, next_watch, on_status, status_every
        )
    except KeyboardInterrupt:
        pass
    finally:
        # let the acquisition pull what is in flight, then drain it into the file
        time.sleep(min(0.1, poll_s))
        acq.stop()
        if rec is not None:
            write_stream_map(rec, acq, stream_map, written)
        summary = rec.stop() if rec is not None else None
    return summary


def _wait_until_ready(
    acq: Any,
    ready: Callable[[list[Any]], bool] | None,
    ready_timeout: float,
    watch: Callable[[], Sequence[tuple[Any, Any]]] | None,
    watch_every: float,
    stop_event: threading.Event,
) -> float | None:
    """Follow ``watch`` until ``ready`` holds; the next watch time (monotonic s), None on timeout.

    Returns at once when ``ready`` is None; the wait also ends when ``stop_event`` is set.
    """
    next_watch = time.monotonic()
    deadline = time.monotonic() + ready_timeout
    while ready is not None and not stop_event.is_set():
        if watch is not None and time.monotonic() >= next_watch:
            next_watch = time.monotonic() + watch_every
            follow_new(acq, watch())
        # ready once the required streams are found and their inlets are open
        if ready([s.desc for s in acq.slots if s.info_xml]):
            break
        if time.monotonic() >= deadline:
            return None
        stop_event.wait(0.1)
    return next_watch


def _record_until_done(
    rec: Recorder,
    acq: Any,
    duration: float | None,
    stop_event: threading.Event,
    watch: Callable[[], Sequence[tuple[Any, Any]]] | None,
    watch_every: float,
    next_watch: float,
    on_status: Callable[[Recorder], None] | None,
    status_every: float,
) -> None:
    """Keep following ``watch`` and reporting status until ``duration`` s, stop or recorder end."""
    t_end = time.monotonic() + duration if duration is not None else float("inf")
    next_status = time.monotonic() + status_every
    while not stop_event.is_set() and rec.running:
        now = time.monotonic()
        if now >= t_end:
            break
        if watch is not None and now >= next_watch:
            next_watch = now + watch_every
            follow_new(acq, watch())
        if on_status is not None and now >= next_status:
            next_status = now + status_every
            on_status(rec)
        stop_event.wait(min(0.1, max(t_end - now, 0.0)))


def create_session_folder(root: str | Path, name: str) -> Path:
    """Create ``root/name`` for a session (``recording.xdf`` + ``session.json``), mode 0700.

    Parameters
    ----------
    root : str or Path
        The sessions folder (created with 0700 if missing).
    name : str
        Folder name, e.g. ``"2026-11-22_0930_P012_C003"``; must not exist yet.

    Raises
    ------
    XdfWriteError
        The folder exists already or cannot be created (one clear line).
    """
    folder = Path(root) / name
    try:
        Path(root).mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    except FileExistsError:
        raise XdfWriteError(f"session folder {folder} already exists") from None
    except OSError as exc:
        raise XdfWriteError(f"cannot create session folder {folder}: {exc.strerror}") from None
    return folder


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars/arrays -> Python, tuples -> lists, others -> str."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def write_private_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write JSON atomically with owner-only permissions (0600), e.g. ``session.json``.

    NaN and infinite numbers are written as ``null``; numpy values as plain numbers.

    The text goes to a temporary file in the same folder, is fsynced, then renamed over
    ``path``, so a crash leaves either the old or the new file, never half of one.

    Raises
    ------
    XdfWriteError
        The file cannot be written (disk full, unwritable folder); ``path`` is unchanged.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(_json_safe(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise XdfWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
