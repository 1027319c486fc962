"""Seeded simulation of a group of 2-8 people with known pairwise couplings and lags.

The people are those of :mod:`dsp.simulate` (same heart, PPG, ECG and EDA model, same
person class and renderer, so a group member's signals are as realistic as a dyad member's);
only the arousal events differ:

* every person has their own arousal events at ``shared_rate_per_min`` plus private ones
  (``private_rate_per_min`` of their :class:`~dsp.simulate.PersonSimConfig`), 4 a minute by
  default, as each person of an uncoupled simulated dyad;
* a **coupled pair** ``A-B`` (coupling ``c``, lag ``L`` s): each own event of ``A`` also
  reaches ``B`` at ``t + L`` with probability ``c`` (``B`` follows ``A``), and ``B``'s own
  events are thinned by ``1 - c``, so that, as in the dyad, the coupling changes the pair's
  synchrony and not ``B``'s arousal (for a person following several people the rate is only
  about kept: own events are thinned by the product of the ``1 - c``);
* events received from a leader do not travel on (no cascades): with ``A-B`` and ``B-C``
  coupled, ``C`` shares ``B``'s own events, not those ``B`` received from ``A``;
* pairs not listed and not linked through a third person are **independent**.

Private events never reach anyone else.

Couplings are written ``A-B=0.8`` or ``A-B=0.8@2.5`` (lag 2.5 s; default lag ``default_lag_s``),
the form of ``attune simulate --couple``. Names are free words without ``-``, ``=``, ``@`` or
spaces.

Time convention: seconds from the start of the simulation; sample ``i`` of a stream at ``fs``
is at ``i / fs``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp.grid import make_grid, resample_to_grid
from dsp.simulate import _BLOCK_S, DyadModel, PersonRecording, PersonSimConfig, _Person

__all__ = [
    "MAX_PEOPLE",
    "GroupGrid",
    "GroupModel",
    "GroupRecording",
    "GroupSimConfig",
    "PairCoupling",
    "coupling_parse",
    "group_grid",
    "simulate_group",
]

#: Largest group (28 pairs).
MAX_PEOPLE = 8
_NAME = re.compile(r"^[^\s\-=@,]+$")


@dataclass(frozen=True)
class PairCoupling:
    """A coupled pair: ``follower`` receives ``leader``'s shared events ``lag_s`` later.

    Attributes
    ----------
    leader, follower : str
        Names of the two people (the follower's responses come ``lag_s`` after the leader's).
    coupling : float
        Probability (0..1) that a shared event reaches the follower.
    lag_s : float
        Delay of the follower (s, >= 0).
    """

    leader: str
    follower: str
    coupling: float
    lag_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.coupling <= 1.0:
            raise ValueError(f"coupling of {self.leader}-{self.follower} must be in 0..1")
        if self.lag_s < 0:
            raise ValueError(f"lag of {self.leader}-{self.follower} must be >= 0 s")
        if self.leader == self.follower:
            raise ValueError(f"a person cannot be coupled with themselves ({self.leader})")


def coupling_parse(spec: str, default_lag_s: float = 2.0) -> PairCoupling:
    """Parse ``"A-B=0.8"`` or ``"A-B=0.8@2.5"`` (B follows A by 2.5 s) into a PairCoupling.

    Raises
    ------
    ValueError
        With one line saying what is wrong and the expected form.
    """
    m = re.fullmatch(r"\s*([^\s\-=@]+)-([^\s\-=@]+)=([0-9.eE+-]+)(?:@([0-9.eE+-]+)s?)?\s*", spec)
    if m is None:
        raise ValueError(
            f"bad coupling {spec!r}: expected NAME-NAME=COUPLING[@LAG_S], e.g. A-B=0.8"
        )
    try:
        c = float(m.group(3))
        lag = float(m.group(4)) if m.group(4) is not None else float(default_lag_s)
    except ValueError as exc:
        raise ValueError(f"bad number in coupling {spec!r}") from exc
    return PairCoupling(m.group(1), m.group(2), c, lag)


def _default_physiology(names: Sequence[str], seed: int) -> tuple[PersonSimConfig, ...]:
    """Per-person physiology drawn from ``seed`` (resting HR, breathing, Mayer, SCL), as
    :func:`dsp.simstudy.independent_config` draws it for a dyad."""
    rng = np.random.default_rng([seed, 104729])
    return tuple(
        PersonSimConfig(
            hr_bpm=float(rng.uniform(60, 80)),
            resp_hz=float(rng.uniform(0.15, 0.33)),
            mayer_hz=float(rng.uniform(0.08, 0.12)),
            rsa_bpm=float(rng.uniform(3, 6)),
            scl_us=float(rng.uniform(2, 8)),
        )
        for _ in names
    )


class _GroupPerson(_Person):
    """A dyad-model person (the dyad model's measurement noise is now independent between
    people too: SplitMix64, as this class introduced; own tonic drift periods are set by
    the group model)."""


@dataclass(frozen=True)
class GroupSimConfig:
    """A simulated group.

    Attributes
    ----------
    people : tuple of str
        2-8 distinct names (e.g. ``("patient", "partner", "clinician")``).
    couplings : tuple of PairCoupling
        The coupled pairs; every other pair is independent.
    duration_s : float
        Length of a whole-recording simulation (s); ignored when streaming.
    seed : int
        Seed; the same seed gives the same signals, live or offline.
    shared_rate_per_min : float
        Each person's own arousal events per minute, those a follower may share.
    physiology : tuple of PersonSimConfig, optional
        One per person; drawn from ``seed`` when None.
    ppg_fs, eda_fs : float
        Sampling rates (Hz).
    ecg_fs : float or None
        ECG rate (Hz), or None for no ECG.
    artifacts : bool
        Motion artifacts about every 2-3 minutes.
    """

    people: tuple[str, ...]
    couplings: tuple[PairCoupling, ...] = ()
    duration_s: float = 600.0
    seed: int = 0
    shared_rate_per_min: float = 3.0
    physiology: tuple[PersonSimConfig, ...] | None = None
    ppg_fs: float = 128.0
    eda_fs: float = 32.0
    ecg_fs: float | None = None
    artifacts: bool = False

    def __post_init__(self) -> None:
        people = tuple(self.people)
        object.__setattr__(self, "people", people)
        object.__setattr__(self, "couplings", tuple(self.couplings))
        if not 2 <= len(people) <= MAX_PEOPLE:
            raise ValueError(f"a group has 2 to {MAX_PEOPLE} people, got {len(people)}")
        if len(set(people)) != len(people):
            raise ValueError(f"people must have distinct names, got {', '.join(people)}")
        for n in people:
            if not _NAME.match(n):
                raise ValueError(f"bad name {n!r}: a word without spaces, '-', '=', '@' or ','")
        seen: set[frozenset[str]] = set()
        for pc in self.couplings:
            for n in (pc.leader, pc.follower):
                if n not in people:
                    raise ValueError(f"coupling names {n!r}, who is not one of {', '.join(people)}")
            key = frozenset((pc.leader, pc.follower))
            if key in seen:
                raise ValueError(f"pair {pc.leader}-{pc.follower} is coupled twice")
            seen.add(key)
        if self.physiology is not None and len(self.physiology) != len(people):
            raise ValueError("physiology needs one PersonSimConfig per person")
        if self.ppg_fs <= 0 or self.eda_fs <= 0 or (self.ecg_fs is not None and self.ecg_fs <= 0):
            raise ValueError("sampling rates must be > 0")

    @property
    def lag_s(self) -> float:
        """Largest lag of any coupled pair (s)."""
        return max((pc.lag_s for pc in self.couplings), default=0.0)

    def person_config(self, i: int) -> PersonSimConfig:
        """Physiology of person ``i``."""
        phys = self.physiology or _default_physiology(self.people, self.seed)
        return phys[i]


class GroupModel(DyadModel):
    """Lazily generated group, rendered in any chunks (LSL streaming) or all at once.

    ``render(name, modality, start, n)``, ``truth(name, duration_s)`` and
    ``recording(name, duration_s)`` are those of :class:`dsp.simulate.DyadModel`, with a
    person's name in place of the dyad role.
    """

    def __init__(self, config: GroupSimConfig) -> None:  # noqa: D107 - see class
        self.config = config  # type: ignore[assignment]
        root = np.random.SeedSequence([config.seed, len(config.people)])
        s_events, *s_people = root.spawn(1 + len(config.people))
        self._rng = np.random.default_rng(s_events)
        self.people = {
            name: _GroupPerson(config.person_config(i), s_people[i], config.artifacts, 0.0)
            for i, name in enumerate(config.people)
        }
        for i, person in enumerate(self.people.values()):
            # each person's own tonic drift periods: with the dyad model's fixed 600 / 230 s
            # every two people shared two slow rhythms, which circular shifts do not keep
            # (a phase jump at the wrap), and independent groups were claimed coupled
            r = np.random.default_rng([config.seed, 15485863, i])
            person.drift_s = (float(r.uniform(400.0, 900.0)), float(r.uniform(150.0, 350.0)))
        self.shared = []
        self.pair_events: dict[tuple[str, str], list[float]] = {
            (pc.leader, pc.follower): [] for pc in config.couplings
        }
        self._events_until = 0.0

    def _extend_events(self, until: float) -> None:
        cfg: GroupSimConfig = self.config  # type: ignore[assignment]
        rate = cfg.shared_rate_per_min / 60.0
        keep = {name: 1.0 for name in cfg.people}  # chance an own event is not thinned
        for pc in cfg.couplings:
            keep[pc.follower] *= 1.0 - pc.coupling
        while self._events_until < until:
            t0, t1 = self._events_until, self._events_until + _BLOCK_S
            events: list[tuple[float, str, float]] = []
            for name, person in self.people.items():
                own = np.sort(self._rng.uniform(t0, t1, self._rng.poisson(rate * _BLOCK_S)))
                for te in own:
                    strength = float(self._rng.uniform(0.6, 1.4))
                    if self._rng.uniform() < keep[name]:
                        events.append((float(te), name, strength))
                        for pc in cfg.couplings:
                            if pc.leader == name:
                                self.pair_events[(pc.leader, pc.follower)].append(float(te))
                                if self._rng.uniform() < pc.coupling:
                                    events.append((float(te) + pc.lag_s, pc.follower, strength))
                k = self._rng.poisson(person.cfg.private_rate_per_min / 60.0 * _BLOCK_S)
                for te in self._rng.uniform(t0, t1, k):
                    events.append((float(te), name, float(self._rng.uniform(0.6, 1.4))))
            for te, name, strength in sorted(events):
                self.people[name].add_event(te, strength)
            for person in self.people.values():
                person.extend_artifacts(t1)
                person.sort_events()
            self._events_until = t1


@dataclass(frozen=True)
class GroupRecording:
    """A whole simulated group session with its ground truth.

    Attributes
    ----------
    people : dict of str to PersonRecording
        Each person's signals and ground truth, in the config's order.
    config : GroupSimConfig
    pair_event_times : dict of (leader, follower) to ndarray
        Times (s) of the leader's own events, each of which reached the follower ``lag_s``
        later with probability ``coupling``.
    """

    people: dict[str, PersonRecording]
    config: GroupSimConfig
    pair_event_times: dict[tuple[str, str], np.ndarray]

    def coupling_of(self, a: str, b: str) -> tuple[float, float]:
        """Ground truth of pair ``a``-``b``: ``(coupling, lag_s)`` with ``lag_s > 0`` when
        ``b`` follows ``a``; ``(0.0, nan)`` for an independent pair."""
        for pc in self.config.couplings:
            if (pc.leader, pc.follower) == (a, b):
                return pc.coupling, pc.lag_s
            if (pc.leader, pc.follower) == (b, a):
                return pc.coupling, -pc.lag_s
        if a not in self.people or b not in self.people:
            raise KeyError(f"{a}-{b} is not a pair of this group")
        return 0.0, float("nan")

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair in the config's order (``(people[i], people[j])``, ``i < j``)."""
        return list(itertools.combinations(self.config.people, 2))


