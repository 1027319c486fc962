"""Session video capture on real code paths: PyAV reads lavfi virtual devices exactly as it
would a camera, encodes H.264 + AAC into a fragmented MP4, the stamps go over real LSL into
the XDF of `attune record`, read back with pyxdf. The virtual camera burns its frame number
into the picture (luminance = N mod 256), so every frame in the file is checked against its
stamp index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from devices.media_devices import VideoError, parse_device  # noqa: E402

pytestmark = pytest.mark.lsl

# luma = 16 + 4 x frame number (mod 200): a frame counter burned into every picture (one
# frame: a step of 4 x 255/219 = 4.7 grey levels in full-range grey; a lost frame: 9.3)
COUNTER_CAM = "lavfi:color=c=black:size=320x240:rate=30,geq=lum=16+mod(4*N\\,200):cb=128:cr=128"
SINE_MIC = "lavfi:sine=frequency=440:sample_rate=48000"


def attune(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--local-only", *args],
        capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )  # fmt: skip


def start_sim(prefix: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--local-only", "simulate", "--name-prefix", prefix,
         "--duration", "40"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip


def stream_of(streams: list, stype: str) -> dict:
    found = [s for s in streams if s["info"]["type"][0] == stype]
    assert len(found) == 1, stype
    return found[0]


def test_device_names_are_checked() -> None:
    assert parse_device("lavfi:testsrc").format == "lavfi"
    assert parse_device("ALSA:default").device == "default"
    with pytest.raises(VideoError, match="FORMAT:DEVICE"):
        parse_device("/dev/video0")
    with pytest.raises(VideoError, match="not available here"):
        parse_device("nosuchformat:0")


def test_record_with_video_stamps_every_frame(tmp_path: Path, uid: str) -> None:
    sim = start_sim(f"Vid{uid}")
    try:
        out = attune("record", str(tmp_path / "s.xdf"), "--streams", f"Vid{uid}*",
                     "--video", COUNTER_CAM, "--audio", SINE_MIC, "--duration", "4",
                     "--wait", "10")  # fmt: skip
    finally:
        sim.kill()
        sim.wait()
    assert out.returncode == 0, out.stderr
    mp4 = tmp_path / "s.mp4"
    assert os.stat(mp4).st_mode & 0o777 == 0o600
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(tmp_path / "s.xdf"), dejitter_timestamps=False)
    vf = stream_of(streams, "VideoFrames")
    ab = stream_of(streams, "AudioBlocks")
    eda = [s for s in streams if s["info"]["type"][0] == "EDA"]
    assert eda and all(len(s["time_stamps"]) > 100 for s in eda)  # physiology recorded too
    idx = vf["time_series"][:, 0]
    stamps = vf["time_stamps"]
    with av.open(str(mp4)) as c:
        lum = [f.to_ndarray(format="gray").astype(float).mean() for f in c.decode(video=0)]
    # one stamp per frame in the file, indices 0..n-1, at least the 4 s asked for at 30 fps
    # (under load the camera may open before the duration clock starts), and no frame missing
    # between the first and the last stamp
    assert len(lum) == len(idx) and len(idx) >= 100
    assert abs(len(idx) - ((stamps[-1] - stamps[0]) * 30 + 1)) <= 1
    np.testing.assert_array_equal(idx, np.arange(len(idx)))
    # consecutive frames in the file are consecutive device frames (the burned-in counter
    # rises by one step each frame until it wraps), and the stamps step by 1/30 s
    steps = np.diff(lum)[np.diff(lum) > -100]
    assert np.all((steps > 3.5) & (steps < 6)), steps
    assert abs(np.median(np.diff(stamps)) - 1 / 30) < 1e-3
    assert np.max(np.abs(np.diff(stamps) - 1 / 30)) < 0.01
    # stamps lie within the physiology's time range (same LSL clock)
    assert eda[0]["time_stamps"][0] - 1 < stamps[0] < stamps[-1] < eda[0]["time_stamps"][-1] + 1
    # audio: block i's sample index advances by the samples of the block before it, and the
    # file holds (at least) every stamped sample
    aidx = ab["time_series"][:, 0]
    assert aidx[0] >= 0 and np.all(np.diff(aidx) > 0)
    rate = np.diff(aidx) / np.diff(ab["time_stamps"])
    assert abs(np.median(rate) - 48000) < 500
    with av.open(str(mp4)) as c:
        n_audio = sum(f.samples for f in c.decode(audio=0))
    assert n_audio >= aidx[-1]
    assert "video s.mp4: " in out.stdout


def test_missing_devices_fail_in_one_line(tmp_path: Path) -> None:
    for opt, dev, words in [
        ("--video", "lavfi:nosuchfilter=1", "video device lavfi:nosuchfilter=1"),
        ("--audio", "alsa:nosuchcard", "audio device alsa:nosuchcard"),
        ("--video", "v4l2:/dev/video99", "v4l2"),
        ("--video", "camera0", "FORMAT:DEVICE"),
    ]:
        out = attune("record", str(tmp_path / "x.xdf"), "--all", opt, dev, "--duration", "1")
        assert out.returncode == 2, (dev, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (dev, out.stderr)
        assert not (tmp_path / "x.xdf").exists() and not (tmp_path / "x.mp4").exists()


CAPTURE_CHILD = textwrap.dedent(
    """
    import sys, time
    from devices.media_devices import parse_device
    from devices.video_capture import MediaCapture
    cap = MediaCapture(sys.argv[1], parse_device(sys.argv[2]), parse_device(sys.argv[3]),
                       wait_consumers_s=0.0).start()
    print("started", flush=True)
    while True:
        time.sleep(1)
    """
)


def test_kill_9_keeps_all_but_the_last_seconds(tmp_path: Path) -> None:
    mp4 = tmp_path / "crash.mp4"
    child = subprocess.Popen(
        [sys.executable, "-c", CAPTURE_CHILD, str(mp4), COUNTER_CAM, SINE_MIC],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert child.stdout.readline().strip() == "started"
    t0 = time.monotonic()
    time.sleep(5.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    ran = time.monotonic() - t0
    with av.open(str(mp4)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(mp4)) as c:
        audio_s = sum(f.samples for f in c.decode(audio=0)) / 48000
    assert frames >= (ran - 2.0) * 30, (frames, ran)
    assert audio_s >= ran - 2.0, (audio_s, ran)


def test_full_disk_stops_the_video_not_the_recording(tmp_path: Path, uid: str) -> None:
    """A per-file size limit (``ulimit -f``, SIGXFSZ ignored) makes every write past 400 kB
    fail as on a full disk: the video stops with one warning, the XDF (far smaller) is
    recorded to the end. (A shell sets the limit: a preexec_fn in this multi-threaded test
    process could deadlock the forked child.)"""
    sim = start_sim(f"Full{uid}")
    cmd = [sys.executable, "-m", "app.cli", "--local-only", "record", str(tmp_path / "s.xdf"),
           "--streams", f"Full{uid}*", "--video", "lavfi:testsrc=size=640x360:rate=30",
           "--duration", "6", "--wait", "10"]  # fmt: skip
    script = "trap '' XFSZ; ulimit -f 400; exec \"$@\""
    try:
        out = subprocess.run(["bash", "-c", script, "bash", *cmd], capture_output=True,
                             text=True, timeout=60, env=dict(os.environ))  # fmt: skip
    finally:
        sim.kill()
        sim.wait()
    assert out.returncode == 0, out.stderr
    warn = [ln for ln in out.stderr.splitlines() if "video stopped" in ln]
    assert len(warn) == 1 and "the XDF recording went on" in warn[0]
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(tmp_path / "s.xdf"), dejitter_timestamps=False)
    eda = [s for s in streams if s["info"]["type"][0] == "EDA"]
    assert eda and all(s["time_stamps"][-1] - s["time_stamps"][0] > 5.0 for s in eda)


def test_console_session_records_the_chosen_camera(uid: str, tmp_path: Path) -> None:
    """The console's Start session (LiveController) with a camera and microphone chosen:
    recording.mp4 beside recording.xdf, every frame stamped in the XDF; a second session
    with a missing camera reports it in one line and still records the physiology."""
    import pyxdf

    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.sources import SourceChoice, SourceKind, role_globs
    from app.video import MediaChoice, find_session_video
    from devices.source import SimulatorSource
    from dsp.simulate import DyadSimConfig

    prefix = f"VidC{uid}"
    control = LiveController(
        EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
        marker_name=f"Markers-{uid}",
        marker_source_id=f"markers-{uid}",
    )
    errors: list[str] = []
    control.on_error = errors.append
    source = SimulatorSource(DyadSimConfig(seed=2), prefix=prefix)
    try:
        control.start(SourceChoice(kind=SourceKind.SIMULATED, roles=role_globs(prefix),
                                   wait_s=30.0, description="test dyad"), source)  # fmt: skip
        t_end = time.monotonic() + 40
        while control.session is None and time.monotonic() < t_end:
            time.sleep(0.05)
        control.media = MediaChoice(COUNTER_CAM, SINE_MIC)
        path = control.start_recording(tmp_path / "sessions", "P1", "C1")
        time.sleep(3.0)
        control.stop_recording()
        control.media = MediaChoice("alsa:nosuchcard", "")
        path2 = control.start_recording(tmp_path / "sessions2", "P1", "C1")
        time.sleep(2.0)
        control.stop_recording()
    finally:
        control.shutdown()
    streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    vf = stream_of(streams, "VideoFrames")
    with av.open(str(path.with_suffix(".mp4"))) as c:
        n_frames = sum(1 for _ in c.decode(video=0))
    assert n_frames == len(vf["time_stamps"]) >= 60
    sv = find_session_video(path)
    assert sv is not None and sv.how == "recorded"
    assert abs(sv.to_session(sv.to_file(vf["time_stamps"][30])) - vf["time_stamps"][30]) < 1e-6
    # one line when the missing camera is chosen (its preview), one when Start records without it
    assert len(errors) == 2 and all("alsa:nosuchcard" in e for e in errors), errors
    assert "camera preview" in errors[0] and "preview" not in errors[1]
    streams2, _ = pyxdf.load_xdf(str(path2))
    assert any(s["info"]["type"][0] == "EDA" and len(s["time_stamps"]) for s in streams2)
    assert not path2.with_suffix(".mp4").exists()


def test_nothing_recorded_leaves_no_video(tmp_path: Path, uid: str) -> None:
    out = attune("record", str(tmp_path / "n.xdf"), "--streams", f"Nope{uid}*", "--video",
                 COUNTER_CAM, "--wait", "2", "--duration", "1")  # fmt: skip
    assert out.returncode == 2 and "did not appear" in out.stderr
    assert not (tmp_path / "n.xdf").exists() and not (tmp_path / "n.mp4").exists()
