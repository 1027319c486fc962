"""The session engine: a DSP thread turning ring-buffer data into frozen metric snapshots.

Every ``tick_s`` the engine reads the samples that arrived since its last tick from each
assigned stream's ring buffer, feeds them to one :class:`dsp.person.LivePerson` per role,
puts both people's EDA and HR on the common 4 Hz grid for :class:`dsp.concordance.LiveDyad`,
and hands one immutable :class:`EngineSnapshot` to every subscriber (headless printer, the Qt
bridge, the metrics outlet). Consumers never touch the buffers.

The demo alone may start with simulated history (:class:`app.preroll.Preroll`): at the first
tick at or after its end time the engine feeds it to the people through the same ``dsp``
code, before any live sample, and every later snapshot says so (``preroll_s``).

Errors in one person's processing are caught per tick and reported in the snapshot
(``errors``); an error that kills the thread is kept in ``error`` and passed to ``on_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from app.dyad_grid import GridGaps, rolling_span_s, samples_ready
from app.dyad_refresh import RefreshRunner
from app.preroll import Preroll
from app.waiting import Wanted
from devices.acquisition import Acquisition
from devices.assign import ROLES, Assignment, Channel
from devices.health import StreamHealth
from devices.intervals import IntervalBeats
from devices.lsl import local_clock
from devices.metrics_outlet import MetricsOutlet
from devices.profiles import ConversionKind
from dsp.concordance import DyadConfig, DyadMetrics, LiveDyad
from dsp.concordance.live_group import GroupMetrics
from dsp.person import LivePerson, PersonConfig, PersonMetrics
from dsp.simulate import DyadModel

log = logging.getLogger(__name__)

GRID_FS = 4.0
GRID_DELAY_S = 1.5  # the dyad grid trails the newest data so both people have arrived


@dataclass(frozen=True)
class EngineConfig:
    """Engine parameters.

    Attributes
    ----------
    tick_s : float
        DSP tick period (s).
    person : PersonConfig
        Per-person rolling-window parameters.
    dyad : DyadConfig
        Concordance parameters.
    publish_metrics : bool
        Publish the ``Attunement-Metrics`` LSL outlet.
    metrics_source_id : str
        source_id of that outlet.
    preroll : Preroll or None
        Simulated history fed before the live data (``attune demo`` only; None otherwise).
    refresh_worker : bool
        Compute the dyad's 10-s refresh (chance baselines, coupling tests, HR coherence) in a
        worker process (:class:`app.dyad_refresh.RefreshRunner`) instead of inside a tick:
        the same numbers, shown from the tick after their instant. False: inline, as the
        offline replay and the golden outputs compute them, at their instant's tick.
    """

    tick_s: float = 1.0
    person: PersonConfig = field(default_factory=PersonConfig)
    dyad: DyadConfig = field(default_factory=DyadConfig)
    publish_metrics: bool = True
    metrics_source_id: str = "attunement-metrics"
    preroll: Preroll | None = None
    refresh_worker: bool = True


@dataclass(frozen=True)
class EngineSnapshot:
    """Everything the app shows at one tick; immutable, safe to hand to any thread.

    Attributes
    ----------
    t : float
        LSL time (s) when the tick ran.
    seq : int
        Tick counter from 0.
    persons : mapping role -> PersonMetrics or None
        None until that person has data.
    dyad : DyadMetrics or None
        None until both people have grid data.
    health : mapping slot key -> StreamHealth
        Every followed stream.
    channels : mapping "role/modality" -> slot key
        Which stream feeds which signal.
    tick_cost_s : float
        CPU time of this tick (s).
    errors : tuple of str
        Problems met in this tick (one line each).
    preroll_s : float
        Seconds of simulated history (demo pre-roll) behind these numbers; 0 for none.
    dyad_missing_s : mapping "role/eda" or "role/hr" -> float
        Seconds each person's EDA / heart rate was missing (or excluded as poor) on the dyad
        grid within the span behind the rolling CI (:func:`app.dyad_grid.rolling_span_s`);
        what a paused meter names. Empty before any grid data.
    waiting : tuple of Wanted
        The people's signals not connected yet, each saying what it waits for
        (:mod:`app.waiting`); empty once every signal is connected.
    notes : tuple of str
        Standing facts about the connected signals (another stream fits one of them too).
    group : GroupMetrics or None
        The pairwise matrix and group index of a session of 3-8 people
        (:class:`app.group_engine.GroupEngine`); None for two people.
    pair : tuple of str or None
        With a group: the pair behind ``dyad`` and the big meter (the first in the patient's
        place); None for two people (patient, clinician).
    """

    t: float
    seq: int
    persons: MappingProxyType
    dyad: DyadMetrics | None
    health: MappingProxyType
    channels: MappingProxyType
    tick_cost_s: float
    errors: tuple[str, ...] = ()
    preroll_s: float = 0.0
    dyad_missing_s: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    waiting: tuple[Wanted, ...] = ()
    notes: tuple[str, ...] = ()
    group: GroupMetrics | None = None
    pair: tuple[str, str] | None = None


@dataclass(frozen=True)
class Trace:
    """Recent samples of one signal for display: corrected LSL times (s) and values."""

    t: np.ndarray
    x: np.ndarray
    fs: float


@dataclass(frozen=True)
class TraceSnapshot:
    """Recent samples of every assigned signal, keyed "role/modality"."""

    t: float
    traces: MappingProxyType


class Engine:
    """DSP thread over an :class:`~devices.acquisition.Acquisition`.

    Parameters
    ----------
    acquisition : Acquisition
        Started or not; the engine reads its slots' buffers.
    assignment : Assignment
        Which stream/channel feeds which (role, modality).
    slot_keys : dict
        ``(role, modality) -> slot key`` in ``acquisition``.
    config : EngineConfig
        Parameters.
    on_error : callable, optional
        Called with the exception if the engine thread dies.
    """

    def __init__(
        self,
        acquisition: Acquisition,
        assignment: Assignment,
        slot_keys: dict[tuple[str, str], str],
        config: EngineConfig | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.acq = acquisition
        self.assignment = assignment
        self.slot_keys = dict(slot_keys)
        self.config = config or EngineConfig()
        self.on_error = on_error
        self.error: BaseException | None = None
        self.persons = {r: self._person(r) for r in ROLES}
        self.dyad = LiveDyad(self.config.dyad, defer_refresh=self.config.refresh_worker)
        self._refresher = RefreshRunner() if self.config.refresh_worker else None
        self._counters = dict.fromkeys(self.slot_keys, 0)
        self._fs_used: dict[tuple[str, str], float] = {}
        self._chains: dict[str, IntervalBeats] = {}
        self._subscribers: list[Callable[[EngineSnapshot], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._grid_next: float | None = None
        dc = self.config.dyad
        self._gaps = GridGaps(GRID_FS, max(rolling_span_s(dc, "eda"), rolling_span_s(dc, "hr")))
        self._grid_pushed = False  # the dyad has had grid samples
        self._seq = 0
        self._last_snapshot: EngineSnapshot | None = None
        self._outlet = None
        self._metric_labels: list[tuple[str, str]] = []
        self._primed = False
        #: What the session still waits for (set by :class:`app.live.StreamFinder`).
        self.waiting: tuple[Wanted, ...] = ()
        self.notes: tuple[str, ...] = ()
        self._attach_lock = threading.Lock()
        self._to_attach: list[tuple[Channel, str]] = []

    # -- public ---------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[EngineSnapshot], None]) -> None:
        """Call ``callback(snapshot)`` from the engine thread after every tick."""
        self._subscribers.append(callback)

    def attach(self, channel: Channel, key: str) -> None:
        """Feed ``channel`` from the acquisition slot ``key`` from the next tick on (any thread).

        A signal whose stream appeared after the session started (start in any order); a
        (role, modality) already fed is left as it is. With a demo pre-roll already fed, the
        signal's simulated history is fed first.
        """
        with self._attach_lock:
            self._to_attach.append((channel, key))

    @property
    def last_snapshot(self) -> EngineSnapshot | None:
        return self._last_snapshot

    def start(self) -> Engine:
        if self.config.publish_metrics:
            self._metric_labels = self._metric_channels()
            self._outlet = MetricsOutlet(
                self._metric_labels, source_id=self.config.metrics_source_id
            )
        self._thread = threading.Thread(target=self._run, name="attune-dsp", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._outlet = None
        if self._refresher is not None:
            self._refresher.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def traces(self, window_s: float) -> TraceSnapshot:
        """Copies of the last ``window_s`` seconds of every assigned signal (any thread)."""
        now = local_clock()
        out = {}
        for (role, mod), key in self.slot_keys.items():
            slot = self.acq.slot(key)
            fs = slot.rate().rate
            n = int(window_s * fs) + 1 if fs > 0 else 4096
            chunk = slot.buffer.latest(n)
            x = self._values(role, mod, chunk.values) if len(chunk) else np.empty(0)
            out[f"{role}/{mod}"] = Trace(chunk.ts, x, fs)
        return TraceSnapshot(now, MappingProxyType(out))

    # -- the thread -----------------------------------------------------------------------
    def _values(self, role: str, modality: str, values: np.ndarray) -> np.ndarray:
        """The assigned channel of ``values``, converted by the device profile (EDA -> µS)."""
        c = self.assignment.get(role, modality)
        x = values[:, c.channel if c is not None else 0]
        return c.conversion.apply(x) if c is not None else x

    def _run(self) -> None:
        next_tick = time.monotonic() + self.config.tick_s
        try:
            while not self._stop.wait(max(next_tick - time.monotonic(), 0.0)):
                next_tick += self.config.tick_s
                if next_tick < time.monotonic():  # fell behind (suspended machine): resync
                    next_tick = time.monotonic() + self.config.tick_s
                snap = self.tick()
                for cb in list(self._subscribers):
                    try:
                        cb(snap)
                    except Exception:
                        log.exception("snapshot subscriber failed")
        except BaseException as exc:
            self.error = exc
            log.exception("engine thread failed")
            if self.on_error is not None:
                self.on_error(exc)

    def tick(self) -> EngineSnapshot:
        """Run one DSP tick now (the thread calls this; tests and benchmarks may too)."""
        c0 = time.thread_time()
        errors: list[str] = []
        self._take_attached(errors)
        pre = self.config.preroll
        if pre is not None and not self._primed and local_clock() >= pre.end_t:
            self._prime(pre, errors)
        for (role, mod), key in self.slot_keys.items():
            self._feed(role, mod, key, errors)
        now = local_clock()
        persons: dict[str, PersonMetrics | None] = {}
        for role, person in self.persons.items():
            try:
                persons[role] = person.snapshot(now)
            except Exception as exc:
                persons[role] = None
                errors.append(f"{role}: {type(exc).__name__}: {exc}")
        dyad = None
        try:
            dyad = self._dyad_tick(persons)
        except Exception as exc:
            errors.append(f"dyad: {type(exc).__name__}: {exc}")
        group = self._group_tick(errors)
        health = self.acq.health()
        snap = EngineSnapshot(
            t=now,
            seq=self._seq,
            persons=MappingProxyType(persons),
            dyad=dyad,
            health=MappingProxyType(health),
            channels=MappingProxyType({f"{r}/{m}": k for (r, m), k in self.slot_keys.items()}),
            tick_cost_s=time.thread_time() - c0,
            errors=tuple(errors),
            # the history is behind the numbers once a signal carries it
            preroll_s=pre.seconds if pre is not None and self._primed and self.slot_keys else 0.0,
            dyad_missing_s=MappingProxyType(self._missing()),
            waiting=self.waiting,
            notes=self.notes,
            group=group,
            pair=self._pair(),
        )
        self._seq += 1
        self._last_snapshot = snap
        if self._outlet is not None:
            self._outlet.push(self._metric_values(snap), local_clock())
        return snap

    # -- what a group engine adds (app.group_engine); nothing for two people ---------------
    def _group_tick(self, errors: list[str]) -> GroupMetrics | None:
        """The group's metrics at this tick (None for two people)."""
        return None

    def _pair(self) -> tuple[str, str] | None:
        """The pair behind the dyad (None for two people: patient, clinician)."""
        return None

    def _metric_channels(self) -> list[tuple[str, str]]:
        return metric_channels()

    def _metric_values(self, snap: EngineSnapshot) -> dict[str, float]:
        return metric_values(snap)

    def _take_attached(self, errors: list[str]) -> None:
        """Signals attached since the last tick join the assignment (DSP thread only)."""
        with self._attach_lock:
            new, self._to_attach = self._to_attach, []
        for channel, key in new:
            rm = (channel.role, channel.modality)
            if rm in self.slot_keys:
                continue
            # replaced, never mutated: other threads iterate the old objects safely
            self.assignment = Assignment(
                (*self.assignment.channels, channel), people=self.assignment.people
            )
            self.slot_keys = {**self.slot_keys, rm: key}
            self._counters[rm] = 0
            pre = self.config.preroll
            if self._primed and pre is not None and pre.rate(channel.modality) is not None:
                self._prime_signal(pre, DyadModel(pre.sim), *rm, errors)

    def _feed(self, role: str, mod: str, key: str, errors: list[str]) -> None:
        """Push what arrived on one assigned stream into its person."""
        slot = self.acq.slot(key)
        if mod == "ibi":
            self._feed_intervals(role, key, errors)
            return
        decision = slot.rate()
        fs = decision.rate
        if fs <= 0:
            return  # no declared rate: wait until the timestamps have told it
        used = self._fs_used.setdefault((role, mod), fs)
        if used != fs:  # the measured rate replaced a wrong declared one: start the person over
            self._restart(role)
            self._fs_used[(role, mod)] = fs
            errors.append(f"{role} {mod}: {decision.note}; restarted from the buffered data")
        chunk = slot.buffer.read_since(self._counters[(role, mod)])
        self._counters[(role, mod)] = chunk.stop
        if chunk.lost:
            errors.append(f"{role} {mod}: {chunk.lost} samples overwritten before processing")
        if not len(chunk):
            return
        x = self._values(role, mod, chunk.values)
        try:
            if mod == "eda":
                self.persons[role].push_eda(chunk.ts, x, fs)
            else:
                self.persons[role].push_cardiac(chunk.ts, x, fs, mod)
        except Exception as exc:
            errors.append(f"{role} {mod}: {type(exc).__name__}: {exc}")

    def _feed_intervals(self, role: str, key: str, errors: list[str]) -> None:
        """Beats from an IBI/RR stream (one sample per beat) into the person."""
        chunk = self.acq.slot(key).buffer.read_since(self._counters[(role, "ibi")])
        self._counters[(role, "ibi")] = chunk.stop
        if not len(chunk):
            return
        chain = self._chains.setdefault(role, IntervalBeats())
        beats = chain.push(chunk.ts, self._values(role, "ibi", chunk.values))
        try:
            self.persons[role].push_beats(beats)
        except Exception as exc:
            errors.append(f"{role} ibi: {type(exc).__name__}: {exc}")

    def _person(self, role: str) -> LivePerson:
        """A new LivePerson; its EDA flat-line rule knows the sensor's quantisation step
        when the device profile converts ADC codes (as ``attune analyze`` does)."""
        p = LivePerson(self.config.person)
        c = self.assignment.get(role, "eda")
        conv = c.conversion if c is not None else None
        if conv is not None and conv.kind is ConversionKind.ADC_TO_US:
            p.eda_step_us = float(conv.vcc / conv.gain / 2**conv.bits)
        return p

    def _restart(self, role: str) -> None:
        """A new LivePerson for ``role``, re-fed from the oldest buffered samples."""
        self.persons[role] = self._person(role)
        self._chains.pop(role, None)
        for r, m in self._counters:
            if r == role:
                self._counters[(r, m)] = 0
                self._fs_used.pop((r, m), None)
        if self._primed and self.config.preroll is not None:  # the history precedes the buffer
            self._prime_role(self.config.preroll, DyadModel(self.config.preroll.sim), role, [])

    def _prime(self, pre: Preroll, errors: list[str]) -> None:
        """Feed the demo's simulated history to both people; the dyad grid starts with it."""
        self._primed = True
        model = DyadModel(pre.sim)
        for role in ROLES:
            self._prime_role(pre, model, role, errors)
        self._grid_next = float(np.ceil(pre.end_t - pre.seconds))  # whole second, as offline

    def _prime_role(self, pre: Preroll, model: DyadModel, role: str, errors: list[str]) -> None:
        for r, mod in self.slot_keys:
            if r == role and pre.rate(mod) is not None:
                self._prime_signal(pre, model, role, mod, errors)

    def _prime_signal(
        self, pre: Preroll, model: DyadModel, role: str, mod: str, errors: list[str]
    ) -> None:
        """Feed one signal's simulated history (before any of its live samples)."""
        t, x, fs = pre.history(model, role, mod)
        c = self.assignment.get(role, mod)
        x = c.conversion.apply(x) if c is not None else x
        try:
            if mod == "eda":
                self.persons[role].push_eda(t, x, fs)
            else:
                self.persons[role].push_cardiac(t, x, fs, mod)
        except Exception as exc:
            errors.append(f"{role} {mod} pre-roll: {type(exc).__name__}: {exc}")

    def _dyad_tick(self, persons: dict[str, PersonMetrics | None]) -> DyadMetrics | None:
        lasts = [p.eda_last_t for p in persons.values() if p is not None]
        if len(lasts) < 2 or not all(np.isfinite(lasts)):
            if self._refresher is not None:
                self._refresher.step(self.dyad)
            return self.dyad.snapshot() if self._grid_pushed else None
        end = min(lasts) - GRID_DELAY_S
        if self._grid_next is None:
            # a whole second of the clock, as offline: the 1 s slope steps fall on the same instants
            self._grid_next = float(np.ceil(end - 2.0))
        n = int(np.floor((end - self._grid_next) * GRID_FS)) + 1
        if n > 0:
            tg = self._grid_next + np.arange(n) / GRID_FS
            p, c = self.persons["patient"], self.persons["clinician"]
            hr = (p.hr_on_grid(tg), c.hr_on_grid(tg))
            c_last = tuple(persons[r].cardiac_last_t for r in ("patient", "clinician"))
            restart = (p.cardiac_restart_t, c.cardiac_restart_t)
            n = samples_ready(tg, hr, c_last, end, restart)  # wait for beats not committed yet
            if n > 0:
                tg = tg[:n]
                cols = (p.eda_on_grid(tg), c.eda_on_grid(tg), hr[0][:n], hr[1][:n])
                self._grid_next = float(tg[-1] + 1.0 / GRID_FS)
                self.dyad.push(tg, *cols)
                self._gaps.add(tg, cols)
                self._grid_pushed = True
        if self._refresher is not None:
            self._refresher.step(self.dyad)
        return self.dyad.snapshot()

    def _missing(self) -> dict[str, float]:
        """Seconds missing per person and signal behind each rolling CI (EngineSnapshot)."""
        out = {}
        for sig in ("eda", "hr"):
            gone = self._gaps.missing_s(rolling_span_s(self.config.dyad, sig))
            out |= {k: v for k, v in gone.items() if k.endswith("/" + sig)}
        return out


