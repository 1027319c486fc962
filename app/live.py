"""Composition of a live session: discover streams, assign roles, start acquisition + engine.

A session can start before its streams exist (:func:`open_waiting`): acquisition and engine
run at once, and a :class:`StreamFinder` thread keeps looking and connects each person's EDA
and cardiac signal the moment its stream appears, each on its own. Until then the engine's
snapshots say what is still waited for (:mod:`app.waiting`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.engine import Engine, EngineConfig
from app.waiting import (
    Wanted,
    also_fit,
    blocked,
    impossible_line,
    signal_of,
    still_wanted,
    waiting_line,
    wanted_signals,
)
from devices.acquisition import Acquisition
from devices.assign import Assignment, Channel, assign, explain, load_map, people_of
from devices.lsl import StreamDescription, full_info, resolve_streams

log = logging.getLogger(__name__)


class AssignmentError(RuntimeError):
    """The visible streams cannot be assigned (the message is one clear line)."""


@dataclass
class LiveSession:
    """A running acquisition + engine; signals may join later (:meth:`attach`)."""

    acquisition: Acquisition
    engine: Engine
    finder: StreamFinder | None = None
    _keys: dict[str, str] = field(default_factory=dict)  # stream uid/identity -> slot key
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def assignment(self) -> Assignment:
        """The signals connected so far (grows while streams appear)."""
        return self.engine.assignment

    @property
    def waiting(self) -> tuple[Wanted, ...]:
        """The signals not connected yet, each saying what it waits for."""
        return self.engine.waiting

    @property
    def complete(self) -> bool:
        """Both people's EDA and cardiac signal are connected."""
        return not self.engine.waiting and self.engine.assignment.complete

    def attach(self, channel: Channel, info: object) -> None:
        """Connect one signal: follow its stream (once, however many signals it carries) and
        feed the engine from it."""
        desc = channel.stream
        sid = desc.uid or str(desc.identity)
        with self._lock:
            key = self._keys.get(sid)
            if key is None:
                same = [s for s in self.acquisition.slots if desc.uid and s.desc.uid == desc.uid]
                if same:  # followed already (a recording of every stream): read that slot
                    key = same[0].key
                    if same[0].channel is None:
                        same[0].channel = channel.channel
                else:
                    key = self.acquisition.add(desc, info, channel=channel.channel).key
                self._keys[sid] = key
        self.engine.attach(channel, key)

    def stop(self) -> None:
        if self.finder is not None:
            self.finder.stop(timeout=0.0)  # never waits on a look (the GUI thread stops too)
        self.engine.stop()
        self.acquisition.stop()


def _wants_full_info(desc: StreamDescription) -> bool:
    return desc.is_numeric and bool(desc.uid) and not desc.name.startswith("Attunement")


class FullInfoCache:
    """Full stream descriptions (channel labels, units, ``<desc>``) by uid, fetched in parallel.

    Device profiles recognise streams by labels, units and description whatever their type
    (BITalino says EEG, OpenSignals a MAC address), so every numeric stream's full info is
    wanted. Fetching it opens an inlet, which costs one round trip to the outlet's process,
    or the whole timeout when that process does not answer (stalled, starved or exiting).
    Hence:

    - one fetch per uid, in its own thread (at most ``max_parallel`` at once), remembered for
      as long as the process lives (a stream's info cannot change while its outlet lives);
    - a failed fetch is retried only after ``retry_after_s``, so a stream that does not answer
      costs one timeout, not one per discovery pass;
    - a caller waits at most ``budget_s`` in total, however many streams there are; a fetch
      still running then completes in the background and a later call uses its result;
    - an answer whose uid is not the stream's (its port was reused by a newer outlet) is
      discarded.

    Parameters
    ----------
    timeout_s : float
        Per-fetch timeout (s).
    retry_after_s : float
        Wait before a failed uid is fetched again (s).
    max_parallel : int
        Fetches running at once.
    """

    def __init__(
        self, timeout_s: float = 2.0, retry_after_s: float = 10.0, max_parallel: int = 8
    ) -> None:
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._slots = threading.BoundedSemaphore(max_parallel)
        self._lock = threading.Lock()
        self._done: dict[str, StreamDescription] = {}
        self._failed: dict[str, float] = {}  # uid -> time.monotonic() of the failure
        self._pending: dict[str, threading.Event] = {}

    def describe(
        self, found: list[tuple[StreamDescription, object]], budget_s: float
    ) -> tuple[list[tuple[StreamDescription, object]], set[str]]:
        """``found`` with full descriptions where known, and the uids still being fetched.

        Waits up to ``budget_s`` seconds in total for the fetches this call needs.
        """
        now = time.monotonic()
        waits: list[threading.Event] = []
        with self._lock:
            for desc, info in found:
                if not _wants_full_info(desc) or desc.uid in self._done:
                    continue
                event = self._pending.get(desc.uid)
                if event is None:
                    if now - self._failed.get(desc.uid, float("-inf")) < self.retry_after_s:
                        continue
                    event = self._pending[desc.uid] = threading.Event()
                    threading.Thread(
                        target=self._fetch,
                        args=(desc.uid, info, event),
                        name="attune-full-info",
                        daemon=True,  # ends by itself within timeout_s; never delays exit
                    ).start()
                waits.append(event)
        deadline = now + budget_s
        for event in waits:
            event.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            out = [(self._done.get(d.uid, d), i) for d, i in found]
            pending = {d.uid for d, _ in found if d.uid in self._pending}
        return out, pending

    def _fetch(self, uid: str, info: object, event: threading.Event) -> None:
        full: StreamDescription | None = None
        with self._slots:
            try:
                full, _ = full_info(info, timeout=self.timeout_s)
            except Exception:  # labels stay unknown; channel 0 is used unless mapped
                full = None
        with self._lock:
            if full is not None and full.uid == uid:
                self._done[uid] = full
                self._failed.pop(uid, None)
            else:
                self._failed[uid] = time.monotonic()
            del self._pending[uid]
        event.set()


