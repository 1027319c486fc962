"""The session engine for 3-8 people: every person, every pair, the group, and one big meter.

:class:`GroupEngine` is :class:`app.engine.Engine` (same buffers, people, attach, health,
errors, snapshot subscribers) with:

* one :class:`dsp.person.LivePerson` per person (any role names);
* one common 4 Hz grid for everyone, trailing the newest data of the people still
  delivering by :data:`~app.engine.GRID_DELAY_S`. A person whose EDA stopped for
  :data:`DROP_S` (device dropped) no longer holds the grid back: their grid columns are
  missing, their pairs pause (:data:`dsp.concordance.live_group.PAUSE_S`) and the others
  go on;
* :class:`dsp.concordance.live_group.LiveGroup` for the pairwise matrix and the group index,
  and a second one on the people's HR grid (``GroupSignal.HR``: the offline HR matrix's
  windows and claim rule) that also holds the HR history. Their chance tests (one per pair
  of each and one for the group every ``surrogate_every_s``) run on a worker thread
  (:attr:`GroupEngine.worker_cpu_s` counts their CPU), so the tick stays short; each result
  is filed at the next tick. The snapshot's ``group`` is the EDA matrix, ``group.hr`` the
  HR one;
* one full :class:`dsp.concordance.LiveDyad` for the **selected pair** (the clinician with
  the first other person by default; :meth:`GroupEngine.select_pair`), which drives the big
  meter exactly as for two people (``EngineSnapshot.dyad``; ``EngineSnapshot.pair`` names
  it, the first in the patient's place). Selecting another pair rebuilds it from the grid
  history held (up to ``max_session_s``).

The group demo may start with simulated history (:class:`GroupHistory`, the group's form of
the dyad demo's pre-roll): at the first tick with every signal connected, each person is fed
the simulator's samples before its first published one, through the same ``dsp`` code, and
every later snapshot says so (``preroll_s``).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.dyad_grid import GridGaps, rolling_span_s, samples_ready
from app.engine import (
    _DYAD_METRICS,
    _PERSON_METRICS,
    GRID_DELAY_S,
    GRID_FS,
    Engine,
    EngineConfig,
    EngineSnapshot,
    _num,
    metric_values,
)
from app.people import people_model
from devices.acquisition import Acquisition
from devices.assign import Assignment
from dsp.concordance import LiveDyad
from dsp.concordance.group import MAX_PEOPLE, GroupSignal
from dsp.concordance.lead import NO_LEAD_TEST
from dsp.concordance.live_group import GroupJob, GroupMetrics, JobKind, LiveGroup, run_job
from dsp.person import PersonMetrics
from dsp.simulate_group import GroupModel

log = logging.getLogger(__name__)

__all__ = ["DROP_S", "GroupEngine", "default_pair", "group_metric_channels"]

#: A person whose newest EDA is this much older than the newest of anyone no longer holds
#: the common grid back (s).
DROP_S = 5.0


@dataclass(frozen=True)
class GroupHistory:
    """Simulated history fed before the live data (the group demo only).

    Attributes
    ----------
    model : GroupModel
        The simulator's model (its samples before the first published one).
    t0 : float
        LSL time (s) of the first published sample's simulator time ``seconds``.
    seconds : float
        Simulated history (s).
    """

    model: GroupModel
    t0: float
    seconds: float


def default_pair(people: Sequence[str], pairs: Sequence[str] = ()) -> tuple[str, str]:
    """The big meter's pair by default: the first pair that matters
    (:attr:`app.people.People.first_pair`: the first declared pair, e.g. a map file's
    ``pairs``; else the clinician's pairs first, in the people's order)."""
    return people_model(people, pairs).first_pair


class GroupEngine(Engine):
    """DSP thread for a group of 3-8 people (see the module docstring).

    Parameters
    ----------
    acquisition, assignment, slot_keys, config, on_error
        As :class:`app.engine.Engine` (``config.preroll`` must be None).
    people : sequence of str
        The role names, in the order of the matrix (2 to 8, distinct).
    pair : (str, str), optional
        The big meter's pair (default :func:`default_pair`).
    inline_tests : bool
        Run the chance tests inside the tick instead of on the worker (deterministic:
        replays and tests).
    history : GroupHistory, optional
        Simulated history (the group demo).
    """

    def __init__(
        self,
        acquisition: Acquisition,
        assignment: Assignment,
        slot_keys: dict[tuple[str, str], str],
        people: Sequence[str],
        config: EngineConfig | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        pair: tuple[str, str] | None = None,
        inline_tests: bool = False,
        history: GroupHistory | None = None,
    ) -> None:
        super().__init__(acquisition, assignment, slot_keys, config, on_error)
        people = tuple(people)
        if not 2 <= len(people) <= MAX_PEOPLE or len(set(people)) != len(people):
            raise ValueError(f"a group has 2 to {MAX_PEOPLE} people with distinct names")
        if self.config.preroll is not None:
            raise ValueError("the demo's pre-roll simulates two people; a group starts without")
        self.people = people
        self.persons = {r: self._person(r) for r in people}
        self.group = LiveGroup(people, self.config.dyad)
        #: The HR matrix; also the HR grid history a newly selected pair is fed.
        self.group_hr = LiveGroup(people, self.config.dyad, signal=GroupSignal.HR)
        self.pair = self._check_pair(pair or default_pair(people))
        self._want_pair: tuple[str, str] | None = None
        self.inline_tests = inline_tests
        self._jobs: queue.Queue[GroupJob | None] = queue.Queue()
        self._done: list[tuple[GroupJob, object]] = []
        self._done_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        #: CPU seconds the chance tests took on the worker thread.
        self.worker_cpu_s = 0.0
        self.history = history
        self._fed_history = False

    # -- public ---------------------------------------------------------------------------
    def select_pair(self, a: str, b: str) -> None:
        """Drive the big meter from ``a`` and ``b`` from the next tick on (any thread)."""
        self._want_pair = self._check_pair((a, b))

    def start(self) -> GroupEngine:
        if not self.inline_tests:
            self._worker = threading.Thread(
                target=self._work, name="attune-group-tests", daemon=True
            )
            self._worker.start()
        super().start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout)

    def tick(self) -> EngineSnapshot:
        """One DSP tick; with simulated history, fed first once every signal is connected."""
        h = self.history
        if h is not None and not self._fed_history and self._history_ready():
            self._feed_history(h)
        snap = super().tick()
        if h is not None and self._fed_history:
            snap = replace(snap, preroll_s=h.seconds)
            self._last_snapshot = snap
        return snap

    def _history_ready(self) -> bool:
        """Every person's signals connected, each with samples and a decided rate (the
        history must come before any live sample, at the rate the live ones will use)."""
        wanted = {(p, m) for p in self.people for m in ("eda", "cardiac")}
        have = {(r, "eda" if m == "eda" else "cardiac") for r, m in self.slot_keys}
        if not wanted <= have:
            return False
        slots = [self.acq.slot(k) for k in self.slot_keys.values()]
        return all(s.buffer.written > 0 and s.rate().rate > 0 for s in slots)

    def _feed(self, role: str, mod: str, key: str, errors: list[str]) -> None:
        """Live samples wait in the buffers until the demo's history has been fed."""
        if self.history is not None and not self._fed_history:
            return
        super()._feed(role, mod, key, errors)

    def _feed_history(self, h: GroupHistory, chunk_s: float = 60.0) -> None:
        """Every person's simulated samples before the first one received (the acquisition
        may have missed the first published ones), ``chunk_s`` at a time with the grid
        following as it would live (the people keep a bounded recent window)."""
        self._fed_history = True
        cfg = h.model.config
        rates = {"eda": cfg.eda_fs, "ppg": cfg.ppg_fs, "ecg": cfg.ecg_fs}
        start = h.t0 - h.seconds
        todo = []
        for (role, mod), key in self.slot_keys.items():
            fs = rates.get(mod)
            if fs is None:
                continue
            decided = self.acq.slot(key).rate().rate  # the rate the live samples will use
            fs = decided if decided > 0 else fs
            got = self.acq.slot(key).buffer.read_since(0)
            first = float(got.ts[0]) if len(got) else h.t0
            todo.append((role, mod, float(fs), int(round((first - start) * fs))))
        self._grid_next = float(np.ceil(start))
        for c0 in np.arange(0.0, h.seconds + chunk_s, chunk_s):
            for role, mod, fs, n in todo:
                a, b = int(round(c0 * fs)), min(n, int(round((c0 + chunk_s) * fs)))
                if b <= a:
                    continue
                x = h.model.render(role, mod, a, b - a)
                t = start + np.arange(a, b) / fs
                if mod == "eda":
                    self.persons[role].push_eda(t, x, fs)
                else:
                    self.persons[role].push_cardiac(t, x, fs, mod)
            now = start + min(c0 + chunk_s, h.seconds)
            persons = {r: p.snapshot(now) for r, p in self.persons.items()}
            self._grid_step(persons, now - GRID_DELAY_S, list(self.people))

    # -- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            c0 = time.thread_time()
            try:
                res: object = run_job(job, self.config.dyad)
            except Exception as exc:  # filed as an error line, the test as not run
                log.exception("group test failed")
                res = exc
            self.worker_cpu_s += time.thread_time() - c0
            with self._done_lock:
                self._done.append((job, res))

    # -- the tick ---------------------------------------------------------------------------
    def _check_pair(self, pair: tuple[str, str]) -> tuple[str, str]:
        a, b = pair
        if a == b or a not in self.people or b not in self.people:
            raise ValueError(f"{a}-{b} is not a pair of {', '.join(self.people)}")
        return a, b

    def _pair(self) -> tuple[str, str]:
        return self.pair

    def _group_tick(self, errors: list[str]) -> GroupMetrics:
        """File finished tests, hand out the due ones, snapshot the group (EDA, with the HR
        matrix as its ``hr``)."""
        with self._done_lock:
            done, self._done = self._done, []
        for job, res in done:
            if isinstance(res, Exception):
                errors.append(f"group test: {type(res).__name__}: {res}")
                res = _not_run(job)
            self._matrix(job).take(job, res)
        for group in (self.group, self.group_hr):
            for job in group.due_jobs():
                if self.inline_tests:
                    group.take(job, run_job(job, self.config.dyad))
                else:
                    self._jobs.put(job)
        return replace(self.group.snapshot(), hr=self.group_hr.snapshot())

    def _matrix(self, job: GroupJob) -> LiveGroup:
        """The matrix a job belongs to."""
        return self.group_hr if job.signal is GroupSignal.HR else self.group

    def _dyad_tick(self, persons: dict[str, PersonMetrics | None]):
        if self._want_pair is not None:
            self._switch_pair(self._want_pair)
        lasts = {
            r: p.eda_last_t
            for r, p in persons.items()
            if p is not None and np.isfinite(p.eda_last_t)
        }
        if len(lasts) >= 2:
            newest = max(lasts.values())
            live = [r for r, t in lasts.items() if t >= newest - DROP_S]
            if len(live) >= 2:
                self._grid_step(persons, min(lasts[r] for r in live) - GRID_DELAY_S, live)
        if self._refresher is not None:  # the selected pair's 10-s refresh, as the dyad's
            self._refresher.step(self.dyad)
        return self.dyad.snapshot() if self._grid_pushed else None

    def _grid_step(self, persons, end: float, live: list[str]) -> None:
        """Push the grid samples up to ``end`` for everyone (missing where no data)."""
        if self._grid_next is None:
            self._grid_next = float(np.ceil(end - 2.0))
        n = int(np.floor((end - self._grid_next) * GRID_FS)) + 1
        if n <= 0:
            return
        tg = self._grid_next + np.arange(n) / GRID_FS
        hr = {r: self.persons[r].hr_on_grid(tg) for r in live}
        c_last = tuple(persons[r].cardiac_last_t for r in live)
        n = samples_ready(tg, tuple(hr.values()), c_last, end)
        if n <= 0:
            return
        tg = tg[:n]
        eda = np.full((len(self.people), n), np.nan)
        hrm = np.full((len(self.people), n), np.nan)
        for i, r in enumerate(self.people):
            if persons.get(r) is not None:
                eda[i] = self.persons[r].eda_on_grid(tg)
                hrm[i] = hr[r][:n] if r in hr else self.persons[r].hr_on_grid(tg)
        self._grid_next = float(tg[-1] + 1.0 / GRID_FS)
        self.group.push(tg, eda)
        self.group_hr.push(tg, hrm)
        ia, ib = (self.people.index(r) for r in self.pair)
        cols = (eda[ia], eda[ib], hrm[ia], hrm[ib])
        self.dyad.push(tg, *cols)
        self._gaps.add(tg, cols)
        self._grid_pushed = True

    def _switch_pair(self, pair: tuple[str, str]) -> None:
        """A new LiveDyad for ``pair``, fed the grid history held."""
        self._want_pair = None
        if pair == self.pair:
            return
        self.pair = pair
        if self._refresher is not None:
            self._refresher.discard()  # a refresh still running belongs to the old pair
        self.dyad = LiveDyad(self.config.dyad, defer_refresh=self.config.refresh_worker)
        dc = self.config.dyad
        self._gaps = GridGaps(GRID_FS, max(rolling_span_s(dc, "eda"), rolling_span_s(dc, "hr")))
        t0, eda = self.group.session()
        if eda.shape[1] == 0:
            return
        hrm = self.group_hr.session()[1]  # pushed with the EDA: same length and cap
        n = min(eda.shape[1], hrm.shape[1])
        eda, hrm = eda[:, eda.shape[1] - n :], hrm[:, hrm.shape[1] - n :]
        tg = self._grid_next - (n - np.arange(n)) / GRID_FS
        ia, ib = (self.people.index(r) for r in pair)
        cols = (eda[ia], eda[ib], hrm[ia], hrm[ib])
        self.dyad.push(tg, *cols)
        self._gaps.add(tg, cols)

    def _missing(self) -> dict[str, float]:
        """Seconds missing per person of the selected pair (keys "name/eda", "name/hr")."""
        base = super()._missing()
        a, b = self.pair
        names = {"patient": a, "clinician": b}
        return {f"{names[k.split('/')[0]]}/{k.split('/')[1]}": v for k, v in base.items()}

    # -- metrics outlet ---------------------------------------------------------------------
    def _metric_channels(self) -> list[tuple[str, str]]:
        return group_metric_channels(self.people)

    def _metric_values(self, snap: EngineSnapshot) -> dict[str, float]:
        return group_metric_values(snap)


