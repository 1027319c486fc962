"""The study-level answer on repeated simulated studies: real dyads against pseudo-dyads.

Usage: ``python benchmarks/bench_study.py [--pool 60] [--studies 200] [--sessions 20]
[--minutes 5] [--workers 1] [--null independent|simulated] [--only null|coupled]``

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


def studies(m: np.ndarray, n_studies: int, size: int, seed: int) -> np.ndarray:
    """``(n_studies, len(STATISTICS))`` permutation p of random studies of ``size`` sessions."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_studies, len(STATISTICS)))
    for s in range(n_studies):
        pick = rng.choice(m.shape[0], size, replace=False)
        sub = m[np.ix_(pick, pick)]
        for k, (_, two) in enumerate(STATISTICS):
            out[s, k] = study_comparison(
                sub[:, :, k], two, n_perm=2000, n_boot=200, seed=int(rng.integers(2**31))
            ).p
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=60, help="sessions per pool")
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=20, help="sessions per study")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--null", default="independent", choices=("independent", "simulated"),
        help="independent pool: dsp.nullgen.poisson_dyad or the simulator's independent people",
    )  # fmt: skip
    ap.add_argument("--only", choices=("null", "coupled"), help="run one pool only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    dur = 60.0 * args.minutes
    res = {}
    pools = (("null", args.null, 70_000), ("coupled", "coupled", 80_000))
    for role, kind, seed0 in pools:
        if args.only in (None, role):
            m = pool_matrix(kind, args.pool, dur, args.workers, seed0)
            res[role] = studies(m, args.studies, args.sessions, seed0)
    nan = np.full((args.studies, len(STATISTICS)), np.nan)
    print(f"| index | {args.null}: p > 0.05 (target >= 95 %) | coupled: p < 0.01 |")
    print("|---|---|---|")
    for k, (name, two) in enumerate(STATISTICS):
        ind, cou = res.get("null", nan)[:, k], res.get("coupled", nan)[:, k]
        side = "two-sided" if two else "one-sided"
        a = f"{100 * np.mean(ind > 0.05):.1f} % of {ind.size}" if "null" in res else "-"
        b = f"{100 * np.mean(cou < 0.01):.1f} % of {cou.size}" if "coupled" in res else "-"
        print(f"| {name} ({side}) | {a} | {b} |")
    print(
        f"\n{args.studies} studies of {args.sessions} sessions ({args.minutes:g} min) drawn from "
        f"pools of {args.pool}; {time.perf_counter() - t0:.0f} s on {args.workers} worker(s)"
    )


if __name__ == "__main__":
    main()
