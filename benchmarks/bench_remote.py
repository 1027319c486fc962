"""Two sites through a userspace delay proxy: latency, clock error, outages, bandwidth.

Everything is real: the zenoh relay with mutual TLS, the patient's share reading LSL outlets,
the clinic's receiver re-publishing LSL outlets, and :class:`tests.netproxy.DelayProxy` between
the patient and the relay (there is no netem here). The patient's laptop plays a second machine
through a skewed clock (offset 37.5 s, drift 30 ppm). A 32 Hz probe stream carries its own LSL
time as its value, so at the clinic every sample's mapped time and arrival time are compared
with the truth.

Peer: the figures the issue measured with a bare zenoh publisher on loopback (about 2 ms added
latency, 18 kbit/s per person at EDA 32 Hz + PPG 128 Hz).

Also: ``attune share`` (its own process) stopped with SIGSTOP for 20 s as a laptop asleep, and a
clock jump on each side (patient +5 s, clinic +3 s), with the lines each side said.

Run:  .venv/bin/python benchmarks/bench_remote.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))

import numpy as np  # noqa: E402
import pylsl  # noqa: E402

from devices.lsl import full_info  # noqa: E402
from devices.remote.invite import ClinicStore  # noqa: E402
from devices.remote.receive import ClinicReceiver  # noqa: E402
from devices.remote.relay import relay_open  # noqa: E402
from devices.remote.share import PatientShare  # noqa: E402
from tests.netproxy import DelayProxy  # noqa: E402

OFFSET, DRIFT = 37.5, 30e-6


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outlet(name: str, stype: str, rate: float, fmt: str):
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, stype, 1, rate, fmt, name))
    for _ in range(50):
        found = pylsl.resolve_byprop("name", name, 1, 0.2)
        if found:
            return out, (full_info(found[0])[0], found[0])
    raise RuntimeError(f"{name} never appeared")


class Pusher:
    """Push samples at ``rate``: the probe's value is its own time, others a slow sine."""

    def __init__(self, outlets: list[tuple[object, float, bool]]) -> None:
        self.stop = threading.Event()
        self.outlets = outlets
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        t0 = pylsl.local_clock()
        sent = [0] * len(self.outlets)
        while not self.stop.is_set():
            now = pylsl.local_clock()
            for k, (out, rate, probe) in enumerate(self.outlets):
                due = int((now - t0) * rate) + 1  # every sample whose time has come
                for i in range(sent[k], due):
                    t = t0 + i / rate
                    out.push_sample([t if probe else np.sin(t)], t)
                sent[k] = due
            time.sleep(0.005)


def _inlet(name: str, sid: str) -> pylsl.StreamInlet:
    end = time.monotonic() + 90  # generous: other work on the machine slows LSL discovery
    while time.monotonic() < end:
        for info in pylsl.resolve_byprop("name", name, 0, 0.5):
            inlet = pylsl.StreamInlet(info)
            if inlet.info(2.0).desc().child("remote").child_value("session") == sid:
                return inlet
    raise RuntimeError("remote stream never appeared")


