"""Full engine DSP tick cost: two people (PPG 128 Hz + EDA 32 Hz) plus the dyad.

Mirrors :meth:`app.engine.Engine.tick` without LSL: per 1 s tick each
:class:`dsp.person.LivePerson` gets 1 s of PPG and EDA and is snapshotted, then 4 new 4 Hz grid
samples (EDA and HR of both people, trailing the data by 1.5 s) go to
:class:`dsp.concordance.LiveDyad`, which is snapshotted. Ticks after a warm-up (so every
window is full) are timed: thread CPU and wall time, median / p95, per part and in total.

The dyad's 10-s refresh (chance baselines, coupling tests, HR coherence) runs as the engine
runs it: in a worker process (``app.dyad_refresh.RefreshRunner``), applied at the next tick;
``--inline`` computes it inside the tick instead (the burst the issue-19 figures measured).
``--at 5,90`` times ``--ticks`` ticks from session minute 5 and from minute 90 (each a fresh
run with that much simulated warm-up) and prints the issue-19 TARGET lines (tick median
<= 2 ms, p95 <= 10 ms of thread CPU at both), with the worker's CPU per refresh beside them.

``--ref REV`` also times the dsp/ of git revision REV (checked out into a temporary worktree,
run in a subprocess), interleaved with the working tree in ``--rounds`` alternating runs so
that both see the same machine load.

Run:  .venv/bin/python benchmarks/bench_tick.py [--ticks 200] [--warm 200] [--at 5,90]
      [--inline] [--ref HEAD~3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GRID_FS = 4.0
GRID_DELAY_S = 1.5


def grid_push(people, dyad, snaps, grid_next: float | None) -> tuple[float | None, bool]:
    """The engine's 4 Hz dyad grid step: push both people's EDA and HR on the grid up to
    their common newest EDA sample less ``GRID_DELAY_S`` into ``dyad``. Returns the next grid
    time and whether both people had EDA (the dyad then has a snapshot)."""
    import numpy as np

    lasts = [s.eda_last_t for s in snaps]
    if not all(np.isfinite(lasts)):
        return grid_next, False
    end = min(lasts) - GRID_DELAY_S
    if grid_next is None:
        grid_next = np.ceil((end - 2.0) * GRID_FS) / GRID_FS
    n = int(np.floor((end - grid_next) * GRID_FS)) + 1
    if n > 0:
        tg = grid_next + np.arange(n) / GRID_FS
        grid_next = float(tg[-1] + 1.0 / GRID_FS)
        p, c = people
        dyad.push(tg, p.eda_on_grid(tg), c.eda_on_grid(tg), p.hr_on_grid(tg), c.hr_on_grid(tg))
    return grid_next, True


def run(
    root: Path, warm: int, ticks: int, seed: int, inline: bool = False
) -> dict[str, list[float]]:
    """Time ``ticks`` engine ticks after ``warm`` with the dsp package found under ``root``."""
    sys.path.insert(0, str(root))
    import numpy as np

    from dsp.concordance import LiveDyad
    from dsp.person import LivePerson
    from dsp.simulate import simulate_dyad

    try:
        from app.dyad_refresh import RefreshRunner
    except ImportError:  # an older tree: the refresh runs inside the tick
        RefreshRunner = None  # noqa: N806
    rec = simulate_dyad(duration_s=float(warm + ticks + 5), seed=seed)
    recs = [rec.patient, rec.clinician]
    people = [LivePerson() for _ in recs]
    runner = None if inline or RefreshRunner is None else RefreshRunner()
    dyad = LiveDyad() if runner is None else LiveDyad(defer_refresh=True)
    grid_next: float | None = None
    out: dict[str, list[float]] = {k: [] for k in ("cpu", "wall", "people_cpu", "dyad_cpu")}
    for k in range(warm + ticks):
        c0, w0 = time.thread_time(), time.perf_counter()
        for lp, r in zip(people, recs, strict=True):
            fc, fe = r.ppg_fs, r.eda_fs
            a, b = int(k * fc), int((k + 1) * fc)
            lp.push_cardiac(np.arange(a, b) / fc, r.ppg[a:b], fc, "ppg")
            a, b = int(k * fe), int((k + 1) * fe)
            lp.push_eda(np.arange(a, b) / fe, r.eda[a:b], fe)
        now = k + 1.0
        snaps = [lp.snapshot(now) for lp in people]
        c1 = time.thread_time()
        grid_next, ready = grid_push(people, dyad, snaps, grid_next)
        if ready:
            if runner is not None:
                runner.step(dyad)
            dyad.snapshot()
        c2, w2 = time.thread_time(), time.perf_counter()
        if k >= warm:
            out["cpu"].append(c2 - c0)
            out["wall"].append(w2 - w0)
            out["people_cpu"].append(c1 - c0)
            out["dyad_cpu"].append(c2 - c1)
        if runner is not None and k < warm:
            runner.wait(dyad)  # no backlog of refreshes at the end of the warm-up
        elif runner is not None:  # the worker gets some of its second of real time, as live
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - w0)))
    if runner is not None:
        out["refresh_cpu"] = list(runner.worker_cpu_s[-max(1, ticks // 10) :])
        runner.close()
    return out


def _child(args: argparse.Namespace) -> None:
    res = run(Path(args.child), args.warm, args.ticks, args.seed, args.inline)
    print(json.dumps(res))


def _spawn(root: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    cmd = [sys.executable, __file__, "--child", str(root), "--warm", str(args.warm)]
    cmd += ["--ticks", str(args.ticks), "--seed", str(args.seed)]
    cmd += ["--inline"] if args.inline else []
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def _table(label: str, res: dict[str, list[float]]) -> None:
    import numpy as np

    print(f"  {label}")
    for name, v in res.items():
        a = np.asarray(v) * 1000
        if a.size == 0:  # e.g. no refresh within a short run
            print(f"    {name:<12}{'(none)':>9}")
            continue
        print(f"    {name:<12}{np.median(a):>9.2f}{np.percentile(a, 95):>9.2f}{a.mean():>9.2f}")


def _targets(args: argparse.Namespace) -> None:
    import numpy as np

    mode = "inside the tick" if args.inline else "in the worker process"
    print(f"engine tick at session minutes {args.at}, refresh {mode}, {args.ticks} ticks each "
          f"(load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores)")  # fmt: skip
    print(f"    {'ms':<12}{'median':>9}{'p95':>9}{'mean':>9}")
    for minute in (float(v) for v in args.at.split(",")):
        args.warm = int(minute * 60)
        res = _spawn(ROOT, args)
        _table(f"from minute {minute:g}", res)
        cpu = np.asarray(res["cpu"]) * 1000
        med, p95 = float(np.median(cpu)), float(np.percentile(cpu, 95))
        ok = med <= 2.0 and p95 <= 10.0
        ref = res.get("refresh_cpu") or []
        extra = f"; worker CPU per refresh median {np.median(ref) * 1000:.0f} ms" if ref else ""
        print(f"TARGET tick at minute {minute:g}: median {med:.2f} ms (<= 2), p95 {p95:.2f} ms "
              f"(<= 10) thread CPU: {'met' if ok else 'NOT met'}{extra}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ref", help="git revision to compare against (temporary worktree)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating runs per tree with --ref")
    ap.add_argument("--inline", action="store_true", help="the refresh inside the tick")
    ap.add_argument("--at", help="session minutes to time from, e.g. 5,90 (TARGET lines)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    if args.at:
        _targets(args)
        return
    trees = {"working tree": ROOT}
    tmp = None
    if args.ref:
        tmp = tempfile.mkdtemp(prefix="bench_tick_")
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", tmp, args.ref],
            check=True,
            capture_output=True,
        )
        trees = {f"ref {args.ref}": Path(tmp), **trees}
    try:
        results: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
        rounds = args.rounds if args.ref else 1
        for _ in range(rounds):
            for label, root in trees.items():
                res = _spawn(root, args)
                for k, v in res.items():
                    results[label].setdefault(k, []).extend(v)
        load = os.getloadavg()
        print(
            f"engine tick: 2 x LivePerson (PPG 128 Hz + EDA 32 Hz) + LiveDyad, "
            f"{args.ticks} ticks x {rounds} run(s) after {args.warm} s warm-up, "
            f"load avg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print(f"    {'ms':<12}{'median':>9}{'p95':>9}{'mean':>9}")
        for label, res in results.items():
            _table(label, res)
        print("  cpu = thread CPU of the whole tick; wall includes waiting for a core")
    finally:
        if tmp is not None:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", tmp],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
