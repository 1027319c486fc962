"""The console's live picture on real code paths: PyAV reads a lavfi camera whose frame number
is burned into its brightness, the recording's encoder thread feeds the same picture, and a
replayed recording's video follows its replayed VideoFrames stamps over real LSL (the frame
number burned into each picture is checked against the stamp it was shown for)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from app.live_video import LiveVideo  # noqa: E402
from devices.media_devices import parse_device  # noqa: E402
from devices.video_capture import MediaCapture, wait_frames  # noqa: E402
from tests.video_sim import read_code, write_video  # noqa: E402
from tests.xdf_sim import header_xml  # noqa: E402

pytestmark = pytest.mark.lsl

# luma = 16 + 4 x frame number (mod 200), as in test_video_capture
COUNTER_CAM = "lavfi:color=c=black:size=320x240:rate=30,geq=lum=16+mod(4*N\\,200):cb=128:cr=128"
STEP = 4 * 255 / 219  # one frame in full-range grey


def _count(picture: np.ndarray) -> int:
    """The camera's frame number mod 50, read from a picture's brightness."""
    return int(round(float(np.median(picture)) / STEP)) % 50


def _wait(cond, timeout: float = 15.0) -> bool:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_camera_preview_then_recording_feed_the_picture(tmp_path: Path, uid: str) -> None:
    """Chosen camera: the picture is the camera's (frame numbers consecutive with its index,
    ~10 pictures a second); while recording, each picture is the file's frame of its index;
    after, the preview is back. A missing camera is one line, and no picture."""
    errors: list[str] = []
    video = LiveVideo(on_error=errors.append)
    try:
        video.choose_camera(COUNTER_CAM)
        assert video.active and "preview" in video.describe()
        assert _wait(lambda: (f := video.frame()) is not None and f.serial >= 12)
        first = video.frame()
        time.sleep(1.0)
        later = video.frame()
        assert 5 <= later.serial - first.serial <= 13  # ~10 per second, never every frame
        for f in (first, later):  # the picture shows the frame it says it is
            assert _count(f.picture) == f.index % 50, (f.index, float(np.median(f.picture)))
        assert later.picture.shape[1] <= 320 and later.picture.flags["C_CONTIGUOUS"]

        tap = video.before_recording()
        assert video.preview is None and "recording" in video.describe()
        serial0 = tap.latest().serial
        cap = MediaCapture(tmp_path / "r.mp4", parse_device(COUNTER_CAM), None,
                           source_id=f"lv-{uid}", wait_consumers_s=0.0, preview=tap).start()  # fmt: skip
        try:
            assert wait_frames(cap, 45)
            assert _wait(lambda: tap.latest().serial > serial0 + 5)
            shot = tap.latest()
        finally:
            cap.stop()
        other = "lavfi:testsrc=size=160x120:rate=30"
        video.choose_camera(other)  # chosen while recording: from the recording's Stop on
        assert video.preview is None and video.recorded == COUNTER_CAM
        assert video.describe() == "virtual camera (test pattern) · recording"
        with av.open(str(tmp_path / "r.mp4")) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert 0 <= shot.index < len(frames)
        assert abs(float(np.median(shot.picture)) - float(np.median(frames[shot.index]))) < 2.5
        video.after_recording()
        assert _wait(lambda: video.preview is not None and video.frame().serial > shot.serial)
        assert video.camera == other and "preview" in video.describe()
        assert not errors, errors

        video.choose_camera("v4l2:/dev/video97")
        assert len(errors) == 1 and "/dev/video97" in errors[0] and "\n" not in errors[0]
        assert not video.active and video.frame() is None
        gone = "lavfi:testsrc=size=160x120:rate=30:duration=0.5"  # a camera that stops
        video.choose_camera(gone)
        assert _wait(lambda: len(errors) == 2, 10.0)
        assert errors[1] == f"camera {gone}: stopped delivering pictures", errors
        assert not video.active and video.describe() == ""
    finally:
        video.stop()


def test_console_window_shows_the_chosen_camera(qtbot, uid: str) -> None:
    """The console (real MainWindow, offscreen): no picture until a camera is chosen, then the
    camera's picture beside the table with its caption; gone when the camera is unchosen."""
    from app.engine import EngineConfig
    from app.gui.main_window import MainWindow
    from app.gui.session import SessionController
    from app.video import MediaChoice

    controller = SessionController(
        EngineConfig(metrics_source_id=f"metrics-{uid}"), marker_source_id=f"markers-{uid}"
    )
    window = MainWindow(controller, persist=False)
    qtbot.addWidget(window)
    window.show()
    pic = window.picture
    try:
        qtbot.wait(150)
        assert not pic.isVisible()  # nothing chosen: no picture at all
        controller.live.media = MediaChoice(COUNTER_CAM, "")
        qtbot.waitUntil(lambda: pic.isVisible() and pic.shown_serial > 3, timeout=15000)
        assert not pic.picture.pixmap().isNull()
        assert (
            pic.caption.text()
            == "virtual camera (test pattern) · preview, not recorded until Start"
        )
        controller.live.media = MediaChoice()
        qtbot.waitUntil(lambda: not pic.isVisible(), timeout=2000)
    finally:
        window.close()


