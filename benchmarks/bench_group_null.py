"""Calibration of the group index's null alone (no pair tests): independent simulated groups,
the share whose mean pairwise CI (and Kuramoto R) is above chance, and how wide the null is.

For each seed: a 10-minute group of ``--people`` independent people
(:mod:`dsp.simulate_group`, EDA on the 4 Hz grid), the group index test of
:mod:`dsp.concordance.group` with 200 surrogate groups. Printed: the rate of p < 0.05 and
p < 0.10 with a 95 % interval, and the z of the observed value within its own null (mean and
SD over sessions: a null narrower than the sessions' spread would give an SD above 1).

Run: ``python benchmarks/bench_group_null.py --people 3 --first-seed 11000 --sessions 80``
(one process; ``--save FILE.jsonl`` keeps each session, ``--report FILE.jsonl ...`` pools
saved runs).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.stats import binomtest

from dsp.concordance.group import _group_indices
from dsp.person_session import SessionConfig
from dsp.simulate_group import group_grid, simulate_group


def run(people: int, seed: int, cfg: SessionConfig) -> dict:
    g = group_grid(simulate_group(people=tuple("ABCDEFGH"[:people]), duration_s=600.0, seed=seed))
    t0 = time.process_time()
    ci, kr, _, _ = _group_indices(g.eda, cfg, 200, 0.05)
    out: dict = {"seed": seed, "people": people, "cpu_s": time.process_time() - t0}
    for k, t in (("ci", ci.test), ("k", kr.test)):
        out[k] = [t.observed, float(t.null.mean()), float(t.null.std()), t.p_value]
    return out


def report(rows: list[dict]) -> None:
    for key, name in (("ci", "mean pairwise CI"), ("k", "Kuramoto R")):
        a = np.array([r[key] for r in rows])
        z = (a[:, 0] - a[:, 1]) / a[:, 2]
        for lev in (0.05, 0.10):
            k = int((a[:, 3] < lev).sum())
            ci = binomtest(k, len(a)).proportion_ci()
            print(f"{name}: p < {lev:.2f} in {100 * k / len(a):.1f} % of {len(a)} independent "
                  f"groups (95 % CI {100 * ci.low:.1f}-{100 * ci.high:.1f})")  # fmt: skip
        print(f"{name}: z within its null: mean {z.mean():+.2f}, SD {z.std():.2f}")
    print(f"CPU per session (group index test): {np.median([r['cpu_s'] for r in rows]):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--first-seed", type=int, default=11000)
    ap.add_argument("--save", metavar="FILE.jsonl")
    ap.add_argument("--report", metavar="FILE.jsonl", nargs="+")
    a = ap.parse_args()
    if a.report:
        rows = [json.loads(line) for f in a.report for line in open(f) if line.startswith("{")]
        report(rows)
        return
    cfg = SessionConfig()
    rows = []
    out = open(a.save, "a") if a.save else None  # noqa: SIM115 - closed below
    for seed in range(a.first_seed, a.first_seed + a.sessions):
        rows.append(run(a.people, seed, cfg))
        if out is not None:
            out.write(json.dumps(rows[-1]) + "\n")
            out.flush()
    if out is not None:
        out.close()
    report(rows)


if __name__ == "__main__":
    main()
