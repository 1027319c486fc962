"""A live session of 3-8 people.

``attune run --role NAME=GLOB ...`` assigns the streams of 3-8 people
(:func:`devices.assign.assign`); the group demo names each person's EDA and cardiac stream
exactly (the group simulator's names, :func:`devices.group_source.group_stream_names`):
:func:`named_assignment` builds that :class:`devices.assign.Assignment` from the visible
streams. Either way the session is a :class:`app.sources.SourceChoice` carrying the
assignment and the people, which :class:`app.controller.LiveController` starts as it starts a
two-person session (markers, recording, stopping), with :func:`engine_maker`'s
:class:`app.group_engine.GroupEngine`; :func:`start_group_session` starts one without a
controller (tests, benchmarks).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from app.engine import Engine, EngineConfig
from app.group_engine import GroupEngine, GroupHistory, default_pair
from app.live import AssignmentError, LiveSession, assign_visible, discover, start_session
from app.sources import SourceChoice, SourceKind
from app.waiting import impossible_line, wanted_signals
from devices.assign import Assignment, Channel, load_map, map_pairs, people_of
from devices.group_source import GroupSimulatorSource, group_stream_names
from devices.lsl import StreamDescription
from dsp.simulate_group import GroupSimConfig, coupling_parse

__all__ = [
    "DEMO_HISTORY_S",
    "demo_people",
    "engine_maker",
    "group_choice",
    "group_demo_session",
    "group_run_choice",
    "named_assignment",
    "start_group_session",
    "wait_for_group",
]

#: Simulated history of the group demo (s): long enough for a pair of 3 or 4 people to pass
#: Holm at once (the session needs enough distinct shifts; see dsp.concordance.live_group).
DEMO_HISTORY_S = 720.0
#: Names of the demo's people, in order (the clinician always among them).
DEMO_NAMES = (
    "patient", "partner", "clinician", "child", "sibling", "cotherapist", "supervisor", "trainee",
)  # fmt: skip

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
    return Assignment(tuple(channels), people=tuple(people)), missing


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
    history: GroupHistory | None = None,
) -> LiveSession:
    """Start acquisition on the assigned streams and a :class:`GroupEngine` of ``people``
    (``history``: the group demo's simulated history)."""

    def make(acq, assignment, keys, config, on_error=None) -> GroupEngine:
        return GroupEngine(
            acq, assignment, keys, people, config, on_error=on_error, pair=pair, history=history
        )

    return start_session(assignment, found, config, buffer_s, on_error=on_error, make_engine=make)


def engine_maker(choice: SourceChoice):
    """``make_engine`` of :func:`app.live.start_session` for ``choice``: the two-person
    :class:`app.engine.Engine`, or a :class:`GroupEngine` of ``choice.people`` (with the
    demo's ``choice.history``)."""
    if not choice.people:
        return Engine
    people, history = tuple(choice.people), choice.history
    pair = default_pair(people, choice.pairs)

    def make(acq, assignment, keys, config, on_error=None) -> GroupEngine:
        return GroupEngine(acq, assignment, keys, people, config, on_error=on_error,
                           pair=pair, history=history)  # type: ignore[arg-type]  # fmt: skip

    return make


def group_choice(
    assignment: Assignment,
    found: list,
    kind: SourceKind = SourceKind.LSL,
    description: str = "",
    pairs: tuple[str, ...] = (),
    history: GroupHistory | None = None,
) -> SourceChoice:
    """The :class:`SourceChoice` of a group whose streams are assigned (every person's EDA
    and cardiac signal): the controller starts a :class:`GroupEngine` on it."""
    return SourceChoice(
        kind=kind, assignment=assignment, found=tuple(found), description=description,
        people=tuple(assignment.people), pairs=tuple(pairs), history=history,
    )  # fmt: skip


def group_run_choice(
    roles: dict[str, str] | None, map_path: str | None, wait: float | None
) -> SourceChoice:
    """``attune run`` with 3-8 people (``--role NAME=GLOB`` or a map file naming them), for
    the console and the headless view alike.

    Without ``wait`` the session starts at once and connects each person's signals when
    their streams appear (start in any order); with ``wait`` (s, scripts) every person's
    streams are assigned first, waiting up to that long.

    Raises
    ------
    AssignmentError
        One line: options no stream can complete, or (``wait``) streams still missing.
    MapError
        A broken map file.
    """
    map_path = map_path or None
    mapping = load_map(map_path) if map_path and not roles else None
    pairs = tuple(map_pairs(map_path)) if mapping else ()
    where = f" mapped by {os.path.basename(map_path)}" if mapping and map_path else ""
    impossible = impossible_line(wanted_signals(roles, mapping))
    if impossible:
        raise AssignmentError(impossible)
    if wait is not None:
        assignment, found = assign_visible(roles, map_path, wait, True)
        return group_choice(assignment, found, description=f"LSL streams{where}", pairs=pairs)
    return SourceChoice(
        roles=roles, map_path=map_path or "", description=f"LSL streams{where}",
        people=people_of(roles, mapping), pairs=pairs,
    )  # fmt: skip


def demo_people(spec: str) -> tuple[str, ...]:
    """``--people`` of the demo: a number 3-8 (the demo's names) or names separated by commas."""
    spec = spec.strip()
    if spec.isdigit():
        n = int(spec)
        if not 3 <= n <= len(DEMO_NAMES):
            raise ValueError(f"--people: the group demo has 3 to 8 people, got {n}")
        return DEMO_NAMES[:n]
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    if not 3 <= len(names) <= len(DEMO_NAMES) or len(set(names)) != len(names):
        raise ValueError("--people: the group demo has 3 to 8 people with distinct names")
    return names


def group_demo_choice(args) -> tuple[SourceChoice, GroupSimulatorSource, tuple[str, ...]]:
    """The group demo: the group simulator (this process, started here) with
    ``DEMO_HISTORY_S`` of simulated history and the choice assigning its streams by name.

    ``args``: ``people``, ``couple`` (``A-B=C[@LAG]``; default the first two people coupled
    ``coupling`` at ``lag``), ``seed``, ``artifacts``, ``no_preroll``. The caller stops the
    source.
    """
    people = demo_people(args.people)
    couples = list(args.couple) or [f"{people[0]}-{people[1]}={args.coupling:g}@{args.lag:g}"]
    cfg = GroupSimConfig(
        people=people,
        couplings=tuple(coupling_parse(c, default_lag_s=args.lag) for c in couples),
        seed=args.seed,
        artifacts=args.artifacts,
    )
    history_s = 0.0 if args.no_preroll else DEMO_HISTORY_S
    prefix = f"AttuneGroup{os.getpid()}"
    source = GroupSimulatorSource(cfg, prefix=prefix, start_s=history_s)
    source.start()
    try:
        while source.t0 is None:
            time.sleep(0.01)
        assignment, found = wait_for_group(people, prefix, wait_s=20.0)
        history = GroupHistory(source.model, source.t0, history_s) if history_s else None
    except BaseException:
        source.stop()
        raise
    choice = group_choice(assignment, found, SourceKind.SIMULATED, source.description,
                          history=history)  # fmt: skip
    return choice, source, people


def group_demo_session(args) -> tuple[LiveSession, GroupSimulatorSource, tuple[str, ...]]:
    """The group demo started without a controller (tests): see :func:`group_demo_choice`."""
    choice, source, people = group_demo_choice(args)
    try:
        session = start_group_session(
            people, choice.assignment, list(choice.found), EngineConfig(publish_metrics=False),
            history=choice.history,  # type: ignore[arg-type]
        )  # fmt: skip
    except BaseException:
        source.stop()
        raise
    return session, source, people
