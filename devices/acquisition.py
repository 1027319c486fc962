"""The acquisition thread: one thread owns every LSL inlet and fills the ring buffers.

liblsl objects are not meant to be driven from many Python threads, so a single thread opens,
pulls (``timeout=0`` every ``poll_s``), time-corrects and re-opens all inlets; everybody else
reads the ring buffers. Inlets are created with ``recover=False`` so that a vanished outlet is
*seen* (state ``lost``) and then looked for again by its identity (source_id, or
name+type+host) with a non-blocking continuous resolver; when it reappears the slot goes
``reconnecting`` -> ``connected`` without restarting anything.

Health states are :class:`devices.health.HealthState`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from devices.clocks import RateDecision, StreamClock
from devices.health import HealthState, StreamHealth
from devices.lsl import StreamDescription, channel_labels_from_xml, describe
from devices.profiles import StreamProfile, identify
from devices.ringbuffer import RingBuffer, StringRingBuffer

log = logging.getLogger(__name__)


_TWINS = (
    "identical devices (same name, type, source_id and host) were both away; the one that "
    "returned cannot be told apart, so it is not reconnected: restart the session (or give "
    "the devices different names or hosts)"
)
_ARRIVAL_BUCKET_S = 0.25
_ARRIVAL_BUCKETS = 32  # 8 s of arrival history for the effective rate over 5 s


class StreamSlot:
    """One stream the acquisition follows: its description, buffer and health counters.

    Readers use ``buffer`` (thread-safe) and ``health()``; everything else belongs to the
    acquisition thread.
    """

    def __init__(
        self, key: str, desc: StreamDescription, info, buffer_s: float, channel: int | None
    ) -> None:
        self.key = key
        self.desc = desc
        self._info = info
        self.channel = channel
        self.info_xml = ""
        rate = desc.nominal_srate if desc.nominal_srate > 0 else 50.0
        capacity = max(int(buffer_s * rate), 1024)
        if desc.is_numeric:
            self.buffer: RingBuffer | StringRingBuffer = RingBuffer(capacity, desc.channel_count)
        else:
            self.buffer = StringRingBuffer(capacity, desc.channel_count)
        self.clock_offsets: deque[tuple[float, float]] = deque(maxlen=100_000)
        self.offset = 0.0
        self.profile: StreamProfile = identify(desc, desc_xml=desc.desc_xml)
        self.clock = StreamClock(desc.nominal_srate, events=self.profile.events)
        self._offset_pending: float | None = None
        self.state = HealthState.WAITING
        self.message = ""
        self.reconnects = 0
        self._inlet = None
        self._last_arrival = -np.inf
        self._last_offset_time = -np.inf
        # arrivals in 0.25 s buckets [start, samples, end] (monotonic s): bounded and cheap
        # to summarise whatever the chunk rate
        self._arrivals: deque[list] = deque(maxlen=_ARRIVAL_BUCKETS)
        self._lock = threading.Lock()
        if channel is not None and not (0 <= channel < desc.channel_count):
            self.state = HealthState.UNUSABLE
            self.message = f"channel {channel} does not exist ({desc.channel_count} channels)"
        if channel is not None and not desc.is_numeric:
            self.state = HealthState.UNUSABLE
            self.message = f"{desc.channel_format} stream where numbers are expected"

    # -- passthroughs used by the recorder -----------------------------------------------
    @property
    def name(self) -> str:
        return self.desc.name

    @property
    def type(self) -> str:
        return self.desc.type

    @property
    def source_id(self) -> str:
        return self.desc.source_id

    @property
    def channel_format(self) -> str:
        return self.desc.channel_format

    @property
    def n_channels(self) -> int:
        return self.desc.channel_count

    @property
    def nominal_srate(self) -> float:
        return self.desc.nominal_srate

    @property
    def written(self) -> int:
        return self.buffer.written

    @property
    def identity(self) -> tuple:
        """How this stream is found again after it was lost (see ``StreamDescription``)."""
        if self.profile.stable_source_id:
            return self.desc.identity
        return self.desc.identity_without_source_id

    @property
    def searching(self) -> bool:
        """Looked for by identity: added without a StreamInfo, or lost (see ``identity``)."""
        return self._inlet is None and self._info is None and self.state is not HealthState.UNUSABLE

    def rate(self) -> RateDecision:
        """The sampling rate the DSP should use (see :class:`devices.clocks.StreamClock`)."""
        return self.clock.decision()

    def notes(self) -> tuple[str, ...]:
        """Standing facts about this stream's clock and rate (for stream health)."""
        out = [self.clock.note, self.rate().note]
        return tuple(n for n in out if n)

    def health(self, now: float | None = None) -> StreamHealth:
        """Current health (safe to call from any thread)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            arrivals = [tuple(b) for b in self._arrivals]
            state, message = self.state, self.message
            last = self._last_arrival
        age = now - last if np.isfinite(last) else np.inf
        if state == HealthState.CONNECTED:
            rate = self.desc.nominal_srate
            limit = max(2.0 / rate, 1.0) if rate > 0 else np.inf
            if age > limit:
                state = HealthState.STALE
                message = f"no data for {age:.1f} s"
        recent = [b for b in arrivals if b[0] >= now - 5.0]
        eff = np.nan
        if len(recent) >= 2 and recent[-1][2] - recent[0][2] > 1.0:
            # samples that arrived after the first bucket closed, over the time they took
            eff = sum(b[1] for b in recent[1:]) / (recent[-1][2] - recent[0][2])
        nonfinite, flat = 0.0, False
        if self.desc.is_numeric and self.channel is not None and state != HealthState.UNUSABLE:
            rate = self.desc.nominal_srate if self.desc.nominal_srate > 0 else 10.0
            recent_values = self.buffer.latest(max(int(2 * rate), 2)).values
            if len(recent_values):
                col = recent_values[:, self.channel]
                last_s = col[-max(int(rate), 1) :]
                nonfinite = float(np.mean(~np.isfinite(last_s)))
                fin = col[np.isfinite(col)]
                flat = len(col) >= 2 * rate and len(fin) > 1 and float(np.ptp(fin)) == 0.0
        return StreamHealth(
            key=self.key,
            state=state,
            effective_rate=float(eff),
            last_sample_age=float(age),
            samples=self.buffer.written,
            nonfinite_fraction=nonfinite,
            flat=bool(flat),
            reconnects=self.reconnects,
            message=message,
            notes=self.notes(),
        )

    def _set(self, state: HealthState, message: str = "") -> None:
        with self._lock:
            self.state, self.message = state, message


class Acquisition:
    """Owns all inlets in one thread and fills per-stream ring buffers.

    Parameters
    ----------
    buffer_s : float
        Seconds of data each ring buffer holds (x nominal rate; irregular streams: x 50).
    poll_s : float
        Pause between pull rounds (s); every round pulls every inlet with ``timeout=0``.
    offset_every_s : float
        How often ``time_correction`` is refreshed per inlet (s).
    on_error : callable, optional
        Called with the exception if the thread dies (it also stays in ``error``).
    """

    def __init__(
        self,
        buffer_s: float = 300.0,
        poll_s: float = 0.015,
        offset_every_s: float = 5.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.buffer_s = buffer_s
        self.poll_s = poll_s
        self.offset_every_s = offset_every_s
        self.on_error = on_error
        self.error: BaseException | None = None
        self._slots: dict[str, StreamSlot] = {}
        self._pending: deque[StreamSlot] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resolver = None
        self._last_resolve = -np.inf
        self._slots_lock = threading.Lock()

    # -- public API -----------------------------------------------------------------------
    @property
    def slots(self) -> list[StreamSlot]:
        with self._slots_lock:
            return list(self._slots.values())

    def slot(self, key: str) -> StreamSlot:
        with self._slots_lock:
            return self._slots[key]

    def add(
        self, desc: StreamDescription, info=None, key: str | None = None, channel: int | None = None
    ) -> StreamSlot:
        """Follow a stream; ``info`` is the pylsl.StreamInfo it was resolved with (optional).

        ``channel`` is the channel the app uses (for health checks); None for record-only.
        Without ``info`` the stream is looked for by identity like a lost one. Without
        ``key`` the key is ``name|type|source_id``, with ``#2``, ``#3``... appended for
        identical devices (same name, type and source_id; only their uids differ).
        """
        with self._slots_lock:
            if key is None:
                base = key = f"{desc.name}|{desc.type}|{desc.source_id}"
                n = 1
                while key in self._slots:
                    n += 1
                    key = f"{base}#{n}"
            if key in self._slots:
                raise ValueError(f"stream {key!r} is already followed")
            slot = StreamSlot(key, desc, info, self.buffer_s, channel)
            self._slots[key] = slot
        if slot.state != HealthState.UNUSABLE:
            if info is None:
                slot._set(HealthState.WAITING, "looking for the stream")
            self._pending.append(slot)
        return slot

    def health(self) -> dict[str, StreamHealth]:
        now = time.monotonic()
        return {s.key: s.health(now) for s in self.slots}

    def start(self) -> Acquisition:
        if self._thread is not None:
            raise RuntimeError("acquisition already started")
        self._thread = threading.Thread(target=self._run, name="attune-acquisition", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Acquisition:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        import pylsl

        try:
            while not self._stop.is_set():
                while self._pending:
                    self._open(self._pending.popleft(), pylsl)
                t0 = time.monotonic()
                for slot in self.slots:
                    if slot._inlet is not None:
                        self._pull(slot, pylsl)
                self._look_for_lost(pylsl)
                spent = time.monotonic() - t0
                self._stop.wait(max(self.poll_s - spent, 0.001))
        except BaseException as exc:  # surfaced to the app, never a silent dead thread
            self.error = exc
            log.exception("acquisition thread failed")
            if self.on_error is not None:
                self.on_error(exc)
        finally:
            for slot in self.slots:
                self._close(slot)
            self._resolver = None

    def _open(self, slot: StreamSlot, pylsl) -> None:
        if slot._info is None:
            return  # found later by _look_for_lost
        try:
            inlet = pylsl.StreamInlet(slot._info, max_buflen=360, recover=False)
            # the full info (with <desc>) is needed for recording and channel labels; a short
            # wait here only delays pulls, liblsl keeps buffering every inlet meanwhile
            full = inlet.info(timeout=2.0)
            inlet.open_stream(timeout=2.0)
        except Exception as exc:  # pylsl.util.TimeoutError, LostError
            slot._set(HealthState.LOST, f"could not open: {exc}")
            slot._info = None
            return
        xml = full.as_xml()
        slot.info_xml = xml
        if not slot.desc.labels:
            labels, units = channel_labels_from_xml(xml, slot.desc.channel_count)
            d = describe(full)
            slot.desc = StreamDescription(
                **{**d.__dict__, "labels": labels, "units": units, "desc_xml": xml}
            )
            slot.profile = identify(slot.desc, desc_xml=xml)
            slot.clock.events = slot.profile.events
        slot._inlet = inlet
        slot._last_offset_time = -np.inf
        if slot.state in (HealthState.LOST, HealthState.RECONNECTING):
            slot._set(HealthState.RECONNECTING, "found again, waiting for data")
        else:
            slot._set(HealthState.WAITING, "connected, waiting for data")

    def _close(self, slot: StreamSlot) -> None:
        inlet, slot._inlet = slot._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # closing a lost inlet may raise; nothing to save
                pass

    def _pull(self, slot: StreamSlot, pylsl) -> None:
        inlet = slot._inlet
        now = time.monotonic()
        try:
            if now - slot._last_offset_time >= self.offset_every_s:
                slot._last_offset_time = now
                try:
                    slot.offset = inlet.time_correction(timeout=0.0)
                    slot._offset_pending = pylsl.local_clock()
                except pylsl.util.TimeoutError:
                    slot._last_offset_time = now - self.offset_every_s + 0.2  # retry soon
            while True:
                values, ts = inlet.pull_chunk(timeout=0.0, max_samples=4096, as_numpy=True)
                n = len(ts)
                if n == 0:
                    break
                raw = np.asarray(ts, dtype=float)
                slot.clock.observe(raw, slot.offset, pylsl.local_clock())
                shift = slot.offset + slot.clock.anchor
                if isinstance(slot.buffer, RingBuffer):
                    slot.buffer.append(np.asarray(values, dtype=float), raw, raw + shift)
                else:
                    rows = [[v.decode("utf-8", "replace") for v in row] for row in values]
                    slot.buffer.append(rows, raw, raw + shift)
                with slot._lock:
                    slot._last_arrival = time.monotonic()
                    t_arr = slot._last_arrival
                    if slot._arrivals and t_arr - slot._arrivals[-1][0] < _ARRIVAL_BUCKET_S:
                        slot._arrivals[-1][1] += n
                        slot._arrivals[-1][2] = t_arr
                    else:
                        slot._arrivals.append([t_arr, n, t_arr])
                    if slot.state in (
                        HealthState.WAITING,
                        HealthState.RECONNECTING,
                        HealthState.LOST,
                    ):
                        if slot.state == HealthState.RECONNECTING:
                            slot.reconnects += 1
                        slot.state, slot.message = HealthState.CONNECTED, ""
                if n < 4096:
                    break
            # offsets are recorded once the clock is known (a re-anchored one includes the
            # anchor), so a recording maps every stream onto this machine's LSL clock
            if slot._offset_pending is not None and slot.clock.decided:
                shift = slot.offset + slot.clock.anchor
                slot.clock_offsets.append((slot._offset_pending, shift))
                slot._offset_pending = None
        except pylsl.util.LostError:
            self._close(slot)
            slot._info = None
            slot._set(HealthState.LOST, "the outlet disappeared; looking for it again")

    def _look_for_lost(self, pylsl) -> None:
        lost = [
            s for s in self.slots if s._inlet is None and s.state not in (HealthState.UNUSABLE,)
        ]
        if not lost:
            return
        now = time.monotonic()
        if self._resolver is None:
            self._resolver = pylsl.ContinuousResolver(forget_after=2.0)
        if now - self._last_resolve < 0.5:
            return
        self._last_resolve = now
        # a uid another slot is reading is never taken: two identical devices (same name,
        # type, source_id and host) cannot swap roles when one of them drops out and returns
        held = {s.desc.uid for s in self.slots if s._inlet is not None}
        found: dict[tuple, list] = {}
        for i in self._resolver.results():
            if i.uid() not in held:
                d = describe(i)
                found.setdefault(d.identity, []).append(i)
                found.setdefault(d.identity_without_source_id, []).append(i)
        # two assigned slots looking for the same identity (identical devices on one host,
        # both away): a returning device could be either one, so neither is guessed
        assigned = [s.identity for s in lost if s.channel is not None]
        twins = {i for i in assigned if assigned.count(i) > 1}
        for slot in lost:
            ident = slot.identity
            if ident in twins:
                if found.get(ident) and not slot.message.startswith("identical"):
                    slot._set(slot.state, _TWINS)
                continue
            info = next((i for i in found.get(ident, []) if i.uid() not in held), None)
            if info is not None and (not slot._info or info.uid() != slot.desc.uid):
                held.add(info.uid())
                slot._info = info
                slot.desc = StreamDescription(
                    **{**slot.desc.__dict__, "uid": info.uid(), "hostname": info.hostname()}
                )
                if slot.state == HealthState.LOST:
                    slot._set(HealthState.RECONNECTING, "found again, opening")
                self._open(slot, pylsl)
