"""Honesty of the group statistics (:mod:`dsp.concordance.group`) on simulated groups, beside
multiSyncPy.

Sets (10-minute sessions, :mod:`dsp.simulate_group`, EDA rendered and put on the 4 Hz grid
with :func:`dsp.simulate_group.group_grid`; no beat detection):

* ``null3`` / ``null4``: 3 and 4 independent people;
* ``one3``: a triad with ``A-B`` coupled 0.8 (B follows by 2 s), C independent;
* ``all3``: a triad with every pair coupled 0.8 (``A-B``, ``A-C``, ``B-C``, lag 2 s).

Per set it prints the rate of sessions with any pair claimed coupled (family-wise, Holm), of
each pair claimed, of the group index (mean pairwise CI) and the Kuramoto order parameter
above chance, the lag found on the coupled pair, and the time per session of
:func:`~dsp.concordance.group.group_concordance`.

Peer: multiSyncPy 0.1.2 on the same sessions: its cluster-phase ``rho`` of the Hilbert phases
of the members' 5-s EDA slopes, with its own pseudo-group test (``shuffle_recordings``: members
swapped between the sessions of the same size, 200 pseudo-samples, session p =
share of pseudo-groups with rho >= the real one) and its Kuramoto weak-null test over each set.
Agreement = share of sessions where "our group index above chance" equals "its pseudo-group
test rejects"; direction = Spearman correlation of our mean CI with its rho over all sessions.

Run: ``python benchmarks/bench_groups.py --sessions 100 --workers 2 --save groups.jsonl``
(``--report groups.jsonl`` reports what a run has saved so far).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.signal import hilbert
from scipy.stats import spearmanr

from dsp.concordance.group import group_concordance, holm_adjust
from dsp.concordance.indices import slope_series
from dsp.concordance.lagged import ci_lag_test
from dsp.simulate_group import coupling_parse, group_grid, simulate_group

SETS = {
    "null3": ("A,B,C", ""),
    "null4": ("A,B,C,D", ""),
    "one3": ("A,B,C", "A-B=0.8@2"),
    "all3": ("A,B,C", "A-B=0.8@2,A-C=0.8@2,B-C=0.8@2"),
}


def run_one(args: tuple[str, int]) -> dict:
    """One simulated session of set ``name`` with ``seed``: our results and its slope phases."""
    name, seed = args
    people, spec = SETS[name]
    couplings = tuple(coupling_parse(c) for c in spec.split(",") if c)
    rec = simulate_group(
        people=tuple(people.split(",")), couplings=couplings, duration_s=600.0, seed=seed
    )
    g = group_grid(rec)
    t0 = time.perf_counter()
    gc = group_concordance(g.eda, g.people)
    dt = time.perf_counter() - t0
    idx = {n: i for i, n in enumerate(g.people)}
    lag_p = {  # the live matrix's CI condition: the CI at the pair's best lag (within +-5 s)
        p.a + p.b: ci_lag_test(g.eda[idx[p.a]], g.eda[idx[p.b]], g.fs).p_value for p in gc.pairs
    }
    s = slope_series(g.eda, g.fs, 5.0, 1.0)
    phases = np.angle(hilbert(s - s.mean(axis=1, keepdims=True), axis=1))
    return {
        "set": name,
        "seed": seed,
        "seconds": dt,
        "pairs": {
            p.a + p.b: (
                p.coupled,
                p.p_holm,
                p.leader,
                p.lag_s,
                p.p,
                p.ci_test.p_value,
                lag_p[p.a + p.b],
            )
            for p in gc.pairs
        },
        "any": gc.any_coupled,
        "mean_ci": gc.mean_ci.test.observed,
        "mean_ci_above": gc.mean_ci.above_chance,
        "kuramoto_above": gc.kuramoto.above_chance,
        "phases": phases,
    }


def _rate(flags: list[bool]) -> str:
    n = len(flags)
    p = float(np.mean(flags)) if n else math.nan
    half = 1.96 * math.sqrt(p * (1 - p) / n) if n else math.nan
    return f"{100 * p:5.1f} % (± {100 * half:.1f}, n = {n})"


def peer(results: list[dict], n_pseudo: int = 200, seed: int = 0) -> None:
    """multiSyncPy's rho with its pseudo-group test, and its Kuramoto weak null per set."""
    from multiSyncPy import synchrony_metrics as sm

    np.random.seed(seed)  # noqa: NPY002 - shuffle_recordings draws from the global generator
    for r in results:
        r["rho"] = float(sm.rho(r["phases"])[1])
    for size in sorted({r["phases"].shape[0] for r in results}):
        group = [r for r in results if r["phases"].shape[0] == size]
        data = np.stack([r["phases"] for r in group])
        pseudo = np.concatenate(
            [[sm.rho(x)[1] for x in sm.shuffle_recordings(data)] for _ in range(n_pseudo)]
        )
        for r in group:
            r["rho_p"] = (1 + float((pseudo >= r["rho"]).sum())) / (1 + pseudo.size)
    print("\nmultiSyncPy (peer), same sessions")
    print("| set | its rho (median) | its pseudo-group test rejects | ours: group index above "
          "chance | agree | Kuramoto weak null p (set) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name in SETS:
        rs = [r for r in results if r["set"] == name]
        if not rs:
            continue
        theirs = [r["rho_p"] < 0.05 for r in rs]
        ours = [r["mean_ci_above"] for r in rs]
        agree = float(np.mean([a == b for a, b in zip(theirs, ours, strict=True)]))
        weak_p = sm.kuramoto_weak_null([r["phases"] for r in rs])[0]
        print(
            f"| {name} | {np.median([r['rho'] for r in rs]):.3f} | {_rate(theirs)} | "
            f"{_rate(ours)} | {100 * agree:.0f} % | {weak_p:.3g} |"
        )
    rho = spearmanr([r["mean_ci"] for r in results], [r["rho"] for r in results])
    print(f"direction: Spearman of our mean pairwise CI with its rho over {len(results)} sessions "
          f"= {rho.statistic:.2f} (p = {rho.pvalue:.2g})")  # fmt: skip


def _both_tests(r: dict) -> dict[str, bool]:
    """A stricter variant (not the product rule): Holm on max(coupling p, CI p) of each pair."""
    keys = list(r["pairs"])
    adj = holm_adjust([max(r["pairs"][k][4], r["pairs"][k][5]) for k in keys])
    return {k: bool(a < 0.05) for k, a in zip(keys, adj, strict=True)}


def _lagged(v: list) -> bool:
    """The pair claimed with the live matrix's CI condition: Holm-adjusted coupling p and the
    CI at the best lag both below 0.05."""
    return bool(v[1] < 0.05 and v[6] < 0.05)


def report(results: list[dict]) -> None:
    """The honesty table."""
    print("| set | statement | target | measured (95 % CI) |")
    print("|---|---|---|---|")
    for name in ("null3", "null4"):
        rs = [r for r in results if r["set"] == name]
        if rs:
            print(f"| {name} | any pair claimed coupled (Holm) | <= 5 % | {_rate([r['any'] for r in rs])} |")  # fmt: skip
            print(f"| {name} | (stricter variant: Holm on max(coupling p, CI p)) any pair | | {_rate([any(_both_tests(r).values()) for r in rs])} |")  # fmt: skip
            print(f"| {name} | (Holm on the coupling test alone) any pair | | {_rate([any(v[1] < 0.05 for v in r['pairs'].values()) for r in rs])} |")  # fmt: skip
            if all(len(v) > 6 for r in rs for v in r["pairs"].values()):
                print(f"| {name} | (CI condition at the best lag, as live) any pair | | {_rate([any(_lagged(v) for v in r['pairs'].values()) for r in rs])} |")  # fmt: skip
            print(f"| {name} | group index (mean CI) above chance | <= 5 % | {_rate([r['mean_ci_above'] for r in rs])} |")  # fmt: skip
            print(f"| {name} | (also) Kuramoto R above chance | <= 5 % | {_rate([r['kuramoto_above'] for r in rs])} |")  # fmt: skip
    rs = [r for r in results if r["set"] == "one3"]
    if rs:
        found = [r["pairs"]["AB"][0] for r in rs]
        print(f"| one3 | coupled pair A-B found | >= 80 % | {_rate(found)} |")
        print(
            f"| one3 | (stricter variant) A-B found | | {_rate([_both_tests(r)['AB'] for r in rs])} |"
        )
        print(f"| one3 | (stricter variant) AC or BC claimed | | {_rate([_both_tests(r)['AC'] or _both_tests(r)['BC'] for r in rs])} |")  # fmt: skip
        for k in ("AC", "BC"):
            print(f"| one3 | independent pair {k} claimed | <= 5 % | {_rate([r['pairs'][k][0] for r in rs])} |")  # fmt: skip
        lead_ok = [r["pairs"]["AB"][2] == "A" and abs(r["pairs"]["AB"][3] - 2.0) <= 1.0 for r in rs]
        print(f"| one3 | A named leader, lag within ±1 s of 2 s | | {_rate(lead_ok)} |")
        if all(len(r["pairs"]["AB"]) > 6 for r in rs):
            print(f"| one3 | (CI condition at the best lag, as live) A-B found | | {_rate([_lagged(r['pairs']['AB']) for r in rs])} |")  # fmt: skip
            print(f"| one3 | (CI condition at the best lag) AC or BC claimed | | {_rate([_lagged(r['pairs']['AC']) or _lagged(r['pairs']['BC']) for r in rs])} |")  # fmt: skip
        print(f"| one3 | group index (mean CI) above chance | | {_rate([r['mean_ci_above'] for r in rs])} |")  # fmt: skip
    rs = [r for r in results if r["set"] == "all3"]
    if rs:
        print(f"| all3 | group index (mean CI) above chance | >= 80 % | {_rate([r['mean_ci_above'] for r in rs])} |")  # fmt: skip
        print(f"| all3 | (also) Kuramoto R above chance | | {_rate([r['kuramoto_above'] for r in rs])} |")  # fmt: skip
        print(f"| all3 | all three pairs found | | {_rate([all(v[0] for v in r['pairs'].values()) for r in rs])} |")  # fmt: skip
    for name in SETS:
        sec = [r["seconds"] for r in results if r["set"] == name]
        if sec:
            print(f"{name}: group_concordance {np.median(sec):.2f} s median per 10-min session "
                  f"(max {max(sec):.2f} s)")  # fmt: skip


def _save(r: dict, f) -> None:
    row = {**r, "phases": r["phases"].tolist()}
    row["pairs"] = {
        k: [bool(v[0]), float(v[1]), v[2], float(v[3]), float(v[4]), float(v[5]), float(v[6])]
        for k, v in r["pairs"].items()
    }
    for k in ("any", "mean_ci_above", "kuramoto_above"):
        row[k] = bool(row[k])
    f.write(json.dumps(row) + "\n")
    f.flush()


def _load(path: str) -> list[dict]:
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            r["phases"] = np.asarray(r["phases"])
            out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20, help="sessions per set")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--save", metavar="FILE.jsonl", help="append each session's results here")
    ap.add_argument("--report", metavar="FILE.jsonl", help="only report saved results")
    a = ap.parse_args()
    if a.report:
        results = _load(a.report)
        print(f"{len(results)} sessions from {a.report}\n")
        report(results)
        peer(results)
        return
    sets = a.sets.split(",")
    jobs = [(s, a.first_seed + i) for i in range(a.sessions) for s in sets]  # sets interleaved
    t0 = time.perf_counter()
    out = open(a.save, "a") if a.save else None  # noqa: SIM115 - closed below
    results = []
    with ProcessPoolExecutor(max(1, a.workers)) as ex:
        for r in ex.map(run_one, jobs):
            results.append(r)
            if out is not None:
                _save(r, out)
    if out is not None:
        out.close()
    print(f"{len(results)} sessions in {time.perf_counter() - t0:.0f} s "
          f"({a.workers} worker(s))\n")  # fmt: skip
    report(results)
    peer(results)


if __name__ == "__main__":
    main()
