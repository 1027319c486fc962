"""Per device profile: HR and SCL through LSL -> acquisition -> engine vs the simulator's truth.

Usage: ``.venv/bin/python benchmarks/bench_devices.py [--seconds 30]``. For each profile
simulator (``attune simulate --device``) both people are followed for ``--seconds`` seconds;
printed: |HR - true HR| (bpm, last 5 s window), |SCL - true SCL| (µS, last 10 s), the clock
note and the measured rate of the cardiac stream.
"""

from __future__ import annotations

import argparse
import time
import uuid

import numpy as np

from app.engine import EngineConfig
from app.live import discover, start_session
from devices.assign import assign
from devices.device_sim import DEVICES, DeviceSimSource, role_glob
from devices.lsl import use_local_lsl
from dsp.simulate import DyadSimConfig


def run(device: str, seconds: float) -> str:
    ids = {"patient": uuid.uuid4().hex[:6].upper(), "clinician": uuid.uuid4().hex[:6].upper()}
    src = DeviceSimSource(device, DyadSimConfig(seed=11), ids=ids)
    src.start()
    try:
        roles = {r: role_glob(device, i) for r, i in ids.items()}
        deadline = time.monotonic() + 20
        while True:
            found = discover(1.0)
            a = assign([d for d, _ in found], roles=roles)
            if all(a.cardiac(r) for r in ids) or time.monotonic() > deadline:
                break
        session = start_session(a, found, EngineConfig(publish_metrics=False))
        time.sleep(seconds)
        snap = session.engine.last_snapshot
        session.stop()
    finally:
        src.stop()
    t = snap.t - src.t0
    out = []
    for role in ("patient", "clinician"):
        pm = snap.persons[role]
        tr = src.model.truth(role, t + 5)
        ends = tr.beat_times[1:] if a.cardiac(role).modality == "ppg" else tr.r_peak_times[1:]
        hr = 60000.0 / np.mean(tr.ibi_ms[(ends > t - 5) & (ends <= t)])
        scl = ""
        if a.get(role, "eda") is not None:
            fs = src.config.eda_fs
            k = int(t * fs)
            true = float(np.median(src.model.render(role, "eda", k - int(10 * fs), int(10 * fs))))
            scl = f" dSCL {abs(pm.scl_us - true):.3f} uS"
        out.append(f"{role[0]}: dHR {abs(pm.hr_bpm - hr):.2f} bpm{scl}")
    key = snap.channels["patient/" + a.cardiac("patient").modality]
    h = snap.health[key]
    note = "; ".join(h.notes) or "LSL clock"
    return f"{device:9s} {' | '.join(out)} | {h.effective_rate:.1f} Hz | {note[:60]}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    use_local_lsl()
    for device in DEVICES:
        print(run(device, args.seconds), flush=True)


if __name__ == "__main__":
    main()
