"""Benchmark: stream discovery while another process's outlets stop answering.

Run: ``.venv/bin/python benchmarks/bench_discovery.py [--streams 6] [--code DIR]``

A helper process publishes ``--streams`` numeric outlets on loopback. Once this process's
resolver has seen them, the helper is frozen (SIGSTOP): it stands for a process that is
starved, stalled or half-way through exiting, whose streams are still listed but whose full
info never arrives. Measured, all in this run:

1. ``app.live.discover(1.0)`` wall time, first and second pass (full infos are fetched per
   uid; every fetch of a frozen stream runs into its timeout);
2. ``app.live.assign_visible`` waiting 4 s for a stream that never comes: wall and CPU time
   (a CPU time near the wall time means a busy loop).

``--code DIR`` imports ``app``/``devices`` from another checkout (e.g. an older commit) so that
the before/after figures come from the same script on the same machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import sys, time
from devices.lsl import make_outlet
outs = [make_outlet(f"{sys.argv[1]}-{k}", "PPG", f"{sys.argv[1]}-{k}", 64.0, ["ppg"], "au")
        for k in range(int(sys.argv[2]))]
print("ready", flush=True)
time.sleep(120)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=6)
    ap.add_argument("--code", default=str(ROOT), help="checkout to import app/devices from")
    args = ap.parse_args()
    code = str(Path(args.code).resolve())
    sys.path.insert(0, code)
    env = dict(os.environ, PYTHONPATH=code)
    env["LSLAPICFG"] = os.environ["LSLAPICFG"] = str(Path(code) / "resources" / "lsl_local.cfg")
    from app.live import assign_visible, discover
    from devices.lsl import resolve_streams

    prefix = f"BenchFrozen{os.getpid()}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, prefix, str(args.streams)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        holder.stdout.readline()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            seen = [d for d, _ in resolve_streams(0.5) if d.name.startswith(prefix)]
            if len(seen) == args.streams:
                break
            time.sleep(0.2)
        print(f"code: {code}; {len(seen)} streams of a frozen process (SIGSTOP) are listed")
        holder.send_signal(signal.SIGSTOP)
        for k in range(2):
            t = time.perf_counter()
            found = discover(1.0)
            print(
                f"discover pass {k + 1}: {time.perf_counter() - t:6.2f} s  ({len(found)} streams)"
            )
        t, c = time.perf_counter(), time.process_time()
        assign_visible({"patient": f"Nothing{prefix}*"}, None, 4.0, require_complete=False)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(f"assign_visible waiting 4 s for nothing: wall {wall:5.2f} s, CPU {cpu:5.2f} s")
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
