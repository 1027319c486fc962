"""Late streams and the recorder: recorder first, replay first, a stream appearing mid-way,
and --role waiting for the required streams. Real LSL, the real ``attune record`` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from devices.replay import Replay
from devices.xdf_reader import load_recording
from tests.test_recorder import make_session

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.lsl


def _record(out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "record", str(out), *args],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(
    proc: subprocess.Popen[str], timeout: float = 60.0, interrupt: bool = False
) -> tuple[str, str]:
    if interrupt:  # Ctrl-C: the recording is closed properly and the command exits 0
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    return out, err


def _by_source(path: Path) -> dict:
    return {s.source_id: s for s in load_recording(path, sync_clocks=False).streams}


def test_recorder_first_records_the_whole_replay(tmp_path: Path, uid: str) -> None:
    original = tmp_path / "session.xdf"
    make_session(original, uid, seconds=4.0)
    src = {s.source_id: s for s in load_recording(original, sync_clocks=False).streams}
    out = tmp_path / "rec.xdf"
    # nothing to record yet: --all no longer gives up after --wait, it waits for streams
    proc = _record(out, "--all", "--wait", "1")
    replay = None
    try:
        time.sleep(2.0)
        # the replay starts its clock once the recorder has connected to all its streams
        # (other processes on this machine may look at them briefly too: a little margin)
        replay = Replay(original, lead_s=2.0, wait_consumers_s=30.0).start()
        assert replay.wait(timeout=60)
        stdout, _ = _finish(proc, interrupt=True)
    finally:
        if replay is not None:
            replay.stop()
    got = _by_source(out)
    for sid, s in src.items():
        assert got[sid].n_samples == s.n_samples, (sid, got[sid].n_samples, s.n_samples)
        np.testing.assert_array_equal(got[sid].values, s.values)
    assert "wrote" in stdout


def test_replay_first_records_everything_replayed_while_recording(tmp_path: Path, uid: str):
    original = tmp_path / "session.xdf"
    make_session(original, uid, seconds=12.0)
    src = load_recording(original, sync_clocks=False)
    out = tmp_path / "rec.xdf"
    replay = Replay(original, lead_s=0.2).start()
    try:
        time.sleep(3.0)
        proc = _record(out, "--streams", f"RT-{uid}*", "--wait", "1", "--duration", "4")
        _finish(proc)
        assert replay.t_start is not None
        t_start = replay.t_start
    finally:
        replay.stop()
    got = _by_source(out)
    for s in src.streams:
        if s.is_string:
            continue
        r = got[s.source_id]
        assert r.n_samples > 0
        # the recorded samples are one gap-free run of what was replayed meanwhile
        rel = s.raw_timestamps - min(x.raw_timestamps[0] for x in src.streams)
        i0 = int(np.argmin(np.abs(rel - (r.raw_timestamps[0] - t_start))))
        i1 = int(np.argmin(np.abs(rel - (r.raw_timestamps[-1] - t_start))))
        assert r.n_samples == i1 - i0 + 1, (s.name, r.n_samples, i0, i1)
        np.testing.assert_array_equal(r.values, s.values[i0 : i1 + 1])


def test_stream_appearing_mid_recording_is_recorded_from_its_first_sample(
    tmp_path: Path, uid: str
) -> None:
    early = pylsl.StreamOutlet(
        pylsl.StreamInfo(f"Late-{uid}-a", "Markers", 1, 0, "string", f"a{uid}")
    )
    out = tmp_path / "rec.xdf"
    proc = _record(out, "--streams", f"Late-{uid}*", "--wait", "1", "--duration", "10")
    try:
        assert early.wait_for_consumers(timeout=20)
        time.sleep(1.5)  # see below: the first consumer may be another process's look
        early.push_sample(["start"])
        time.sleep(2.0)
        info = pylsl.StreamInfo(f"Late-{uid}-b", "EDA", 1, 50.0, "float32", f"b{uid}")
        late = pylsl.StreamOutlet(info)
        # the stream becomes visible; the recorder must pick it up while it is running
        assert late.wait_for_consumers(timeout=10), "the running recorder never added it"
        # another process on this machine may briefly look at the stream too (fetching its
        # full info is a consumer), so give the recorder's own inlet time to be the one
        time.sleep(1.5)
        x = np.arange(150, dtype=np.float32)
        for i in range(0, 150, 10):
            late.push_chunk(x[i : i + 10, None].tolist())
            time.sleep(0.2)
        _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = _by_source(out)
    assert got[f"b{uid}"].values[:, 0].tolist() == x.tolist()
    assert got[f"a{uid}"].values[:, 0].tolist() == ["start"]


def test_map_waits_for_required_streams_and_loses_nothing(tmp_path: Path, uid: str) -> None:
    original = tmp_path / "session.xdf"
    make_session(original, uid, seconds=4.0)
    src = {s.source_id: s for s in load_recording(original, sync_clocks=False).streams}
    out = tmp_path / "rec.xdf"
    # the map names both streams: both are required, as LabRecorder's required streams
    (tmp_path / "map.toml").write_text(
        f'[patient]\neda = "RT-{uid}-patient-EDA"\nppg = "RT-{uid}-patient-PPG"\n'
    )
    proc = _record(out, "--map", str(tmp_path / "map.toml"), "--wait", "40")
    replay = None
    try:
        time.sleep(3.0)  # the recorder is waiting for the required streams
        assert proc.poll() is None and not out.exists()
        replay = Replay(original, lead_s=0.2).open()  # the streams appear, no samples yet
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # waiting..., recording...
        assert lines[1].startswith("recording"), lines
        replay.start()
        assert replay.wait(timeout=60)
        stdout, _ = _finish(proc, timeout=90, interrupt=True)
    finally:
        if replay is not None:
            replay.stop()
    assert "waiting up to 40 s for the required streams" in lines[0]
    got = _by_source(out)
    for sid in (f"eda-{uid}", f"ppg-{uid}"):
        assert got[sid].n_samples == src[sid].n_samples


def test_role_gives_up_with_one_line_when_required_streams_never_come(tmp_path: Path, uid: str):
    out = tmp_path / "never.xdf"
    proc = _record(out, "--role", f"patient=Nobody-{uid}*", "--wait", "2")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "did not appear within 2 s" in lines[0]
    assert not out.exists()
