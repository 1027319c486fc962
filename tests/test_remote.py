"""Two sites on one machine: real zenoh relay, real mutual TLS, real LSL outlets on both sides.

The patient's stream carries its own LSL timestamp as its value, so every sample re-published at
the clinic can be checked against the truth: mapped time = original time (the patient's laptop
plays a second machine through a skewed clock: offset and drift injected on its side).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time

import numpy as np
import pylsl
import pytest

from devices.lsl import full_info
from devices.remote import wire
from devices.remote.clock import ClockTracker
from devices.remote.invite import ClinicStore, Invite, InviteError
from devices.remote.receive import ClinicReceiver
from devices.remote.relay import relay_open
from devices.remote.share import PatientShare, ShareError
from devices.remote.zconfig import EndpointError, check_endpoint
from tests.netproxy import DelayProxy

pytestmark = pytest.mark.lsl
RATE = 32.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Patient:
    """A 32 Hz stream whose value is its own LSL timestamp, pushed by a thread."""

    def __init__(self, uid: str) -> None:
        self.name = f"{uid}-patient-EDA"
        info = pylsl.StreamInfo(self.name, "EDA", 1, RATE, "double64", f"{uid}-src")
        self.outlet = pylsl.StreamOutlet(info)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        found = []
        for _ in range(50):
            found = pylsl.resolve_byprop("name", self.name, 1, 0.2)
            if found:
                break
        self.desc = full_info(found[0])[0]
        self.info = found[0]

    def _run(self) -> None:
        # samples on a fixed 32 Hz grid (a late wake-up pushes the ones due), so a gap in the
        # values received is a loss on the link, never this thread sleeping long under load
        t0, sent = pylsl.local_clock(), 0
        while not self.stop.is_set():
            due = int((pylsl.local_clock() - t0) * RATE)
            for i in range(sent, due):
                t = t0 + i / RATE
                self.outlet.push_sample([t], t)
            sent = max(sent, due)
            time.sleep(0.005)


def _remote_inlet(name: str, session_id: str) -> pylsl.StreamInlet:
    for _ in range(40):
        for info in pylsl.resolve_byprop("name", name, 0, 0.5):
            inlet = pylsl.StreamInlet(info)
            if inlet.info(2.0).desc().child("remote").child_value("session") == session_id:
                return inlet
    raise AssertionError("the re-published stream never appeared")


def _pull(inlet: pylsl.StreamInlet, seconds: float, during=None) -> tuple[np.ndarray, np.ndarray]:
    vals, ts = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if during is not None:
            during()
        v, t = inlet.pull_chunk(timeout=0.2)
        vals += [x[0] for x in v]
        ts += t
    return np.asarray(vals), np.asarray(ts)


@pytest.fixture
def site(tmp_path, uid):
    port = _free_port()
    store = ClinicStore(tmp_path / "clinic")
    relay = relay_open(f"tls/127.0.0.1:{port}", store)
    patient = Patient(uid)
    yield store, port, patient, relay
    patient.stop.set()
    relay.close()


def test_clock_tracker_recovers_offset_and_drift_within_its_bound():
    rng = np.random.default_rng(3)
    off0, drift = 5.25, 40e-6
    tr = ClockTracker()
    t = 1000.0
    for _ in range(400):
        up = 0.030 + rng.uniform(0, 0.010)  # one-way 30 ms + jitter, 40 ms asymmetric below
        down = 0.070 + rng.uniform(0, 0.010)
        tp = t + up + off0 + drift * (t + up - 1000.0)
        est = tr.add(t, tp, t + up + down)
        t += 0.5
    truth = off0 + drift * (est.at_s - 1000.0)
    assert abs(est.offset_at(est.at_s) - truth) <= est.uncertainty_s
    assert est.uncertainty_s < 0.06
    assert abs(est.drift - drift) < 20e-6


def test_clock_tracker_reports_a_step():
    tr = ClockTracker()
    for k in range(20):
        tr.add(k, k + 0.01 + 3.0, k + 0.02)
    for k in range(20, 25):
        tr.add(k, k + 0.01 + 3.5, k + 0.02)
    assert tr.steps and abs(tr.steps[0] - 0.5) < 1e-6
    assert abs(tr.estimate.offset_s - 3.5) < 0.011


def test_message_round_trip_keeps_every_timestamp_within_half_a_microsecond():
    """Regular, Bluetooth-jittered and irregular stamps, float32 and float64 values; the stamps
    travel as microsecond deviations from each stream's nominal grid."""
    rng = np.random.default_rng(7)
    base = 123456.789012345
    regular = base + np.arange(13) / 128.0
    jittered = base + 0.004 + np.arange(4) / 32.0 + rng.uniform(-0.008, 0.008, 4)
    irregular = base + np.cumsum(rng.uniform(0.4, 1.2, 3))  # beat intervals, rate 0
    chunks = [
        wire.Chunk(0, regular, rng.normal(size=(13, 2)).astype(np.float32)),
        wire.Chunk(1, jittered, rng.normal(size=(4, 1)).astype(np.float32)),
        wire.Chunk(3, irregular, base + rng.normal(size=(3, 1)), wide=True),
    ]
    rates = {0: 128.0, 1: 32.0, 3: 0.0}
    data = wire.message_encode(41, chunks, rates, epoch=2)
    assert wire.message_layout(data) == (41, 2, [(0, 13), (1, 4), (3, 3)])
    seq, back = wire.message_decode(data, rates)
    assert seq == 41 and [c.index for c in back] == [0, 1, 3]
    for a, b in zip(chunks, back, strict=True):
        assert np.max(np.abs(a.timestamps - b.timestamps)) <= 0.5e-6 + 1e-9
        assert np.array_equal(np.asarray(a.values, b.values.dtype), b.values)  # values exact
    # a regular stream costs 1 byte per stamp at most, a float32 value 4: the samples dominate
    per_sample = (len(wire.message_encode(0, chunks[:1], rates)) - 15 - 10) / 13
    assert per_sample <= 2 * 4 + 1
    for bad in (data[:-1], data + b"x", b"\x01" + data[1:], data[:5]):
        with pytest.raises(ValueError):
            wire.message_layout(bad)


