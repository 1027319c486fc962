"""Offline HR pair matrix of simulated groups: how often the coupled pair is found, and how
often an independent pair is claimed (``dsp.concordance.group.group_concordance`` with
``GroupSignal.HR``: per pair the HR coupling test and the CI at the pair's best lag, Holm over
the pairs on the larger of the two p), beside other claim rules on the same tests.

Each person's HR is put on the 4 Hz grid from the simulated beats (60000 / IBI at its closing
beat, linear in between, as ``PersonSession.hr_on_grid``); no beat detection. Sets (10 minutes,
3 people): ``null3`` independent, ``one3`` patient-partner coupled 0.8 (partner 2 s behind).
Two physiologies: ``default`` (the simulator's, HR answering each event by 5 bpm over 3-6 bpm
of breathing) and ``strong`` (12 bpm over half the breathing, as the tests use).

Run:  .venv/bin/python benchmarks/bench_group_hr.py --sessions 60 --seed0 40000
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_group_live import _rate  # noqa: E402  (k/n with its Wilson interval, one copy)

from dsp.concordance.group import GroupSignal, group_concordance, holm_adjust  # noqa: E402
from dsp.grid import make_grid  # noqa: E402
from dsp.person_session import SessionConfig  # noqa: E402
from dsp.simulate_group import GroupSimConfig, coupling_parse, simulate_group  # noqa: E402

PEOPLE = ("patient", "partner", "clinician")


def session(couple: str, strong: bool, seed: int):
    """One 10-minute triad's HR matrix."""
    couplings = (coupling_parse(couple),) if couple else ()
    cfg = GroupSimConfig(people=PEOPLE, couplings=couplings, duration_s=600.0, seed=seed)
    if strong:
        phys = tuple(
            replace(cfg.person_config(i), hr_response_bpm=12.0, rsa_bpm=cfg.person_config(i).rsa_bpm / 2)
            for i in range(len(PEOPLE))
        )  # fmt: skip
        cfg = replace(cfg, physiology=phys)
    rec = simulate_group(cfg)
    t = make_grid(0.0, cfg.duration_s - 0.25, 4.0)
    hr = []
    for name in PEOPLE:
        b = rec.people[name].truth.beat_times
        hr.append(np.interp(t, b[1:], 60.0 / np.diff(b), left=np.nan, right=np.nan))
    return group_concordance(np.array(hr), PEOPLE, SessionConfig(), signal=GroupSignal.HR)


def _claims(g, rule: str) -> dict[tuple[str, str], bool]:
    """Each pair's claim under ``rule``: "app" (the app's: Holm on max(coupling p, best-lag
    CI p)), "ci-unadjusted" (Holm on the coupling p, best-lag CI p < 0.05), "lag0" (Holm on
    the coupling p, lag-0 CI p < 0.05), "coupling" (Holm on the coupling p alone)."""
    pairs = list(g.pairs)
    if rule == "app":
        return {(pc.a, pc.b): bool(pc.coupled) for pc in pairs}
    adj = holm_adjust([pc.p for pc in pairs])
    second = {"ci-unadjusted": lambda pc: pc.ci_lag.p_value, "lag0": lambda pc: pc.ci_p,
              "coupling": lambda pc: 0.0}[rule]  # fmt: skip
    return {
        (pc.a, pc.b): bool(a < 0.05 and second(pc) < 0.05) for pc, a in zip(pairs, adj, strict=True)
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--seed0", type=int, default=40000)
    ap.add_argument("--physiology", default="default,strong")
    args = ap.parse_args()
    n = args.sessions
    t0 = time.monotonic()
    for phys in args.physiology.split(","):
        strong = phys == "strong"
        null = [session("", strong, args.seed0 + s) for s in range(n)]
        one = [session("patient-partner=0.8@2", strong, args.seed0 + 1000 + s) for s in range(n)]
        print(f"HR matrix, 10-min triads, {phys} physiology ({time.monotonic() - t0:.0f} s):")
        print("| claim rule | null3: any pair claimed | one3: coupled pair found | one3: another pair claimed |")  # fmt: skip
        print("|---|---|---|---|")
        for rule in ("app", "ci-unadjusted", "lag0", "coupling"):
            cn = [any(_claims(g, rule).values()) for g in null]
            co = [_claims(g, rule) for g in one]
            found = [c[("patient", "partner")] for c in co]
            others = [c[("patient", "clinician")] or c[("partner", "clinician")] for c in co]
            print(f"| {rule} | {_rate(sum(cn), n)} | {_rate(sum(found), n)} | "
                  f"{_rate(sum(others), n)} |")  # fmt: skip
        lead = [
            g.pair("patient", "partner").leader == "patient"
            and 1.0 <= g.pair("patient", "partner").lag_s <= 3.0
            for g in one
        ]
        print(
            f"one3: patient named leader at 2 +- 1 s (app rule) {_rate(sum(lead), n)}", flush=True
        )


if __name__ == "__main__":
    main()
