"""Soak: a working day of simulated signals through the live objects, as fast as possible.

Each 1 s tick does the engine's per-tick work (:meth:`app.engine.Engine.tick` without its
thread and wall clock): 1 s of PPG (128 Hz) and EDA (32 Hz) per person into
:class:`dsp.person.LivePerson`, both snapshots, the new 4 Hz grid samples into
:class:`dsp.concordance.LiveDyad` and its snapshot, an :class:`app.engine.EngineSnapshot`
published through a real LSL :class:`devices.metrics_outlet.MetricsOutlet`, and the chunk
written to an XDF file by the recorder's :class:`devices.xdf_writer.XdfWriter` (flushed as the
recorder flushes after each poll). The signals are
one simulated hour (seeded) played again and again with continuous timestamps, so the source
itself does not grow.

Per simulated hour: RSS (MB) at its end and the tick's thread-CPU median / p95 (ms).
Targets (issue 19): RSS growth after the first 15 min <= 10 MB over 8 h; tick cost at hour 8
within 10 % of hour 1.

Run: ``LSLAPICFG=resources/lsl_local.cfg .venv/bin/python benchmarks/bench_soak.py [--hours 8]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench_tick import grid_push  # noqa: E402  (the engine's grid step, one copy)

os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))


def rss_mb() -> float:
    """Resident set size of this process (MB, from /proc)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


_SNAP: list = []


def _trace(k: int) -> None:
    """With --trace: the allocations that grew most since the 15-min mark (tracemalloc)."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start(5)
    snap = tracemalloc.take_snapshot()
    if not _SNAP:
        _SNAP.append(snap)
        return
    print(f"-- growth since 15 min, at {k / 60:.0f} min:")
    for st in snap.compare_to(_SNAP[0], "traceback")[:6]:
        print(f"   {st.size_diff / 1e6:+.2f} MB  {st.traceback.format()[-1].strip()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    import numpy as np

    from app.engine import EngineConfig, EngineSnapshot, metric_channels, metric_values
    from devices.metrics_outlet import MetricsOutlet
    from devices.xdf_writer import XdfWriter
    from dsp.concordance import LiveDyad
    from dsp.person import LivePerson
    from dsp.simulate import DyadSimConfig, simulate_dyad
    from tests.xdf_sim import header_xml

    hour = simulate_dyad(DyadSimConfig(duration_s=3600.0, seed=args.seed, coupling=0.6))
    recs = [hour.patient, hour.clinician]
    cfg = EngineConfig()
    people = [LivePerson(cfg.person) for _ in recs]
    dyad = LiveDyad(cfg.dyad)
    outlet = MetricsOutlet(metric_channels(), source_id=f"soak-{os.getpid()}", name="Soak")
    tmp = Path(tempfile.mkdtemp(prefix="bench_soak_"))
    writer = XdfWriter(tmp / "soak.xdf", overwrite=True, flush_interval=0.0)
    sids = []
    for role, r in zip(("patient", "clinician"), recs, strict=True):
        for mod, fs in (("PPG", r.ppg_fs), ("EDA", r.eda_fs)):
            name = f"Soak-{role}-{mod}"
            sids.append(writer.add_stream(header_xml(name, mod, "float32", [mod], "", fs, name)))
    grid_next: float | None = None
    n_ticks = int(args.hours * 3600)
    cpu: list[float] = []
    rss: list[tuple[float, float]] = []
    t_wall = time.perf_counter()
    print(f"soak: {args.hours:g} h simulated, 1 s ticks; RSS {rss_mb():.1f} MB at start")
    print(f"{'hour':>5}{'RSS MB':>9}{'tick median ms':>16}{'p95 ms':>9}{'wall s':>9}")
    for k in range(n_ticks):
        c0 = time.thread_time()
        kk = k % 3600
        for j, (lp, r) in enumerate(zip(people, recs, strict=True)):
            for mod, x, fs in (("ppg", r.ppg, r.ppg_fs), ("eda", r.eda, r.eda_fs)):
                a, b = int(kk * fs), int((kk + 1) * fs)
                t = (k * fs + np.arange(b - a)) / fs
                if mod == "ppg":
                    lp.push_cardiac(t, x[a:b], fs, "ppg")
                else:
                    lp.push_eda(t, x[a:b], fs)
                writer.write_samples(sids[2 * j + (mod == "eda")], x[a:b, None], t)
        now = k + 1.0
        snaps = [lp.snapshot(now) for lp in people]
        grid_next, ready = grid_push(people, dyad, snaps, grid_next)
        dm = dyad.snapshot() if ready else None
        snap = EngineSnapshot(
            t=now, seq=k, persons=MappingProxyType(dict(zip(("patient", "clinician"), snaps,
                                                            strict=True))),
            dyad=dm, health=MappingProxyType({}), channels=MappingProxyType({}),
            tick_cost_s=0.0, errors=(), preroll_s=0.0,
        )  # fmt: skip
        outlet.push(metric_values(snap), now)
        writer.maybe_flush()  # as the recorder does after each poll
        cpu.append(time.thread_time() - c0)
        if (k + 1) % 900 == 0:
            rss.append(((k + 1) / 3600.0, rss_mb()))
            if args.trace:
                _trace(k + 1)
        if (k + 1) % 3600 == 0:
            h = (k + 1) // 3600
            a = np.asarray(cpu[-3600:]) * 1000
            print(f"{h:>5}{rss[-1][1]:>9.1f}{np.median(a):>16.2f}{np.percentile(a, 95):>9.2f}"
                  f"{time.perf_counter() - t_wall:>9.0f}", flush=True)  # fmt: skip
    writer.close()
    outlet.close()
    if len(rss) >= 2:
        base = rss[0][1]
        print(f"RSS growth after the first 15 min: {rss[-1][1] - base:+.1f} MB over "
              f"{rss[-1][0] - rss[0][0]:.2f} h  [target <= 10 MB over 8 h]")  # fmt: skip
    if len(cpu) >= 2 * 3600:
        h1 = np.median(cpu[:3600])
        hl = np.median(cpu[-3600:])
        print(f"tick median, last hour vs hour 1: {hl * 1000:.2f} vs {h1 * 1000:.2f} ms "
              f"({100 * (hl / h1 - 1):+.0f} %)  [target within 10 %]")  # fmt: skip
    print(f"load avg {os.getloadavg()[0]:.2f} (a busy machine inflates tick times); files in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
