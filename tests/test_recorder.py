"""Recorder and replay over real LSL loopback; kill -9 of a recording process; the CLI."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pylsl
import pytest

from devices.acquisition import Acquisition
from devices.lsl import describe
from devices.recorder import Recorder
from devices.replay import Replay
from devices.xdf_reader import XdfTruncatedWarning, load_recording
from devices.xdf_writer import XdfWriter

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.lsl


def _header(
    name: str, stype: str, fmt: str, labels: list[str], units: list[str], srate: float, sid: str
) -> str:
    chans = "".join(
        f"<channel><label>{lab}</label><unit>{u}</unit><type>{stype}</type></channel>"
        for lab, u in zip(labels, units, strict=True)
    )
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{stype}</type>'
        f"<channel_count>{len(labels)}</channel_count><channel_format>{fmt}</channel_format>"
        f"<source_id>{sid}</source_id><nominal_srate>{srate}</nominal_srate>"
        f"<desc><manufacturer>Attunement test</manufacturer><channels>{chans}</channels></desc></info>"
    )


def make_session(path: Path, uid: str, seconds: float = 4.0) -> None:
    """A small dyad-like recording: EDA 32 Hz (float32, 2 ch), PPG 128 Hz (double64), markers."""
    rng = np.random.default_rng(7)
    t0 = 5000.0
    with XdfWriter(path) as w:
        eda = w.add_stream(
            _header(
                f"RT-{uid}-patient-EDA",
                "EDA",
                "float32",
                ["GSR", "idx"],
                ["µS", ""],
                32.0,
                f"eda-{uid}",
            )
        )
        ppg = w.add_stream(
            _header(
                f"RT-{uid}-patient-PPG", "PPG", "double64", ["PPG"], ["a.u."], 128.0, f"ppg-{uid}"
            )
        )
        mk = w.add_stream(
            _header(f"RT-{uid}-Markers", "Markers", "string", ["marker"], [""], 0.0, f"mk-{uid}")
        )
        n_eda, n_ppg = int(seconds * 32), int(seconds * 128)
        eda_v = np.column_stack([rng.uniform(1, 20, n_eda), np.arange(n_eda)]).astype(np.float32)
        w.write_samples(eda, eda_v, t0 + 0.3 + np.arange(n_eda) / 32.0)
        w.write_samples(ppg, rng.normal(0, 1, (n_ppg, 1)), t0 + np.arange(n_ppg) / 128.0)
        w.write_samples(
            mk, [["talking"], ["écoute ✓"], ["end"]], [t0 + 0.5, t0 + 1.75, t0 + seconds - 0.5]
        )


def _resolve(source_ids: list[str], timeout: float = 10.0) -> list[pylsl.StreamInfo]:
    found: dict[str, pylsl.StreamInfo] = {}
    deadline = time.monotonic() + timeout
    resolver = pylsl.ContinuousResolver(forget_after=30.0)
    while len(found) < len(source_ids) and time.monotonic() < deadline:
        time.sleep(0.1)
        for info in resolver.results():
            if info.source_id() in source_ids:
                found[info.source_id()] = info
    assert len(found) == len(source_ids), f"resolved only {list(found)}"
    return [found[s] for s in source_ids]


def test_replay_then_record_round_trip(tmp_path: Path, uid: str) -> None:
    original = tmp_path / "original.xdf"
    make_session(original, uid)
    src = load_recording(original, sync_clocks=False, dejitter=False)
    replay = Replay(original, lead_s=0.2, tick=0.02)
    out = tmp_path / "again.xdf"
    acq = Acquisition(buffer_s=60.0)
    replay.open()  # outlets exist, the clock has not started
    try:
        infos = _resolve([f"eda-{uid}", f"ppg-{uid}", f"mk-{uid}"])
        for info in infos:
            acq.add(describe(info), info)
        acq.start()
        deadline = time.monotonic() + 10
        while not all(s.info_xml for s in acq.slots) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(s.info_xml for s in acq.slots), "inlets did not connect"
        rec = Recorder(acq, out, poll_s=0.25).start()
        replay.start()
        assert replay.wait(timeout=20)
        deadline = time.monotonic() + 5
        while sum(s.written for s in acq.slots) < sum(s.n_samples for s in src.streams):
            assert time.monotonic() < deadline, "samples missing after the replay ended"
            time.sleep(0.05)
        time.sleep(0.3)
        summary = rec.stop()
    finally:
        acq.stop()
        replay.stop()
    assert summary.error is None and sum(summary.lost.values()) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    again = load_recording(out, sync_clocks=False, dejitter=False)
    by_sid = {s.source_id: s for s in again.streams}
    t_orig0 = min(s.raw_timestamps[0] for s in src.streams)
    t_new0 = min(s.raw_timestamps[0] for s in again.streams)
    for s in src.streams:
        r = by_sid[s.source_id]
        assert (r.name, r.type, r.channel_format, r.nominal_srate) == (
            s.name,
            s.type,
            s.channel_format,
            s.nominal_srate,
        )
        assert r.labels == s.labels and r.units == s.units
        assert r.info["desc"][0]["manufacturer"] == ["Attunement test"]
        assert r.n_samples == s.n_samples, (s.name, r.n_samples, s.n_samples)  # nothing lost
        np.testing.assert_array_equal(r.values, s.values)  # bit-identical values
        rel_orig = s.raw_timestamps - t_orig0
        rel_new = r.raw_timestamps - t_new0
        assert np.max(np.abs(rel_new - rel_orig)) < 0.003  # a few ms at most
        assert len(r.clock_times) >= 1  # clock offsets recorded
    footer = by_sid[f"ppg-{uid}"].footer
    assert footer is not None and int(footer["sample_count"][0]) == 512


def test_replay_speed_loop_and_globs(tmp_path: Path, uid: str) -> None:
    original = tmp_path / "o.xdf"
    make_session(original, uid, seconds=1.0)
    replay = Replay(original, speed=4.0, loop=True, streams=["*PPG*"], lead_s=0.0, tick=0.01)
    assert [s.type for s in replay.streams] == ["PPG"]
    assert replay.period == pytest.approx(1.0, abs=0.01)
    with replay:
        time.sleep(0.9)  # > 3 passes of 0.25 s
        assert not replay.finished and replay.error is None
        assert replay.cycles_done >= 2
        assert replay.samples_pushed >= 2 * 128
    assert replay.error is None


def test_kill_9_keeps_all_but_the_last_two_seconds(tmp_path: Path, uid: str) -> None:
    """A recording process killed with SIGKILL leaves a file pyxdf loads up to ~1 s before."""
    info = pylsl.StreamInfo(f"Kill-{uid}", "EDA", 2, 100.0, "float32", f"kill-{uid}")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()
    pushed: list[float] = []

    def push(outlet: pylsl.StreamOutlet = outlet) -> None:
        k = 0
        while not stop.is_set():
            now = pylsl.local_clock()
            n = 5
            vals = np.column_stack([np.arange(k, k + n), np.full(n, 7.0)]).astype(np.float32)
            outlet.push_chunk(vals, (now - (n - 1 - np.arange(n)) / 100.0).tolist())
            pushed.append(now)
            k += n
            stop.wait(0.05)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    out = tmp_path / "killed.xdf"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "record",
            str(out),
            "--streams",
            f"kill-{uid}",
            "--wait",
            "1",
        ],
        cwd=ROOT,
        env=os.environ.copy(),  # inherits LSLAPICFG from conftest
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        n_before = 0
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if out.exists() and out.stat().st_size > 2000:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", XdfTruncatedWarning)
                    try:
                        n_before = load_recording(out).streams[0].n_samples
                    except Exception:
                        n_before = 0
                if n_before >= 300:  # > 3 s recorded
                    break
        assert proc.poll() is None, proc.communicate(timeout=5)
        assert n_before >= 300, "recording never reached the disk"
        t_kill = pylsl.local_clock()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        stop.set()
        pusher.join(timeout=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XdfTruncatedWarning)
        rec = load_recording(out, sync_clocks=False, dejitter=False)
    s = rec.streams[0]
    assert s.footer is None  # no orderly close happened
    idx = s.values[:, 0]
    np.testing.assert_array_equal(idx, idx[0] + np.arange(len(idx)))  # no gap, no repeat
    assert t_kill - s.raw_timestamps[-1] < 2.0, f"lost {t_kill - s.raw_timestamps[-1]:.2f} s"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_cli_record_until_duration_writes_footers(tmp_path: Path, uid: str) -> None:
    info = pylsl.StreamInfo(f"Cli-{uid}", "Markers", 1, 0.0, "string", f"cli-{uid}")
    outlet = pylsl.StreamOutlet(info)
    out = tmp_path / "cli.xdf"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "record",
            str(out),
            "--streams",
            f"Cli-{uid}",
            "--wait",
            "1",
            "--duration",
            "3",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert outlet.wait_for_consumers(timeout=20), "the recorder never connected"
        for k in range(5):
            outlet.push_sample([f"mark {k} ✓"])
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, stderr
    assert f"recording 1 stream(s) to {out}" in stdout and "wrote" in stdout
    s = load_recording(out).streams[0]
    assert s.values[:, 0].tolist() == [f"mark {k} ✓" for k in range(5)]
    assert s.footer is not None and s.footer["sample_count"] == ["5"]
    del outlet


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_bad_input_is_one_clear_line(tmp_path: Path, uid: str) -> None:
    (tmp_path / "text.xdf").write_text("not xdf")
    existing = tmp_path / "exists.xdf"
    existing.write_bytes(b"keep me")
    cases = [
        (["replay", str(tmp_path / "missing.xdf")], "no such file"),
        (["replay", str(tmp_path / "text.xdf")], "not an XDF file"),
        (["record", str(existing), "--duration", "1"], "already exists"),
        (["record", str(tmp_path / "nofolder" / "x.xdf")], "does not exist"),
        (
            ["record", str(tmp_path / "n.xdf"), "--streams", f"nothing-{uid}", "--wait", "0.3"],
            "did not appear within 0.3 s",
        ),
    ]
    for args, expected in cases:
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert expected in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert existing.read_bytes() == b"keep me"
    for cmd in ("record", "replay"):
        h = _cli(cmd, "--help")
        assert h.returncode == 0 and "examples:" in h.stdout


def test_cli_replay_publishes_the_file(tmp_path: Path, uid: str) -> None:
    original = tmp_path / "o.xdf"
    make_session(original, uid, seconds=1.0)
    r = _cli("replay", str(original), "--speed", "2", "--streams", "*EDA*")
    assert r.returncode == 0, r.stderr
    assert f"RT-{uid}-patient-EDA [EDA]" in r.stdout and "PPG" not in r.stdout
    assert "replay done: 32 samples" in r.stdout


def test_recorder_stops_cleanly_when_the_disk_is_full(tmp_path: Path) -> None:
    """A write error (RLIMIT_FSIZE here, as a full disk) stops with one message; data is kept."""
    path = tmp_path / "full.xdf"
    script = textwrap.dedent(
        f"""
        import resource, signal, sys, time
        import numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        from devices.recorder import Recorder
        from devices.ringbuffer import RingBuffer

        class Slot:  # the StreamSlot surface the recorder reads, over a real ring buffer
            key, channel_format, n_channels = "full", "double64", 4
            info_xml = ('<?xml version="1.0"?><info><name>Full</name><type>EDA</type>'
                        '<channel_count>4</channel_count><channel_format>double64</channel_format>'
                        '<nominal_srate>1000</nominal_srate></info>')
            def __init__(self):
                self.buffer = RingBuffer(200_000, 4)
                self.clock_offsets = [(10.0, 0.001)]
            @property
            def written(self):
                return self.buffer.written

        class Acq:
            slots = [Slot()]

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
        errors = []
        rec = Recorder(Acq(), {str(path)!r}, poll_s=0.05, on_error=errors.append).start()
        k = 0
        while rec.running and k < 3000:
            Acq.slots[0].buffer.append(np.full((500, 4), k, float), k + np.arange(500) / 1000.0)
            k += 1
            time.sleep(0.01)
        summary = rec.stop()
        print(summary.error == errors[0])
        print(summary.error)
        print(summary.streams[0].sample_count)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    same, message, n_ok = out.stdout.strip().splitlines()
    assert same == "True"
    assert message.startswith(f"writing {path} failed") and "kept" in message, message
    rec = load_recording(path, sync_clocks=False, dejitter=False)
    assert rec.streams[0].n_samples == int(n_ok) > 0
    assert os.path.getsize(path) <= 300_000


