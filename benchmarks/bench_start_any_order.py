"""Benchmark: a session started before its streams (start in any order).

Run: ``.venv/bin/python benchmarks/bench_start_any_order.py [--unrelated 40] [--rounds 3]``

A ``LiveController`` session starts on ``--role`` globs whose streams do not exist yet, with
``--unrelated`` other numeric outlets on the machine. Measured, per round:

1. CPU time of this process over 10 s of waiting (finder looking every 0.5 s, engine ticking);
2. after one EDA outlet appears (its samples pushed every 0.1 s): seconds until the signal is
   connected (in the engine's snapshot) and until its first sample is in the engine's person
   (the snapshot's ``eda_last_t`` is finite).

The peer is the previous behaviour: ``attune run`` gave up after ``--wait`` (5 s) and had to be
restarted by hand after the wearable was switched on, so its "time to connect" after a late
stream was unbounded.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))


def _round(n_unrelated: int) -> tuple[float, float, float]:
    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.sources import SourceChoice
    from devices.lsl import make_outlet

    tag = uuid.uuid4().hex[:8]
    others = [
        make_outlet(f"Busy{tag}-{k}", ("EDA", "PPG", "EEG")[k % 3], f"b{tag}{k}", 32.0, ["x"], "au")
        for k in range(n_unrelated)
    ]
    control = LiveController(
        EngineConfig(publish_metrics=False), f"Markers-{tag}", f"markers-{tag}"
    )
    roles = {"patient": f"Pat{tag}-*", "clinician": f"Cli{tag}-*"}
    stop = threading.Event()
    try:
        session = control.connect(SourceChoice(roles=roles))
        c0 = time.process_time()
        time.sleep(10.0)
        cpu = time.process_time() - c0
        outlet = make_outlet(f"Pat{tag}-EDA", "EDA", f"pat{tag}", 32.0, ["eda"], "uS")
        t0 = time.monotonic()

        def push() -> None:
            k = 0
            while not stop.wait(0.1):
                outlet.push_chunk((4.0 + 0.01 * np.arange(k, k + 3)).reshape(-1, 1).tolist())
                k += 3

        threading.Thread(target=push, daemon=True).start()
        connected = data = float("nan")
        while time.monotonic() - t0 < 60:
            snap = session.engine.last_snapshot
            if np.isnan(connected) and snap is not None and "patient/eda" in snap.channels:
                connected = time.monotonic() - t0
            if snap is not None and np.isfinite(snap.persons["patient"].eda_last_t):
                data = time.monotonic() - t0
                break
            time.sleep(0.05)
        return cpu, connected, data
    finally:
        stop.set()
        control.shutdown()
        del others


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unrelated", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"{args.unrelated} unrelated streams on the machine, {args.rounds} rounds")
    rows = [_round(args.unrelated) for _ in range(args.rounds)]
    for i, (cpu, conn, data) in enumerate(rows, 1):
        print(
            f"round {i}: CPU while waiting {cpu:5.2f} s per 10 s; a stream appearing is "
            f"connected after {conn:4.1f} s, its data in the engine after {data:4.1f} s"
        )
    conn = np.array([r[1] for r in rows])
    print(
        f"median: connected after {np.median(conn):.1f} s (peer, before: never; `attune run` "
        "had exited after --wait 5 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
