"""The live HR pair matrix fed simulated triads as live: how often an independent triad has a
pair claimed at any refresh of a 10-minute session, and how often the coupled pair of a triad
is claimed by its end (``dsp.concordance.live_group.LiveGroup`` with ``GroupSignal.HR``: the
offline HR matrix's tests and Holm on the larger of the two p, under the group's 60-s rule).

HR on the 4 Hz grid from the simulated beats, as ``tests/test_group_hr.py`` (the strong
physiology: heart rates answering each event by 12 bpm). Every refresh from the warm-up on
is run (``LiveGroup.run_due`` after each 1-s push).

Run:  .venv/bin/python benchmarks/bench_group_hr_live.py --sessions 10 --seed0 50000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_group_hr import PEOPLE, PHYSIOLOGY, _hr_on_grid  # noqa: E402

from dsp.concordance import DyadConfig  # noqa: E402
from dsp.concordance.group import GroupSignal  # noqa: E402
from dsp.concordance.live_group import LiveGroup  # noqa: E402
from dsp.grid import make_grid  # noqa: E402
from dsp.simulate_group import GroupSimConfig, coupling_parse  # noqa: E402


def session(seed: int, coupled: bool) -> tuple[set, bool]:
    """(pairs ever claimed, the coupled pair claimed at the end) of one 10-minute triad."""
    coup = (coupling_parse("patient-partner=0.8@2"),) if coupled else ()
    cfg = GroupSimConfig(
        people=PEOPLE, couplings=coup, duration_s=600.0, seed=seed, physiology=PHYSIOLOGY
    )
    hr = _hr_on_grid(cfg)
    t = make_grid(0.0, cfg.duration_s - 0.25, 4.0)
    lg = LiveGroup(PEOPLE, DyadConfig(), signal=GroupSignal.HR)
    for k in range(0, t.size, 4):
        lg.push(t[k : k + 4], hr[:, k : k + 4])
        lg.run_due()
    snap = lg.snapshot()
    ever = {(pc.a, pc.b) for pc in snap.pairs if pc.coupled_ever}
    return ever, snap.pair("patient", "partner").coupled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=50000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    null_any = one_found = one_other = 0
    for s in range(a.sessions):
        ever, _ = session(a.seed0 + s, False)
        null_any += bool(ever)
        ever, end = session(a.seed0 + 10_000 + s, True)
        one_found += end
        one_other += bool(ever - {("patient", "partner")})
    n = a.sessions
    print(f"independent triads with a pair claimed at any refresh: {null_any}/{n}")
    print(f"coupled pair claimed at the end of 10 min: {one_found}/{n}")
    print(f"coupled triads with an uncoupled pair claimed: {one_other}/{n}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
