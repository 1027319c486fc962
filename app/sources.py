"""Where a live session's streams come from: devices, the simulated dyad, or a replayed file.

No Qt here. A :class:`SourceChoice` says what the user picked; :func:`source_for` turns it into
the publishing child process (``attune simulate`` / ``attune replay``) that a live session
starts before it discovers the streams. :mod:`devices` runs that process but does not know the
``attune`` command; this module gives it the command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.preroll import PREROLL_S, Preroll
from devices.assign import Assignment
from devices.lsl import local_clock
from devices.source import ProcessSource
from dsp.simulate import DyadSimConfig


class SourceKind(StrEnum):
    """What publishes the streams of a live session."""

    LSL = "lsl"
    """Devices (or bridges) already publishing on the network."""
    SIMULATED = "simulated"
    """The simulated dyad, in a child process."""
    REPLAY = "replay"
    """A recorded XDF file replayed in real time, in a child process."""


@dataclass(frozen=True)
class SourceChoice:
    """Where the streams come from and how they are assigned.

    Attributes
    ----------
    kind : SourceKind
        Devices already publishing, the simulated dyad, or a replayed file.
    roles : dict or None
        ``{"patient": GLOB, "clinician": GLOB}`` (``--role`` style), or None.
    map_path : str
        TOML stream map ('' for none).
    replay_path : str
        XDF file for :attr:`SourceKind.REPLAY`.
    assignment : Assignment or None
        An explicit assignment from the dialog (then ``found`` lists the streams).
    found : tuple
        ``(StreamDescription, pylsl.StreamInfo)`` pairs behind ``assignment``.
    wait_s : float or None
        A limit (s) on the wait for the streams the roles name (scripted runs: ``--wait``);
        None (the default) waits for as long as the session runs, connecting each signal
        when its stream appears.
    look_every_s : float
        Pause (s) between looks for streams not there yet.
    description : str
        Words for the status line.
    preroll : Preroll or None
        Simulated history the engine processes before the live data: only a simulated dyad
        that continues that history (:func:`simulated_dyad`); None for every real source.
        The session's engine takes it from here, never from a previous session.
    people : tuple of str
        A group's people (3-8, or two not named patient and clinician), in order: the
        session runs the group engine (:class:`app.group_engine.GroupEngine`) on
        ``assignment``; empty for the two-person session.
    pairs : tuple of str
        The pairs that matter (``"a-b"``; a map file's ``pairs``), written into the
        recording's stream map; empty: every pair, the clinician's first.
    history : object or None
        A group demo's simulated history (:class:`app.group_engine.GroupHistory`).
    """

    kind: SourceKind = SourceKind.LSL
    roles: dict | None = None
    map_path: str = ""
    replay_path: str = ""
    assignment: Assignment | None = None
    found: tuple = field(default=())
    wait_s: float | None = None
    look_every_s: float = 0.5
    description: str = ""
    preroll: Preroll | None = None
    people: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()
    history: object | None = None


def attune_command(args: Sequence[str]) -> list[str]:
    """The command line running ``attune ARGS`` with this interpreter."""
    return [sys.executable, "-m", "app.cli", *args]


def role_globs(prefix: str) -> dict[str, str]:
    """``--role`` globs matching the streams a simulator or demo publishes under ``prefix``."""
    return {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}


def demo_preroll(
    seed: int = 1,
    coupling: float = 0.8,
    lag_s: float = 2.0,
    artifacts: bool = False,
    seconds: float = PREROLL_S,
    start_in_s: float = 4.0,
) -> Preroll:
    """The demo's pre-roll: the dyad ``attune simulate`` publishes with these options, its
    first ``seconds`` to be computed in-process, live data from ``start_in_s`` s from now
    (time for the child to start and the streams to be found)."""
    sim = DyadSimConfig(seed=seed, coupling=coupling, lag_s=lag_s, artifacts=artifacts)
    return Preroll(sim, seconds, local_clock() + start_in_s)


def demo_source(
    prefix: str,
    seed: int = 1,
    coupling: float = 0.8,
    lag_s: float = 2.0,
    artifacts: bool = False,
    preroll: Preroll | None = None,
) -> ProcessSource:
    """``attune simulate`` publishing a simulated dyad under ``prefix`` (child process).

    Parameters
    ----------
    prefix : str
        Stream name and source_id prefix (``<prefix>-patient-EDA`` ...).
    seed : int
        Simulator seed.
    coupling : float
        Probability (0..1) that a shared arousal event reaches the clinician too.
    lag_s : float
        Seconds the clinician's responses follow the patient's.
    artifacts : bool
        Add motion artifacts every 2-3 minutes.
    preroll : Preroll or None
        When given, the child continues that history: it publishes from simulator time
        ``preroll.seconds``, stamped from ``preroll.end_t``.
    """
    args = ["simulate", "--seed", str(seed), "--coupling", str(coupling), "--lag", str(lag_s)]
    args += ["--name-prefix", prefix] + (["--artifacts"] if artifacts else [])
    if preroll is not None:
        args += ["--start-s", repr(preroll.seconds), "--t0", repr(preroll.end_t)]
    return ProcessSource(attune_command(args), f"simulated dyad (seed {seed})")


def simulated_dyad(
    prefix: str,
    seed: int = 1,
    coupling: float = 0.8,
    lag_s: float = 2.0,
    artifacts: bool = False,
    preroll: bool = True,
    wait_s: float | None = None,
) -> tuple[ProcessSource, SourceChoice]:
    """The simulated dyad as a live source: ``attune demo`` and the Streams dialog's
    "Simulated dyad" both start it this way.

    With ``preroll`` (the default) the simulator's first :data:`~app.preroll.PREROLL_S`
    seconds are computed in-process (:func:`demo_preroll`) and the child publishes from
    there on, so the meters are past their warm-up when the window opens; the choice carries
    that :class:`~app.preroll.Preroll` to the session's engine, whose snapshots then say
    "pre-rolled (simulated history)". Returns the child process and the choice assigning
    its streams (roles matching ``prefix``), waited for as long as the session runs (a
    child started late on a loaded machine is connected when it appears).
    """
    pre = demo_preroll(seed, coupling, lag_s, artifacts) if preroll else None
    source = demo_source(prefix, seed, coupling, lag_s, artifacts, pre)
    choice = SourceChoice(
        kind=SourceKind.SIMULATED,
        roles=role_globs(prefix),
        wait_s=wait_s,
        description=source.description,
        preroll=pre,
    )
    return source, choice


def source_for(
    choice: SourceChoice, map_file: str = ""
) -> tuple[ProcessSource | None, SourceChoice]:
    """The publishing process for ``choice`` (None for devices) and the choice completed.

    The simulated dyad is :func:`simulated_dyad` (pre-rolled, as ``attune demo``) under a
    unique stream prefix; a replay uses ``choice.map_path`` or else ``map_file`` (the last
    map the user loaded).
    """
    if choice.kind == SourceKind.SIMULATED:
        prefix = f"AttuneConsole{os.getpid()}x{id(choice) % 10_000}"
        return simulated_dyad(prefix)
    if choice.kind == SourceKind.REPLAY:
        source = ProcessSource(
            attune_command(["replay", choice.replay_path, "--loop"]), choice.description
        )
        return source, replace(choice, map_path=choice.map_path or map_file)
    return None, choice
