"""Benchmark: reading a 60-minute dyad XDF, ``load_recording`` vs ``pyxdf.load_xdf`` (same run).

Run from the repository root::

    .venv/bin/python benchmarks/bench_xdf_read.py [--minutes 60] [--chunk 1.0] [--repeat 3]
        [--review N]

1. A seeded dyad (``dsp.simulate.simulate_dyad``: 2 x PPG 128 Hz + 2 x EDA 32 Hz) is written
   with ``devices.xdf_writer.XdfWriter`` in ``--chunk`` second Samples chunks (1 s as
   ``app.analysis.write_simulated_xdf``; 0.25 s as the live recorder), with a clock offset per
   stream every 5 s, a string marker stream (every 5 min) and a 4-channel metrics stream
   (float32, 1 Hz), as a session file looks (not timed).
2. ``pyxdf.load_xdf`` (clock sync + dejitter, as ``load_recording`` used it until now) and
   ``devices.xdf_reader.load_recording`` read the file ``--repeat`` times each, alternating;
   best and median wall times are printed, with the speed-up.
3. The two results are compared: values bit-identical, largest timestamp difference, same
   headers / footers / clock offsets.
4. With ``--review N``: ``attune review FILE --screenshot`` first open (empty analysis cache),
   as ``benchmarks/bench_analysis.py`` measures it (the file written by
   ``app.analysis.write_simulated_xdf``), N times alternating between the fast read path and
   the reader forced onto ``pyxdf.load_xdf`` (``FAST_PATH_AVAILABLE = False``), so both meet the
   same machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def _header(name: str, stype: str, fmt: str, labels: list[str], rate: float, sid: str) -> str:
    chans = "".join(f"<channel><label>{lab}</label><unit>a.u.</unit></channel>" for lab in labels)
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{stype}</type>'
        f"<channel_count>{len(labels)}</channel_count><channel_format>{fmt}</channel_format>"
        f"<source_id>{sid}</source_id><nominal_srate>{rate}</nominal_srate>"
        f"<desc><channels>{chans}</channels></desc></info>"
    )


def write_dyad(path: Path, minutes: float, chunk_s: float) -> int:
    """Write the session; return the number of samples."""
    from devices.xdf_writer import XdfWriter
    from dsp.simulate import DyadSimConfig, simulate_dyad

    dur = minutes * 60.0
    dyad = simulate_dyad(DyadSimConfig(duration_s=dur, seed=1, coupling=0.8, lag_s=2.0))
    t0, total = 1000.0, 0
    with XdfWriter(path, overwrite=True, flush_interval=10.0) as w:
        plan = []
        for role in ("patient", "clinician"):
            pr = getattr(dyad, role)
            for mod, x, fs in (("PPG", pr.ppg, pr.ppg_fs), ("EDA", pr.eda, pr.eda_fs)):
                name = f"Bench-{role}-{mod}"
                sid = w.add_stream(_header(name, mod, "float32", [mod], fs, name))
                plan.append((sid, np.asarray(x, dtype=np.float32)[:, None], float(fs)))
        mk = w.add_stream(_header("Bench-Markers", "Markers", "string", ["label"], 0.0, "mk"))
        met_labels = ["hr_patient", "hr_clinician", "scl_patient", "scl_clinician"]
        met = w.add_stream(_header("Bench-Metrics", "Metrics", "float32", met_labels, 1.0, "met"))
        rng = np.random.default_rng(0)
        n_chunks = int(np.ceil(dur / chunk_s))
        next_offset = 0.0
        for c in range(n_chunks):
            s0, s1 = c * chunk_s, min((c + 1) * chunk_s, dur)
            for sid, x, fs in plan:
                i0, i1 = int(round(s0 * fs)), min(int(round(s1 * fs)), len(x))
                if i1 > i0:
                    w.write_samples(sid, x[i0:i1], t0 + np.arange(i0, i1) / fs)
                    total += i1 - i0
            m0, m1 = int(np.ceil(s0)), int(np.ceil(s1))
            if m1 > m0:
                w.write_samples(met, rng.normal(size=(m1 - m0, 4)), t0 + np.arange(m0, m1))
                total += m1 - m0
            if s0 >= next_offset:
                for sid in [p[0] for p in plan] + [mk, met]:
                    w.write_clock_offset(sid, t0 + s0, 0.0)
                next_offset += 5.0
            if int(s0) % 300 == 0 and int(s0) == s0:
                w.write_samples(mk, [["listening" if int(s0) % 600 == 0 else "talking"]], [t0 + s0])
                total += 1
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--chunk", type=float, default=1.0, help="Samples chunk length (s)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--review", type=int, default=0, help="review first-open A/B runs")
    args = ap.parse_args()

    import pyxdf

    from devices.xdf_reader import FAST_PATH_AVAILABLE, load_recording

    tmp = Path(tempfile.mkdtemp(prefix="bench_xdf_read_"))
    path = tmp / "session.xdf"
    t = time.perf_counter()
    n = write_dyad(path, args.minutes, args.chunk)
    print(
        f"wrote {args.minutes:g} min dyad in {args.chunk:g} s chunks: {n / 1e6:.2f} M samples, "
        f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s "
        f"(cores: {os.cpu_count()}, load avg {os.getloadavg()[0]:.2f}, "
        f"fast path available: {FAST_PATH_AVAILABLE})"
    )

    ours_t: list[float] = []
    theirs_t: list[float] = []
    rec = ref = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        ref, _hdr = pyxdf.load_xdf(str(path))
        theirs_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        rec = load_recording(path)
        ours_t.append(time.perf_counter() - t)
    assert rec is not None and ref is not None

    def fmt(ts: list[float]) -> str:
        return f"best {min(ts):.2f} s, median {statistics.median(ts):.2f} s"

    print(f"pyxdf.load_xdf (sync + dejitter):   {fmt(theirs_t)}")
    print(f"load_recording (sync + dejitter):   {fmt(ours_t)}")
    print(f"speed-up (best): {min(theirs_t) / min(ours_t):.1f}x")

    worst, identical = 0.0, True
    for s, r in zip(rec.streams, ref, strict=True):
        if s.is_string:
            identical &= s.values[:, 0].tolist() == [row[0] for row in r["time_series"]]
        else:
            identical &= s.values.dtype == r["time_series"].dtype
            identical &= s.values.tobytes() == np.asarray(r["time_series"]).tobytes()
        identical &= s.info == r["info"] and s.footer == r["footer"]["info"]
        identical &= list(s.clock_values) == list(r["clock_values"])
        if s.n_samples:
            worst = max(worst, float(np.max(np.abs(s.timestamps - r["time_stamps"]))))
    print(
        f"equal to pyxdf: values/headers/footers/clock offsets {'identical' if identical else 'DIFFER'}, "
        f"max |timestamp difference| {worst:.3g} s"
    )
    if args.review:
        review_ab(tmp, args.minutes, args.review)
    return 0 if identical and worst <= 1e-9 else 1


def review_ab(tmp: Path, minutes: float, runs: int) -> None:
    """``attune review`` first open with the fast reader and with pyxdf.load_xdf, alternating."""
    import re
    import subprocess

    from dsp.simulate import DyadSimConfig, simulate_dyad
    from tests.xdf_sim import write_simulated_xdf

    dur = minutes * 60.0
    markers = [(t, "listening" if k % 2 == 0 else "talking")
               for k, t in enumerate(range(0, int(dur), 300))]  # fmt: skip
    dyad = simulate_dyad(DyadSimConfig(duration_s=dur, seed=1, coupling=0.8, lag_s=2.0))
    xdf = write_simulated_xdf(tmp / "review.xdf", dyad, markers=markers)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    boot = (
        "import sys, runpy, devices.xdf_fast as f; f.FAST_PATH_AVAILABLE = {fast}; "
        "sys.argv[0] = 'attune'; runpy.run_module('app.cli', run_name='__main__')"
    )
    ready: dict[str, list[float]] = {"fast": [], "pyxdf": []}
    for k in range(runs):
        for label in ("fast", "pyxdf"):
            env["ATTUNE_CACHE_DIR"] = str(tmp / f"cache_{label}_{k}")  # first open: no cache
            cmd = [sys.executable, "-c", boot.format(fast=label == "fast"), "review", str(xdf),
                   "--screenshot", str(tmp / "review.png")]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), env=env)
            m = re.search(r"window ready in ([0-9.]+) s", proc.stdout)
            if not m:
                print(proc.stdout[-500:], proc.stderr[-2000:])
                return
            ready[label].append(float(m.group(1)))
    for label, ts in ready.items():
        print(
            f"attune review {minutes:g} min, first open, reader {label:5s}: window ready "
            f"median {statistics.median(ts):.2f} s (runs: {', '.join(f'{t:.2f}' for t in ts)}; "
            f"load avg {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    sys.exit(main())
