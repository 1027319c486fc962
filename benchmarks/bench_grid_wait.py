"""Heart rate lost on the live dyad grid, with and without waiting for committed beats.

Usage: ``python benchmarks/bench_grid_wait.py [--seconds 300] [--seeds 1 2] [--hr 46 50 56 72 120]``

The engine puts both people's heart rate on the 4 Hz dyad grid 1.5 s behind the newest EDA
(:data:`app.engine.GRID_DELAY_S`), in 1 s ticks. A grid sample read before the beat closing
its interval is committed carries a NaN heart rate for good, and one NaN makes the rolling
HR CI invalid (the HR meter "paused") for about a minute. This runs the real live PPG beat
detector (:class:`dsp.person.LivePerson`) on the simulator's 128 Hz PPG in 1 s chunks and
prints, per resting heart rate, the grid values after the first 10 s that were NaN when
pushed: pushing as soon as the EDA allows (the previous engine), and holding back a trailing
NaN run for up to :data:`app.dyad_grid.HR_WAIT_S` (:func:`app.dyad_grid.samples_ready`),
beside the NaN the same grid has once all data are in (true gaps and excluded beats).
"""

from __future__ import annotations

import argparse

import numpy as np

from app.dyad_grid import HR_WAIT_S, samples_ready
from dsp.person import LivePerson
from dsp.simulate import DyadModel, DyadSimConfig, PersonSimConfig

GRID_FS = 4.0
GRID_DELAY_S = 1.5


def lost(hr_bpm: float, seed: int, seconds: float, wait: bool) -> tuple[int, int, int]:
    """(grid values after 10 s, NaN when pushed, NaN with all data) for one patient."""
    base = DyadSimConfig(seed=seed)
    sim = DyadSimConfig(
        seed=seed, duration_s=seconds + 10,
        patient=PersonSimConfig(**{**base.patient.__dict__, "hr_bpm": hr_bpm}),
    )  # fmt: skip
    model, person = DyadModel(sim), LivePerson()
    grid_next, ts, hs = 0.0, [], []
    for k in range(int(seconds)):
        for mod, fs in (("eda", sim.eda_fs), ("ppg", sim.ppg_fs)):
            i0, i1 = int(round(k * fs)), int(round((k + 1) * fs))
            x, t = model.render("patient", mod, i0, i1 - i0), np.arange(i0, i1) / fs
            person.push_eda(t, x, fs) if mod == "eda" else person.push_cardiac(t, x, fs, "ppg")
        end = k + 1.0 - GRID_DELAY_S
        n = int(np.floor((end - grid_next) * GRID_FS)) + 1
        if n <= 0:
            continue
        tg = grid_next + np.arange(n) / GRID_FS
        h = person.hr_on_grid(tg)
        if wait:
            n = samples_ready(tg, (h,), (k + 1.0,), end)
        if n > 0:
            ts.append(tg[:n])
            hs.append(h[:n])
            grid_next = float(tg[n - 1] + 1 / GRID_FS)
    tg, live = np.concatenate(ts), np.concatenate(hs)
    ok = tg > 10.0
    settled = person.hr_on_grid(tg)
    return int(ok.sum()), int(np.isnan(live[ok]).sum()), int(np.isnan(settled[ok]).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--hr", type=float, nargs="+", default=[46.0, 50.0, 56.0, 72.0, 120.0])
    a = ap.parse_args()
    print(f"grid HR values lost when pushed (1 s ticks, grid {GRID_DELAY_S} s behind the EDA)")
    print(f"{'HR bpm':>7} {'seed':>5} {'values':>7} {'no wait':>8} {f'wait {HR_WAIT_S:g} s':>9}"
          f" {'all data':>9}")  # fmt: skip
    for hr in a.hr:
        for seed in a.seeds:
            n, before, settled = lost(hr, seed, a.seconds, wait=False)
            _, after, _ = lost(hr, seed, a.seconds, wait=True)
            print(f"{hr:7.0f} {seed:5d} {n:7d} {before:8d} {after:9d} {settled:9d}")


if __name__ == "__main__":
    main()
