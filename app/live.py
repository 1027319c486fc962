"""Composition of a live session: discover streams, assign roles, start acquisition + engine."""

from __future__ import annotations

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


_FULL_DESCS: dict[str, StreamDescription] = {}  # uid -> description with labels/units


def discover(wait_s: float = 2.0) -> list[tuple[StreamDescription, object]]:
    """Visible streams; numeric streams with their full info (channel labels, units, desc).

    Device profiles recognise streams by labels, units and description, whatever their type
    (BITalino says EEG, OpenSignals a MAC address), so every numeric stream's full info is
    fetched, once per uid (it cannot change while the outlet lives): waiting loops that call
    this repeatedly do not re-open an inlet per stream each time.
    """
    found = []
    for desc, info in resolve_streams(wait_s):
        if desc.is_numeric and not desc.name.startswith("Attunement"):
            if desc.uid not in _FULL_DESCS:
                try:
                    _FULL_DESCS[desc.uid], _ = full_info(info, timeout=2.0)
                except Exception:  # labels stay unknown; channel 0 is used unless mapped
                    pass
            desc = _FULL_DESCS.get(desc.uid, desc)
        found.append((desc, info))
    return found


def assign_visible(
    roles: dict[str, str] | None, map_path: str | None, wait_s: float, require_complete: bool
) -> tuple[Assignment, list[tuple[StreamDescription, object]]]:
    """Resolve and assign; waits up to ``wait_s`` for a complete assignment."""
    mapping = load_map(map_path) if map_path and not roles else None
    deadline = time.monotonic() + wait_s
    while True:
        found = discover(min(1.0, max(wait_s, 0.2)))
        result = assign([d for d, _ in found], roles=roles, mapping=mapping)
        if result.complete or time.monotonic() >= deadline:
            break
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
