"""The study-level answer on repeated simulated studies: real dyads against pseudo-dyads.

Usage: ``python benchmarks/bench_study.py [--pool 60] [--studies 200] [--sessions 20]
[--minutes 5] [--workers 1] [--null independent simulated] [--only null|coupled]
[--rules current signflip rank z] [--save FILE.npz] [--load FILE.npz ...] [--disjoint]``

Two pools of sessions are simulated: independent people (:func:`dsp.nullgen.poisson_dyad`,
own SCR trains and heart rates, or with ``--null simulated`` the simulator's independent
people, :func:`dsp.simstudy.independent_config`; alternating 1-minute "listening"/"talking"
labels) and coupled
dyads (the project's simulator, coupling 0.6 while listening and 0 while talking, the
clinician 2 s behind). Every pairing of a pool is computed once
(:func:`dsp.concordance.pseudo.pair_statistics`, as ``attune analyze`` does); each study
draws ``--sessions`` different sessions from a pool and runs
:func:`dsp.concordance.study.study_comparison` on their sub-matrix for every index. Studies
drawn from one pool share sessions, so they are not independent of each other: the rates
are each study's own rate, with a wider spread than independent studies would have.

Targets (issue 18): coupled, real > pseudo with p < 0.01; independent, p > 0.05 in >= 95 %
of studies.

``--rules`` compares the app's test (``current``) with the paired alternatives of
``benchmarks/study_rules.py`` on the same studies; ``--save`` keeps the pools' pairing
matrices (the slow part) and ``--load`` reuses them, so rules can be compared without
re-simulating. ``--disjoint`` gives every study its own new sessions instead of drawing them
from a shared pool: the studies are then independent, so the rates are binomial and not
moved by one pool's chance difference between its real and pseudo-dyads.

``--speed N`` instead times the study as ``attune analyze`` runs it on N analysed sessions of
``--minutes`` (``app.analysis.study.pseudo_study``: N x N pairings on ``--workers`` processes,
its progress bar, the study-level answer), at N/4, N/2 and N sessions so that the time per
pairing shows whether it is linear in the pairs, and the in-process ``analyze_file`` CPU of one
session of that length (the other part of a study's time, run by the batch's process pool).
Issue-19 TARGET: 100 ten-minute sessions (10 000 pairings) on 2 cores <= 5 min:
``bench_study.py --speed 100 --minutes 10 --workers 2``.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np

from dsp.concordance.pseudo import STATISTICS, DyadSeries, pair_statistics
from dsp.concordance.study import study_comparison
from dsp.nullgen import poisson_dyad
from dsp.simstudy import grid_series, independent_config, listening_talking
from dsp.simulate import DyadSimConfig, simulate_dyad

try:
    from study_rules import RULES
except ImportError:  # imported as benchmarks.bench_study
    from benchmarks.study_rules import RULES

FS = 4.0


@lru_cache(maxsize=256)
def _session(kind: str, seed: int, dur: float) -> DyadSeries:
    """Session ``seed`` of a pool (simulated once per worker process)."""
    if kind == "coupled":
        sched, iv = listening_talking(dur, 60.0, 0.6, 0.0)
        cfg = DyadSimConfig(dur, seed, 0.6, 2.0, coupling_schedule=sched)
        g = grid_series(simulate_dyad(cfg))
    elif kind == "simulated":  # the simulator's independent people (own events and rhythms)
        _, iv = listening_talking(dur, 60.0)
        g = grid_series(simulate_dyad(independent_config(seed, dur, shared_rhythms=False)))
    else:
        _, iv = listening_talking(dur, 60.0)
        g = poisson_dyad(seed, dur)
    return DyadSeries(
        f"{kind}{seed}", FS, g.eda_patient, g.eda_clinician, g.hr_patient, g.hr_clinician,
        tuple(iv),
    )  # fmt: skip


def _row(args: tuple) -> np.ndarray:
    kind, i, seeds, dur = args
    p = _session(kind, seeds[i], dur)
    return np.array([pair_statistics(p, _session(kind, s, dur)) for s in seeds])


def pool_matrix(kind: str, n: int, dur: float, workers: int, seed0: int) -> np.ndarray:
    """``(n, n, len(STATISTICS))`` statistics of every pairing of ``n`` sessions."""
    seeds = list(range(seed0, seed0 + n))
    jobs = [(kind, i, seeds, dur) for i in range(n)]
    if workers == 1:
        return np.array([_row(j) for j in jobs])
    with ProcessPoolExecutor(workers) as ex:
        return np.array(list(ex.map(_row, jobs)))


def studies(
    m: np.ndarray, n_studies: int, size: int, seed: int, rules: tuple[str, ...] = ("current",)
) -> dict[str, np.ndarray]:
    """Per rule, ``(n_studies, len(STATISTICS))`` p of random studies of ``size`` sessions:
    ``current`` is :func:`dsp.concordance.study.study_comparison`, the others
    :data:`study_rules.RULES` (on the same studies, their own random stream)."""
    rng = np.random.default_rng(seed)
    alt = np.random.default_rng(seed + 1)
    out = {r: np.empty((n_studies, len(STATISTICS))) for r in rules}
    for s in range(n_studies):
        pick = rng.choice(m.shape[0], size, replace=False)
        sub = m[np.ix_(pick, pick)]
        for k, (_, two) in enumerate(STATISTICS):
            seed_k = int(rng.integers(2**31))
            for r in rules:
                if r == "current":
                    p = study_comparison(sub[:, :, k], two, n_perm=2000, n_boot=200, seed=seed_k).p
                else:
                    p = RULES[r](sub[:, :, k], two, 2000, alt)
                out[r][s, k] = p
    return out


def disjoint_studies(
    kind: str,
    n_studies: int,
    size: int,
    dur: float,
    workers: int,
    seed0: int,
    rules: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """As :func:`studies`, but every study has its own ``size`` new sessions (seeds ``seed0 +
    study * size ...``): independent studies, so the rates are binomial."""
    out = {r: np.empty((n_studies, len(STATISTICS))) for r in rules}
    for s in range(n_studies):
        m = pool_matrix(kind, size, dur, workers, seed0 + s * size)
        _session.cache_clear()
        one = studies(m, 1, size, seed0 + s, rules)
        for r in rules:
            out[r][s] = one[r][0]
    return out


def _speed(n: int, minutes: float, workers: int) -> None:
    import os
    import resource
    import tempfile
    from pathlib import Path

    from app.analysis import analyze_file
    from app.analysis.batch import ProgressBar
    from app.analysis.study import pseudo_study
    from tests.xdf_sim import write_simulated_xdf

    dur = 60.0 * minutes
    t = time.perf_counter()
    series = [_session("coupled", 90_000 + i, dur) for i in range(n)]
    print(f"simulated {n} sessions of {minutes:g} min in {time.perf_counter() - t:.0f} s "
          f"(load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, {workers} workers)")  # fmt: skip
    out = Path(tempfile.mkdtemp(prefix="bench_study_"))
    per_pair: dict[int, float] = {}
    cpu_pair: dict[int, float] = {}
    for k in sorted({max(2, n // 4), max(2, n // 2), n}):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0, w0 = time.process_time(), time.perf_counter()
        bar = ProgressBar(f"study of {k} sessions")
        try:
            pseudo_study(series[:k], out, jobs=workers, log=lambda s: None, progress=bar)
        finally:
            bar.close()
        wall = time.perf_counter() - w0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        per_pair[k] = wall / (k * k)
        cpu_pair[k] = cpu / (k * k)
        print(f"  {k:>4} sessions, {k * k:>6} pairings: {wall:7.1f} s wall, {cpu:7.1f} s CPU "
              f"(incl. workers), {1000 * per_pair[k]:.2f} ms wall and "
              f"{1000 * cpu_pair[k]:.2f} ms CPU per pairing")  # fmt: skip
    ks = sorted(per_pair)
    print(f"  linear in the pairs: per pairing at {ks[-1]} sessions, "
          f"{cpu_pair[ks[-1]] / cpu_pair[ks[0]]:.2f} x the CPU and "
          f"{per_pair[ks[-1]] / per_pair[ks[0]]:.2f} x the wall time at {ks[0]}")  # fmt: skip
    sim = simulate_dyad(DyadSimConfig(dur, 1, 0.6, 2.0))
    xdf = write_simulated_xdf(out / "one.xdf", sim)
    c0 = time.process_time()
    analyze_file(xdf)
    c_an = time.process_time() - c0
    total = n * c_an / workers + per_pair[n] * n * n
    print(f"  analyze_file of one {minutes:g}-min session: {c_an:.2f} s CPU -> {n} sessions on "
          f"{workers} cores ~{n * c_an / workers:.0f} s")  # fmt: skip
    print(f"TARGET study of {n} {minutes:g}-min sessions on {workers} cores (analysis estimated "
          f"from one session + pairings measured): ~{total:.0f} s vs 300 s: "
          f"{'met' if total <= 300 else 'NOT met'}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=60, help="sessions per pool")
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=20, help="sessions per study")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--null", nargs="+", default=["independent"], choices=("independent", "simulated"),
        help="independent pools: dsp.nullgen.poisson_dyad and/or the simulator's independent "
        "people",
    )  # fmt: skip
    ap.add_argument("--only", choices=("null", "coupled"), help="run one kind of pool only")
    ap.add_argument("--speed", type=int, default=0, metavar="N", help="time a study of N sessions")
    ap.add_argument(
        "--disjoint", action="store_true",
        help="every study simulates its own sessions (independent studies; --pool unused)",
    )  # fmt: skip
    ap.add_argument(
        "--seed-offset", type=int, default=0,
        help="with --disjoint: added to every session seed (another batch of studies)",
    )  # fmt: skip
    ap.add_argument("--save", help="save the pools' pairing matrices to this .npz")
    ap.add_argument("--load", nargs="+", help="use pairing matrices saved with --save")
    ap.add_argument(
        "--rules", nargs="+", default=["current"], choices=("current", *RULES),
        help="study-level tests to compare (benchmarks/study_rules.py)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.speed:
        _speed(args.speed, args.minutes, args.workers)
        return
    t0 = time.perf_counter()
    dur = 60.0 * args.minutes
    pools = [(k, 70_000) for k in args.null if args.only in (None, "null")]
    pools += [("coupled", 80_000)] if args.only in (None, "coupled") else []
    saved: dict[str, np.ndarray] = {}
    for f in args.load or ():
        with np.load(f) as z:
            saved.update({k: z[k] for k in z.files})
    mats, res = {}, {}
    for kind, seed0 in pools:
        if args.disjoint:
            base = 1_000_000 + seed0 * 10 + args.seed_offset
            res[kind] = disjoint_studies(
                kind, args.studies, args.sessions, dur, args.workers, base, tuple(args.rules)
            )
            continue
        m = saved.get(kind)
        if m is None or m.shape[0] < args.pool:
            m = pool_matrix(kind, args.pool, dur, args.workers, seed0)
        mats[kind] = m = m[: args.pool, : args.pool]
        res[kind] = studies(m, args.studies, args.sessions, seed0, tuple(args.rules))
    if args.save:
        np.savez(args.save, **mats)
    names = {"independent": "independent (poisson_dyad)", "simulated": "independent (simulator)"}
    for rule in args.rules:
        print(f"\nrule: {rule}")
        head = [f"{names.get(k, k)}: " + ("p < 0.01" if k == "coupled" else "p > 0.05")
                for k, _ in pools]  # fmt: skip
        print("| index | " + " | ".join(head) + " |")
        print("|---|" + "---|" * len(pools))
        for j, (name, two) in enumerate(STATISTICS):
            cells = []
            for kind, _ in pools:
                p = res[kind][rule][:, j]
                hit = p < 0.01 if kind == "coupled" else p > 0.05
                cells.append(f"{100 * np.mean(hit):.1f} % of {p.size}")
            side = "two-sided" if two else "one-sided"
            print(f"| {name} ({side}) | " + " | ".join(cells) + " |")
    src = "each with its own sessions" if args.disjoint else f"drawn from pools of {args.pool}"
    print(
        f"\n{args.studies} studies of {args.sessions} sessions ({args.minutes:g} min) {src}; "
        f"{time.perf_counter() - t0:.0f} s on {args.workers} worker(s)"
    )


if __name__ == "__main__":
    main()
