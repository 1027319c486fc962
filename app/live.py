"""Composition of a live session: discover streams, assign roles, start acquisition + engine."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from app.engine import Engine, EngineConfig
from devices.acquisition import Acquisition
from devices.assign import Assignment, assign, explain, load_map
from devices.lsl import StreamDescription, full_info, resolve_streams


class AssignmentError(RuntimeError):
    """The visible streams cannot be assigned (the message is one clear line)."""


@dataclass
class LiveSession:
    """A running acquisition + engine over an assignment."""

    acquisition: Acquisition
    engine: Engine
    assignment: Assignment

    def stop(self) -> None:
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
) -> LiveSession:
    """Start acquisition on the assigned streams (plus ``extra_streams``) and the engine."""
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
    engine = Engine(acq, assignment, keys, config, on_error=on_error).start()
    return LiveSession(acq, engine, assignment)