_FULL_INFO = FullInfoCache()


def _discover(
    wait_s: float, budget_s: float
) -> tuple[list[tuple[StreamDescription, object]], set[str]]:
    return _FULL_INFO.describe(resolve_streams(wait_s), budget_s)


def discover(
    wait_s: float = 2.0, info_budget_s: float = 2.0
) -> list[tuple[StreamDescription, object]]:
    """Visible streams; numeric streams with their full info (channel labels, units, desc).

    Parameters
    ----------
    wait_s : float
        The resolver has listened at least this long (s) before the list is taken.
    info_budget_s : float
        Longest total wait (s) for full infos not fetched yet (see :class:`FullInfoCache`);
        a stream whose full info is not in by then is listed with what the resolver knows.
    """
    return _discover(wait_s, info_budget_s)[0]


def assign_visible(
    roles: dict[str, str] | None, map_path: str | None, wait_s: float, require_complete: bool
) -> tuple[Assignment, list[tuple[StreamDescription, object]]]:
    """Resolve and assign; waits up to ``wait_s`` for a complete assignment."""
    mapping = load_map(map_path) if map_path and not roles else None
    deadline = time.monotonic() + wait_s
    while True:
        left = deadline - time.monotonic()
        found, pending = _discover(min(1.0, max(wait_s, 0.2)), min(2.0, max(left, 0.2)))
        result = assign([d for d, _ in found], roles=roles, mapping=mapping)
        # settled once complete and the chosen streams' full infos are in (their labels can
        # change the channel); other streams still being fetched do not hold the start up
        settled = not pending.intersection(c.stream.uid for c in result.channels)
        if (result.complete and settled) or time.monotonic() >= deadline:
            break
        time.sleep(min(0.25, max(deadline - time.monotonic(), 0.0)))  # no busy loop
    if require_complete and not result.complete:
        raise AssignmentError(explain(result, [d for d, _ in found]))
    return result, found


def start_session(
    assignment: Assignment,
    found: list[tuple[StreamDescription, object]],
    config: EngineConfig | None = None,
    buffer_s: float = 300.0,
    extra_streams: list[tuple[StreamDescription, object]] | None = None,
    on_error=None,
    make_engine: Callable[..., Engine] = Engine,
) -> LiveSession:
    """Start acquisition on the assigned streams (plus ``extra_streams``) and the engine
    (``make_engine(acquisition, assignment, slot_keys, config, on_error=...)``: the group
    engine for 3-8 people)."""
    acq = Acquisition(buffer_s=buffer_s, on_error=on_error)
    infos = {d.uid or d.identity: i for d, i in found}
    keys: dict[tuple[str, str], str] = {}
    by_stream: dict[str, str] = {}
    for ch in assignment.channels:
        sid = ch.stream.uid or ch.stream.identity
        if sid not in by_stream:
            slot = acq.add(ch.stream, infos.get(sid), channel=ch.channel)
            by_stream[sid] = slot.key
        keys[(ch.role, ch.modality)] = by_stream[sid]
    for desc, info in extra_streams or ():
        sid = desc.uid or desc.identity
        if sid not in by_stream:
            by_stream[sid] = acq.add(desc, info).key
    acq.start()
    engine = make_engine(acq, assignment, keys, config, on_error=on_error).start()
    return LiveSession(acq, engine, _keys=by_stream)


