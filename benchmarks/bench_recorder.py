"""Benchmark: XDF writer throughput, replay CPU, live recorder cost (prints figures).

Run from the repository root::

    .venv/bin/python benchmarks/bench_recorder.py [--seconds 10]

1. Writer throughput: a 60-minute dyad (2 x PPG 128 Hz + 2 x EDA 32 Hz + markers) written in
   0.25 s chunks, as the recorder does, then read back with pyxdf.
2. Replay CPU: the same kind of session replayed over LSL (loopback) for ``--seconds``.
3. Replay + acquisition + recorder: the replay recorded live; CPU of the whole process and
   the recorder's per-poll cost.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))

import numpy as np  # noqa: E402

from devices.xdf_writer import XdfWriter  # noqa: E402

STREAMS = [  # name, type, rate, channels, format
    ("Bench-patient-PPG", "PPG", 128.0, 1, "float32"),
    ("Bench-patient-EDA", "EDA", 32.0, 1, "float32"),
    ("Bench-clinician-PPG", "PPG", 128.0, 1, "float32"),
    ("Bench-clinician-EDA", "EDA", 32.0, 1, "float32"),
]


def header(name: str, stype: str, rate: float, nch: int, fmt: str, sid: str) -> str:
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{stype}</type>'
        f"<channel_count>{nch}</channel_count><channel_format>{fmt}</channel_format>"
        f"<source_id>{sid}</source_id><nominal_srate>{rate}</nominal_srate>"
        f"<desc><channels><channel><label>{stype}</label><unit>a.u.</unit></channel></channels>"
        "</desc></info>"
    )


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def write_session(path: Path, minutes: float, tag: str) -> tuple[float, int, int]:
    """Write a dyad session in 0.25 s chunks; return (seconds, bytes, samples)."""
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    n_total = 0
    with XdfWriter(path, overwrite=True, flush_interval=0.0) as w:
        sids = [w.add_stream(header(n, t, r, c, f, f"{n}-{tag}")) for n, t, r, c, f in STREAMS]
        mk = w.add_stream(header("Bench-Markers", "Markers", 0.0, 1, "string", f"mk-{tag}"))
        n_ticks = int(minutes * 60 * 4)
        for k in range(n_ticks):
            t = k * 0.25
            for sid, (_, _, rate, nch, _) in zip(sids, STREAMS, strict=True):
                n = int(rate * 0.25)
                w.write_samples(sid, rng.normal(size=(n, nch)), 1000.0 + t + np.arange(n) / rate)
                n_total += n
            if k % 240 == 0:
                w.write_samples(mk, [[f"marker {k}"]], [1000.0 + t])
                for sid in sids:
                    w.write_clock_offset(sid, 2000.0 + t, 1e-4)
                n_total += 1
            w.maybe_flush()
    return time.perf_counter() - t0, path.stat().st_size, n_total


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="live part duration (default 10)")
    ap.add_argument(
        "--minutes", type=float, default=60.0, help="offline session length (default 60)"
    )
    args = ap.parse_args()
    tag = f"{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        # 1. writer throughput
        path = tmpd / "hour.xdf"
        secs, size, n = write_session(path, args.minutes, tag)
        print(
            f"writer: {args.minutes:g}-min dyad ({n} samples, {size / 1e6:.1f} MB) written in "
            f"{secs:.2f} s = {n / secs / 1e6:.2f} M samples/s, {size / 1e6 / secs:.0f} MB/s "
            f"({args.minutes * 60 / secs:.0f}x real time)"
        )
        import pyxdf

        t0 = time.perf_counter()
        streams, _ = pyxdf.load_xdf(str(path))
        print(f"pyxdf reads it back in {time.perf_counter() - t0:.2f} s ({len(streams)} streams)")

        # 2. replay CPU
        import pylsl

        from devices.acquisition import Acquisition
        from devices.lsl import describe
        from devices.recorder import Recorder
        from devices.replay import Replay

        src = tmpd / "src.xdf"
        write_session(src, max(args.seconds * 2, 60) / 60.0, tag)
        replay = Replay(src, tick=0.02)
        c0, w0 = cpu(), time.perf_counter()
        replay.start()
        time.sleep(args.seconds)
        c1, w1 = cpu(), time.perf_counter()
        pushed = replay.samples_pushed
        replay.stop()
        print(
            f"replay: 5 streams (2x128 Hz + 2x32 Hz + markers), {pushed / (w1 - w0):.0f} samples/s, "
            f"CPU {100 * (c1 - c0) / (w1 - w0):.1f} % of one core"
        )

        # 3. replay + acquisition + recorder
        replay = Replay(src, tick=0.02, lead_s=2.0)
        replay.start()
        resolver = pylsl.ContinuousResolver(forget_after=30.0)
        want = {f"{n}-{tag}" for n, *_ in STREAMS} | {f"mk-{tag}"}
        found: dict[str, object] = {}
        deadline = time.monotonic() + 10
        while len(found) < len(want) and time.monotonic() < deadline:
            time.sleep(0.1)
            found.update({i.source_id(): i for i in resolver.results() if i.source_id() in want})
        acq = Acquisition(buffer_s=60.0)
        for info in found.values():
            acq.add(describe(info), info)
        acq.start()
        rec = Recorder(acq, tmpd / "rec.xdf")
        poll_costs: list[float] = []
        orig = rec._poll

        def timed_poll() -> None:
            t = time.thread_time()
            orig()
            poll_costs.append(time.thread_time() - t)

        rec._poll = timed_poll  # type: ignore[method-assign]
        rec.start()
        c0, w0 = cpu(), time.perf_counter()
        time.sleep(args.seconds)
        c1, w1 = cpu(), time.perf_counter()
        summary = rec.stop()
        acq.stop()
        replay.stop()
        print(
            f"replay + acquisition + recorder: CPU {100 * (c1 - c0) / (w1 - w0):.1f} % of one core; "
            f"recorder poll (0.25 s) median {1e3 * float(np.median(poll_costs)):.2f} ms CPU, "
            f"max {1e3 * max(poll_costs):.2f} ms; {summary.total_samples} samples in "
            f"{summary.duration:.1f} s, lost {sum(summary.lost.values())}"
        )


if __name__ == "__main__":
    main()