# ----------------------------------------------------------------------- metrics channels

_PERSON_METRICS = [
    ("hr_bpm", "bpm"),
    ("rmssd_ms", "ms"),
    ("ln_rmssd", "ln(ms)"),
    ("coherence_ratio", "ratio"),
    ("scl_us", "microsiemens"),
    ("scr_per_min", "1/min"),
    ("cardiac_last_t", "s"),
    ("eda_last_t", "s"),
]
_DYAD_METRICS = [
    ("slope_r", "r"),
    ("ci_rolling", "ln ratio"),
    ("percentile", "percent"),
    ("wcc_peak_r", "r"),
    ("wcc_lag_s", "s"),
    ("hr_wcc_peak_r", "r"),
    ("hr_wcc_lag_s", "s"),
    ("highlight", "bool"),
    ("coupling_p", "p"),
    ("hr_ci_rolling", "ln ratio"),
    ("hr_percentile", "percent"),
    ("hr_highlight", "bool"),
    ("hr_coupling_p", "p"),
    ("lead_lag_s", "s"),
    ("lead_p", "p"),
    ("hr_lead_lag_s", "s"),
    ("hr_lead_p", "p"),
    ("hr_coherence_lf", "coherence"),
    ("hr_coherence_lf_chance", "coherence"),
    ("hr_coherence_lf_pct", "percent"),
    ("hr_coherence_lf_highlight", "bool"),
    ("hr_coherence_hf", "coherence"),
    ("hr_coherence_hf_chance", "coherence"),
    ("hr_coherence_hf_pct", "percent"),
    ("hr_coherence_hf_highlight", "bool"),
]


