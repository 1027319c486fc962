"""A coupled dyad with the patient at another site: the same lead and CI as run locally?

Two LSL "sites" on this machine (separate LSL session ids, as two machines): the patient's site
runs the simulator (seed 1, coupling 0.8, patient leads by 2 s) and ``attune share`` with its
clock 37.5 s and 30 ppm off; the clinic runs a relay, ``attune run --remote`` (which re-publishes
the patient's streams on its clock) and a second copy of the same simulator started at the same
LSL time (so its patient is the local twin of the remote one, and its clinician is the
clinician). ``attune record`` at the clinic records the remote patient, the local patient and the
clinician into one XDF; ``attune analyze`` is run twice on it, once with the remote patient and
once with the local one. Targets: lead within 0.1 s, CI within 0.05.

Run (real time):  .venv/bin/python benchmarks/bench_remote_dyad.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    secs = args.minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="bench-remote-dyad-"))
    cfg = (ROOT / "resources" / "lsl_local.cfg").read_text()
    (tmp / "patient.cfg").write_text(cfg.replace("[lab]\n", "[lab]\nSessionID = benchpatient\n"))
    env = dict(os.environ, ATTUNE_REMOTE_DIR=str(tmp / "clinic"), PYTHONPATH=str(ROOT),
               LSLAPICFG=str(ROOT / "resources" / "lsl_local.cfg"))  # fmt: skip
    penv = dict(env, LSLAPICFG=str(tmp / "patient.cfg"))
    attune = [sys.executable, "-m", "app.cli"]
    relay = f"tls/127.0.0.1:{_port()}"
    uid = os.urandom(3).hex()
    procs = []

    def start(a, e):
        procs.append(subprocess.Popen(attune + a, env=e, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))  # fmt: skip

    try:
        start(["relay", "--listen", relay, "--duration", str(secs + 120)], env)
        subprocess.run(attune + ["invite", "--relay", relay, "-o", str(tmp / "p.invite")],
                       env=env, check=True, capture_output=True)  # fmt: skip
        import pylsl

        t0 = pylsl.local_clock() + 15.0
        sim = ["--seed", "1", "--coupling", "0.8", "--lag", "2", "--t0", f"{t0:.3f}",
               "--duration", str(secs + 60)]  # fmt: skip
        start(["simulate", "--name-prefix", f"R{uid}", *sim], penv)
        start(["simulate", "--name-prefix", f"L{uid}", *sim], env)
        time.sleep(3)
        start(["share", str(tmp / "p.invite"), "--streams", f"R{uid}-patient-*",
               "--clock-offset", "37.5", "--clock-drift-ppm", "30", "--wait", "10",
               "--duration", str(secs + 60)], penv)  # fmt: skip
        start(["run", "--remote", str(tmp / "p.invite"), "--headless", "--wait", "60", "--duration",
               str(secs + 40), "--role", f"patient=R{uid}-patient-*", "--role",
               f"clinician=L{uid}-clinician-*"], env)  # fmt: skip
        time.sleep(max(0.0, t0 - pylsl.local_clock()))
        xdf = tmp / "session.xdf"
        subprocess.run(attune + ["record", str(xdf), "--streams", f"R{uid}-patient-*",
                                 "--streams", f"L{uid}-*", "--streams", "AttuneRemoteClock*",
                                 "--duration", str(secs), "--wait", "30"],
                       env=env, check=True, capture_output=True)  # fmt: skip
    finally:
        for p in procs:
            p.terminate()
    rows = {}
    for where, prefix in (("local", f"L{uid}"), ("remote", f"R{uid}")):
        out = tmp / where
        subprocess.run(attune + ["analyze", str(xdf), "-o", str(out), "--format", "json",
                                 "--role", f"patient={prefix}-patient-*", "--role",
                                 f"clinician=L{uid}-clinician-*"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        m = json.loads(next(out.rglob("metrics.json")).read_text())
        e = m["concordance"]["eda"]
        rows[where] = (e["marci_ci"], e["wcc"]["median_peak_lag_s"], e["wcc"]["lead"])
    print(f"{args.minutes:g}-min coupled dyad (coupling 0.8, patient leads by 2 s), patient "
          "clock 37.5 s / 30 ppm off")  # fmt: skip
    for where, (ci, lag, lead) in rows.items():
        print(f"  patient {where:<6}: EDA CI {ci:+.3f}, median peak lag {lag:+.2f} s, {lead}")
    dci = abs(rows["local"][0] - rows["remote"][0])
    dlag = abs(rows["local"][1] - rows["remote"][1])
    print(f"  difference: CI {dci:.3f} (target <= 0.05), lag {dlag:.2f} s (target <= 0.1)")


if __name__ == "__main__":
    main()
