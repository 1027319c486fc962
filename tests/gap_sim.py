"""Test helper: a simulated dyad with dropouts, written as XDF and replayed through the live
objects (used by tests/test_gaps.py and benchmarks/bench_honesty.py).

A dropout is samples the device never delivered: they are missing from the file, and the
timestamps of the samples around them jump by the time lost, as a Bluetooth dropout leaves
them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdf_sim import header_xml

from app.analysis.inputs import channel_signal
from app.dyad_grid import samples_ready
from app.engine import GRID_DELAY_S, GRID_FS
from devices.assign import ROLES
from devices.xdf_reader import load_recording
from devices.xdf_writer import XdfWriter
from dsp.concordance import LiveDyad
from dsp.concordance.live_config import DyadMetrics
from dsp.person import LivePerson


@dataclass(frozen=True)
class Gap:
    """A dropout of ``role``'s ``signal`` ("EDA" or "PPG") from ``t0`` to ``t1`` (s after the
    session start): samples with ``t0 <= t < t1`` are never delivered."""

    role: str
    signal: str
    t0: float
    t1: float


def random_gaps(
    n: int, rng: np.random.Generator, duration_s: float, lo_s: float = 2.0, hi_s: float = 30.0
) -> list[Gap]:
    """``n`` non-overlapping dropouts of ``lo_s``-``hi_s`` s, each in a random person's random
    signal (or both signals), between 60 s and ``duration_s - 60`` s, at least 5 s apart."""
    out: list[Gap] = []
    spans: list[tuple[float, float]] = []
    while len(spans) < n:
        length = float(np.round(rng.uniform(lo_s, hi_s), 2))
        t0 = float(np.round(rng.uniform(60.0, duration_s - 60.0 - length), 2))
        if any(t0 < b + 5.0 and a < t0 + length + 5.0 for a, b in spans):
            continue
        spans.append((t0, t0 + length))
        role = str(rng.choice(ROLES))
        for sig in [["EDA"], ["PPG"], ["EDA", "PPG"]][int(rng.integers(3))]:
            out.append(Gap(role, sig, t0, t0 + length))
    return out


def write_gapped_xdf(path: str | Path, dyad, gaps: Sequence[Gap], t0: float = 1000.0) -> Path:
    """The dyad (:func:`dsp.simulate.simulate_dyad`) as XDF, like ``xdf_sim.write_simulated_xdf``
    (1 s chunks, a clock offset every 5 s), with the samples of ``gaps`` left out."""
    with XdfWriter(path, overwrite=True) as w:
        plan = []
        for role in ROLES:
            pr = getattr(dyad, role)
            for mod, x, fs, unit in (
                ("EDA", pr.eda, pr.eda_fs, "microsiemens"),
                ("PPG", pr.ppg, pr.ppg_fs, "a.u."),
            ):
                name = f"Sim-{role}-{mod}"
                sid = w.add_stream(header_xml(name, mod, "float32", [mod], unit, fs, name))
                t = np.arange(x.size) / fs
                keep = np.ones(x.size, dtype=bool)
                for g in gaps:
                    if (g.role, g.signal) == (role, mod):
                        keep &= (t < g.t0) | (t >= g.t1)
                plan.append((sid, np.asarray(x, dtype=np.float32), t, keep))
        dur = max(t[-1] for _, _, t, _ in plan)
        for s0 in np.arange(0.0, dur, 1.0):
            for sid, x, t, keep in plan:
                sel = keep & (t >= s0) & (t < s0 + 1.0)
                if sel.any():
                    w.write_samples(sid, x[sel, None], t0 + t[sel])
                if int(s0) % 5 == 0:
                    w.write_clock_offset(sid, t0 + s0, 0.0)
    return Path(path)


def live_replay(path: str | Path) -> tuple[DyadMetrics, np.ndarray, np.ndarray, int]:
    """Feed a recording (read back with the reader) to two ``LivePerson`` and a ``LiveDyad`` in
    1 s chunks, with the grid trailing the newest EDA by ``GRID_DELAY_S`` and waiting for
    heart rate not committed yet (``app.dyad_grid.samples_ready``) as ``app.engine`` does. Returns the last snapshot, the grid times pushed, the values pushed ``(4, n)``
    (patient EDA, clinician EDA, patient HR, clinician HR) and how many of them the newest
    lead tests read (the dyad re-runs them every ``surrogate_every_s``)."""
    signals = {}
    for s in load_recording(path).streams:
        if not s.is_string and s.n_samples > 1:
            role = "patient" if "-patient-" in s.name else "clinician"
            signals[(role, s.type.lower())] = channel_signal(s, 0)
    t_first = min(t[0] for _, t, _ in signals.values())
    t_last = max(t[-1] for _, t, _ in signals.values())
    people = {r: LivePerson() for r in ROLES}
    dyad, grid_next, pushed = LiveDyad(), None, []
    for k in range(1, int(math.ceil(t_last - t_first)) + 2):
        for (role, mod), (x, t, fs) in signals.items():
            m = (t >= t_first + k - 1) & (t < t_first + k)
            if not m.any():
                continue
            if mod == "eda":
                people[role].push_eda(t[m], x[m], fs)
            else:
                people[role].push_cardiac(t[m], x[m], fs, mod)
        now = t_first + k
        snaps = [people[r].snapshot(now) for r in ("patient", "clinician")]
        end = min(m.eda_last_t for m in snaps) - GRID_DELAY_S
        if not math.isfinite(end):
            continue
        if grid_next is None:
            grid_next = float(np.ceil(end - 2.0))
        n = int(np.floor((end - grid_next) * GRID_FS)) + 1
        if n > 0:
            tg = grid_next + np.arange(n) / GRID_FS
            p, c = people["patient"], people["clinician"]
            hr = (p.hr_on_grid(tg), c.hr_on_grid(tg))
            last = (snaps[0].cardiac_last_t, snaps[1].cardiac_last_t)
            n = samples_ready(tg, hr, last, end, (p.cardiac_restart_t, c.cardiac_restart_t))
            if n == 0:
                continue
            tg = tg[:n]
            grid_next = float(tg[-1] + 1.0 / GRID_FS)
            v = np.array([p.eda_on_grid(tg), c.eda_on_grid(tg), hr[0][:n], hr[1][:n]])
            dyad.push(tg, *v)
            pushed.append(np.vstack([tg, v]))
    allv = np.hstack(pushed)
    return dyad.snapshot(), allv[0], allv[1:], int(dyad._last_refresh_k or 0)
