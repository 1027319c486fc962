"""How often the live console says "HR coherence above chance", on unrelated and coupled dyads.

Usage: ``python benchmarks/bench_coherence_words.py [--null 40] [--coupled 20] [--minutes 15]
[--workers 1] [--wrapped]``

The live HR-coherence words come from :class:`dsp.concordance.LiveDyad`: LF and HF coherence
over the last 5 minutes, tested every 10 s against 50 time-shifted clinician stretches
(:func:`dsp.concordance.hr.hr_coherence_shift_test`), then the session-level highlight rule
(:class:`dsp.concordance.evidence.HighlightRule`) on each band's percentile. This prints, per
kind of dyad, the share of snapshots (one per second after warm-up) where the coherence was
tested at all, where either band's words claim "above chance", and the share of sessions
that ever do.

* **null**: independent simulated dyads (:func:`dsp.simstudy.independent_config`); every other
  one has both people breathing within 0.01 Hz of each other and sharing the Mayer-wave
  frequency (the hard case: a shared rhythm is not coupling);
* **coupled**: the simulator's coupled dyad (coupling 0.8, clinician following by 2 s).

``--wrapped`` prints, beside it, the same rule on the circular-shift (wrapped) null of
:func:`dsp.concordance.hr.hr_coherence_test` for the same windows (the peer this replaced).
Series are the simulated 4 Hz EDA and ground-truth HR (:func:`dsp.simstudy.grid_series`).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from dsp.concordance import DyadConfig, LiveDyad
from dsp.concordance.evidence import HighlightTracker
from dsp.concordance.hr import hr_coherence_test
from dsp.params import MethodParams
from dsp.simstudy import grid_series, independent_config, live_snapshots
from dsp.simulate import DyadSimConfig, simulate_dyad

FS = 4.0


def _job(job: tuple) -> dict:
    kind, seed, minutes, wrapped = job
    dur = 60.0 * minutes
    if kind == "null":
        cfg = independent_config(seed, dur, shared_rhythms=seed % 2 == 0)
    else:
        cfg = DyadSimConfig(duration_s=dur, seed=30_000 + seed, coupling=0.8, lag_s=2.0)
    g = grid_series(simulate_dyad(cfg))
    dc = DyadConfig(
        seed=seed, method=MethodParams(lead_surrogates=19)
    )  # the lead test does not enter these words
    ld = LiveDyad(dc)
    wrap = {b: HighlightTracker(dc.coherence_rule, dc.surrogate_every_s) for b in ("lf", "hf")}
    snaps = tested = words = wrap_words = 0
    for m in live_snapshots(g, ld):
        snaps += 1
        end = int(round((m.t - g.t[0]) * FS)) + 1  # samples pushed so far
        tested += bool(np.isfinite(m.hr_coherence_lf_pct))
        words += m.hr_coherence_lf_highlight or m.hr_coherence_hf_highlight
        if wrapped and snaps % round(dc.surrogate_every_s) == 1:  # the live refresh rate
            ct = hr_coherence_test(
                g.hr_patient[:end], g.hr_clinician[:end], FS, n_surrogates=50, seed=seed
            )
            wrap["lf"].update(ct.lf_percentile)
            wrap["hf"].update(ct.hf_percentile)
        wrap_words += wrapped and (wrap["lf"].on or wrap["hf"].on)
    return {
        "kind": kind,
        "snaps": snaps,
        "tested": tested,
        "words": words,
        "wrap_words": wrap_words,
    }


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:5.1f} %" if b else "    –"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=40, help="independent dyads (half sharing rhythms)")
    ap.add_argument("--coupled", type=int, default=20, help="coupled dyads")
    ap.add_argument("--minutes", type=float, default=15.0, help="session length (min)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--wrapped", action="store_true", help="also the circular-shift null")
    args = ap.parse_args()
    jobs = [("null", s, args.minutes, args.wrapped) for s in range(args.null)]
    jobs += [("coupled", s, args.minutes, args.wrapped) for s in range(args.coupled)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as ex:
        res = list(ex.map(_job, jobs))
    print(f"{len(jobs)} dyads of {args.minutes:g} min in {time.perf_counter() - t0:.0f} s")
    head = (
        "dyads              sessions  snapshots  tested   'above chance' snapshots  sessions ever"
    )
    print(head + ("   | wrapped null: snapshots  sessions" if args.wrapped else ""))
    groups = {
        "independent": [r for r, j in zip(res, jobs, strict=True) if j[0] == "null"],
        "  distinct rhythms": [
            r for r, j in zip(res, jobs, strict=True) if j[0] == "null" and j[1] % 2
        ],
        "  shared rhythms": [
            r for r, j in zip(res, jobs, strict=True) if j[0] == "null" and not j[1] % 2
        ],
        "coupled 0.8": [r for r in res if r["kind"] == "coupled"],
    }
    for name, rs in groups.items():
        if not rs:
            continue
        sn = sum(r["snaps"] for r in rs)
        te = sum(r["tested"] for r in rs)
        wo = sum(r["words"] for r in rs)
        ever = sum(r["words"] > 0 for r in rs)
        line = (
            f"{name:<18} {len(rs):>8}  {sn:>9}  {_pct(te, sn)}  {_pct(wo, sn):>24}"
            f"  {_pct(ever, len(rs)):>13}"
        )
        if args.wrapped:
            ww = sum(r["wrap_words"] for r in rs)
            wever = sum(r["wrap_words"] > 0 for r in rs)
            line += f"   | {_pct(ww, sn):>22}  {_pct(wever, len(rs)):>8}"
        print(line)


if __name__ == "__main__":
    main()