class StreamFinder:
    """Looks for the streams a session's roles name, for as long as it runs, and connects
    each person's signal the moment its stream is there.

    Every ``every_s`` seconds the visible streams are assigned again
    (:func:`devices.assign.assign`, same rules as a complete start). A signal is connected
    when its stream is assigned without doubt (no other stream fits the same slot) and the
    stream's full description is in (its channel labels can change the channel); from then
    on it stays with that stream (a stream that drops out is looked for again by the
    acquisition). The engine's ``waiting`` says what is still missing, per person and signal.

    Parameters
    ----------
    session : LiveSession
        The running session to attach signals to.
    roles, mapping
        ``--role`` globs, or a loaded map file (else role words in the stream names).
    every_s : float
        Pause between looks (s).
    recheck_s : float
        Pause between looks once every signal is connected (s): a stream appearing later
        that fits a connected signal too is noted (the engine's ``notes``), never switched to.
    limit_s : float or None
        Give up after this many seconds without every signal (scripted runs: ``--wait``);
        None waits as long as the session runs.
    on_give_up : callable(str), optional
        Called once with one line when ``limit_s`` passed with signals still missing.
    """

    def __init__(
        self,
        session: LiveSession,
        roles: dict[str, str] | None,
        mapping: dict | None,
        every_s: float = 0.5,
        limit_s: float | None = None,
        on_give_up: Callable[[str], None] | None = None,
        recheck_s: float = 5.0,
    ) -> None:
        self.session = session
        self.roles = roles or None
        self.mapping = mapping if not roles else None
        self.every_s = every_s
        self.recheck_s = recheck_s
        self.limit_s = limit_s
        self.on_give_up = on_give_up
        self.wanted = wanted_signals(self.roles, self.mapping)
        self.connected: set[tuple[str, str]] = set()
        self.visible = 0  # streams visible at the last look
        self.latest: Assignment | None = None
        self.gave_up = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self._publish()

    def start(self) -> StreamFinder:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="attune-finder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop looking; waits up to ``timeout`` s for a look in progress (it connects
        nothing once stopped)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def done(self) -> bool:
        """Every wanted signal is connected."""
        return not self.session.engine.waiting

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.look()
                if self.done:
                    self._stop.wait(self.recheck_s)
                    continue
                if self.limit_s is not None and time.monotonic() - self._t0 >= self.limit_s:
                    self.gave_up = self.incomplete_line(self.limit_s)
                    if self.on_give_up is not None:
                        self.on_give_up(self.gave_up)
                    break
                self._stop.wait(self.every_s)
        except Exception as exc:  # never a silent dead finder
            log.exception("stream finder failed")
            self.gave_up = f"looking for streams stopped: {type(exc).__name__}: {exc}"
            if self.on_give_up is not None:
                self.on_give_up(self.gave_up)

    def look(self) -> None:
        """One look: assign the visible streams, connect what is certain, update the words."""
        found, pending = _discover(min(1.0, self.every_s), min(2.0, self.every_s + 0.5))
        descs = [d for d, _ in found]
        result = assign(descs, roles=self.roles, mapping=self.mapping)
        infos = {d.uid: i for d, i in found if d.uid}
        wanted = {(w.role, w.signal) for w in self.wanted if not w.impossible}
        for ch in result.channels:
            sig = (ch.role, signal_of(ch.modality))
            if sig in self.connected or sig not in wanted:
                continue
            if blocked(result, ch.role, ch.modality) or ch.stream.uid in pending:
                continue  # several streams fit, or its labels are not in yet
            if self._stop.is_set():
                return  # the session stopped during this look
            self.session.attach(ch, infos.get(ch.stream.uid))
            self.connected.add(sig)
        self.visible = len(descs)
        self.latest = result
        self._publish()
        self.session.engine.notes = also_fit(result, self.session.engine.assignment)

    def _publish(self) -> None:
        self.session.engine.waiting = still_wanted(self.wanted, self.connected, self.latest)

    def incomplete_line(self, waited_s: float) -> str:
        """One line for giving up after ``waited_s`` seconds."""
        how = " ".join(f"--role {r}=GLOB" for r in dict.fromkeys(w.role for w in self.wanted))
        return (
            f"stream assignment incomplete after {waited_s:g} s: "
            f"{waiting_line(self.session.engine.waiting)} ({self.visible} streams visible; "
            f"'attune streams' lists them). Map them with {how} or --map FILE.toml"
        )


def open_waiting(
    roles: dict[str, str] | None,
    mapping: dict | None,
    config: EngineConfig | None = None,
    extra_streams: list[tuple[StreamDescription, object]] | None = None,
    on_error=None,
    every_s: float = 0.5,
    limit_s: float | None = None,
    on_give_up: Callable[[str], None] | None = None,
    make_engine: Callable[..., Engine] = Engine,
) -> LiveSession:
    """Start acquisition and engine now, and connect the people's signals as they appear
    (``make_engine``: as :func:`start_session`; a group's engine for 3-8 people).

    Raises
    ------
    AssignmentError
        When the options can never give someone EDA and a cardiac signal (one line).
    """
    impossible = impossible_line(wanted_signals(roles or None, mapping if not roles else None))
    if impossible:
        raise AssignmentError(impossible)
    people = people_of(roles or None, mapping if not roles else None)
    session = start_session(
        Assignment((), people=people), [], config, extra_streams=extra_streams,
        on_error=on_error, make_engine=make_engine,
    )  # fmt: skip
    session.finder = StreamFinder(
        session, roles, mapping, every_s=every_s, limit_s=limit_s, on_give_up=on_give_up
    ).start()
    return session