def test_invite_file_is_private_and_round_trips(tmp_path):
    store = ClinicStore(tmp_path / "c")
    inv = store.create("tls/relay.example.org:7447", hours=2)
    path = tmp_path / "patient.invite"
    inv.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    back = Invite.read(path)
    assert back == inv and "BEGIN CERTIFICATE" in back.cert_pem
    assert store.load(inv.session_id).relay == inv.relay
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    with pytest.raises(InviteError, match="expired"):
        back.check_not_expired(later)
    store.revoke(inv.session_id)
    with pytest.raises(InviteError, match="revoked"):
        store.check_usable(inv.session_id)
    (tmp_path / "junk").write_bytes(b"\xff\xfe not json")
    with pytest.raises(InviteError, match="not an Attunement invite"):
        Invite.read(tmp_path / "junk")


def test_endpoint_rules():
    assert check_endpoint("tls/relay:7447", False)
    with pytest.raises(EndpointError, match="insecure-lan"):
        check_endpoint("tcp/relay:7447", False)
    with pytest.raises(EndpointError, match="PROTO/HOST:PORT"):
        check_endpoint("relay", False)


def test_patient_samples_arrive_on_the_clinic_clock(site):
    store, port, patient, _ = site
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    base = pylsl.local_clock()
    offset, drift = 123.456, 50e-6
    share = PatientShare(inv, [(patient.desc, patient.info)],
                         clock=lambda: pylsl.local_clock() + offset + drift * (pylsl.local_clock() - base))  # fmt: skip
    share.start()
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    try:
        inlet = _remote_inlet(patient.name, inv.session_id)
        bounds = [rx.health.clock.uncertainty_s]
        vals, ts = _pull(inlet, 6.0, lambda: bounds.append(rx.health.clock.uncertainty_s))
        assert len(ts) > 0.8 * 6 * RATE
        err = ts - vals  # mapped time minus the original LSL time of each sample
        # each sample was mapped with the estimate of its moment: within the widest bound stated
        assert np.max(np.abs(err)) <= max(bounds) + 0.002
        assert np.all(np.diff(ts) > 0)
        assert share.status.admitted and rx.health.state == "connected"
        desc = inlet.info(2.0).desc().child("remote")
        assert desc.child_value("session") == inv.session_id
    finally:
        share.stop()
        rx.stop()
    assert store.load(inv.session_id).used


