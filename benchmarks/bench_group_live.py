"""Live group figures: the engine tick with N people, and live honesty of the pairwise matrix.

``tick``: mirrors :meth:`app.group_engine.GroupEngine.tick` without LSL (as
``bench_tick.py`` does for two people, whose table printer it reuses): per tick every
:class:`dsp.person.LivePerson` gets 1 s of PPG (128 Hz) and EDA (32 Hz) of a simulated group
and is snapshotted, the 4 Hz grid goes to :class:`dsp.concordance.live_group.LiveGroup` and to
the selected pair's :class:`dsp.concordance.LiveDyad`, and the due chance tests go to a worker
thread (as in the engine). After ``--warm`` s (no tests yet; the 10-minute windows full)
``--ticks`` ticks are timed, paced ``--pace`` s apart so the worker runs beside them as
it would (1 s in the app; 0.25 s = 4x real time). Thread CPU of the tick (what
``EngineSnapshot.tick_cost_s`` measures) and the worker's CPU per tick are printed.

``honesty``: independent groups (every pair uncoupled, :mod:`dsp.simulate_group`) fed live, 4
grid samples per tick, tests run at every refresh; a session counts as a false claim when any
pair is ever claimed coupled (family-wise over pairs and over the session's refreshes), and
separately when the group index is ever above chance. Beside it, triads with one pair coupled
0.8: how often that pair is claimed by the end, and the others ever.

Run:  .venv/bin/python benchmarks/bench_group_live.py tick --people 4 8 --ticks 200
      .venv/bin/python benchmarks/bench_group_live.py honesty --sessions 40
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tick import GRID_DELAY_S, GRID_FS, _table  # noqa: E402

from app.dyad_refresh import RefreshRunner  # noqa: E402
from dsp.concordance import DyadConfig, LiveDyad  # noqa: E402
from dsp.concordance.evidence import HighlightRule, HighlightTracker  # noqa: E402
from dsp.concordance.live_group import (  # noqa: E402
    CI_ALPHA,
    GROUP_RULE,
    JobKind,
    LiveGroup,
    run_job,
)
from dsp.person import LivePerson  # noqa: E402
from dsp.simulate_group import (  # noqa: E402
    GroupSimConfig,
    coupling_parse,
    group_grid,
    simulate_group,
)

#: Hold times (s) of the 99th-percentile rule compared (20 s: the live default).
HOLDS_S = (20.0, 40.0, 60.0)
NAMES = ("clinician", "patient", "partner", "child", "E", "F", "G", "H")


def tick_run(n_people: int, warm: int, ticks: int, pace: float, seed: int) -> dict[str, list]:
    """Time ``ticks`` group ticks after ``warm`` s (see the module docstring)."""
    people = NAMES[:n_people]
    rec = simulate_group(
        GroupSimConfig(people=people, duration_s=float(warm + ticks + 5), seed=seed)
    )
    recs = [rec.people[p] for p in people]
    lps = [LivePerson() for _ in people]
    cfg = DyadConfig()
    # the big meter's pair refreshes in the engine's worker process, as in the console
    group, dyad = LiveGroup(people, cfg), LiveDyad(cfg, defer_refresh=True)
    runner = RefreshRunner()
    ia, ib = 1, 0  # the big meter: patient with the clinician
    jobs: queue.Queue = queue.Queue()
    done: list = []
    lock = threading.Lock()
    worker_cpu = [0.0]

    def work() -> None:
        while (job := jobs.get()) is not None:
            c0 = time.thread_time()
            res = run_job(job, cfg)
            worker_cpu[0] += time.thread_time() - c0
            with lock:
                done.append((job, res))

    th = threading.Thread(target=work, daemon=True)
    th.start()
    grid_next = None
    out: dict[str, list] = {k: [] for k in ("cpu", "people_cpu", "group_cpu", "worker_cpu")}
    next_t = time.perf_counter()
    for k in range(warm + ticks):
        timed = k >= warm
        if timed:
            next_t += pace
            time.sleep(max(0.0, next_t - time.perf_counter()))
        w0 = worker_cpu[0]
        c0 = time.thread_time()
        for lp, r in zip(lps, recs, strict=True):
            fc, fe = r.ppg_fs, r.eda_fs
            a, b = int(k * fc), int((k + 1) * fc)
            lp.push_cardiac(np.arange(a, b) / fc, r.ppg[a:b], fc, "ppg")
            a, b = int(k * fe), int((k + 1) * fe)
            lp.push_eda(np.arange(a, b) / fe, r.eda[a:b], fe)
        snaps = [lp.snapshot(k + 1.0) for lp in lps]
        c1 = time.thread_time()
        end = min(s.eda_last_t for s in snaps) - GRID_DELAY_S
        if math.isfinite(end):
            grid_next = grid_next if grid_next is not None else float(np.ceil(end - 2.0))
            n = int(np.floor((end - grid_next) * GRID_FS)) + 1
            if n > 0:
                tg = grid_next + np.arange(n) / GRID_FS
                grid_next = float(tg[-1] + 1.0 / GRID_FS)
                eda = np.array([lp.eda_on_grid(tg) for lp in lps])
                hr = np.array([lp.hr_on_grid(tg) for lp in lps])
                group.push(tg, eda)
                dyad.push(tg, eda[ia], eda[ib], hr[ia], hr[ib])
            with lock:
                filed, done[:] = list(done), []
            for job, res in filed:
                group.take(job, res)
            for job in group.due_jobs() if timed else ():  # the tests start with the timing
                jobs.put(job)
            runner.step(dyad)
            group.snapshot()
            dyad.snapshot()
        c2 = time.thread_time()
        if not timed:
            runner.wait(dyad)  # no backlog of refreshes at the end of the warm-up
        if timed:
            out["cpu"].append(c2 - c0)
            out["people_cpu"].append(c1 - c0)
            out["group_cpu"].append(c2 - c1)
            out["worker_cpu"].append(worker_cpu[0] - w0)
    jobs.put(None)
    th.join(30)
    runner.close()
    return out


def honesty_session(people: tuple[str, ...], couple: str | None, minutes: float, seed: int):
    """One group fed live (4 grid samples per tick, tests at every refresh, filed one by one
    as the engine files them). Returns, per rule hold in :data:`HOLDS_S`, (any pair ever
    claimed, group index ever above chance, coupled pair claimed at the end, another pair
    ever claimed); the default rule's answer is the LiveGroup's own."""
    couplings = (coupling_parse(couple),) if couple else ()
    cfg = GroupSimConfig(people=people, couplings=couplings, duration_s=minutes * 60, seed=seed)
    g = group_grid(simulate_group(cfg))
    dc = DyadConfig()
    lg = LiveGroup(people, dc)
    trk = {h: ([HighlightTracker(HighlightRule(99.0, h), dc.surrogate_every_s)
                for _ in lg.pair_idx], HighlightTracker(HighlightRule(99.0, h), dc.surrogate_every_s))
           for h in HOLDS_S}  # fmt: skip
    ever = {h: [False] * len(lg.pair_idx) for h in HOLDS_S}
    g_ever = dict.fromkeys(HOLDS_S, False)
    n0 = int(dc.warmup_s * GRID_FS) - 4
    lg.push(g.t[:n0], g.eda[:, :n0])
    for k in range(n0, g.t.size, 4):
        lg.push(g.t[k : k + 4], g.eda[:, k : k + 4])
        for job in lg.due_jobs():
            lg.take(job, run_job(job, dc))
            snap = lg.snapshot()
            for h, (pairs, grp) in trk.items():
                if job.kind is JobKind.GROUP:
                    t = snap.index.mean_ci
                    g_ever[h] |= grp.update(t.percentile if t is not None else math.nan)
                else:
                    pc = snap.pairs[job.index]
                    ok = pc.ci_test is not None and pc.ci_test.p_value < CI_ALPHA
                    ever[h][job.index] |= pairs[job.index].update(pc.percentile if ok else math.nan)
    snap = lg.snapshot()
    assert [pc.coupled_ever for pc in snap.pairs] == ever[GROUP_RULE.hold_s], (
        [pc.coupled_ever for pc in snap.pairs],
        ever,
        [pc.hold_s for pc in snap.pairs],
    )
    target = tuple(couple.split("=")[0].split("-")) if couple else None
    out = {}
    for h in HOLDS_S:
        on = [tr.on for tr in trk[h][0]]
        found = others = False
        for i, (a, b) in enumerate(lg.pair_idx):
            if target and {people[a], people[b]} == set(target):
                found = on[i]
            elif ever[h][i]:
                others = True
        out[h] = (any(ever[h]), g_ever[h], found, others)
    return out


def _rate(k: int, n: int) -> str:
    """k/n with a 95 % Wilson interval."""
    if n == 0:
        return "-"
    p, z = k / n, 1.96
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{k}/{n} = {100 * p:.1f} % [{100 * max(0, c - h):.1f}, {100 * min(1, c + h):.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("tick")
    t.add_argument("--people", type=int, nargs="+", default=[4, 8])
    t.add_argument("--ticks", type=int, default=200)
    t.add_argument("--warm", type=int, default=650)
    t.add_argument("--pace", type=float, default=0.25)
    t.add_argument("--seed", type=int, default=1)
    h = sub.add_parser("honesty")
    h.add_argument("--sessions", type=int, default=40)
    h.add_argument("--minutes3", type=float, default=10.0)
    h.add_argument("--minutes4", type=float, default=15.0)
    h.add_argument("--sessions4", type=int, default=30)
    h.add_argument("--power", type=int, default=20)
    h.add_argument("--seed0", type=int, default=1000, help="first seed of the null sets")
    h.add_argument("--parts", default="null3,null4,power", help="which sets to run")
    args = ap.parse_args()
    if args.what == "tick":
        for n in args.people:
            res = tick_run(n, args.warm, args.ticks, args.pace, args.seed)
            load = os.getloadavg()
            print(
                f"group tick, {n} people ({n * (n - 1) // 2} pairs): {args.ticks} ticks "
                f"{args.pace:g} s apart after {args.warm} s, load avg {load[0]:.2f}"
            )
            print(f"    {'ms':<12}{'median':>9}{'p95':>9}{'mean':>9}")
            _table("tick thread CPU (tests on the worker)", res)
        return
    t0 = time.monotonic()
    parts = set(args.parts.split(","))
    for people, minutes, n in (
        (NAMES[1:4], args.minutes3, args.sessions if "null3" in parts else 0),
        (NAMES[:4], args.minutes4, args.sessions4 if "null4" in parts else 0),
    ):
        if not n:
            continue
        res = [honesty_session(people, None, minutes, args.seed0 + s) for s in range(n)]
        for h in HOLDS_S:
            print(
                f"independent groups of {len(people)}, {minutes:g} min, live, rule 99th pct "
                f"held {h:g} s: any pair ever claimed {_rate(sum(r[h][0] for r in res), n)}; "
                f"group index ever above chance {_rate(sum(r[h][1] for r in res), n)}"
                f"  ({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
    if "power" not in parts:
        return
    res = [
        honesty_session(NAMES[1:4], "patient-partner=0.8@2", 10.0, 2000 + s)
        for s in range(args.power)
    ]
    for h in HOLDS_S:
        print(
            f"triads with patient-partner coupled 0.8, 10 min, live, held {h:g} s: the pair "
            f"claimed at the end {_rate(sum(r[h][2] for r in res), args.power)}; another pair "
            f"ever claimed {_rate(sum(r[h][3] for r in res), args.power)}"
            f"  ({time.monotonic() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