def simulate_group(config: GroupSimConfig | None = None, **kwargs) -> GroupRecording:
    """Simulate a whole group session.

    Parameters
    ----------
    config : GroupSimConfig, optional
        Full configuration; keyword arguments build one when omitted
        (``simulate_group(people=("A", "B", "C"), couplings=(coupling_parse("A-B=0.8"),))``).

    Returns
    -------
    GroupRecording
    """
    cfg = config if config is not None else GroupSimConfig(**kwargs)
    model = GroupModel(cfg)
    recs = {name: model.recording(name, cfg.duration_s) for name in cfg.people}
    events = {
        k: np.asarray(v)[np.asarray(v) < cfg.duration_s] for k, v in model.pair_events.items()
    }
    return GroupRecording(recs, cfg, events)


@dataclass(frozen=True, eq=False)
class GroupGrid:
    """Every person's EDA (µS) on a common grid ``t`` (s) at ``fs`` Hz: ``eda[i]`` is
    ``people[i]``'s."""

    t: np.ndarray
    fs: float
    people: tuple[str, ...]
    eda: np.ndarray


def group_grid(rec: GroupRecording, fs: float = 4.0) -> GroupGrid:
    """EDA of a simulated group on the grid ``[0, duration)`` at ``fs`` (rendered signal
    resampled, as :func:`dsp.simstudy.grid_series` does for a dyad)."""
    dur = rec.config.duration_s
    t = make_grid(0.0, dur - 1.0 / fs, fs)
    rows = []
    for name in rec.config.people:
        p = rec.people[name]
        rows.append(resample_to_grid(np.arange(p.eda.size) / p.eda_fs, p.eda, t, max_gap_s=1.0))
    return GroupGrid(t, fs, rec.config.people, np.vstack(rows))
