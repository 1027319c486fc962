"""A live session of 3-8 people from explicitly named streams.

Until role assignment for N people is merged (``attune run --role NAME=GLOB`` for any
names), a group session is driven by stream names: each person's EDA and cardiac stream are
named exactly (the group simulator's names, :func:`devices.group_source.group_stream_names`).
:func:`named_assignment` builds the :class:`devices.assign.Assignment` from the visible
streams, :func:`start_group_session` starts acquisition and :class:`app.group_engine.GroupEngine`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.engine import EngineConfig
from app.group_engine import GroupEngine
from app.live import AssignmentError, LiveSession, discover, start_session
from devices.assign import Assignment, Channel
from devices.group_source import group_stream_names
from devices.lsl import StreamDescription

__all__ = ["named_assignment", "start_group_session", "wait_for_group"]

_CARDIAC = ("ppg", "ecg")


def named_assignment(
    people: Sequence[str], found: Sequence[StreamDescription], prefix: str = "AttuneSim"
) -> tuple[Assignment, list[str]]:
    """Each person's EDA and cardiac (PPG, else ECG) stream by its simulator name.

    Returns the assignment and one line per signal not visible (empty when complete).
    A stream name visible twice is not guessed between: that signal is missing, said why.
    """
    names = group_stream_names(tuple(people), prefix)
    by_name: dict[str, list[StreamDescription]] = {}
    for d in found:
        by_name.setdefault(d.name, []).append(d)
    channels, missing = [], []
    for person in people:
        for mods in (("eda",), _CARDIAC):
            hits = [(m, by_name.get(names[(person, m)][0], [])) for m in mods]
            hits = [(m, h) for m, h in hits if h]
            if not hits:
                missing.append(f"{person}: no stream named {names[(person, mods[0])][0]}")
                continue
            mod, descs = hits[0]
            if len(descs) > 1:
                missing.append(f"{person}: {len(descs)} streams named {descs[0].name}; none taken")
                continue
            channels.append(Channel(person, mod, descs[0], 0, f"named {descs[0].name}"))
    return Assignment(tuple(channels)), missing


def wait_for_group(
    people: Sequence[str], prefix: str = "AttuneSim", wait_s: float = 15.0
) -> tuple[Assignment, list]:
    """Discover until every person's named streams are visible (or ``wait_s``).

    Raises
    ------
    AssignmentError
        One line naming what is still missing after ``wait_s``.
    """
    deadline = time.monotonic() + wait_s
    while True:
        found = discover(wait_s=1.0, info_budget_s=1.0)
        result, missing = named_assignment(people, [d for d, _ in found], prefix)
        if not missing:
            return result, found
        if time.monotonic() >= deadline:
            raise AssignmentError("; ".join(missing))
        time.sleep(0.25)


def start_group_session(
    people: Sequence[str],
    assignment: Assignment,
    found: list,
    config: EngineConfig | None = None,
    pair: tuple[str, str] | None = None,
    buffer_s: float = 300.0,
    on_error=None,
) -> LiveSession:
    """Start acquisition on the assigned streams and a :class:`GroupEngine` of ``people``."""

    def make(acq, assignment, keys, config, on_error=None) -> GroupEngine:
        return GroupEngine(acq, assignment, keys, people, config, on_error=on_error, pair=pair)

    return start_session(assignment, found, config, buffer_s, on_error=on_error, make_engine=make)
