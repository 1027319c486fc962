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

``honesty``: simulated groups fed live (4 grid samples per tick, every test at every refresh):
``null3`` / ``null4`` independent triads (10 min) and groups of four (15 min), ``one3`` triads
with patient-partner coupled 0.8 (partner 2 s behind), ``all3`` triads with every pair
coupled. Every test's p of every refresh is saved (``--save``), so rules (hold, the CI
condition at the best lag or lag 0 or none, its level, the group test's start) are compared
afterwards on the same tests (``--report FILE ...``); a session counts as a false claim when
any pair is ever marked (family-wise over pairs and over the session's refreshes), and
separately when the group index is ever above chance. The app's own decisions are checked
against the replay of its rule in every session. Wilson 95 % intervals.

Run:  .venv/bin/python benchmarks/bench_group_live.py tick --people 4 8 --ticks 200
      .venv/bin/python benchmarks/bench_group_live.py honesty --sessions 40 --sessions4 12 \
          --power 20 --all 12 --seed0 30000 --workers 2 --save runs.json
      .venv/bin/python benchmarks/bench_group_live.py honesty --report runs.json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
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
from dsp.concordance.baselines import concordance_surrogate_test  # noqa: E402
from dsp.concordance.evidence import HighlightRule, HighlightTracker  # noqa: E402
from dsp.concordance.group import GroupSignal, holm_adjust  # noqa: E402
from dsp.concordance.live_group import (  # noqa: E402
    CI_ALPHA,
    GROUP_RULE,
    JobKind,
    LiveGroup,
    coupling_percentile_p,
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
    group_hr = LiveGroup(people, cfg, signal=GroupSignal.HR)  # the live HR matrix
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
                group_hr.push(tg, hr)
                dyad.push(tg, eda[ia], eda[ib], hr[ia], hr[ib])
            with lock:
                filed, done[:] = list(done), []
            for job, res in filed:
                (group_hr if job.signal is GroupSignal.HR else group).take(job, res)
            for g in (group, group_hr) if timed else ():  # the tests start with the timing
                for job in g.due_jobs():
                    jobs.put(job)
            runner.step(dyad)
            group.snapshot()
            group_hr.snapshot()
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


#: The honesty sets: (people, couplings, minutes). ``one3``: patient-partner coupled 0.8, the
#: partner 2 s behind; ``all3``: every pair of a triad coupled 0.8 at 2 s.
SETS = {
    "null3": (NAMES[1:4], "", 10.0),
    "null4": (NAMES[:4], "", 15.0),
    "one3": (NAMES[1:4], "patient-partner=0.8@2", 10.0),
    "all3": (
        NAMES[1:4],
        "patient-partner=0.8@2,patient-child=0.8@2,partner-child=0.8@2",
        10.0,
    ),
}


def honesty_session(name: str, seed: int) -> dict:
    """One group of set ``name`` fed live (4 grid samples per tick, the tests at every
    refresh filed one by one as the engine files them, the group test from the first refresh
    on). Returns every test's p in filing order, so that rules can be compared afterwards on
    the same tests (:func:`rule_outcome`): per pair test ``(t, idx, coupling p, CI p at the best
    lag, CI p at lag 0)``, per group test ``(t, -1, mean CI p, span s, nan)``. The default
    rule's pair decisions are checked against the LiveGroup's own."""
    people, spec, minutes = SETS[name]
    couplings = tuple(coupling_parse(c) for c in spec.split(",") if c)
    cfg = GroupSimConfig(people=people, couplings=couplings, duration_s=minutes * 60, seed=seed)
    g = group_grid(simulate_group(cfg))
    dc = DyadConfig()
    lg = LiveGroup(people, dc)
    looks: list[tuple] = []
    n0 = int(dc.warmup_s * GRID_FS) - 4
    lg.push(g.t[:n0], g.eda[:, :n0])
    w = int(round(dc.lead_window_s * dc.fs))
    for k in range(n0, g.t.size, 4):
        lg.push(g.t[k : k + 4], g.eda[:, k : k + 4])
        for job in lg.due_jobs():
            res = run_job(job, dc)
            lg.take(job, res)
            if job.kind is JobKind.GROUP:
                t = res[0]
                span = np.isfinite(job.x).any(axis=0).sum() / dc.fs
                looks.append(
                    (job.t_end, -1, t.p_value if t is not None else math.nan, span, math.nan)
                )
            else:
                x, y = job.x[0, -w:], job.x[1, -w:]
                ci0 = concordance_surrogate_test(
                    x, y, dc.fs, dc.n_surrogates, "circular", dc.min_shift_s, statistic="ci",
                    slope_s=dc.slope_s, corr_s=dc.corr_s, step_s=dc.step_s, seed=seed,
                )  # fmt: skip
                ci = res[1]
                looks.append((job.t_end, job.index, coupling_percentile_p(res[0]),
                              ci.p_value if ci is not None else math.nan, ci0.p_value))  # fmt: skip
    snap = lg.snapshot()
    pairs = [f"{pc.a}-{pc.b}" for pc in snap.pairs]
    target = None
    if name == "one3":
        target = next(
            i for i, pc in enumerate(snap.pairs) if {pc.a, pc.b} == {"patient", "partner"}
        )
    out = {"set": name, "seed": seed, "pairs": pairs, "target": target, "looks": looks}
    mine = rule_outcome(out, GROUP_RULE.hold_s, "lag", CI_ALPHA, 0.0)
    assert mine["ever"] == [pc.coupled_ever for pc in snap.pairs], (mine, snap.pairs)
    return out


def rule_outcome(
    sess: dict, hold: float, ci_kind: str, ci_alpha: float, group_min_s: float
) -> dict:
    """Replay a session's tests under a rule: the 99th percentile of the Holm-adjusted coupling
    p held ``hold`` s, a check counting only when the pair's CI test (``ci_kind``: "lag" the
    best lag, "lag0", "none") has p < ``ci_alpha``; the group index under the same rule from a
    span of ``group_min_s`` on. The LiveGroup's own logic (:meth:`LiveGroup.take`)."""
    step = DyadConfig().surrogate_every_s
    rule = HighlightRule(99.0, hold)
    n = len(sess["pairs"])
    trk = [HighlightTracker(rule, step) for _ in range(n)]
    gtrk = HighlightTracker(rule, step)
    raw = [math.nan] * n
    for _t, idx, p, a, b in sess["looks"]:
        if idx < 0:
            ok = math.isfinite(p) and a >= group_min_s
            gtrk.update(100.0 * (1.0 - p) if ok else math.nan)
            continue
        raw[idx] = p
        adj = holm_adjust([v if math.isfinite(v) else 1.0 for v in raw])
        pa = float(adj[idx]) if math.isfinite(p) else math.nan
        pci = {"lag": a, "lag0": b, "none": 0.0}[ci_kind]
        ok = math.isfinite(pci) and pci < ci_alpha
        trk[idx].update(100.0 * (1.0 - pa) if ok else math.nan)
    tg = sess["target"]
    return {
        "ever": [tr.ever for tr in trk],
        "any": any(tr.ever for tr in trk),
        "found_end": tg is not None and trk[tg].on,
        "found_ever": tg is not None and trk[tg].ever,
        "others": any(tr.ever for i, tr in enumerate(trk) if i != tg),
        "group_ever": gtrk.ever,
        "group_end": gtrk.on,
    }


def _one(arg: tuple[str, int]) -> dict:
    t0 = time.process_time()
    out = honesty_session(*arg)
    out["cpu_s"] = time.process_time() - t0
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
    h.add_argument("--sessions", type=int, default=40, help="independent triads (10 min)")
    h.add_argument("--sessions4", type=int, default=12, help="independent groups of 4 (15 min)")
    h.add_argument("--power", type=int, default=20, help="triads, one pair coupled (10 min)")
    h.add_argument("--all", type=int, default=12, help="triads, every pair coupled (10 min)")
    h.add_argument("--seed0", type=int, default=20000, help="null3 seed0+, null4 seed0+100+ ...")
    h.add_argument("--parts", default="null3,null4,one3,all3", help="which sets to run")
    h.add_argument("--workers", type=int, default=2)
    h.add_argument("--save", help="write the sessions' tests (JSON) as they finish")
    h.add_argument("--report", nargs="+", help="print the tables of saved runs; run nothing")
    h.add_argument("--holds", default="20,40,60,90", help="(--report) holds compared, s")
    h.add_argument("--ci", default="lag,lag0,none", help="(--report) CI conditions compared")
    h.add_argument("--ci-alpha", default="0.05,0.01", help="(--report) their levels")
    h.add_argument("--group-min", default="0,360", help="(--report) group test from span s")
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
    if args.report:
        sessions = [x for f in args.report for x in json.loads(Path(f).read_text())]
        honesty_report(sessions, [float(v) for v in args.holds.split(",")],
                       args.ci.split(","), [float(v) for v in args.ci_alpha.split(",")],
                       [float(v) for v in args.group_min.split(",")])  # fmt: skip
        return
    jobs = [
        (name, args.seed0 + SEED_BLOCK[name] + s)
        for name, n in (("null3", args.sessions), ("null4", args.sessions4),
                        ("one3", args.power), ("all3", args.all))
        for s in range(n)
        if name in args.parts.split(",")
    ]  # fmt: skip
    t0 = time.monotonic()
    out = []
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for k, res in enumerate(pool.imap_unordered(_one, jobs), 1):
            out.append(res)
            print(f"{k}/{len(jobs)} {res['set']} seed {res['seed']}: {res['cpu_s']:.0f} s CPU "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)  # fmt: skip
            if args.save:
                Path(args.save).write_text(json.dumps(out))
    honesty_report(out, list(HOLDS_S), ["lag"], [CI_ALPHA], [0.0])


#: Offsets of each set's seeds from ``--seed0``.
SEED_BLOCK = {"null3": 0, "null4": 100, "one3": 200, "all3": 300}


def honesty_report(
    sessions: list[dict], holds: list[float], cis: list[str], alphas: list[float],
    group_mins: list[float],
) -> None:  # fmt: skip
    """Print, per rule variant, the rates of each set with Wilson intervals."""
    by = {k: [s for s in sessions if s["set"] == k] for k in SETS}
    seeds = {k: (min(s["seed"] for s in v), max(s["seed"] for s in v)) for k, v in by.items() if v}
    print(
        "sessions:",
        ", ".join(f"{k} {len(v)} (seeds {seeds[k][0]}-{seeds[k][1]})" for k, v in by.items() if v),
    )
    print(
        "| CI condition | hold s | null3 any pair ever | null4 any pair ever | one3 pair marked at the end | one3 other pair ever |"
    )
    print("|---|---|---|---|---|---|")
    for ci in cis:
        for a in alphas if ci != "none" else [1.0]:
            for h in holds:
                r = {k: [rule_outcome(s, h, ci, a, 0.0) for s in v] for k, v in by.items()}
                print(f"| {ci} p < {a:g} | {h:g} | {_rate(sum(o['any'] for o in r['null3']), len(r['null3']))} | "
                      f"{_rate(sum(o['any'] for o in r['null4']), len(r['null4']))} | "
                      f"{_rate(sum(o['found_end'] for o in r['one3']), len(r['one3']))} | "
                      f"{_rate(sum(o['others'] for o in r['one3']), len(r['one3']))} |")  # fmt: skip
    print()
    print(
        "| group index from span s | hold s | null3 ever above chance | null4 ever | one3 ever | all3 above chance at the end | all3 ever |"
    )
    print("|---|---|---|---|---|---|---|")
    for gm in group_mins:
        for h in holds:
            r = {k: [rule_outcome(s, h, "lag", CI_ALPHA, gm) for s in v] for k, v in by.items()}
            print(f"| {gm:g} | {h:g} | {_rate(sum(o['group_ever'] for o in r['null3']), len(r['null3']))} | "
                  f"{_rate(sum(o['group_ever'] for o in r['null4']), len(r['null4']))} | "
                  f"{_rate(sum(o['group_ever'] for o in r['one3']), len(r['one3']))} | "
                  f"{_rate(sum(o['group_end'] for o in r['all3']), len(r['all3']))} | "
                  f"{_rate(sum(o['group_ever'] for o in r['all3']), len(r['all3']))} |")  # fmt: skip
    cpu = [s["cpu_s"] for s in sessions if "cpu_s" in s]
    if cpu:
        print(f"CPU per session: median {np.median(cpu):.0f} s, total {sum(cpu) / 60:.0f} min")


if __name__ == "__main__":
    main()
