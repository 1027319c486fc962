"""Benchmark of the dyad concordance engine (prints figures; not a pass/fail test).

Run:  .venv/bin/python benchmarks/bench_concordance.py [--long]

* live tick: ``LiveDyad.push`` of one second of 4 Hz grid data (4 samples x 4 series) plus
  ``snapshot()``, over a simulated 20-minute session (includes the automatic surrogate refresh
  every 10 s);
* surrogate refresh: ``LiveDyad.refresh_baseline()`` (200 circular shifts) after 20 min and,
  with ``--long``, after 4 h of data (shows that cost does not grow with the session);
* offline: the whole-session functions on a simulated 60-minute session.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dsp.concordance import (
    DyadConfig,
    LiveDyad,
    analyze_session,
    hr_coherence,
    slope_concordance,
    slope_signal,
    susy,
    wcc,
)
from dsp.concordance.hr import hr_coherence_shift_test, hr_coherence_test
from dsp.concordance.segments import segment_concordance
from dsp.grid import make_grid, resample_to_grid
from dsp.simulate import DyadSimConfig, simulate_dyad

FS = 4.0


def dyad_on_grid(duration_s: float, seed: int = 1):
    rec = simulate_dyad(DyadSimConfig(duration_s=duration_s, seed=seed, coupling=0.8, lag_s=2.0,
                                      ppg_fs=16.0, eda_fs=16.0))  # fmt: skip
    tg = make_grid(0.0, duration_s - 1e-9, FS)
    out = [tg]
    for p in (rec.patient, rec.clinician):
        out.append(resample_to_grid(np.arange(p.eda.size) / p.eda_fs, p.eda, tg))
    hr = []
    for p in (rec.patient, rec.clinician):
        b = p.truth.beat_times
        hr.append(resample_to_grid(0.5 * (b[1:] + b[:-1]), 60.0 / np.diff(b), tg, 2.0))
    return out[0], out[1], out[2], hr[0], hr[1]


def stats_ms(a) -> str:
    a = np.asarray(a) * 1e3
    return (
        f"median {np.median(a):7.3f} ms  p95 {np.percentile(a, 95):7.3f} ms  "
        f"max {a.max():7.3f} ms  (n={a.size})"
    )


def timed(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_live(long: bool) -> None:
    t, x, y, hp, hc = dyad_on_grid(1200.0)
    ld = LiveDyad(DyadConfig())
    ticks, refresh_ticks = [], []
    for i in range(0, t.size, 4):
        s = slice(i, i + 4)
        before = ld._last_refresh_k
        t0 = time.perf_counter()
        ld.push(t[s], x[s], y[s], hp[s], hc[s])
        ld.snapshot()
        dt = time.perf_counter() - t0
        (refresh_ticks if ld._last_refresh_k != before else ticks).append(dt)
    print("LiveDyad, simulated 20-min session, one 1-s tick = push(4 samples) + snapshot()")
    print("  tick without refresh :", stats_ms(ticks))
    print("  tick with refresh    :", stats_ms(refresh_ticks))
    print("  all ticks            :", stats_ms(ticks + refresh_ticks))
    ref = [timed(ld.refresh_baseline, 1) for _ in range(50)]
    print("  refresh_baseline() after 20 min (200 surrogates):", stats_ms(ref))
    snap = []
    for _ in range(200):
        ld._cached = None
        t0 = time.perf_counter()
        ld.snapshot()
        snap.append(time.perf_counter() - t0)
    print("  snapshot() alone     :", stats_ms(snap))
    if long:
        t, x, y, hp, hc = dyad_on_grid(4 * 3600.0, seed=2)
        ld = LiveDyad(DyadConfig())
        n_tail = 4 * 120
        for i in range(0, t.size - n_tail, 240):
            s = slice(i, min(i + 240, t.size - n_tail))
            ld.push(t[s], x[s], y[s], hp[s], hc[s])
        ticks = []
        for i in range(t.size - n_tail, t.size, 4):
            s = slice(i, i + 4)
            t0 = time.perf_counter()
            ld.push(t[s], x[s], y[s], hp[s], hc[s])
            ld.snapshot()
            ticks.append(time.perf_counter() - t0)
        print("LiveDyad after 4 h of data")
        print("  all ticks            :", stats_ms(ticks))
        ref = [timed(ld.refresh_baseline, 1) for _ in range(50)]
        print("  refresh_baseline()   :", stats_ms(ref))


def bench_offline() -> None:
    t, x, y, hp, hc = dyad_on_grid(3600.0)
    sx, sy = slope_signal(x, FS), slope_signal(y, FS)
    blocks = [(a, a + 120.0, "listening" if (a // 120) % 2 == 0 else "talking")
              for a in np.arange(0, 3600.0, 120.0)]  # fmt: skip
    rows = [
        ("slope_concordance (5 s slopes, 15 s r, 1 s step)", lambda: slope_concordance(x, y, FS)),
        ("wcc on 4 Hz slopes, win 30 s, lag +-5 s, inc 1 s",
         lambda: wcc(sx, sy, FS, lag_s=5, win_s=30, inc_s=1)),
        ("wcc on 4 Hz slopes, win 30 s, lag +-5 s, inc 5 s",
         lambda: wcc(sx, sy, FS, lag_s=5, win_s=30, inc_s=5)),
        ("susy on 4 Hz slopes, segment 30 s, max lag 5 s",
         lambda: susy(sx, sy, FS, segment_s=30, max_lag_s=5)),
        ("analyze_session (r, CI, KSI, WCC, 200 circular surrogates)",
         lambda: analyze_session(x, y, FS, n_surrogates=200)),
        ("segment_concordance (30 x 2-min blocks)", lambda: segment_concordance(x, y, FS, blocks)),
        ("hr_coherence (last 5 min)", lambda: hr_coherence(hp, hc, FS)),
        ("hr_coherence_test (last 5 min, 50 wrapped circular shifts)",
         lambda: hr_coherence_test(hp, hc, FS, n_surrogates=50)),
        ("hr_coherence_shift_test (last 5 min, 50 time shifts of 60 min)",
         lambda: hr_coherence_shift_test(hp, hc, FS, n_surrogates=50)),
    ]  # fmt: skip
    print("Offline, simulated 60-minute session at 4 Hz (best of 3)")
    for name, fn in rows:
        print(f"  {name:<62s} {1e3 * timed(fn):8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", action="store_true", help="also measure after 4 h of data")
    args = ap.parse_args()
    bench_live(args.long)
    bench_offline()


if __name__ == "__main__":
    main()
