"""Dropouts and the session lead (issue 18): lead and IQR with no gap vs 1 / 3 / 10 gaps.

Run:  .venv/bin/python benchmarks/bench_gaps.py [--seeds 3] [--no-live]

Simulated 10-minute coupled dyads (coupling 0.8, the clinician following the patient by 2 s),
written as XDF with dropouts (samples never delivered, the stamps jumping over them), read back
and analysed by ``attune analyze``'s pipeline (``app.analysis.analyze_file``):

* "5 s gap": the issue's case, the clinician's EDA and PPG missing 300-305 s; also with 4 Hz
  EDA, and with PPG noise and motion (``artifacts=True``);
* "1 / 3 / 10 gaps": dropouts of 2-30 s at random times, each in a random person's EDA, PPG
  or both (``tests/gap_sim.py``, seeded).

Each row: the EDA session lead (median over seeds of the lag and of the IQR ends), the
largest change from the same dyad without a gap over the seeds, the seeds with a named
patient lead, and the windows tested. Peer: the same files read with pyxdf's own dejitter
(one line per segment, breaks only at jumps > max(1 s, 500 samples): what the reader did
before), which closes every dropout and shifts the samples around it. ``--no-live`` skips the
live rows (the live objects fed the same files in 1 s chunks, as ``app.engine`` does).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gap_sim import Gap, live_replay, random_gaps, write_gapped_xdf  # noqa: E402

import devices.xdf_dejitter as xdf_dejitter  # noqa: E402
from app.analysis import analyze_file  # noqa: E402
from dsp.concordance.lead import Leader, LeadTest  # noqa: E402
from dsp.simulate import DyadSimConfig, simulate_dyad  # noqa: E402

ISSUE = [Gap("clinician", "EDA", 300.0, 305.0), Gap("clinician", "PPG", 300.0, 305.0)]


@contextmanager
def pyxdf_dejitter():
    """The reader with pyxdf's dejitter rule (no dropout breaks): the state before the fix."""
    real = xdf_dejitter.dropouts
    xdf_dejitter.dropouts = lambda t, srate, breaks=None: np.zeros(0, dtype=np.int64)
    try:
        yield
    finally:
        xdf_dejitter.dropouts = real


def cases(seed: int) -> dict[str, tuple[dict, list[Gap]]]:
    """Case name -> (simulator keywords, dropouts); each gapped case has its gap-free twin."""
    rng = np.random.default_rng(1000 + seed)
    return {
        "no gap": ({}, []),
        "5 s gap": ({}, ISSUE),
        "no gap, 4 Hz EDA": ({"eda_fs": 4.0}, []),
        "5 s gap, 4 Hz EDA": ({"eda_fs": 4.0}, ISSUE),
        "no gap, PPG noise+motion": ({"artifacts": True}, []),
        "5 s gap, PPG noise+motion": ({"artifacts": True}, ISSUE),
        "1 gap of 2-30 s": ({}, random_gaps(1, rng, 600.0)),
        "3 gaps of 2-30 s": ({}, random_gaps(3, rng, 600.0)),
        "10 gaps of 2-30 s": ({}, random_gaps(10, rng, 600.0)),
    }


def twin(name: str, all_cases: dict) -> str:
    """The gap-free case with the same simulator keywords."""
    kw = all_cases[name][0]
    return next(n for n, (k, g) in all_cases.items() if k == kw and not g)


@contextmanager
def reader(kind: str):
    if kind == "pyxdf":
        with pyxdf_dejitter():
            yield
    else:
        yield


def run(seeds: int, live: bool) -> dict:
    """EDA session lead tests keyed (reader, case, seed)."""
    out: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-gaps-"))
    for seed in range(seeds):
        dyads: dict = {}
        for name, (kw, gaps) in cases(seed).items():
            key = tuple(sorted(kw.items()))
            if key not in dyads:
                dyads[key] = simulate_dyad(DyadSimConfig(duration_s=600.0, seed=seed, **kw))
            path = write_gapped_xdf(tmp / f"{seed}-{name}.xdf", dyads[key], gaps)
            for kind in ("ours", "pyxdf"):
                with reader(kind):
                    out[(kind, name, seed)] = analyze_file(path).dyad.eda.lead
                    if live and name in ("no gap", "5 s gap"):
                        out[(kind, f"live: {name}", seed)] = live_replay(path)[0].lead
        print(f"  seed {seed} done", flush=True)
    return out


def _row(name: str, leads: list[LeadTest], bases: list[LeadTest]) -> str:
    named = sum(t.leader is Leader.PATIENT for t in leads)
    lag, q1, q3 = (
        np.nanmedian([getattr(t, f) for t in leads]) for f in ("lag_s", "lag_q1_s", "lag_q3_s")
    )
    with np.errstate(invalid="ignore"):
        shift = np.nanmax(
            [abs(t.lag_s - b.lag_s) for t, b in zip(leads, bases, strict=True)] + [np.nan]
        )
        widen = np.nanmax(
            [
                (t.lag_q3_s - t.lag_q1_s) - (b.lag_q3_s - b.lag_q1_s)
                for t, b in zip(leads, bases, strict=True)
            ]
            + [np.nan]
        )
    ps = "/".join(f"{t.p:.3f}" for t in leads)
    win = "/".join(str(t.n_windows) for t in leads)
    return (
        f"  {name:<26s} {lag:4.2f} s  {q1:4.2f}-{q3:4.2f} s  {shift:5.2f} s  {widen:+5.2f} s  "
        f"{named}/{len(leads)}  p {ps}  windows {win}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-live", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    warnings.simplefilter("ignore", RuntimeWarning)  # medians of cases without a lead: nan
    res = run(args.seeds, not args.no_live)
    all_cases = cases(0)
    names = list(all_cases) + (["live: no gap", "live: 5 s gap"] if not args.no_live else [])
    for kind, title in (("ours", "ours (dropouts kept)"), ("pyxdf", "peer: pyxdf's dejitter")):
        print(f"EDA session lead, {args.seeds} seeds, reader: {title}")
        print(
            f"  {'case':<26s} {'lag':>6s}  {'IQR':>11s}  {'|Δlag|':>7s}  {'ΔIQR':>7s}  "
            "named  (medians over seeds; Δ: worst seed against the same dyad without a gap)"
        )
        for name in names:
            leads = [res[(kind, name, s)] for s in range(args.seeds)]
            base = "live: no gap" if name.startswith("live") else twin(name, all_cases)
            bases = [res[(kind, base, s)] for s in range(args.seeds)]
            print(_row(name, leads, bases))
    print(f"took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