def test_second_patient_and_used_invite_are_refused(site):
    store, port, patient, _ = site
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    one = PatientShare(inv, [(patient.desc, patient.info)])
    one.start()
    two = PatientShare(inv, [(patient.desc, patient.info)])
    two.start()
    try:
        for _ in range(60):
            if one.status.admitted and two.status.refused:
                break
            time.sleep(0.1)
        assert one.status.admitted
        assert "another patient" in two.status.refused and not two.running
        assert rx.health.refused
        _pull(_remote_inlet(patient.name, inv.session_id), 1.0)
    finally:
        one.stop()
        two.stop()
        rx.stop()
    with pytest.raises(InviteError, match="already used"):
        ClinicReceiver(store, inv.session_id)


def test_a_certificate_from_another_clinic_is_refused(site, tmp_path):
    store, port, patient, _ = site
    other = ClinicStore(tmp_path / "other-clinic").create(f"tls/127.0.0.1:{port}", hours=1)
    share = PatientShare(other, [(patient.desc, patient.info)])
    with pytest.raises(ShareError, match="cannot reach the relay"):
        share.start(connect_timeout_s=2.0)


def test_unreachable_relay_is_one_line(tmp_path, uid):
    store = ClinicStore(tmp_path / "c")
    inv = store.create(f"tls/127.0.0.1:{_free_port()}", hours=1)
    with pytest.raises(InviteError, match="cannot reach the relay"):
        ClinicReceiver(store, inv.session_id).start(connect_timeout_s=1.0)


@pytest.mark.slow
def test_a_six_second_blackhole_is_refilled_without_loss(site):
    store, port, patient, _ = site
    proxy = DelayProxy(("127.0.0.1", port), 0.030, 0.030, 0.010)
    inv = store.create(f"tls/localhost:{proxy.port}", hours=1)
    share = PatientShare(inv, [(patient.desc, patient.info)])
    share.start()
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    try:
        inlet = _remote_inlet(patient.name, inv.session_id)
        _pull(inlet, 3.0)
        proxy.blackhole(True)
        t_cut = pylsl.local_clock()
        lost_seen = None
        while pylsl.local_clock() - t_cut < 6.0:
            if lost_seen is None and rx.health.state == "link lost":
                lost_seen = pylsl.local_clock() - t_cut
            time.sleep(0.1)
        proxy.blackhole(False)
        t_back = pylsl.local_clock()
        vals, ts = _pull(inlet, 12.0)
        assert lost_seen is not None and lost_seen <= 3.0
        first_new = ts[vals > t_back][0] if np.any(vals > t_back) else np.inf
        assert first_new - t_back <= 4.0  # data resumes (allowing the proxy's own delay)
        gaps = np.diff(vals)
        covered = (vals[0] < t_cut + 0.2) and (vals[-1] > t_back + 2)
        # every sample of the grid: a gap of two periods would be one sample lost
        assert covered and gaps.max() < 1.5 / RATE, f"largest gap {gaps.max():.3f} s"
    finally:
        share.stop()
        rx.stop()
        proxy.close()


