"""Null and power rates of every coupling statement (issue 9 acceptance), printed as a table.

Usage: ``python benchmarks/bench_honesty.py [--null 200] [--power 50] [--workers 2]``

* **Null**: independent simulated 10-minute dyads (:func:`dsp.simstudy.independent_config`);
  every other one has both people breathing within 0.01 Hz of each other and sharing the
  Mayer-wave frequency. Plus cross-session pseudo-dyads (the patient of dyad i with the
  clinician of dyad i + 1). Markers: alternating 1-minute "listening" / "talking" blocks.
* **Power**: coupled 20-minute dyads, coupling 0.8 while listening and 0.1 while talking
  (2-minute blocks), the clinician following by 2 s; and coupled 10-minute dyads at a
  constant coupling of 0.6 for the "highlighted within 5 minutes of warm-up" rate.
* **Coupled, no difference**: 20-minute dyads coupled 0.8 in every block, labelled like the
  power set: the label contrast must stay at its nominal 5 % when both labels are coupled.
* **Arousal, no coupling**: independent 20-minute dyads labelled like the power set, both
  people with three times the arousal events (SCRs) while talking: more SCRs make more chance
  coincidences, which must not read as "more concordance while talking".
* **Peers**: the same block permutation on the difference of pooled Marci CIs (the contrast's
  first statistic) and on lagged synchrony at the dyad's lag (its second; HR still uses it),
  printed beside the EDA contrast the app uses (shared SCRs at the dyad's lag).

The statistics run on the simulated 4 Hz EDA and **ground-truth** HR series
(:func:`dsp.simstudy.grid_series`), not on detected beats: detecting every beat of ~350
simulated sessions would take hours on two cores. Live rates come from the real
:class:`dsp.concordance.LiveDyad` fed one second at a time with a snapshot every second;
offline rates from :func:`dsp.concordance.analyze_session` (lead) and
:func:`dsp.concordance.contrast.label_contrast` (contrasts), as ``attune analyze`` uses them.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from dsp.concordance import DyadConfig, LiveDyad, analyze_session
from dsp.concordance.contrast import (
    ContrastMeasure,
    block_sums,
    contrast_blocks,
    label_contrast,
)
from dsp.concordance.indices import marci_from_sums, slope_concordance, slope_concordance_times
from dsp.concordance.lead import Leader
from dsp.simstudy import (
    GridSeries,
    grid_series,
    independent_config,
    listening_talking,
    live_snapshots,
)
from dsp.simulate import DyadSimConfig, simulate_dyad

FS = 4.0
WARMUP_S = DyadConfig().warmup_s


def _live(g: GridSeries, seed: int) -> dict:
    """Run the live engine; per-snapshot statement flags and highlight times.

    HR words are the HR-synchrony highlight and the HR-coherence claims (LF or HF above
    chance by their rule).
    """
    ld = LiveDyad(DyadConfig(seed=seed))
    lead_words = hr_words = 0
    snaps = 0
    first_hl = np.nan
    for m in live_snapshots(g, ld):
        snaps += 1
        lead_words += m.lead.leader is not Leader.NONE or m.hr_lead.leader is not Leader.NONE
        hr_words += m.hr_highlight or m.hr_coherence_lf_highlight or m.hr_coherence_hf_highlight
        if m.highlight and np.isnan(first_hl):
            first_hl = m.elapsed_s
    return {
        "snaps": snaps,
        "lead_snaps": lead_words,
        "hr_word_snaps": hr_words,
        "first_highlight_s": first_hl,
    }


def _exact_p(diff, is_l: np.ndarray) -> tuple[float, float]:
    """Exact two-sided block-permutation p of a statistic ``diff(membership rows)``."""
    k, ka = is_l.size, int(is_l.sum())
    rows = np.zeros((math.comb(k, ka), k), dtype=bool)
    for i, comb in enumerate(itertools.combinations(range(k), ka)):
        rows[i, list(comb)] = True
    obs = float(diff(is_l[None, :])[0])
    return float(np.mean(np.abs(diff(rows)) >= abs(obs) - 1e-12)), obs


def _peer_contrasts(g: GridSeries, intervals: list, blocks: list, seed: int) -> dict:
    """Two other statistics under the same block permutation, printed as peers: the
    difference of pooled Marci CIs (the contrast's first statistic) and lagged synchrony at
    the dyad's lag (its second)."""
    r = slope_concordance(g.eda_patient, g.eda_clinician, FS)
    a, b = slope_concordance_times(g.t.size, FS)
    s = block_sums(r, a, b, intervals)
    pos, neg = np.array([x[1] for x in s]), np.array([x[2] for x in s])
    is_l = np.array([x[0] == "listening" for x in s])
    ci_p, ci_d = _exact_p(
        lambda m: marci_from_sums(m @ pos, m @ neg) - marci_from_sums(~m @ pos, ~m @ neg), is_l
    )
    # the same blocks read as lagged synchrony (their profiles are computed once)
    as_sync = [replace(b, measure=ContrastMeasure.LAGGED_SYNCHRONY) for b in blocks]
    sync = label_contrast(as_sync, "listening", "talking", seed=seed)
    return {"ci_contrast_p": ci_p, "ci_contrast_diff": ci_d, "sync_contrast_p": sync.p,
            "sync_contrast_diff": sync.difference}  # fmt: skip


def _offline(g: GridSeries, intervals: list, seed: int) -> dict:
    eda = analyze_session(g.eda_patient, g.eda_clinician, FS, seed=seed)
    hr = analyze_session(
        g.hr_patient, g.hr_clinician, FS, slope_s=1.0, wcc_win_s=60.0, wcc_inc_s=10.0, seed=seed
    )
    blocks = contrast_blocks(
        g.eda_patient, g.eda_clinician, FS, intervals, measure=ContrastMeasure.SHARED_SCR
    )
    c = label_contrast(blocks, "listening", "talking", seed=seed)
    return {
        **_peer_contrasts(g, intervals, blocks, seed),
        "eda_leader": eda.lead.leader,
        "eda_lag": eda.lead.lag_s,
        "hr_leader": hr.lead.leader,
        "contrast_p": c.p,
        "contrast_diff": c.difference,
    }


def _job(job: tuple) -> dict:
    kind, seed, mode = job
    if kind in ("null", "pseudo"):
        cfg = independent_config(seed, 600.0, shared_rhythms=seed % 2 == 0)
        g = grid_series(simulate_dyad(cfg))
        if kind == "pseudo":  # clinician of the next independent dyad
            g2 = grid_series(simulate_dyad(independent_config(seed + 1, 600.0, seed % 2 == 1)))
            g = GridSeries(g.t, FS, g.eda_patient, g2.eda_clinician, g.hr_patient, g2.hr_clinician)
        _, iv = listening_talking(600.0, 60.0)
    elif kind == "power":
        sched, iv = listening_talking(1200.0, 120.0, 0.8, 0.1)
        cfg = DyadSimConfig(
            duration_s=1200.0, seed=10_000 + seed, coupling=0.1, lag_s=2.0, coupling_schedule=sched
        )
        g = grid_series(simulate_dyad(cfg))
    elif kind == "arousal":  # unrelated, 3x the events while talking (offline only)
        _, iv = listening_talking(1200.0, 120.0)
        more = [(a, b, 3.0) for a, b, lab in iv if lab == "talking"]
        cfg = replace(independent_config(40_000 + seed, 1200.0), arousal_schedule=more)
        g = grid_series(simulate_dyad(cfg))
    elif kind == "const":  # coupled 0.8 throughout: labels carry no difference (offline only)
        _, iv = listening_talking(1200.0, 120.0)
        cfg = DyadSimConfig(duration_s=1200.0, seed=30_000 + seed, coupling=0.8, lag_s=2.0)
        g = grid_series(simulate_dyad(cfg))
    else:  # "c06": constant coupling 0.6, 10 minutes (live only)
        cfg = DyadSimConfig(duration_s=600.0, seed=20_000 + seed, coupling=0.6, lag_s=2.0)
        g = grid_series(simulate_dyad(cfg))
        iv = []
    out = {"kind": kind}
    if mode != "offline" and kind not in ("const", "arousal"):
        out.update(_live(g, seed))
    if iv and mode != "highlight":
        out.update(_offline(g, iv, seed))
    return out


def _rate(x: list[bool]) -> str:
    x = np.asarray(x, dtype=float)
    n = x.size
    p = x.mean() if n else np.nan
    half = 1.96 * np.sqrt(p * (1 - p) / n) if n else np.nan
    return f"{100 * p:.1f} % (± {100 * half:.1f}, n = {n})"


def _live_rows(null: list, power: list, c06: list) -> list:
    snaps = sum(r["snaps"] for r in null)
    lead = [
        (
            "null",
            "live snapshots naming a lead (EDA or HR)",
            "<= 5 %",
            f"{100 * sum(r['lead_snaps'] for r in null) / snaps:.2f} % of {snaps} snapshots",
        )
    ]
    return lead + [
        ("null", "live snapshots with HR-synchrony words", "<= 5 %",
         f"{100 * sum(r['hr_word_snaps'] for r in null) / snaps:.2f} % of {snaps} snapshots"),
        ("null", "sessions ever highlighted above chance (EDA)", "<= 10 %",
         _rate([not np.isnan(r["first_highlight_s"]) for r in null])),
        ("power", "highlight shown (EDA, 20 min)", ">= 80 %",
         _rate([not np.isnan(r["first_highlight_s"]) for r in power])),
        ("coupling 0.6", "highlighted within 5 min of warm-up (EDA)", ">= 80 %",
         _rate([r["first_highlight_s"] <= WARMUP_S + 300.0 for r in c06])),
    ]  # fmt: skip


def _offline_rows(null: list, power: list, const: list, arousal: list) -> list:
    return [
        ("null", "offline lead statement (EDA or HR)", "<= 5 %",
         _rate([r["eda_leader"] is not Leader.NONE or r["hr_leader"] is not Leader.NONE
                for r in null])),
        ("null", "listening-vs-talking p < 0.05", "<= 6 %",
         _rate([r["contrast_p"] < 0.05 for r in null])),
        ("null", "(peer) same test on the Marci CI difference", "",
         _rate([r["ci_contrast_p"] < 0.05 for r in null])),
        ("null", "(peer) same test on lagged synchrony at the dyad's lag", "",
         _rate([r["sync_contrast_p"] < 0.05 for r in null])),
        ("coupled, no difference", "listening-vs-talking p < 0.05 (coupling 0.8 in all blocks)",
         "<= 5 %", _rate([r["contrast_p"] < 0.05 for r in const])),
        ("arousal, no coupling",
         "listening-vs-talking p < 0.05 (3x the arousal events while talking)", "5 % nominal", _rate([r["contrast_p"] < 0.05 for r in arousal])),
        ("arousal, no coupling", "(peer) same test on lagged synchrony at the dyad's lag", "",
         _rate([r["sync_contrast_p"] < 0.05 for r in arousal])),
        ("power", "lead named, patient leads, lag within ±1 s of 2 s (EDA)", ">= 90 %",
         _rate([r["eda_leader"] is Leader.PATIENT and abs(r["eda_lag"] - 2.0) <= 1.0
                for r in power])),
        ("power", "listening > talking, p < 0.05", ">= 80 %",
         _rate([r["contrast_p"] < 0.05 and r["contrast_diff"] > 0 for r in power])),
        ("power", "(peer) same test on the Marci CI difference", "",
         _rate([r["ci_contrast_p"] < 0.05 and r["ci_contrast_diff"] > 0 for r in power])),
        ("power", "(peer) same test on lagged synchrony at the dyad's lag", "",
         _rate([r["sync_contrast_p"] < 0.05 and r["sync_contrast_diff"] > 0 for r in power])),
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=200, help="independent 10-min dyads")
    ap.add_argument("--pseudo", type=int, default=50, help="cross-session pseudo-dyads")
    ap.add_argument("--power", type=int, default=50, help="coupled 20-min dyads")
    ap.add_argument("--c06", type=int, default=40, help="coupling-0.6 10-min dyads")
    ap.add_argument(
        "--const", type=int, default=40, help="20-min dyads coupled 0.8 in every block (offline)"
    )
    ap.add_argument(
        "--arousal", type=int, default=40,
        help="unrelated 20-min dyads with 3x the SCRs while talking (offline)",
    )  # fmt: skip
    ap.add_argument("--workers", type=int, default=2)
    only = ap.add_mutually_exclusive_group()
    only.add_argument(
        "--highlight-only",
        action="store_true",
        help="only the live rates (highlight, lead and HR words)",
    )
    only.add_argument(
        "--offline-only", action="store_true", help="only the offline lead and contrast rates"
    )
    args = ap.parse_args()
    mode = "highlight" if args.highlight_only else "offline" if args.offline_only else "full"
    jobs = (
        [("null", s, mode) for s in range(args.null)]
        + [("pseudo", 5000 + s, mode) for s in range(args.pseudo)]
        + [("power", s, mode) for s in range(args.power)]
        + ([("c06", s, mode) for s in range(args.c06)] if mode != "offline" else [])
        + ([("const", s, mode) for s in range(args.const)] if mode != "highlight" else [])
        + ([("arousal", s, mode) for s in range(args.arousal)] if mode != "highlight" else [])
    )
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as ex:
        res = list(ex.map(_job, jobs, chunksize=2))
    took = time.perf_counter() - t0
    by = {k: [r for r in res if r["kind"] == k] for k in ("power", "c06", "const", "arousal")}
    null = [r for r in res if r["kind"] in ("null", "pseudo")]
    rows = []
    if mode != "offline":
        rows += _live_rows(null, by["power"], by["c06"])
    if mode != "highlight":
        rows += _offline_rows(null, by["power"], by["const"], by["arousal"])
    _print(rows, args, null, by, took)


def _print(rows: list, args: argparse.Namespace, null: list, by: dict, took: float) -> None:
    print("| set | statement | target | measured (95 % CI) |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n{len(null)} null dyads ({args.null} independent, half sharing breathing and Mayer "
        f"frequency, {args.pseudo} pseudo-dyads), {len(by['power'])} coupled 20-min dyads, "
        f"{len(by['c06'])} coupling-0.6 dyads, {len(by['const'])} coupled dyads without a "
        f"difference, {len(by['arousal'])} unrelated dyads with 3x the SCRs while talking; "
        f"{took:.0f} s on {args.workers} workers."
    )


if __name__ == "__main__":
    main()
