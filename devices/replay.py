"""Replay an XDF recording as live LSL outlets (demos, tests, the console's replay source).

Each recorded stream is re-published with its original name, type, source_id, channel format
and ``<desc>`` (channel labels, units, manufacturer...), so role assignment and the live
console treat it like the original device. Marker (string) streams are replayed too.

Timing: sample times come from the loaded file (clock-synchronised and dejittered by default,
see :func:`devices.xdf_reader.load_recording`). The earliest sample of all replayed streams is
mapped to the LSL ``local_clock()`` at :meth:`Replay.start` (plus ``lead_s``); every sample is
pushed when its time has come and stamped with

``t_push = t_start + (t_file - t_file0 + cycle * period) / speed``

so relative timing is preserved (scaled by ``1/speed``). With ``loop`` the recording restarts
after ``period`` = file span + one sample interval, timestamps continuing to increase.

One thread pushes all outlets; it wakes every ``tick`` s while samples are due (longer when the
next sample is far away), so CPU use stays bounded regardless of sample rates.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.xdf_reader import XdfReadError, XdfRecording, XdfStream, load_recording


@dataclass(frozen=True)
class ReplayedStream:
    """A stream being replayed.

    Attributes
    ----------
    name, type, source_id, channel_format : str
        As recorded (and as published).
    n_channels : int
        Channels per sample.
    nominal_srate : float
        Hz (0 = irregular).
    n_samples : int
        Samples per cycle.
    """

    name: str
    type: str
    source_id: str
    channel_format: str
    n_channels: int
    nominal_srate: float
    n_samples: int


def _copy_children(src: ET.Element, dst: Any) -> None:
    """Copy an ElementTree subtree into a pylsl XMLElement (recursively)."""
    for child in src:
        if len(child):
            _copy_children(child, dst.append_child(child.tag))
        else:
            dst.append_child_value(child.tag, (child.text or "").strip())


def stream_info_for(stream: XdfStream) -> Any:
    """A ``pylsl.StreamInfo`` reproducing a recorded stream's header (with its ``<desc>``)."""
    import pylsl

    info = pylsl.StreamInfo(
        stream.name or "Replay",
        stream.type,
        stream.n_channels,
        stream.nominal_srate,
        stream.channel_format,
        stream.source_id,
    )
    try:
        root = ET.fromstring(stream.header_xml.encode("utf-8")) if stream.header_xml else None
    except ET.ParseError:
        root = None
    desc = root.find("desc") if root is not None else None
    if desc is not None:
        _copy_children(desc, info.desc())
    return info


