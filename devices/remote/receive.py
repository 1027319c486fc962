"""The clinic's side: admit one patient link, follow its clock, re-publish its streams locally.

The patient's streams reappear as LSL outlets on this machine with their original name, type,
source_id and channels, timestamps mapped onto this machine's LSL clock by
:class:`devices.remote.clock.ClockTracker`, and ``<remote>`` (session, patient site's host) in the
description, so role assignment, recording, replay and concordance work unchanged. A
``ClockOffsets`` stream carries every offset applied (recorded into the session's XDF).

Chunks are pushed strictly in order: a chunk that arrives after a later one (refilled from the
patient's cache after a link drop) is held until the gap is filled or ``hold_s`` has passed; what
never comes is a gap, nothing is interpolated.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from devices.lsl import StreamDescription, local_clock
from devices.profiles import identify
from devices.remote import wire
from devices.remote.clock import ClockEstimate, ClockTracker, clock_minus_wall
from devices.remote.invite import ClinicStore, InviteError
from devices.remote.zconfig import TlsMaterial, client_config

PHYSIO = {"eda", "ppg", "ecg", "ibi"}
LOST_AFTER_S = 2.0  # no probe answer and no data for this long: "remote link lost"


@dataclass
class StreamHealth:
    """Per-stream counters: samples pushed, and of those pushed > 1 s after their time."""

    delivered: int = 0
    late: int = 0


@dataclass
class LinkHealth:
    """What stream health shows for the remote link."""

    state: str = "waiting for the patient"
    patient_host: str = ""
    clock: ClockEstimate | None = None
    streams: dict[str, StreamHealth] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    refilled: int = 0  # messages that arrived after a later one (from the patient's cache)
    skipped: int = 0  # messages given up on after hold_s (a gap in every stream)

    def line(self) -> str:
        c = self.clock
        clock = (
            f"RTT {c.rtt_s * 1e3:.0f} ms, offset {c.offset_s:+.3f} s ± {c.uncertainty_s * 1e3:.0f} ms"
            if c
            else "clock not yet estimated"
        )
        n = sum(s.delivered for s in self.streams.values())
        late = sum(s.late for s in self.streams.values())
        return (
            f"remote: {self.state}; {clock}; {n} samples delivered ({late} late, "
            f"{self.refilled} messages refilled, {self.skipped} lost)"
        )


def is_physiology(s: wire.SharedStream) -> bool:
    """Whether a device profile knows the shared stream as EDA, PPG, ECG or beat intervals."""
    desc = StreamDescription(
        s.name, s.type, s.source_id, s.hostname, s.nominal_srate, s.channel_count,
        s.channel_format, labels=tuple(s.labels), units=tuple(s.units),
    )  # fmt: skip
    if s.type.lower() in ("markers", "metrics", "clockoffsets") or not desc.is_numeric:
        return False
    return bool(set(identify(desc).modalities) & PHYSIO)


class _Ordered:
    """In-order release of the share's numbered messages.

    The first message seen may not be number 0 (a clinic that joins late gets the patient's
    cache from some message on, in any order), so the start is the smallest number seen within
    ``settle_s`` of the first arrival. A missing message is waited for ``hold_s``, then skipped.
    """

    def __init__(self, hold_s: float, settle_s: float = 0.5) -> None:
        self.next: int | None = None
        self.first_at: float | None = None
        self.held: dict[int, tuple[float, object]] = {}
        self.hold_s = hold_s
        self.settle_s = settle_s

    def put(self, seq: int, item: object, now: float, health: LinkHealth) -> bool:
        """Keep ``item`` until it is due; False for a duplicate or one already given up on."""
        if self.first_at is None:
            self.first_at = now
        if (self.next is not None and seq < self.next) or seq in self.held:
            return False
        if self.held and seq < max(self.held):
            health.refilled += 1
        self.held[seq] = (now, item)
        return True

    def due(self, now: float, health: LinkHealth, ready=lambda item: True) -> list:
        """The items now due, in order, up to the first one not ``ready(item)``."""
        if self.next is None:
            if not self.held or now - self.first_at < self.settle_s:
                return []
            self.next = min(self.held)
        out = []
        while True:
            if self.next in self.held:
                if not ready(self.held[self.next][1]):
                    return out
                out.append(self.held.pop(self.next)[1])
                self.next += 1
            elif self.held and now - min(t for t, _ in self.held.values()) > self.hold_s:
                first = min(self.held)
                health.skipped += first - self.next
                self.next = first
            else:
                return out


class ClinicReceiver:
    """Receive one remote session and re-publish it as local LSL streams.

    Parameters
    ----------
    store : ClinicStore
        The clinic's remote folder (certificates, invite state).
    session_id : str
        The invite's session id.
    probe_s : float
        Clock probe period (default 0.5 s).
    hold_s : float
        How long an out-of-order chunk waits for the ones before it (default 5 s).
    clock : callable, optional
        This machine's clock (default the LSL clock); tests give a stepped one.

    Each clock epoch of the patient (its laptop's clock jumped: it slept, or was set) has its
    own :class:`ClockTracker`, and each message is mapped with its epoch's estimate; messages
    wait while their epoch has no estimate yet, or while the current estimate is in doubt (a
    probe outside its bound: a step may be under way).
    """

    def __init__(
        self,
        store: ClinicStore,
        session_id: str,
        probe_s: float = 0.5,
        hold_s: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.state = store.check_usable(session_id)
        self.session_id = session_id
        self.probe_s = probe_s
        self.hold_s = hold_s
        self._clock = clock
        self.trackers: dict[int, ClockTracker] = {0: ClockTracker()}
        self.epoch = 0  # the patient's current clock epoch (from its probe answers)
        self._paused: float | None = None  # the share's paused seconds last reported
        self._ref: float | None = None  # this machine's clock minus its wall clock
        self.health = LinkHealth()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._session = None
        self._patient = ""
        self._outlets: dict[int, object] = {}
        self._order = _Ordered(hold_s)
        self._unknown: set[int] = set()  # stream numbers seen in messages, not yet described
        self._refused_streams: set[int] = set()  # streams the clinic does not re-publish
        self._names: dict[int, str] = {}
        self._srates: dict[int, float] = {}  # nominal rates, to decode the sample grids
        self._clock_outlet = None
        self._querier = None
        self.error = ""

    def clock(self) -> float:
        return self._clock() if self._clock is not None else local_clock()

    @property
    def tracker(self) -> ClockTracker:
        """The clock tracker of the patient's current epoch."""
        return self.trackers[self.epoch]

    @property
    def clock_source_id(self) -> str:
        """The LSL source_id of this session's ``ClockOffsets`` stream (recorded with it)."""
        return f"attune-remote-{self.session_id}"

    def start(self, connect_timeout_s: float = 5.0) -> None:
        """Connect to the relay and wait for the patient in a background thread."""
        import zenoh

        st = self.state
        material = None
        if not st.insecure:
            ca, mine = self.store.ca(), self.store.clinic_pair(self.session_id)
            material = TlsMaterial(
                ca.cert_pem.decode(), mine.cert_pem.decode(), mine.key_pem.decode()
            )
        try:
            self._session = zenoh.open(client_config(st.relay, material, connect_timeout_s))
        except Exception as exc:
            raise InviteError(
                f"cannot reach the relay {st.relay} ({str(exc).split(' at /')[0]})"
            ) from None
        self._session.declare_queryable(wire.key(self.session_id, "admit"), self._on_admit)
        self._thread = threading.Thread(target=self._run, name="attune-remote", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if getattr(self, "_thread", None) is not None:
            self._thread.join(timeout=5)
        if self._session is not None:
            self._session.close()
            self._session = None
        with self._lock:  # the re-published streams end with the link
            self._outlets.clear()
            self._clock_outlet = None
        if self.health.streams and any(s.delivered for s in self.health.streams.values()):
            self.store.save(replace(self.store.load(self.session_id), used=True))

    # ----------------------------------------------------------------- admission
    def _on_admit(self, query) -> None:
        try:
            ask = json.loads(query.payload.to_bytes()) if query.payload else {}
        except ValueError:
            ask = {}
        link, host = str(ask.get("link", "")), str(ask.get("host", ""))
        with self._lock:
            if not link:
                answer = {"ok": False, "why": "malformed request"}
            elif not self._patient or self._patient == link:
                if not self._patient:
                    self._patient = link
                    self.health.patient_host = host
                    self.store.save(replace(self.store.load(self.session_id), patient=link))
                answer = {"ok": True}
            else:
                answer = {
                    "ok": False,
                    "why": "another patient is already connected with this invite",
                }
                msg = f"refused a second patient on this invite (host {host or '?'})"
                if msg not in self.health.refused:
                    self.health.refused.append(msg)
        query.reply(query.key_expr, json.dumps(answer))

    # ----------------------------------------------------------------- loop
    def _run(self) -> None:
        from zenoh import ext

        subscribed = False
        last_ok = time.monotonic()
        lost = False
        last_discover = -1e9
        try:
            while not self._stop.is_set():
                t = time.monotonic()
                self._watch_own_clock()
                patient = self._patient
                if patient and not subscribed:
                    ext.declare_advanced_subscriber(
                        self._session,
                        wire.key(self.session_id, "data", patient),
                        self._on_data,
                        history=ext.HistoryConfig(detect_late_publishers=True, max_age=120.0),
                        recovery=ext.RecoveryConfig(periodic_queries=None, heartbeat=True),
                        subscriber_detection=True,
                    )
                    subscribed = True
                    self.health.state = "connected"
                if patient:
                    if self._probe(patient):
                        last_ok = time.monotonic()
                        if lost:
                            lost = False
                            self._event("remote link back")
                    elif not lost and time.monotonic() - last_ok > LOST_AFTER_S:
                        lost = True
                        self._event("remote link lost")
                    if not self._outlets or (self._unknown and t - last_discover > 1.0):
                        last_discover = t
                        self._discover(patient)
                    with self._lock:
                        self._release()
                self._stop.wait(max(0.0, self.probe_s - (time.monotonic() - t)))
        except Exception as exc:
            self.error = f"remote link stopped: {exc}"

    def _event(self, text: str) -> None:
        self.health.state = text.replace("remote ", "")
        self.health.events.append(f"{time.strftime('%H:%M:%S')} {text}")

    def _watch_own_clock(self) -> None:
        """A jump of this machine's LSL clock (against its wall clock) moves the trackers to the
        new time scale; the next probes confirm it (or the tracker sees the step itself)."""
        ref = clock_minus_wall(self.clock)
        if ref is None:
            return
        if self._ref is not None and abs(ref - self._ref) > 0.05:
            jump = ref - self._ref
            with self._lock:
                for tr in self.trackers.values():
                    tr.shift(jump)
                self.health.clock = self.tracker.estimate
            self._event(f"this machine's clock jumped by {jump:+.3f} s; the patient's samples "
                        "follow it")  # fmt: skip
        self._ref = ref

    def _probe(self, patient: str) -> bool:
        if self._querier is None:  # declared once: each probe then names its key by number
            self._querier = self._session.declare_querier(
                wire.key(self.session_id, "clock", patient), timeout=min(1.0, self.probe_s * 2)
            )
        t0 = self.clock()
        try:
            for reply in self._querier.get():
                if reply.ok is None:
                    continue
                t1 = self.clock()
                tp, epoch, paused = np.frombuffer(reply.ok.payload.to_bytes(), "<f8")[:3]
                self._note_pause(float(paused))
                with self._lock:
                    tracker = self.trackers.setdefault(int(epoch), ClockTracker())
                    n_steps = len(tracker.steps)
                    est = tracker.add(t0, float(tp), t1)
                    new_epoch = int(epoch) != self.epoch
                    old = self.tracker.estimate
                    self.epoch = int(epoch)
                    self.health.clock = est
                if new_epoch and old is not None:
                    jump = est.offset_s - old.offset_at(est.at_s)
                    self._event(f"the patient's laptop clock jumped by {jump:+.3f} s (it slept, "
                                "or was set); samples after it re-timed with new probes")  # fmt: skip
                elif len(tracker.steps) > n_steps:
                    self._event(f"the clock offset to the patient stepped by "
                                f"{tracker.steps[-1]:+.3f} s; re-estimated from the probes after "
                                "it")  # fmt: skip
                self._push_clock(est)
                return True
        except Exception:
            return False
        return False

    def _note_pause(self, paused: float) -> None:
        if self._paused is not None and paused - self._paused > 1.0:
            self._event(f"the patient's laptop was asleep or paused for "
                        f"{paused - self._paused:.1f} s")  # fmt: skip
        self._paused = paused

    def _discover(self, patient: str) -> None:
        try:
            replies = list(
                self._session.get(wire.key(self.session_id, "streams", patient), timeout=1.0)
            )
        except Exception:
            return
        for reply in replies:
            if reply.ok is None:
                continue
            for s in wire.streams_from_json(reply.ok.payload.to_bytes()):
                self._srates[s.index] = s.nominal_srate
                if s.index in self._refused_streams:
                    continue
                if not is_physiology(s):
                    self._refused_streams.add(s.index)
                    msg = (f"refused the patient's stream {s.name!r} (type {s.type}): not an "
                           "EDA, PPG, ECG or beat-interval signal")  # fmt: skip
                    self.health.refused.append(msg)
                    continue
                if s.index not in self._outlets:
                    outlet = self._make_outlet(s)
                    with self._lock:
                        self._outlets[s.index] = outlet
                        self._unknown.discard(s.index)
                        self._names[s.index] = s.name
                        self.health.streams.setdefault(s.name, StreamHealth())

    def _make_outlet(self, s: wire.SharedStream):
        import pylsl

        info = pylsl.StreamInfo(s.name, s.type, s.channel_count, s.nominal_srate,
                                "double64" if s.channel_format == "double64" else "float32",
                                s.source_id)  # fmt: skip
        desc = info.desc()
        chans = desc.append_child("channels")
        for label, unit in zip(s.labels, s.units, strict=False):
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", unit)
            ch.append_child_value("type", s.type)
        remote = desc.append_child("remote")
        remote.append_child_value("session", self.session_id)
        remote.append_child_value("site_host", s.hostname or self.health.patient_host)
        remote.append_child_value("clock", "patient samples mapped to this machine's LSL clock")
        return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)

    def _push_clock(self, est: ClockEstimate) -> None:
        import pylsl

        if self._clock_outlet is None:
            info = pylsl.StreamInfo(f"AttuneRemoteClock-{self.session_id[:8]}", "ClockOffsets", 4,
                                    0.0, "double64", self.clock_source_id)  # fmt: skip
            chans = info.desc().append_child("channels")
            for label, unit in (
                ("offset", "s"),
                ("drift", "ppm"),
                ("uncertainty", "s"),
                ("rtt", "s"),
            ):
                ch = chans.append_child("channel")
                ch.append_child_value("label", label)
                ch.append_child_value("unit", unit)
            self._clock_outlet = pylsl.StreamOutlet(info)
        self._clock_outlet.push_sample(
            [est.offset_s, est.drift * 1e6, est.uncertainty_s, est.rtt_s], est.at_s
        )

    def _on_data(self, sample) -> None:
        data = sample.payload.to_bytes()
        try:
            seq, epoch, layout = wire.message_layout(data)
        except ValueError:
            return
        with self._lock:
            if self._order.put(seq, (epoch, data), time.monotonic(), self.health):
                self._unknown |= {i for i, _ in layout} - set(self._outlets)
            self._release()

    def _release(self) -> None:
        """Push every message now due (called with the lock held).

        Nothing is released before the clock is estimated and every stream in the held messages
        is described (its outlet exists): until then the messages wait, in order.
        """
        if self._unknown - self._refused_streams:
            return
        now = self.clock()

        def ready(item) -> bool:
            tracker = self.trackers.get(item[0])
            if tracker is None or tracker.estimate is None:
                return item[0] < self.epoch  # an epoch before this clinic joined, else wait
            return not (item[0] == self.epoch and tracker.suspect)

        for epoch, data in self._order.due(time.monotonic(), self.health, ready):
            tracker = self.trackers.get(epoch)
            if tracker is None or tracker.estimate is None:
                self.health.skipped += 1  # from an epoch before this clinic joined: no mapping
                continue
            est = tracker.estimate
            _, chunks = wire.message_decode(data, self._srates)
            for c in chunks:
                if c.index in self._refused_streams:
                    continue  # never re-published here
                ts = est.to_clinic(c.timestamps)
                self._outlets[c.index].push_chunk(c.values.tolist(), ts.tolist())
                health = self.health.streams[self._names[c.index]]
                health.delivered += len(ts)
                health.late += int(np.sum(now - ts > 1.0))
