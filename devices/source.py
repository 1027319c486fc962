"""Sources: things that make LSL streams appear (simulator, replay, a child process).

Every input reaches the engine the same way, as LSL streams read by the acquisition thread;
a ``Source`` only decides where those streams come from. Real wearables need no source object
(their own apps publish), the simulator and the replay publish from this process or from a
child process. Demos, tests and live use therefore share one path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from devices.lsl import local_clock, make_outlet
from dsp.simulate import DyadModel, DyadSimConfig


class Source(Protocol):
    """Anything that publishes LSL streams until stopped."""

    description: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


def sim_stream_names(prefix: str = "AttuneSim") -> dict[tuple[str, str], tuple[str, str]]:
    """(role, modality) -> (stream name, source_id) used by the simulator."""
    out = {}
    for role in ("patient", "clinician"):
        for mod in ("eda", "ppg", "ecg"):
            out[(role, mod)] = (f"{prefix}-{role}-{mod.upper()}", f"{prefix}-{role}-{mod}")
    return out


class SimulatorSource:
    """Publishes a simulated dyad as LSL outlets, in real time, from a thread.

    Each person gets an EDA stream (type ``EDA``, µS) and a PPG stream (type ``PPG``, a.u.),
    plus an ECG stream (type ``ECG``, mV) when ``config.ecg_fs`` is set. Sample ``i`` carries
    the LSL timestamp ``t0 + i / fs - start_s``, where ``t0`` is the LSL clock at start (or the
    given ``t0``), so the simulator's time ``i / fs`` maps exactly onto the LSL clock.
    Publishing begins at the simulator's time ``start_s``: a demo that computed the seed's
    first ``start_s`` seconds itself (pre-roll) continues here from the same seed.

    Parameters
    ----------
    config : DyadSimConfig
        The dyad to simulate (``duration_s`` is ignored; ``duration`` below ends it).
    prefix : str
        Stream name / source_id prefix (unique per test run).
    duration : float or None
        Stop publishing after this many seconds (None: until ``stop``).
    chunk_s : float
        Push interval (s).
    start_s : float
        Simulator time (s) of the first published sample (0: from the beginning).
    t0 : float or None
        LSL time (s) of simulator time ``start_s``; publishing waits for it when it lies
        ahead. None: the LSL clock at start.
    """

    #: People (roles) whose outlets stay open but get no more samples: a device that
    #: dropped (:meth:`devices.group_source.GroupSimulatorSource.mute`).
    muted: frozenset[str] = frozenset()

    def __init__(
        self,
        config: DyadSimConfig,
        prefix: str = "AttuneSim",
        duration: float | None = None,
        chunk_s: float = 0.02,
        start_s: float = 0.0,
        t0: float | None = None,
    ) -> None:
        if not (np.isfinite(start_s) and start_s >= 0):
            raise ValueError("start_s must be a finite number of seconds >= 0")
        self.config = config
        self.start_s = float(start_s)
        self._t0_wanted = t0
        self.prefix = prefix
        self.duration = duration
        self.chunk_s = chunk_s
        self.description = f"simulated dyad (seed {config.seed}, coupling {config.coupling})"
        self.model = DyadModel(config)
        self.t0: float | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outlets: dict[tuple[str, str], tuple[object, float, int]] = {}

    def _make_outlets(self) -> None:
        cfg = self.config
        names = sim_stream_names(self.prefix)
        rates = {"eda": cfg.eda_fs, "ppg": cfg.ppg_fs, "ecg": cfg.ecg_fs}
        units = {"eda": "microsiemens", "ppg": "a.u.", "ecg": "millivolts"}
        labels = {"eda": "EDA", "ppg": "PPG", "ecg": "ECG"}
        for (role, mod), (name, sid) in names.items():
            fs = rates[mod]
            if fs is None:
                continue
            outlet = make_outlet(
                name, mod.upper(), sid, fs, [labels[mod]], units[mod], manufacturer="AttuneSim"
            )
            first = int(np.ceil(self.start_s * fs - 1e-9))
            self._outlets[(role, mod)] = (outlet, float(fs), first)

    def start(self) -> None:
        self._make_outlets()
        self._thread = threading.Thread(target=self._run, name="attune-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._outlets.clear()

    def wait(self) -> None:
        """Block until the simulator ends (duration reached or stopped)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    def _run(self) -> None:
        try:
            self.t0 = local_clock() if self._t0_wanted is None else float(self._t0_wanted)
            while not self._stop.is_set() and local_clock() < self.t0:
                self._stop.wait(min(self.t0 - local_clock(), self.chunk_s))
            while not self._stop.is_set():
                elapsed = local_clock() - self.t0
                if self.duration is not None and elapsed >= self.duration:
                    elapsed = self.duration
                for key, (outlet, fs, sent) in list(self._outlets.items()):
                    if key[0] in self.muted:  # a device that dropped: nothing arrives
                        continue
                    due = int((self.start_s + elapsed) * fs)
                    if due > sent:
                        x = self.model.render(key[0], key[1], sent, due - sent)
                        ts = self.t0 - self.start_s + (sent + np.arange(due - sent)) / fs
                        outlet.push_chunk(x[:, None].astype(np.float32), ts.tolist())
                        self._outlets[key] = (outlet, fs, due)
                if self.duration is not None and elapsed >= self.duration:
                    break
                self._stop.wait(self.chunk_s)
        except BaseException as exc:
            self.error = exc
            raise


PARENT_ENV = "ATTUNE_EXIT_WITH_PARENT"


def parent_gone() -> bool:
    """True when this process was started by a :class:`ProcessSource` whose process ended.

    Publishing children poll this so that a killed app never leaves orphan outlets behind.
    """
    want = os.environ.get(PARENT_ENV)
    return bool(want) and str(os.getppid()) != want


def serve_until_stopped(src, stop) -> str | None:
    """Run an in-process simulator source (already started) until ``stop`` is set, its thread
    ends or the parent app is gone (:func:`parent_gone`); stop it; return its error or None."""
    while not stop.is_set() and src._thread is not None and src._thread.is_alive():
        if parent_gone():
            break
        stop.wait(0.2)
    src.stop()
    return src.error


class ProcessSource:
    """Runs a publishing command (e.g. ``attune simulate`` / ``attune replay``) as a child process.

    The child inherits ``LSLAPICFG``; ``stop`` sends SIGINT (clean end), then kills after 5 s.

    Parameters
    ----------
    command : sequence of str
        The full command line (the caller knows the program; ``devices`` does not import
        ``app``). The child sees ``ATTUNE_EXIT_WITH_PARENT`` so it can end with this process.
    description : str
        Words for status lines.
    """

    def __init__(self, command: Sequence[str], description: str) -> None:
        if not command:
            raise ValueError("ProcessSource needs a command")
        self.command = list(command)
        self.description = description
        self.proc: subprocess.Popen | None = None
        self._error: str | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env[PARENT_ENV] = str(os.getpid())
        self.proc = subprocess.Popen(
            self.command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def poll_error(self) -> str | None:
        """The child's error output if it ended with a failure, else None."""
        if self.proc is None or self.proc.poll() is None or self.proc.returncode == 0:
            return None
        if self._error is None:  # the pipe can be read once; later calls repeat the line
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self._error = (err.strip().splitlines() or ["(no message)"])[-1]
        return self._error

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 5.0
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5.0)
