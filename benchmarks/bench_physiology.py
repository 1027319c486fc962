"""Per-person physiology benchmark: live tick cost, offline 60-min cost, accuracy vs peers.

Prints three tables (no pass/fail; figures only):

1. Live tick for two people (PPG 128 Hz + EDA 32 Hz each, 60 s HRV windows, after a 150 s
   warm-up so every window is full): per tick, push 1 s of samples, ``snapshot`` and both
   4 Hz grids for each person. Median / p95 / max in ms.
2. Offline processing of a 60-minute recording of one person: ours (``ppg_peaks``, 10 s
   quality windows, ``ibi_correct``, ``hrv_time``, ``hrv_frequency``) beside neurokit2
   (``ppg_process`` + ``hrv_time`` + ``hrv_frequency(normalize=False, interpolation_rate=4)``)
   on the same signal, in the same run; plus our EDA (``eda_clean`` + ``eda_scr``) on 60 min at
   32 Hz.
3. Beat accuracy on simulated PPG (F1 within 50 ms, timing SD of matched beats) for ours,
   neurokit2 (Elgendi) and heartpy, 64 and 128 Hz, clean and with motion artefacts.

Run:  .venv/bin/python benchmarks/bench_physiology.py [--minutes 60] [--ticks 120] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dsp.eda import eda_clean, eda_scr  # noqa: E402
from dsp.hrv import hrv_frequency, hrv_time, ibi_correct  # noqa: E402
from dsp.person import LivePerson  # noqa: E402
from dsp.ppg import ppg_peaks  # noqa: E402
from dsp.quality import match_events, quality_windows  # noqa: E402
from dsp.simulate import simulate_person  # noqa: E402


def live_tick(n_ticks: int) -> None:
    warm = 150
    dur = float(warm + n_ticks + 2)
    recs = [simulate_person(dur, seed=s, ppg_fs=128.0, eda_fs=32.0) for s in (1, 2)]
    people = [LivePerson() for _ in recs]
    costs: dict[str, list[float]] = {"push": [], "snapshot": [], "grids": [], "tick": []}
    cpu: list[float] = []

    def tick(k: int, record: bool) -> None:
        tp = ts = tg = 0.0
        c0 = time.thread_time()
        for lp, r in zip(people, recs, strict=True):
            t0 = time.perf_counter()
            a, b = k * 128, (k + 1) * 128
            lp.push_cardiac(np.arange(a, b) / 128.0, r.ppg[a:b], 128.0, "ppg")
            lp.push_eda(np.arange(k * 32, (k + 1) * 32) / 32.0, r.eda[k * 32 : (k + 1) * 32], 32.0)
            t1 = time.perf_counter()
            lp.snapshot(k + 1.0)
            t2 = time.perf_counter()
            g = np.arange(k - 4.0, k + 1.0, 0.25)
            lp.hr_on_grid(g)
            lp.eda_on_grid(g)
            t3 = time.perf_counter()
            tp, ts, tg = tp + t1 - t0, ts + t2 - t1, tg + t3 - t2
        if record:
            cpu.append(time.thread_time() - c0)
            costs["push"].append(tp)
            costs["snapshot"].append(ts)
            costs["grids"].append(tg)
            costs["tick"].append(tp + ts + tg)

    for k in range(warm + n_ticks):
        tick(k, k >= warm)
    print(f"\n1) live tick, 2 people x (PPG 128 Hz + EDA 32 Hz), {n_ticks} ticks of 1 s")
    print(f"   {'part (both people)':<22}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, v in costs.items():
        a = np.asarray(v) * 1000
        print(f"   {name:<22}{np.median(a):>10.2f}{np.percentile(a, 95):>10.2f}{a.max():>10.2f}")
    c = np.asarray(cpu) * 1000
    print(
        f"   {'tick, thread CPU':<22}{np.median(c):>10.2f}{np.percentile(c, 95):>10.2f}{c.max():>10.2f}"
    )
    print("   (wall times include waiting for a core on a shared machine; CPU time does not)")


def offline(minutes: float) -> None:
    dur = minutes * 60.0
    t0 = time.perf_counter()
    rec = simulate_person(dur, seed=3, ppg_fs=128.0, eda_fs=32.0)
    print(
        f"\n2) offline, one person, {minutes:.0f} min (simulated in {time.perf_counter() - t0:.1f} s)"
    )
    fs = rec.ppg_fs

    def ours() -> tuple[float, float]:
        pk = ppg_peaks(rec.ppg, fs)
        quality_windows(rec.ppg, fs, window_s=10.0, peaks=pk)
        corr = ibi_correct(np.diff(pk) / fs * 1000.0)
        ht = hrv_time(corr.ibi_ms)
        hf = hrv_frequency(corr.ibi_ms)
        return ht.rmssd_ms, hf.hf_ms2

    def neurokit() -> tuple[float, float]:
        import neurokit2 as nk

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sig, info = nk.ppg_process(rec.ppg, sampling_rate=int(fs))
            pk = info["PPG_Peaks"]
            a = nk.hrv_time(pk, sampling_rate=int(fs))
            b = nk.hrv_frequency(pk, sampling_rate=int(fs), normalize=False, interpolation_rate=4)
        return float(a["HRV_RMSSD"].iloc[0]), float(b["HRV_HF"].iloc[0])

    def eda() -> int:
        return len(eda_scr(eda_clean(rec.eda, rec.eda_fs), rec.eda_fs, clean=False))

    try:
        import neurokit2  # noqa: F401

        have_nk = True
    except ImportError:
        have_nk = False
    rows = []
    for name, fn in (
        ("ours PPG->HRV", ours),
        ("neurokit2 PPG->HRV", neurokit),
        ("ours EDA->SCR", eda),
    ):
        if fn is neurokit and not have_nk:
            rows.append((name, np.nan, "neurokit2 not installed"))
            continue
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = fn()
            times.append(time.perf_counter() - t0)
        rows.append((name, float(np.median(times)), res))
    truth = hrv_time(rec.truth.ibi_ms)
    print(f"   {'pipeline':<22}{'median s (3 runs)':>18}   result")
    for name, t, res in rows:
        print(f"   {name:<22}{t:>18.3f}   {res}")
    if have_nk:
        print(f"   speed-up vs neurokit2: {rows[1][1] / rows[0][1]:.1f}x")
    print(f"   truth RMSSD {truth.rmssd_ms:.2f} ms; SCRs in truth: {rec.truth.scr_onsets.size}")


def accuracy(n_seeds: int) -> None:
    import neurokit2 as nk

    from app.heartpy_peer import heartpy_ppg_estimate

    dur = 240.0
    print(f"\n3) beat accuracy on simulated PPG ({n_seeds} seeds x {dur:.0f} s each; F1 @ 50 ms,")
    print("   timing SD of matched beats in ms; mean over seeds)")
    print(
        f"   {'fs':>5} {'artefacts':>9} | {'ours F1':>8} {'SD':>5} | {'nk2 F1':>8} {'SD':>5} | {'heartpy F1':>10} {'SD':>5}"
    )
    for fs in (64.0, 128.0):
        for art in (False, True):
            acc: dict[str, list[tuple[float, float]]] = {"o": [], "n": [], "h": []}
            for seed in range(n_seeds):
                rec = simulate_person(dur, seed=100 + seed, ppg_fs=fs, artifacts=art)
                tb = rec.truth.beat_times
                ref = tb[(tb > 2) & (tb < dur - 2)]

                def sc(d: np.ndarray, ref: np.ndarray = ref) -> tuple[float, float]:
                    d = d[(d > 2) & (d < dur - 2)]
                    m = match_events(d, ref, 0.05)
                    return m.f1, float(np.std(m.errors_s) * 1000)

                acc["o"].append(sc(ppg_peaks(rec.ppg, fs) / fs))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p = nk.ppg_findpeaks(
                        nk.ppg_clean(rec.ppg, sampling_rate=int(fs)), sampling_rate=int(fs)
                    )
                acc["n"].append(sc(np.asarray(p["PPG_Peaks"], dtype=float) / fs))
                hp = heartpy_ppg_estimate(rec.ppg, fs)
                acc["h"].append(sc(hp.peaks_s) if hp.available else (np.nan, np.nan))
            m = {k: np.nanmean(np.asarray(v), axis=0) for k, v in acc.items()}
            print(
                f"   {fs:>5.0f} {('yes' if art else 'no'):>9} | {m['o'][0]:>8.4f} {m['o'][1]:>5.1f} | "
                f"{m['n'][0]:>8.4f} {m['n'][1]:>5.1f} | {m['h'][0]:>10.4f} {m['h'][1]:>5.1f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--ticks", type=int, default=120)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    live_tick(args.ticks)
    offline(args.minutes)
    accuracy(args.seeds)


if __name__ == "__main__":
    main()