class Replay:
    """Publish the streams of an XDF file as LSL outlets in real time (or faster/slower).

    Parameters
    ----------
    source : str, Path or XdfRecording
        The file (loaded with :func:`load_recording`) or an already loaded recording.
    speed : float
        Playback speed factor (> 0); 2 = twice as fast.
    loop : bool
        Start over at the end, forever (until :meth:`stop`).
    streams : sequence of str, optional
        Globs on name, type or source_id selecting the streams (default: all).
    tick : float
        Push granularity, s (samples are pushed up to ``tick`` late, stamped on time).
    lead_s : float
        Delay between :meth:`start` and the first sample, s (lets inlets connect first).
    wait_consumers_s : float
        Before the first sample, wait up to this long until every outlet has a consumer (a
        recorder started first then records the replay from its very first sample); the
        clock starts when they are there or the time is up. 0: do not wait.
    skip_empty : bool
        Do not publish streams without samples.
    on_error : callable, optional
        Called with the exception if the replay thread fails.

    Raises
    ------
    XdfReadError
        The file cannot be read, or no stream with samples matches ``streams``.
    ValueError
        Bad ``speed`` or ``tick``.
    """

    def __init__(
        self,
        source: str | Path | XdfRecording,
        *,
        speed: float = 1.0,
        loop: bool = False,
        streams: Sequence[str] | None = None,
        tick: float = 0.02,
        lead_s: float = 0.0,
        wait_consumers_s: float = 0.0,
        skip_empty: bool = True,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if not tick > 0:
            raise ValueError(f"tick must be > 0, got {tick}")
        rec = source if isinstance(source, XdfRecording) else load_recording(source)
        chosen = [s for s in rec.select(streams) if s.n_samples or not skip_empty]
        if not chosen:
            what = f"matches {list(streams)}" if streams else "has samples"
            names = ", ".join(f"{s.name} [{s.type}]" for s in rec.streams) or "none"
            raise XdfReadError(f"{rec.path}: no stream that {what} (streams: {names})")
        self.recording = rec
        self.speed = float(speed)
        self.loop = bool(loop)
        self.tick = float(tick)
        self.lead_s = float(lead_s)
        self.wait_consumers_s = float(wait_consumers_s)
        self.on_error = on_error
        self.error: BaseException | None = None
        self._streams = chosen
        with_data = [s for s in chosen if s.n_samples]
        self.t_file0 = min((float(s.timestamps[0]) for s in with_data), default=0.0)
        t_last = max((float(s.timestamps[-1]) for s in with_data), default=0.0)
        rates = [s.nominal_srate for s in with_data if s.nominal_srate > 0]
        step = 1.0 / max(rates) if rates else 0.1
        #: File time covered by one cycle, s (span of all streams + one sample interval).
        self.period = (t_last - self.t_file0) + step
        self.t_start: float | None = None
        self._outlets: list[Any] = []
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples_pushed = 0
        self.cycles_done = 0

    @property
    def streams(self) -> tuple[ReplayedStream, ...]:
        """The streams this replay publishes."""
        return tuple(
            ReplayedStream(
                s.name,
                s.type,
                s.source_id,
                s.channel_format,
                s.n_channels,
                s.nominal_srate,
                s.n_samples,
            )
            for s in self._streams
        )

    @property
    def duration(self) -> float:
        """Wall-clock seconds one cycle takes at this speed."""
        return self.period / self.speed

    @property
    def running(self) -> bool:
        """True while the replay thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once everything was pushed (never with ``loop``) or the thread stopped."""
        return self._done.is_set()

    def open(self) -> Replay:
        """Create the outlets now (consumers can connect) without starting the clock."""
        import pylsl

        if not self._outlets:
            self._outlets = [
                pylsl.StreamOutlet(stream_info_for(s), chunk_size=0, max_buffered=360)
                for s in self._streams
            ]
        return self

    def start(self) -> Replay:
        """Create the outlets (unless :meth:`open` did) and start pushing in a thread.

        The first sample is due ``lead_s`` seconds after this call.
        """
        import pylsl

        if self._thread is not None:
            raise RuntimeError("replay already started")
        self.open()
        self.t_start = pylsl.local_clock() + self.lead_s
        self._thread = threading.Thread(target=self._run, name="attune-replay", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the replay has pushed everything (or stopped); return whether it has."""
        return self._done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop pushing and close the outlets. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._outlets = []  # dropping the last reference destroys the liblsl outlets

    def __enter__(self) -> Replay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def position(self) -> float:
        """File time (s since the first sample, within the current cycle) being replayed now."""
        import pylsl

        if self.t_start is None:
            return 0.0
        elapsed = max(0.0, (pylsl.local_clock() - self.t_start) * self.speed)
        return elapsed % self.period if self.loop else min(elapsed, self.period)

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        import pylsl

        assert self.t_start is not None
        if self.wait_consumers_s > 0:
            deadline = time.monotonic() + self.wait_consumers_s
            while not self._stop.is_set() and time.monotonic() < deadline:
                if all(o.have_consumers() for o in self._outlets):
                    break
                self._stop.wait(0.02)
            self.t_start = pylsl.local_clock() + self.lead_s
        rel = [np.asarray(s.timestamps, dtype=float) - self.t_file0 for s in self._streams]
        rows: list[Any] = []
        for s in self._streams:
            if s.is_string:
                rows.append([[str(v) for v in row] for row in s.values])
            else:
                rows.append(np.ascontiguousarray(s.values))
        idx = [0] * len(self._streams)
        cycle = [0] * len(self._streams)
        try:
            while not self._stop.is_set():
                now = pylsl.local_clock()
                file_now = (now - self.t_start) * self.speed
                next_due = np.inf
                active = False
                for k, outlet in enumerate(self._outlets):
                    t = rel[k]
                    n = len(t)
                    if n == 0:
                        continue
                    while True:
                        base = cycle[k] * self.period
                        due = int(np.searchsorted(t, file_now - base, side="right"))
                        if due > idx[k]:
                            i0 = idx[k]
                            stamps = self.t_start + (t[i0:due] + base) / self.speed
                            outlet.push_chunk(rows[k][i0:due], stamps.tolist())
                            self.samples_pushed += due - i0
                            idx[k] = due
                        if idx[k] < n:
                            active = True
                            next_due = min(next_due, t[idx[k]] + base)
                            break
                        if not self.loop:
                            break
                        idx[k] = 0
                        cycle[k] += 1
                        self.cycles_done = max(self.cycles_done, min(cycle))
                if not active:
                    break
                wait = (next_due - file_now) / self.speed
                self._stop.wait(min(max(wait, self.tick), 0.25))
        except BaseException as exc:  # surfaced to the owner, never a silent dead thread
            self.error = exc
            if self.on_error is not None:
                self.on_error(exc)
        finally:
            self._done.set()
