"""The patient's side: share the local wearables' LSL streams with one clinic over the relay.

Only the streams chosen (those the device profiles recognise as physiology, or the ones named)
leave the machine, as ~100 ms chunks with their timestamps; no markers, notes, audio or video.
All streams go out in one message per tick from one zenoh publisher with a cache of ``cache_s``
seconds, so a clinic that
lost the link gets the missed chunks back when it returns. The clinic's probes are answered with
this laptop's LSL clock. The share first asks the clinic to admit it: an invite admits one
patient link once; a revoked, used or expired invite stops the share with the clinic's reason.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from devices.lsl import StreamDescription, local_clock
from devices.remote import wire
from devices.remote.clock import clock_minus_wall
from devices.remote.invite import Invite, InviteError
from devices.remote.zconfig import TlsMaterial, client_config


class ShareError(RuntimeError):
    """The share cannot go on (relay unreachable, refused by the clinic): one line."""


@dataclass
class ShareStatus:
    """What the patient is told (one terminal line or a small window)."""

    admitted: bool = False
    refused: str = ""
    connected: bool = False
    samples: dict[str, int] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # one line each: a pause, a clock jump

    def line(self, clinic: str) -> str:
        names = ", ".join(f"{n} ({k} samples)" for n, k in self.samples.items()) or "nothing yet"
        if self.refused:
            return f"stopped: {self.refused}"
        link = "connected" if self.connected else "relay unreachable, retrying"
        who = f"with {clinic}" if self.admitted else f"waiting for {clinic} to join"
        last = f" ({self.events[-1]})" if self.events else ""
        return f"sharing {names} {who} [{link}]{last} - Ctrl-C stops"


class PatientShare:
    """Publish the chosen local LSL streams for one remote session.

    Parameters
    ----------
    invite : Invite
        From the clinic (``attune invite``).
    streams : sequence of (StreamDescription, pylsl.StreamInfo)
        The local streams to share (numeric ones only).
    chunk_s : float
        Publication period (default 0.1 s).
    cache_s : float
        Seconds of chunks each publisher keeps for a clinic that lost the link (default 90).
    clock : callable, optional
        This laptop's clock (default the LSL clock). Tests give a skewed one to play a second
        machine: sample stamps and probe answers both go through it.
    """

    def __init__(
        self,
        invite: Invite,
        streams: Sequence[tuple[StreamDescription, object]],
        chunk_s: float = 0.1,
        cache_s: float = 90.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        invite.check_not_expired()
        self.invite = invite
        self.streams = [(d, i) for d, i in streams if d.is_numeric]
        if not self.streams:
            raise ShareError("no numeric stream to share")
        self.chunk_s = chunk_s
        self._srates = {n: d.nominal_srate for n, (d, _) in enumerate(self.streams)}
        self.cache_samples = int(np.ceil(cache_s / chunk_s)) + 10
        self._clock = clock
        self.status = ShareStatus(samples={d.name: 0 for d, _ in self.streams})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = None
        self._corrections: dict[int, tuple[float, float]] = {}
        self.link_id = ""
        self.error: str = ""
        self.sent_bytes = 0  # data payload handed to zenoh (before its framing and TLS)
        self.sent_messages = 0
        self.probes_answered = 0
        self.epoch = 0  # steps of this laptop's clock seen (see wire.message_encode)
        self.paused_s = 0.0  # seconds this share was stopped (laptop asleep, process paused)

    def clock(self) -> float:
        return self._clock() if self._clock is not None else local_clock()

    def _skew(self) -> float:
        """This laptop's clock minus the LSL clock (0 unless a test gave a skewed clock),
        read between two reads of the LSL clock: a thread descheduled between the two clocks'
        reads (milliseconds on a loaded machine) would otherwise shift every sample of the
        tick by that much, outside the clinic's stated bound."""
        if self._clock is None:
            return 0.0
        best = None
        for _ in range(5):
            c1 = local_clock()
            v = self._clock()
            c2 = local_clock()
            if best is None or c2 - c1 < best[0]:
                best = (c2 - c1, v - 0.5 * (c1 + c2))
            if c2 - c1 < 2e-4:
                break
        return best[1]

    # ----------------------------------------------------------------- lifecycle
    def start(self, connect_timeout_s: float = 5.0) -> None:
        """Connect to the relay and start publishing; :class:`ShareError` if unreachable."""
        import zenoh
        from zenoh import ext

        inv = self.invite
        material = None if inv.insecure else TlsMaterial(inv.ca_pem, inv.cert_pem, inv.key_pem)
        try:
            self._session = zenoh.open(client_config(inv.relay, material, connect_timeout_s))
        except Exception as exc:  # zenoh raises ZError with a long Rust message
            raise ShareError(f"cannot reach the relay {inv.relay} ({_short(exc)})") from None
        self.link_id = str(self._session.zid())
        self.status.connected = True
        sid, me = inv.session_id, self.link_id
        self._session.declare_queryable(wire.key(sid, "clock", me), self._on_clock)
        self._session.declare_queryable(wire.key(sid, "streams", me), self._on_streams)
        self._publisher = ext.declare_advanced_publisher(
            self._session,
            wire.key(sid, "data", me),
            cache=ext.CacheConfig(self.cache_samples),
            sample_miss_detection=ext.MissDetectionConfig(heartbeat=1.0, sporadic_heartbeat=None),
            publisher_detection=True,
        )
        import pylsl

        self._inlets = [pylsl.StreamInlet(i, max_buflen=120, recover=True) for _, i in self.streams]
        for inlet in self._inlets:
            inlet.open_stream(timeout=5.0)
        self._thread = threading.Thread(target=self._run, name="attune-share", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._session is not None:
            self._session.close()
            self._session = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ----------------------------------------------------------------- queryables
    def _on_clock(self, query) -> None:
        self.probes_answered += 1
        answer = np.array([self.clock(), self.epoch, self.paused_s], "<f8")
        query.reply(query.key_expr, answer.tobytes())

    def _on_streams(self, query) -> None:
        query.reply(query.key_expr, wire.streams_to_json(self.shared()))

    def shared(self) -> list[wire.SharedStream]:
        out = []
        for n, (d, _) in enumerate(self.streams):
            labels = d.labels or tuple(f"ch{k}" for k in range(d.channel_count))
            units = d.units or ("",) * d.channel_count
            out.append(
                wire.SharedStream(
                    n, d.name, d.type, d.source_id, d.hostname, d.nominal_srate,
                    d.channel_count, d.channel_format, tuple(labels), tuple(units),
                )
            )  # fmt: skip
        return out

    # ----------------------------------------------------------------- loop
    def _ask_admission(self) -> None:
        payload = json.dumps({"link": self.link_id, "host": socket.gethostname()})
        try:
            replies = self._session.get(
                wire.key(self.invite.session_id, "admit"), payload=payload, timeout=1.0
            )
            for reply in replies:
                if reply.ok is None:
                    continue
                answer = json.loads(reply.ok.payload.to_bytes())
                if answer.get("ok"):
                    self.status.admitted = True
                else:
                    self.status.refused = str(answer.get("why", "refused by the clinic"))
        except Exception:  # no clinic yet, or the link is down: ask again later
            return

    def _correction(self, n: int) -> float:
        """The inlet's LSL clock correction (source clock -> this laptop), refreshed every 5 s."""
        now = time.monotonic()
        value, when = self._corrections.get(n, (0.0, -1e9))
        if now - when > 5.0:
            try:
                value = self._inlets[n].time_correction(timeout=0.2)
            except Exception:  # liblsl's TimeoutError: keep the last value, try again next time
                pass
            self._corrections[n] = (value, now)
        return value

    def _watch_clock(self, last: tuple[float, float, float]) -> tuple[float, float, float]:
        """Notice a pause of this share and a jump of this laptop's clock since ``last``.

        ``last`` is (monotonic, wall, clock - wall) at the previous tick. A tick that came more
        than 2 s late (the process was stopped, or the laptop slept: its wall clock ran on) is
        a pause; a change of ``clock - wall`` beyond 50 ms (steady clocks stand still while a
        laptop sleeps; a test's injected step) is a jump, and the samples from then on belong
        to a new clock epoch, which the clinic maps with probes answered after the jump.
        """
        mono, wall = time.monotonic(), time.time()
        ref = clock_minus_wall(self.clock)
        if ref is None:  # no tight read on a busy machine: look again next tick
            return last
        if last[0] > 0:
            late = max(mono - last[0], wall - last[1]) - self.chunk_s
            if late > 2.0:
                self.paused_s += late
                self.status.events.append(
                    f"{time.strftime('%H:%M:%S')} this laptop was asleep or paused for "
                    f"{late:.1f} s; sharing goes on"
                )
            jump = ref - last[2]
            if abs(jump) > 0.05:
                self.epoch += 1
                self.status.events.append(
                    f"{time.strftime('%H:%M:%S')} this laptop's clock jumped by {jump:+.3f} s; "
                    "the clinic re-times the samples from here"
                )
        return mono, wall, ref

    def _run(self) -> None:
        seq = 0
        last_ask = -1e9
        last = (0.0, 0.0, 0.0)
        try:
            while not self._stop.is_set():
                t = time.monotonic()
                last = self._watch_clock(last)
                if not self.status.admitted and t - last_ask > 2.0:
                    last_ask = t
                    self._ask_admission()
                    if self.status.refused:
                        self.error = self.status.refused
                        return
                self.status.connected = bool(list(self._session.info.routers_zid()))
                skew = self._skew()
                chunks = []
                for n, inlet in enumerate(self._inlets):
                    values, stamps = inlet.pull_chunk(timeout=0.0, max_samples=4096)
                    if not stamps:
                        continue
                    ts = np.asarray(stamps) + self._correction(n) + skew
                    wide = self.streams[n][0].channel_format in ("double64", "int64", "int32")
                    chunks.append(wire.Chunk(n, ts, np.asarray(values), wide))
                    self.status.samples[self.streams[n][0].name] += len(stamps)
                if chunks:
                    message = wire.message_encode(seq, chunks, self._srates, self.epoch)
                    self._publisher.put(message)
                    self.sent_bytes += len(message)
                    self.sent_messages += 1
                    seq += 1
                self._stop.wait(max(0.0, self.chunk_s - (time.monotonic() - t)))
        except Exception as exc:  # reaches the user through .error
            self.error = f"sharing stopped: {exc}"


def _short(exc: Exception) -> str:
    text = str(exc).split(" at /")[0].split("\n")[0]
    return text[:160]


def check_refusal(share: PatientShare) -> None:
    """Raise :class:`InviteError` when the clinic refused this share."""
    if share.status.refused:
        raise InviteError(share.status.refused)