def _not_run(job: GroupJob):
    """The result filed for a test that failed: not run."""
    return (NO_LEAD_TEST, None) if job.kind is JobKind.PAIR else (None, None)


_PAIR_METRICS = [
    ("ci_rolling", "ln ratio"),
    ("p", "p"),
    ("p_holm", "p"),
    ("coupled", "bool"),
    ("lag_s", "s"),
    ("paused", "bool"),
]
#: The same pair's HR cell (``pair_A_B_hr_*``): the HR matrix's CI, raw coupling p, Holm p
#: (on the larger of the coupling and best-lag CI p), claim and pause.
_PAIR_HR_METRICS = [
    ("ci_rolling", "ln ratio"),
    ("p", "p"),
    ("p_holm", "p"),
    ("coupled", "bool"),
    ("paused", "bool"),
]


def group_metric_channels(people: Sequence[str]) -> list[tuple[str, str]]:
    """(label, unit) of the ``Attunement-Metrics`` channels of a group: every person's, the
    selected pair's dyad channels (``dyad_*``), every pair's (``pair_A_B_*``, its HR cell
    ``pair_A_B_hr_*``) and the group index (``group_mean_ci``, ``group_mean_ci_p``,
    ``group_above_chance``)."""
    out = []
    for role in people:
        for name, unit in _PERSON_METRICS:
            out.append((f"{role}_{name.replace('_last_t', '_input_t')}", unit))
    out += [(f"dyad_{name}", unit) for name, unit in _DYAD_METRICS]
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            out += [(f"pair_{a}_{b}_{name}", unit) for name, unit in _PAIR_METRICS]
            out += [(f"pair_{a}_{b}_hr_{name}", unit) for name, unit in _PAIR_HR_METRICS]
    out += [("group_mean_ci", "ln ratio"), ("group_mean_ci_p", "p"), ("group_above_chance", "bool")]
    return out


def group_metric_values(snap: EngineSnapshot) -> dict[str, float]:
    """Values of :func:`group_metric_channels` from one snapshot (NaN when unknown)."""
    out = metric_values(snap)
    g = snap.group
    if g is None:
        return out
    for pc in g.pairs:
        for name, _ in _PAIR_METRICS:
            out[f"pair_{pc.a}_{pc.b}_{name}"] = _num(getattr(pc, name))
    for pc in g.hr.pairs if g.hr is not None else ():
        for name, _ in _PAIR_HR_METRICS:
            out[f"pair_{pc.a}_{pc.b}_hr_{name}"] = _num(getattr(pc, name))
    t = g.index.mean_ci
    out["group_mean_ci"] = _num(t.observed if t is not None else math.nan)
    out["group_mean_ci_p"] = _num(t.p_value if t is not None else math.nan)
    out["group_above_chance"] = float(g.index.above_chance)
    return out