def metric_channels() -> list[tuple[str, str]]:
    """(label, unit) of every ``Attunement-Metrics`` channel.

    ``*_last_t`` channels hold the newest input timestamp (LSL clock) the tick used; renamed
    ``*_input_t`` in the stream.
    """
    out = []
    for role in ROLES:
        for name, unit in _PERSON_METRICS:
            out.append((f"{role}_{name.replace('_last_t', '_input_t')}", unit))
    for name, unit in _DYAD_METRICS:
        out.append((f"dyad_{name}", unit))
    return out


def metric_values(snap: EngineSnapshot) -> dict[str, float]:
    """Values of :func:`metric_channels` from one snapshot (NaN when unknown)."""
    out: dict[str, float] = {}
    for role, pm in snap.persons.items():
        if pm is None:
            continue
        for name, _ in _PERSON_METRICS:
            out[f"{role}_{name.replace('_last_t', '_input_t')}"] = _num(getattr(pm, name, None))
    if snap.dyad is not None:
        d = snap.dyad
        for name, _ in _DYAD_METRICS:
            out[f"dyad_{name}"] = _num(getattr(d, name, None))
        # the tested leads: a lag only when a leader is named (else NaN), always the p; the
        # coupling p behind the highlight (NaN before its test can run)
        for pre, lead in (("", d.lead), ("hr_", d.hr_lead)):
            out[f"dyad_{pre}lead_lag_s"] = _num(lead.lag_s)
            out[f"dyad_{pre}lead_p"] = _num(lead.p)
            out[f"dyad_{pre}coupling_p"] = _num(lead.p_strength)
    return out


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def health_line(h: StreamHealth) -> str:
    """Compact health text: state, effective rate and flags."""
    rate = f"{h.effective_rate:.0f}Hz" if np.isfinite(h.effective_rate) else "--Hz"
    flags = ("," + ",".join(h.flags)) if h.flags else ""
    return f"{h.state}/{rate}{flags}"
