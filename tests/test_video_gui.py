"""Session video in the windows (real Qt widgets offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("av")

from app.gui.dialogs import AssignmentDialog  # noqa: E402
from app.video import MediaChoice  # noqa: E402


def test_streams_dialog_offers_devices_and_no_camera_by_default(qtbot) -> None:
    dlg = AssignmentDialog(wait_s=0.1)
    qtbot.addWidget(dlg)
    assert dlg.media.choice() == MediaChoice()  # no camera unless chosen
    items = [dlg.media.video.itemText(i) for i in range(dlg.media.video.count())]
    assert items[0] == "none" and any(t.startswith("lavfi:testsrc") for t in items)
    dlg.media.video.setCurrentIndex(items.index(next(t for t in items if t.startswith("lavfi"))))
    dlg.media.audio.setCurrentText("alsa:default")
    got = dlg.media.choice()
    assert got.video.startswith("lavfi:testsrc") and got.audio == "alsa:default"
    again = AssignmentDialog(wait_s=0.1, media=got)
    qtbot.addWidget(again)
    assert again.media.choice() == got


# ---------------------------------------------------------------------------- review
VIDEO_START = 10.0  # the video starts 10 s into the session (t0 = 200 s, LSL)


@pytest.fixture(scope="module")
def review_session(tmp_path_factory):
    from app.analysis import analyze_file
    from app.video import store_video_offset
    from dsp.simulate import DyadSimConfig, simulate_dyad
    from tests.video_sim import write_video
    from tests.xdf_sim import write_simulated_xdf

    dyad = simulate_dyad(DyadSimConfig(duration_s=240.0, seed=7, coupling=0.8, lag_s=2.0))
    folder = tmp_path_factory.mktemp("rv")
    path = folder / "recording.xdf"
    write_simulated_xdf(path, dyad, t0=200.0, markers=[(0.0, "listening"), (100.0, "talking")])
    a = analyze_file(path)
    vid = write_video(folder / "camera.mp4", None, 120.0)  # frame numbers burned in
    store_video_offset(path, vid, a.t_start + VIDEO_START, "manual")
    return path, a


def _frame_number(window) -> int:
    from tests.video_sim import read_code

    return read_code(window.video.panel.last_picture)


def _show_at(qtbot, window, t_rel: float) -> None:
    ctl = window.video
    ctl.set_cursor(t_rel, follow=False)
    want = ctl.file_time(t_rel)
    qtbot.waitUntil(lambda: abs(ctl.panel.asked_file_t - want) < 1e-9, timeout=20000)


def test_review_shows_the_frame_at_the_cursor(qtbot, review_session, tmp_path) -> None:
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    path, a = review_session
    w = ReviewWindow(a, notes_path=tmp_path / "notes.txt")
    qtbot.addWidget(w)
    w.resize(1500, 900)
    w.show()
    assert w.video is not None
    ctl = w.video
    assert abs(ctl.cursor_t - VIDEO_START) < 1e-6  # the cursor starts where the video does
    for t in (15.0, 47.31, 100.02, 20.5, 129.9):  # forwards, far, backwards
        _show_at(qtbot, w, t)
        truth = (t - VIDEO_START) * 30  # frame number on screen at the cursor
        assert abs(_frame_number(w) - truth) <= 1.0, (t, _frame_number(w), truth)
    # clicking a marker seeks the video there
    item = next(w.markers.item(i) for i in range(w.markers.count())
                if w.markers.item(i).text().strip().endswith("talking"))  # fmt: skip
    w.markers.itemClicked.emit(item)
    qtbot.waitUntil(lambda: abs(ctl.panel.asked_file_t - 90.0) < 0.01, timeout=20000)
    assert abs(_frame_number(w) - 90.0 * 30) <= 1
    # playing moves the cursor in real time
    ctl.toggle_play()
    t_start = ctl.cursor_t
    qtbot.wait(1500)
    ctl.toggle_play()
    assert 1.0 < ctl.cursor_t - t_start < 2.2
    qtbot.waitUntil(lambda: abs(ctl.panel.asked_file_t - ctl.file_time(ctl.cursor_t)) < 1e-9)
    assert abs(_frame_number(w) - (ctl.cursor_t - VIDEO_START) * 30) <= 1
    w.grab().save(str(tmp_path / "review_video.png"))


def test_set_sync_here_realigns_and_is_stored(qtbot, review_session, tmp_path) -> None:
    import json

    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    path, a = review_session
    w = ReviewWindow(a, notes_path=tmp_path / "notes.txt")
    qtbot.addWidget(w)
    w.show()
    ctl = w.video
    _show_at(qtbot, w, 60.0)
    before = _frame_number(w)
    ctl.panel.nudge_buttons["1 s ▶"].click()  # the video alone moves on by 1 s
    ctl.panel.nudge_buttons["frame ▶"].click()
    qtbot.waitUntil(lambda: abs(_frame_number(w) - (before + 31)) <= 1, timeout=20000)
    assert abs(ctl.cursor_t - 60.0) < 1e-9
    ctl.panel.sync_button.click()
    stored = json.loads((path.parent / "session.json").read_text())["video"] if (
        path.parent / "session.json").exists() else json.loads(
        path.with_name("recording_video.json").read_text())["video"]  # fmt: skip
    assert stored["how"] == "manual"
    new_start = VIDEO_START - (31 / 30)  # the video now starts 1.03 s earlier
    assert abs(stored["offset_s"] - (a.t_start + new_start)) <= 1 / 30
    _show_at(qtbot, w, 80.0)
    assert abs(_frame_number(w) - (80.0 - new_start) * 30) <= 1
    store_back(path, a)


def store_back(path, a) -> None:
    from app.video import store_video_offset

    store_video_offset(path, path.parent / "camera.mp4", a.t_start + VIDEO_START, "manual")


def test_moments_tab_lists_and_plays(qtbot, review_session, tmp_path) -> None:
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow

    pin_none()
    path, a = review_session
    w = ReviewWindow(a, notes_path=tmp_path / "notes.txt")
    qtbot.addWidget(w)
    w.resize(1500, 900)
    w.show()
    lst = w.video.moments
    texts = [lst.item(i).text() for i in range(lst.count())]
    assert any("talking block" in t for t in texts) and any("listening block" in t for t in texts)
    talk = next(lst.item(i) for i in range(lst.count()) if "talking block" in lst.item(i).text())
    qtbot.waitUntil(lambda: not talk.icon().isNull(), timeout=20000)  # thumbnail decoded
    lst.itemClicked.emit(talk)
    assert w.video.playing and abs(w.video.cursor_t - 98.0) < 0.5
    w.video.toggle_play()
    w.grab().save(str(tmp_path / "moments.png"))


def test_review_sound_follows_the_cursor_or_says_why_not(qtbot, review_session, tmp_path) -> None:
    """Play starts the sound at the cursor's file time and a seek while playing restarts it
    there; a video without sound, or no sound card, is one status-bar line and the picture
    plays on."""
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow
    from devices.audio_out import AudioPlayer
    from tests.video_sim import _write_audio_only, speech

    pin_none()
    path, a = review_session
    w = ReviewWindow(a, notes_path=tmp_path / "notes.txt")
    qtbot.addWidget(w)
    w.show()
    ctl = w.video
    assert ctl.sound is None  # camera.mp4 has no sound track
    _show_at(qtbot, w, 30.0)
    ctl.toggle_play()
    assert "sound not played: camera.mp4 has no sound" in w.statusBar().currentMessage()
    qtbot.wait(300)
    ctl.toggle_play()
    assert ctl.cursor_t > 30.1  # the picture played on
    talk = tmp_path / "talk.mp4"  # sound for file times 0-55 s (the cursor's 10-65 s)
    _write_audio_only(talk, speech(55.0, 2))
    ctl.sound = AudioPlayer(talk, ("wav", str(tmp_path / "heard.wav")))
    _show_at(qtbot, w, 40.0)
    ctl.toggle_play()
    assert abs(ctl.sound.start_t - ctl.file_time(40.0)) < 1e-9 and ctl.sound.playing
    ctl.seek(60.0)  # a marker or a drag while playing: sound and picture restart there
    assert abs(ctl.sound.start_t - ctl.file_time(60.0)) < 1e-9
    assert abs(ctl._play_wall - ctl.sound.wall0) < 1e-9  # one clock for both
    qtbot.wait(300)
    ctl.toggle_play()
    assert not ctl.sound.playing and 60.2 < ctl.cursor_t < 61.5
    ctl.sound = AudioPlayer(talk, ("alsa", "attune_no_such_pcm"), on_error=ctl.soundFailed.emit)
    ctl.toggle_play()
    qtbot.waitUntil(
        lambda: "plays on without sound" in w.statusBar().currentMessage(), timeout=5000
    )
    assert "sound (alsa:attune_no_such_pcm)" in w.statusBar().currentMessage()
    qtbot.wait(300)
    ctl.toggle_play()
    assert ctl.cursor_t > 60.5
    w.close()


def test_review_says_why_a_video_is_not_shown(qtbot, review_session, tmp_path) -> None:
    """A session's video that is not a video, is truncated before its first frames, or is
    gone: one status-bar line, and the review works without it."""
    from app.gui.compat import pin_none
    from app.review.window import ReviewWindow
    from app.video import store_video_offset

    pin_none()
    path, a = review_session
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((path.parent / "camera.mp4").read_bytes()[:2000])
    try:
        for bad, words in ((junk, "is not a video file"), (cut, "is not a video file"),
                           (tmp_path / "gone.mp4", "is not there")):  # fmt: skip
            store_video_offset(path, bad, a.t_start, "manual")
            w = ReviewWindow(a, notes_path=tmp_path / "notes.txt")
            qtbot.addWidget(w)
            msg = w.statusBar().currentMessage()
            assert w.video is None and msg.startswith("video not shown: ") and words in msg, msg
            assert "\n" not in msg and w.tabs.count() > 0
            w.close()
    finally:
        store_back(path, a)