def _site_cfg(tmp_path, name: str) -> str:
    """An LSL config for one 'site': this machine only, its own LSL session id, so the two
    sites' streams never see each other (as on two machines)."""
    from tests.conftest import ROOT

    text = (ROOT / "resources" / "lsl_local.cfg").read_text()
    text = text.replace("[lab]\n", f"[lab]\nSessionID = {name}\n")
    path = tmp_path / f"{name}.cfg"
    path.write_text(text)
    return str(path)


@pytest.mark.slow
def test_cli_two_sites_end_to_end(tmp_path, uid):
    """relay, invite, share (patient site, skewed clock) and record (clinic site) as commands;
    the recording holds the patient's stream on the clinic clock and the offsets applied."""
    import os
    import subprocess
    import sys

    import pyxdf

    from tests.conftest import ROOT

    env = dict(os.environ, ATTUNE_REMOTE_DIR=str(tmp_path / "clinic"), PYTHONPATH=str(ROOT))
    patient_env = dict(env, LSLAPICFG=_site_cfg(tmp_path, f"patient{uid}"))
    attune = [sys.executable, "-m", "app.cli"]
    port = _free_port()
    relay = f"tls/127.0.0.1:{port}"
    procs = []

    def start(args, e):
        p = subprocess.Popen(
            attune + args, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        procs.append(p)
        return p

    try:
        relay_p = start(["relay", "--listen", relay, "--duration", "120"], env)
        line = relay_p.stdout.readline()  # the sites connect once it listens (slow under load)
        assert "relay listening" in line, line
        inv = tmp_path / "p.invite"
        out = subprocess.run(attune + ["invite", "--relay", relay, "-o", str(inv), "--hours", "1"],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr
        start(["simulate", "--name-prefix", uid, "--duration", "90"], patient_env)
        share = start(["share", str(inv), "--streams", f"{uid}-patient-*", "--clock-offset", "7.5",
                       "--duration", "80"], patient_env)  # fmt: skip
        start(["simulate", "--name-prefix", f"{uid}c", "--duration", "90"], env)  # the clinician
        run = start(["run", "--remote", str(inv), "--headless", "--duration", "120",
                     "--role", f"patient={uid}-patient-*", "--role", f"clinician={uid}c-clinician-*"],
                    env)  # fmt: skip
        xdf = tmp_path / "clinic.xdf"
        rec = subprocess.run(attune + ["record", str(xdf), "--streams", f"{uid}-patient-*",
                                       "--streams", "AttuneRemoteClock*", "--duration", "12",
                                       "--wait", "60"], env=env, capture_output=True, text=True,
                             timeout=90)  # fmt: skip
        if rec.returncode != 0:  # say what the two sites said, for a failure under load
            for p in (share, run):
                p.terminate()
            said = "\n".join(p.communicate(timeout=30)[0][-1500:] for p in (share, run))
            raise AssertionError(rec.stdout[-1500:] + rec.stderr[-1500:] + "\n" + said)
        streams, _ = pyxdf.load_xdf(str(xdf))
        by_type = {s["info"]["type"][0]: s for s in streams}
        assert {"EDA", "PPG", "ClockOffsets"} <= set(by_type), set(by_type)
        offsets = by_type["ClockOffsets"]["time_series"][:, 0]
        assert np.all(np.abs(offsets - 7.5) < by_type["ClockOffsets"]["time_series"][:, 2] + 0.002)
        eda = by_type["EDA"]
        assert eda["info"]["desc"][0]["remote"][0]["session"][0]
        ts = eda["time_stamps"]
        assert len(ts) > 2 * 32 and np.max(np.diff(ts)) < 0.2  # 32 Hz, no gap
        run.terminate()  # as Ctrl-C: the run ends cleanly, the link with it
        run_out, _ = run.communicate(timeout=60)
        assert run.returncode == 0, run_out
        assert "remote: connected" in run_out
        share.terminate()  # Ctrl-C/TERM ends the share cleanly
        share_out, _ = share.communicate(timeout=30)
        assert "with the clinic" in share_out
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)


def test_a_stream_the_clinic_did_not_ask_for_is_refused(site, uid):
    """A share that sends a non-physiological stream (here EEG) gets it refused in one line;
    the EDA still arrives. Without --streams, `attune share` picks only profiled physiology."""
    from app.cli.remote import _local_streams

    store, port, patient, _ = site
    eeg = pylsl.StreamOutlet(pylsl.StreamInfo(f"{uid}-EEG", "EEG", 4, 128, "float32", f"{uid}-e"))
    found = []
    for _ in range(50):
        found = pylsl.resolve_byprop("name", f"{uid}-EEG", 1, 0.2)
        if found:
            break
    eeg_pair = (full_info(found[0])[0], found[0])
    picked = {d.name for d, _ in _local_streams([], 1.0)}
    assert patient.name in picked and f"{uid}-EEG" not in picked
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    share = PatientShare(inv, [(patient.desc, patient.info), eeg_pair])
    share.start()
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    try:
        for _ in range(40):
            eeg.push_chunk([[0.0] * 4] * 13)
            time.sleep(0.1)
        _, ts = _pull(_remote_inlet(patient.name, inv.session_id), 2.0)
        assert len(ts) > 32
        assert any("EEG" in r and "refused" in r for r in rx.health.refused)
        assert all(
            not pylsl.StreamInlet(i).info(2.0).desc().child("remote").child_value("session")
            for i in pylsl.resolve_byprop("name", f"{uid}-EEG", 0, 1.0)
        )
    finally:
        share.stop()
        rx.stop()


def test_the_console_recording_holds_the_offsets_applied(site, uid, tmp_path):
    """A session recorded by the console (not only `attune record`) while a remote patient is
    connected holds the link's ClockOffsets stream: the offset applied, within its bound."""
    import pyxdf

    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.sources import SourceChoice, SourceKind, role_globs
    from devices.source import SimulatorSource
    from dsp.simulate import DyadSimConfig

    store, port, patient, _ = site
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    offset = -42.25
    share = PatientShare(inv, [(patient.desc, patient.info)],
                         clock=lambda: pylsl.local_clock() + offset)  # fmt: skip
    share.start()
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    prefix = f"RemRec{uid}"
    control = LiveController(EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
                             marker_name=f"Markers-{uid}", marker_source_id=f"markers-{uid}")  # fmt: skip
    control.also_record.append(rx.clock_source_id)  # what the console's adopt_remote does
    try:
        control.connect(SourceChoice(kind=SourceKind.SIMULATED, roles=role_globs(prefix),
                                     wait_s=30.0, description="dyad"),
                        SimulatorSource(DyadSimConfig(seed=4), prefix=prefix))  # fmt: skip
        path = control.start_recording(tmp_path / "s", "P1", "C1")
        end = time.monotonic() + 20
        acq = control.session.acquisition
        while time.monotonic() < end and not any(s.key.startswith("AttuneRemoteClock")
                                                 for s in acq.slots):  # fmt: skip
            time.sleep(0.2)
        time.sleep(3.0)
        control.stop_recording()
    finally:
        control.shutdown()
        share.stop()
        rx.stop()
    streams, _ = pyxdf.load_xdf(str(path))
    by_type = {s["info"]["type"][0]: s for s in streams}
    assert "ClockOffsets" in by_type, sorted(by_type)
    clock = by_type["ClockOffsets"]
    assert clock["info"]["source_id"][0] == rx.clock_source_id
    values = np.asarray(clock["time_series"])
    assert len(values) >= 4  # two probes a second
    assert np.all(np.abs(values[:, 0] - offset) <= values[:, 2] + 0.002)
    assert sum(s["info"]["type"][0] == "ClockOffsets" for s in streams) == 1


def _jump(events: str, who: str) -> float:
    """The step in seconds that ``events`` says ``who`` made ("... clock jumped by +5.001 s")."""
    m = re.search(re.escape(who) + r" jumped by ([+-][0-9.]+) s", events)
    assert m is not None, events
    return float(m.group(1))


def test_clock_steps_on_either_side_are_said_and_never_mistime_a_sample(site):
    """The patient's laptop clock jumps +5 s, then the clinic's own clock +3 s: each is one
    line; every sample keeps its true time on the clinic's clock (within the stated bound), none
    is lost, none is mapped with the offset of the wrong side of a step."""
    store, port, patient, _ = site
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    p_off, c_off = [20.0], [0.0]
    share = PatientShare(inv, [(patient.desc, patient.info)],
                         clock=lambda: pylsl.local_clock() + p_off[0])  # fmt: skip
    share.start()
    rx = ClinicReceiver(store, inv.session_id, clock=lambda: pylsl.local_clock() + c_off[0])
    rx.start()
    try:
        inlet = _remote_inlet(patient.name, inv.session_id)
        _pull(inlet, 1.0)
        p_step = pylsl.local_clock()
        p_off[0] += 5.0
        v1, t1 = _pull(inlet, 2.0)
        c_step = pylsl.local_clock()
        c_off[0] += 3.0
        v2, t2 = _pull(inlet, 2.5)
        bound = rx.health.clock.uncertainty_s + 0.002
    finally:
        share.stop()
        rx.stop()
    events = " | ".join(rx.health.events)
    # the size of a step is measured against the wall clock: a loaded machine adds a ms or two
    assert _jump(events, "the patient's laptop clock") == pytest.approx(5.0, abs=0.01), events
    assert _jump(events, "this machine's clock") == pytest.approx(3.0, abs=0.01), events
    mine = " | ".join(share.status.events)
    assert _jump(mine, "this laptop's clock") == pytest.approx(5.0, abs=0.01), mine
    assert np.all(np.abs(t1 - v1) <= bound)  # patient step: the clinic clock did not move
    assert v1.min() < p_step + 0.05
    e2 = t2 - v2
    assert np.all(np.minimum(np.abs(e2), np.abs(e2 - 3.0)) <= bound)
    assert np.all(np.abs(e2[v2 > c_step + 1.5] - 3.0) <= bound)
    vals = np.concatenate([v1, v2])
    assert np.max(np.diff(vals)) < 1.5 / RATE and np.all(np.diff(vals) > 0)


@pytest.mark.slow
def test_a_patient_laptop_that_sleeps_is_said_and_nothing_is_lost(site, tmp_path):
    """`attune share` stopped (SIGSTOP, as a laptop asleep) for 4 s, then continued: the clinic
    says the link was lost and that the laptop was asleep or paused, in one line each; the
    samples of the pause arrive afterwards (the share's inlet held them), none missing."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    store, port, patient, _ = site
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1)
    path = tmp_path / "p.invite"
    inv.write(path)
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    share = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "share", str(path), "--streams", patient.name,
         "--wait", "2", "--duration", "40"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        inlet = _remote_inlet(patient.name, inv.session_id)
        before, _ = _pull(inlet, 1.0)
        share.send_signal(signal.SIGSTOP)
        t_stop = pylsl.local_clock()
        while pylsl.local_clock() - t_stop < 4.0:
            time.sleep(0.1)
        assert rx.health.state == "link lost"
        share.send_signal(signal.SIGCONT)
        t_cont = pylsl.local_clock()
        vals, _ = _pull(inlet, 4.0)
        vals = np.concatenate([before, vals])
        assert vals.max() > t_cont + 2
        assert np.max(np.diff(vals)) < 1.5 / RATE and vals.min() < t_stop
    finally:
        share.send_signal(signal.SIGCONT)
        share.terminate()
        out, _ = share.communicate(timeout=30)
        rx.stop()
    events = " | ".join(rx.health.events)
    assert "remote link lost" in events and "remote link back" in events, events
    assert "the patient's laptop was asleep or paused for" in events, events
    assert "this laptop was asleep or paused for" in out, out