def _collect(inlet, seconds: float, during=None):
    vals, ts, arrive = [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if during:
            during()
        v, t = inlet.pull_chunk(timeout=0.0)
        if not t:
            time.sleep(0.002)
        now = pylsl.local_clock()
        vals += [x[0] for x in v]
        ts += t
        arrive += [now] * len(t)
    return np.asarray(vals), np.asarray(ts), np.asarray(arrive)


def scenario(store, relay_port, name, leg, seconds, probe, extra=(), clinic_leg=None):
    """One session: the patient reaches the relay through a proxy with ``leg`` = (up, down,
    jitter) s; the clinic connects directly (the relay on the clinic's server), or through a
    second proxy with ``clinic_leg`` (a relay on a VM between the sites)."""
    proxy = DelayProxy(("127.0.0.1", relay_port), *leg)
    inv = store.create(f"tls/localhost:{proxy.port}", hours=1)
    cproxy = DelayProxy(("127.0.0.1", relay_port), *clinic_leg) if clinic_leg else None
    direct = f"tls/localhost:{cproxy.port if cproxy else relay_port}"
    store.save(replace(store.load(inv.session_id), relay=direct))
    base = pylsl.local_clock()
    share = PatientShare(inv, [probe, *extra],
                         clock=lambda: pylsl.local_clock() + OFFSET + DRIFT * (pylsl.local_clock() - base))  # fmt: skip
    share.start()
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    inlet = _inlet(probe[0].name, inv.session_id)
    _collect(inlet, 5.0)  # the clock estimate settles
    links = [p for p in (proxy, cproxy) if p]
    b0 = [(p.bytes_up, p.bytes_down) for p in links]
    s0, m0, q0 = share.sent_bytes, share.sent_messages, share.probes_answered
    t0 = time.monotonic()
    vals, ts, arrive = _collect(inlet, seconds)
    dt = time.monotonic() - t0
    kbit = [((p.bytes_up - u) * 8 / 1000 / dt, (p.bytes_down - d) * 8 / 1000 / dt)
            for p, (u, d) in zip(links, b0, strict=True)]  # fmt: skip
    msgs = share.sent_messages - m0
    est = rx.health.clock
    err = np.abs(ts - vals)
    lat = arrive - vals
    row = {
        "name": name, "p50": np.median(lat) * 1e3, "p95": np.percentile(lat, 95) * 1e3,
        "clock_err": err.max() * 1e3, "bound": est.uncertainty_s * 1e3, "kbit": kbit,
        "payload_kbit": (share.sent_bytes - s0) * 8 / 1000 / dt, "msg_per_s": msgs / dt,
        "bytes_per_msg": (share.sent_bytes - s0) / max(msgs, 1),
        "probes_per_s": (share.probes_answered - q0) / dt,
    }  # fmt: skip
    return row, (proxy, share, rx, inlet, inv, cproxy)


def _close(objs) -> None:
    proxy, share, rx, _, _, cproxy = objs
    share.stop()
    rx.stop()
    proxy.close()
    if cproxy:
        cproxy.close()


def _missing(vals: np.ndarray, start: float, end: float, rate: float = 32.0) -> int:
    """Samples of the probe's grid (``rate``) missing between ``start`` and ``end``: the probe's
    values are its own times, so each gap between consecutive values counts the lost ones."""
    v = np.unique(vals)
    v = v[(v >= start) & (v <= end)]
    return int(np.sum(np.round(np.diff(v) * rate) - 1)) if len(v) > 1 else -1


def outage(store, relay_port, probe, gap_s: float):
    row, (proxy, share, rx, inlet, *rest) = scenario(
        store, relay_port, "", (0.03, 0.03, 0.01), 2.0, probe
    )
    before, _, _ = _collect(inlet, 0.5)  # the samples just before the cut, to border the gap
    proxy.blackhole(True)
    t_cut = pylsl.local_clock()
    lost_at = None
    while pylsl.local_clock() - t_cut < gap_s:
        if lost_at is None and rx.health.state == "link lost":
            lost_at = pylsl.local_clock() - t_cut
        time.sleep(0.05)
    proxy.blackhole(False)
    t_back = pylsl.local_clock()
    vals, ts, arrive = _collect(inlet, 12.0)
    new = arrive[vals > t_back]
    resume = (new[0] - t_back) if len(new) else np.inf
    missing = _missing(np.concatenate([before, vals]), before[-1], t_back + 5)
    _close((proxy, share, rx, inlet, *rest))
    return lost_at, resume, missing, rx.health.skipped


def relay_restart(store, listen_port, probe):
    relay = relay_open(f"tls/127.0.0.1:{listen_port}", store)
    row, objs = scenario(store, listen_port, "", (0.03, 0.03, 0.01), 2.0, probe)
    inlet = objs[3]
    before, _, _ = _collect(inlet, 0.5)
    relay.close()
    time.sleep(2.0)
    relay = relay_open(f"tls/127.0.0.1:{listen_port}", store)
    t_back = pylsl.local_clock()
    vals, ts, arrive = _collect(inlet, 12.0)
    new = arrive[vals > t_back]
    missing = _missing(np.concatenate([before, vals]), before[-1], t_back + 5)
    _close(objs)
    relay.close()
    return (new[0] - t_back) if len(new) else np.inf, missing


def laptop_sleep(store, relay_port, probe, pause_s: float):
    """``attune share`` (a separate process) stopped with SIGSTOP for ``pause_s``, as a laptop
    asleep, then continued: what each side said, when data resumed, samples missing."""
    inv = store.create(f"tls/localhost:{relay_port}", hours=1)
    path = Path(tempfile.mkdtemp(prefix="bench-remote-")) / "p.invite"
    inv.write(path)
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    share = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "share", str(path), "--streams", probe[0].name,
         "--wait", "2", "--no-window", "--duration", str(pause_s + 60)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    inlet = _inlet(probe[0].name, inv.session_id)
    before, _, _ = _collect(inlet, 3.0)
    share.send_signal(signal.SIGSTOP)
    time.sleep(pause_s)
    share.send_signal(signal.SIGCONT)
    t_cont = pylsl.local_clock()
    vals, _, arrive = _collect(inlet, 10.0)
    share.terminate()
    out, _ = share.communicate(timeout=30)
    rx.stop()
    new = arrive[vals > t_cont]
    resume = (new[0] - t_cont) if len(new) else np.inf
    missing = _missing(np.concatenate([before, vals]), before[-1], t_cont + 5)
    said = re.findall(r"this laptop was asleep or paused for [0-9.]+ s", out)
    patient_line = said[-1] if said else "(nothing)"
    return resume, missing, rx.health.events, patient_line


def clock_steps(store, relay_port, probe):
    """The patient's clock jumps +5 s, then the clinic's +3 s: the largest error of a mapped
    sample against its true time on the clinic's clock (whichever side of the clinic's jump it
    was pushed), and the lines said."""
    inv = store.create(f"tls/localhost:{relay_port}", hours=1)
    p_off, c_off = [37.5], [0.0]
    share = PatientShare(inv, [probe], clock=lambda: pylsl.local_clock() + p_off[0])
    share.start()
    rx = ClinicReceiver(store, inv.session_id, clock=lambda: pylsl.local_clock() + c_off[0])
    rx.start()
    inlet = _inlet(probe[0].name, inv.session_id)
    _collect(inlet, 3.0)
    bounds = [rx.health.clock.uncertainty_s]

    def note():
        bounds.append(rx.health.clock.uncertainty_s)

    p_off[0] += 5.0
    v1, t1, _ = _collect(inlet, 4.0, note)
    c_off[0] += 3.0
    v2, t2, _ = _collect(inlet, 4.0, note)
    bound = max(bounds)  # the widest uncertainty stated meanwhile
    share.stop()
    rx.stop()
    e1 = np.abs(t1 - v1)
    e2 = np.minimum(np.abs(t2 - v2), np.abs(t2 - v2 - 3.0))
    return max(e1.max(), e2.max()), bound, rx.health.events, share.status.events


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 s per scenario, outages 6 s only")
    args = ap.parse_args()
    secs = 20.0 if args.quick else 60.0
    store = ClinicStore(Path(tempfile.mkdtemp(prefix="bench-remote-")))
    port = _port()
    relay = relay_open(f"tls/127.0.0.1:{port}", store)
    uid = os.urandom(4).hex()
    outs = []
    probe_out, probe = _outlet(f"b{uid}-probe", "EDA", 32.0, "double64")
    outs.append((probe_out, 32.0, True))
    extra = []
    for person in ("patient", "clinician"):
        for kind, rate in (("EDA", 32.0), ("PPG", 128.0)):
            o, d = _outlet(f"b{uid}-{person}-{kind}", kind, rate, "float32")
            outs.append((o, rate, False))
            extra.append(d)
    pusher = Pusher(outs)
    print(
        f"machine: {os.cpu_count()} cores; patient clock offset {OFFSET} s, drift {DRIFT * 1e6:g} ppm"
    )
    print(f"{'path':<34} {'latency p50':>11} {'p95':>7} {'clock err':>10} {'bound':>7}")
    rows = []
    for name, leg, cleg in (
        ("30 ms one-way, 0-10 ms jitter", (0.03, 0.03, 0.01), None),
        ("150 ms one-way, 0-10 ms jitter", (0.15, 0.15, 0.01), None),
        ("150 ms as 75 + 75 (relay on a VM)", (0.075, 0.075, 0.005), (0.075, 0.075, 0.005)),
        ("asymmetric 10 / 90 ms (±40 ms)", (0.01, 0.09, 0.0), None),
    ):
        row, objs = scenario(store, port, name, leg, secs, probe, clinic_leg=cleg)
        _close(objs)
        rows.append(row)
        print(f"{name:<34} {row['p50']:>8.0f} ms {row['p95']:>4.0f} ms {row['clock_err']:>7.1f} ms "
              f"{row['bound']:>4.0f} ms")  # fmt: skip
    print("targets: p50 <= one-way + 150 ms, p95 <= 500 ms; clock error <= RTT/2 + 10 ms (symmetric),"
          " within the stated bound (asymmetric)")  # fmt: skip
    row, objs = scenario(store, port, "both", (0.03, 0.03, 0.01), secs, probe, extra, (0, 0, 0))
    _close(objs)
    (pu, pd), (cu, cd) = row["kbit"]
    print("bandwidth, both people (EDA 32 Hz + PPG 128 Hz each) and the 32 Hz double probe:")
    print(f"  patient's link {pu:.1f} up + {pd:.1f} down = {pu + pd:.1f} kbit/s; clinic's link "
          f"{cu:.1f} up + {cd:.1f} down = {cu + cd:.1f} kbit/s  (target <= 50 each)")  # fmt: skip
    print(f"  of the patient's uplink: samples {row['payload_kbit']:.1f} kbit/s in "
          f"{row['msg_per_s']:.1f} messages/s ({row['bytes_per_msg']:.0f} B each); zenoh framing, "
          f"TLS, clock probe answers ({row['probes_per_s']:.1f}/s) and keep-alives "
          f"{pu - row['payload_kbit']:.1f} kbit/s")  # fmt: skip
    for gap in (6.0,) if args.quick else (6.0, 30.0, 60.0):
        lost_at, resume, missing, skipped = outage(store, port, probe, gap)
        print(f"outage {gap:>4.0f} s: 'link lost' shown after {lost_at:.1f} s; data resumed "
              f"{resume:.2f} s after the link returned; samples missing {missing} "
              f"(messages given up {skipped})")  # fmt: skip
    relay.close()
    resume, missing = relay_restart(store, _port(), probe)
    print(f"relay restart (2 s down): data resumed {resume:.2f} s after; samples missing {missing}")
    print("targets: 'link lost' <= 3 s; resume <= 2 s; 0 samples lost for gaps <= 60 s")
    relay = relay_open(f"tls/127.0.0.1:{port}", store)
    pause = 6.0 if args.quick else 20.0
    resume, missing, said, patient_line = laptop_sleep(store, port, probe, pause)
    print(f"patient laptop asleep (attune share SIGSTOPped {pause:.0f} s): data resumed "
          f"{resume:.2f} s after SIGCONT; samples missing {missing}")  # fmt: skip
    print(f"  clinic said: {' | '.join(x[9:] for x in said)}")
    print(f"  patient saw: {patient_line}")
    err, bound, said, patient_said = clock_steps(store, port, probe)
    print(f"clock steps (patient +5 s, then clinic +3 s): largest mapping error {err * 1e3:.1f} ms"
          f" (widest bound stated {bound * 1e3:.1f} ms)")  # fmt: skip
    print(f"  clinic said: {' | '.join(x[9:] for x in said)}")
    print(f"  patient saw: {' | '.join(x[9:] for x in patient_said)}")
    relay.close()
    pusher.stop.set()


if __name__ == "__main__":
    main()
