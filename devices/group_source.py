"""Publishes a simulated group of 2-8 people (:mod:`dsp.simulate_group`) as LSL outlets.

Per person an EDA stream (type ``EDA``, µS) and a PPG stream (type ``PPG``, a.u.), plus ECG
(type ``ECG``, mV) when ``config.ecg_fs`` is set, named ``<prefix>-<name>-EDA`` /
``-PPG`` / ``-ECG`` (source_id ``<prefix>-<name>-eda`` ...), in real time from a thread with
the timing of :class:`devices.source.SimulatorSource` (sample ``i`` at LSL time
``t0 + i / fs``).
"""

from __future__ import annotations

import threading

import numpy as np

from devices.lsl import make_outlet
from devices.source import SimulatorSource
from dsp.simulate_group import GroupModel, GroupSimConfig

__all__ = ["GroupSimulatorSource", "group_stream_names"]


def group_stream_names(
    people: tuple[str, ...], prefix: str = "AttuneSim"
) -> dict[tuple[str, str], tuple[str, str]]:
    """(name, modality) -> (stream name, source_id) of a simulated group."""
    return {
        (name, mod): (f"{prefix}-{name}-{mod.upper()}", f"{prefix}-{name}-{mod}")
        for name in people
        for mod in ("eda", "ppg", "ecg")
    }


class GroupSimulatorSource(SimulatorSource):
    """A simulated group published as LSL outlets (see the module docstring).

    Parameters
    ----------
    config : GroupSimConfig
        The group (``duration_s`` is ignored; ``duration`` below ends it).
    prefix : str
        Stream name / source_id prefix.
    duration : float or None
        Stop publishing after this many seconds (None: until ``stop``).
    chunk_s : float
        Push interval (s).
    start_s : float
        Simulator time (s) of the first published sample (the group demo's simulated
        history is what came before).
    """

    def __init__(  # the dyad's __init__ would build a DyadModel: set the same fields here
        self,
        config: GroupSimConfig,
        prefix: str = "AttuneSim",
        duration: float | None = None,
        chunk_s: float = 0.02,
        start_s: float = 0.0,
    ) -> None:
        self.config = config  # type: ignore[assignment]
        self.start_s = float(start_s)
        self._t0_wanted = None
        self.prefix = prefix
        self.duration = duration
        self.chunk_s = chunk_s
        pairs = ", ".join(
            f"{c.leader}-{c.follower} {c.coupling:g} (lag {c.lag_s:g} s)" for c in config.couplings
        )
        self.description = (
            f"simulated group of {len(config.people)} (seed {config.seed}; "
            f"coupled: {pairs or 'none'})"
        )
        self.model = GroupModel(config)  # type: ignore[assignment]
        self.t0 = None
        self.error = None
        self._stop = threading.Event()
        self._thread = None
        self._outlets = {}

    def mute(self, name: str) -> None:
        """Stop sending ``name``'s samples from now on (outlets stay open): a device that
        dropped, for tests and the demo."""
        if name not in self.config.people:
            raise ValueError(f"{name!r} is not one of {', '.join(self.config.people)}")
        self.muted = self.muted | {name}

    def _make_outlets(self) -> None:
        cfg: GroupSimConfig = self.config  # type: ignore[assignment]
        rates = {"eda": cfg.eda_fs, "ppg": cfg.ppg_fs, "ecg": cfg.ecg_fs}
        units = {"eda": "microsiemens", "ppg": "a.u.", "ecg": "millivolts"}
        for (name, mod), (stream, sid) in group_stream_names(cfg.people, self.prefix).items():
            fs = rates[mod]
            if fs is None:
                continue
            outlet = make_outlet(
                stream, mod.upper(), sid, fs, [mod.upper()], units[mod], manufacturer="AttuneSim"
            )
            first = int(np.ceil(self.start_s * fs - 1e-9))  # as the dyad simulator
            self._outlets[(name, mod)] = (outlet, float(fs), first)
