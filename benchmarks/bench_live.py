"""Live pipeline benchmark: acquisition + DSP threads on 2 x (PPG 128 Hz + EDA 32 Hz).

Prints CPU of each thread, DSP tick cost, raw-sample-to-buffer latency and the latency from
an outlet's push to the metric snapshot that includes the sample. The simulator publishes from
a child process (its CPU is not counted). For comparison the same run also measures a minimal
peer: one plain pylsl ``pull_chunk`` loop into Python lists, with no processing.

Run:  .venv/bin/python benchmarks/bench_live.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))

import numpy as np  # noqa: E402


def thread_cpu(native_id: int) -> float:
    """CPU seconds (user + system) of one thread of this process (Linux /proc)."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()

    import pylsl

    from app.engine import EngineConfig
    from app.live import assign_visible, start_session
    from devices.source import PARENT_ENV
    from dsp.concordance import DyadConfig

    prefix = f"Bench{os.getpid()}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "simulate", "--name-prefix", prefix],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, PARENT_ENV: str(os.getpid())},
    )
    sim.stdout.readline()
    # a probe outlet that stamps every sample with the LSL clock at push_sample time
    probe_code = (
        "import os, sys, time, pylsl\n"
        "parent = os.getppid()\n"
        "o = pylsl.StreamOutlet(pylsl.StreamInfo(sys.argv[1], 'Probe', 1, 100, 'double64', sys.argv[1]))\n"
        "print('ready', flush=True)\n"
        "while os.getppid() == parent:\n"
        "    o.push_sample([0.0], pylsl.local_clock())\n"
        "    time.sleep(0.01)\n"
    )
    probe = subprocess.Popen(
        [sys.executable, "-c", probe_code, f"{prefix}-probe"], stdout=subprocess.PIPE, text=True
    )
    probe.stdout.readline()
    roles = {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
    assignment, found = assign_visible(roles, None, 10.0, require_complete=True)
    cfg = EngineConfig(dyad=DyadConfig(), metrics_source_id=f"bench-{prefix}")
    from devices.lsl import resolve_streams

    extra = []
    deadline = time.monotonic() + 10
    while not extra and time.monotonic() < deadline:
        extra = [(d, i) for d, i in resolve_streams(1.0) if d.name == f"{prefix}-probe"]
    session = start_session(assignment, found, cfg, extra_streams=extra)

    # raw-sample-to-buffer latency: watch one PPG buffer at 1 kHz and note when samples land
    slot = next(s for s in session.acquisition.slots if s.name == f"{prefix}-probe")
    lat: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        seen = slot.written
        while not stop.is_set():
            w = slot.written
            if w > seen:
                now = pylsl.local_clock()
                chunk = slot.buffer.read_since(seen)
                lat.extend(now - chunk.raw_ts)  # stamps are the probe's push times
                seen = w
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    snaps = []
    session.engine.subscribe(snaps.append)
    time.sleep(5.0)  # settle
    acq_id = session.acquisition._thread.native_id
    dsp_id = session.engine._thread.native_id
    c_acq0, c_dsp0, p0, w0 = (
        thread_cpu(acq_id),
        thread_cpu(dsp_id),
        time.process_time(),
        time.time(),
    )
    n0 = len(snaps)
    time.sleep(args.seconds)
    wall = time.time() - w0
    c_acq = thread_cpu(acq_id) - c_acq0
    c_dsp = thread_cpu(dsp_id) - c_dsp0
    proc = time.process_time() - p0
    stop.set()
    watcher.join()
    ticks = snaps[n0:]
    cost = np.array([s.tick_cost_s for s in ticks]) * 1000
    push_to_snap = []
    for s in ticks:
        pm = s.persons.get("patient")
        if pm is not None and np.isfinite(pm.cardiac_last_t):
            push_to_snap.append(s.t - pm.cardiac_last_t)
    session.stop()

    # peer: a bare pylsl pull loop over the same four streams, nothing else
    inlets = [pylsl.StreamInlet(i) for d, i in found if d.name.startswith(prefix)]
    for inlet in inlets:
        inlet.open_stream(5.0)
    peer_samples = [0]
    peer_stop = threading.Event()

    def peer() -> None:
        while not peer_stop.is_set():
            for inlet in inlets:
                data, ts = inlet.pull_chunk(timeout=0.0)
                peer_samples[0] += len(ts)
            time.sleep(0.015)

    th = threading.Thread(target=peer)
    th.start()
    time.sleep(1.0)
    pc0, pw0 = thread_cpu(th.native_id), time.time()
    time.sleep(min(args.seconds, 20.0))
    peer_cpu = (thread_cpu(th.native_id) - pc0) / (time.time() - pw0)
    peer_stop.set()
    th.join()
    inlets.clear()
    for p in (sim, probe):
        p.terminate()
        p.wait(10)

    lat_ms = np.array(lat) * 1000
    print(f"live pipeline, 2 x (PPG 128 Hz + EDA 32 Hz), {wall:.0f} s, {len(ticks)} ticks")
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'acquisition thread CPU (% of one core)':<44}{100 * c_acq / wall:>12.2f}")
    print(f"{'  peer: bare pylsl pull loop (% of one core)':<44}{100 * peer_cpu:>12.2f}")
    print(f"{'DSP thread CPU (% of one core)':<44}{100 * c_dsp / wall:>12.2f}")
    print(f"{'whole process CPU (% of one core)':<44}{100 * proc / wall:>12.2f}")
    print(f"{'DSP tick cost median (ms)':<44}{np.median(cost):>12.2f}")
    print(f"{'DSP tick cost p95 (ms)':<44}{np.percentile(cost, 95):>12.2f}")
    print(f"{'push_sample -> ring buffer median (ms)':<44}{np.median(lat_ms):>12.2f}")
    print(f"{'push_sample -> ring buffer p95 (ms)':<44}{np.percentile(lat_ms, 95):>12.2f}")
    print(f"{'newest input -> snapshot median (ms)':<44}{1000 * np.median(push_to_snap):>12.1f}")
    print(
        f"{'newest input -> snapshot p95 (ms)':<44}{1000 * np.percentile(push_to_snap, 95):>12.1f}"
    )


if __name__ == "__main__":
    main()