# ---------------------------------------------------------------------------- replay
def _recorded_session(folder: Path, uid: str, seconds: float = 5.0) -> Path:
    """recording.xdf (EDA + VideoFrames: frame k at LSL time T0 + 0.5 + k/30) and
    recording.mp4 (frame numbers burned in), as a session recorded with a camera."""
    from devices.xdf_writer import XdfWriter

    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / "recording.mp4", None, seconds)
    t0 = 1000.0
    rec = folder / "recording.xdf"
    with XdfWriter(rec) as w:
        eda = w.add_stream(header_xml(f"R{uid}-patient-EDA", "EDA", "float32", ["EDA"], "uS",
                                      4.0, f"e-{uid}"))  # fmt: skip
        t = t0 + np.arange(int(seconds * 4) + 8) / 4
        w.write_samples(eda, np.full((t.size, 1), 2.0, np.float32), t)
        vf = w.add_stream(header_xml("Attunement-VideoFrames", "VideoFrames", "double64",
                                     ["frame_index"], "index", 0.0, f"vf-{uid}"))  # fmt: skip
        k = np.arange(int(seconds * 30))
        w.write_samples(vf, k.reshape(-1, 1).astype(float), t0 + 0.5 + k / 30)
    return rec


def test_replay_shows_the_frame_of_the_replayed_stamp(tmp_path: Path, uid: str) -> None:
    """The console replaying a recording with video (LiveController, as the Streams dialog's
    "Replay a recording"; the replay runs in this process): each picture is the frame whose
    stamp was replayed last (frame number burned in = stamp's index), ready a median of under
    50 ms (about a frame) after its stamp's time; stopping the session stops the picture."""
    import pylsl

    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.sources import SourceChoice, SourceKind, role_globs
    from devices.replay import Replay

    rec = _recorded_session(tmp_path / "s", uid)
    errors: list[str] = []
    control = LiveController(EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
                             marker_name=f"Markers-{uid}", marker_source_id=f"markers-{uid}")  # fmt: skip
    control.on_error = errors.append
    video = control.video
    seen: dict[int, int] = {}
    try:
        with Replay(rec, wait_consumers_s=20.0):  # starts once the console follows it
            control.start(SourceChoice(kind=SourceKind.REPLAY, replay_path=str(rec),
                                       roles=role_globs(f"R{uid}"), description="replay"))  # fmt: skip

            def look() -> bool:
                f = video.frame()
                if f is not None:
                    seen[f.serial] = read_code(f.picture) - f.index
                return len(seen) >= 15

            assert _wait(look, 20.0), errors
            follower = video.follower
            shown = list(follower.shown)
            assert "replayed video recording.mp4" in video.describe()
            control.stop()
            assert video.follower is None and not follower.running and not video.active
    finally:
        control.shutdown()
    assert not errors, errors
    assert set(seen.values()) == {0}, seen  # the picture is the frame of its index
    file_t = np.array([s[2] for s in shown])
    index = np.array([s[1] for s in shown])
    assert np.allclose(file_t, index / 30, atol=0.5 / 30)
    stamps = np.array([s[0] for s in shown])
    lag = np.array([s[3] for s in shown]) - stamps  # stamp due -> picture ready
    assert np.all(np.diff(index) > 0) and np.all(lag >= -0.005)
    assert np.median(lag) < 0.05 and np.percentile(lag, 90) < 0.1, lag
    # the replayed stamps keep the recording's frame spacing: index k at start + k/30
    assert np.allclose(np.diff(stamps) / np.diff(index), 1 / 30, atol=2e-3)
    assert pylsl.local_clock() > stamps[-1]


def test_replay_with_a_broken_video_is_one_line(tmp_path: Path, uid: str) -> None:
    """A replayed recording whose recording.mp4 is not a video: one line, no picture."""
    rec = _recorded_session(tmp_path / "b", uid, seconds=1.0)
    rec.with_suffix(".mp4").write_bytes(b"not a video" * 50)
    errors: list[str] = []
    video = LiveVideo(on_error=errors.append)
    try:
        video.follow_replay(rec, resolve_s=1.0)
        assert _wait(lambda: bool(errors), 10.0)
    finally:
        video.stop()
    assert len(errors) == 1 and "\n" not in errors[0] and "is not a video file" in errors[0]
    assert not video.active and video.frame() is None