@pytest.mark.realdata
def test_every_shared_file_replays(shared_xdf: Path) -> None:
    for f in sorted(shared_xdf.glob("*.xdf")):
        rec = load_recording(f)
        replay = Replay(rec, speed=2000.0, tick=0.01)
        with replay:
            assert replay.wait(timeout=20), f.name
        assert replay.error is None, (f.name, replay.error)
        assert replay.samples_pushed == sum(s.n_samples for s in replay.streams), f.name


def test_session_folder_and_private_json(tmp_path: Path) -> None:
    import json

    from devices.recorder import create_session_folder, write_private_json
    from devices.xdf_writer import XdfWriteError

    folder = create_session_folder(tmp_path / "sessions", "2026-11-22_P01")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with pytest.raises(XdfWriteError, match="already exists"):
        create_session_folder(tmp_path / "sessions", "2026-11-22_P01")
    data = {
        "patient": "P01",
        "notes": "écoute",
        "baseline": {"rmssd": np.float64(41.5), "scl": float("nan")},
    }
    p = write_private_json(folder / "session.json", data)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    back = json.loads(p.read_text(encoding="utf-8"))
    assert back == {"patient": "P01", "notes": "écoute", "baseline": {"rmssd": 41.5, "scl": None}}
    with pytest.raises(XdfWriteError, match="cannot write"):
        write_private_json(tmp_path / "missing" / "session.json", data)
    assert sorted(x.name for x in folder.iterdir()) == ["session.json"]
