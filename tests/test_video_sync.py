"""`attune video add`: an external video aligned to the session by its sound, against known
offsets (synthetic sessions written as real MP4/XDF files; AAC 64 kbit/s, -20 dB room noise,
another gain and a little reverberation); a wrong video is refused; bad input in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from app.video import find_session_video  # noqa: E402
from app.video_sync import VideoAttachError, attach_video  # noqa: E402
from dsp.audio_align import audio_align  # noqa: E402
from tests.video_sim import RATE, room_copy, speech, write_session, write_video  # noqa: E402

T0 = 5000.0  # LSL time of the session's first audio sample
FRAME = 1 / 30


def attune(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))  # fmt: skip


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A 12-minute session with sound (the recording starts 1 s before the audio)."""
    audio = speech(12 * 60, seed=3)
    rec = write_session(tmp_path_factory.mktemp("s") / "sess", audio, t0=T0)
    return rec, audio


def external(tmp: Path, audio: np.ndarray, start_s: float, seconds: float, seed: int) -> Path:
    """A video whose time 0 is session-audio time ``start_s`` (negative: before the
    session, filled with other people's talk), with its own microphone's sound."""
    pre = speech(max(-start_s, 0.0) + 1, seed=100 + seed)[: int(max(-start_s, 0) * RATE)]
    seg = audio[int(max(start_s, 0) * RATE) : int((start_s + seconds) * RATE)]
    y = room_copy(np.concatenate([pre, seg]), gain=0.35, noise_db=-20, seed=seed)
    # 10 frames/s keeps the long files quick to write; the sound is what is aligned
    return write_video(tmp / f"ext_{seed}.mp4", y, y.size / RATE, fps=10, bitrate=64000)


@pytest.mark.parametrize("start_s", [-600.0, -37.25, 0.0, 123.4567, 600.0])
def test_offset_found_within_one_frame(session, tmp_path: Path, start_s: float) -> None:
    rec, audio = session
    seconds = 720 + 60 if start_s < 0 else 120
    vid = external(
        tmp_path, audio, start_s, min(seconds, 720 - max(start_s, 0)), seed=int(abs(start_s))
    )
    got = attach_video(rec, vid)
    truth = T0 + start_s  # session time of the video's time 0
    assert abs(got.offset_s - truth) <= FRAME, (got.offset_s - truth, got.alignment)
    assert got.alignment is not None and got.alignment.clear
    sv = find_session_video(rec)
    assert sv is not None and sv.how == "audio" and abs(sv.offset_s - truth) <= FRAME
    assert abs(sv.to_session(10.0) - (truth + 10.0)) <= FRAME
    # the session starts 1 s before its audio (the EDA stream's first sample)
    assert abs(got.from_start_s - (start_s + 1.0)) <= FRAME


def test_wrong_video_is_refused(session, tmp_path: Path) -> None:
    rec, _ = session
    other = room_copy(speech(180, seed=77), gain=0.5, noise_db=-20, seed=1)
    vid = write_video(tmp_path / "other.mp4", other, 180.0)
    with pytest.raises(VideoAttachError, match="does not match this session"):
        attach_video(rec, vid)
    assert "video" not in json.loads((rec.parent / "session.json").read_text()) or (
        json.loads((rec.parent / "session.json").read_text())["video"]["file"] != str(vid)
    )


def test_null_peaks_stay_below_the_rule() -> None:
    """Unrelated sounds: the largest correlation peak over all lags stays far below MIN_Z."""
    a = speech(600, seed=11)[::2]
    zs = [audio_align(a, speech(120, seed=200 + i)[::2], RATE / 2).peak_z for i in range(6)]
    assert max(zs) < 7.0, zs


def test_cli_add_bad_input_and_manual_offset(session, tmp_path: Path) -> None:
    rec, audio = session
    junk = tmp_path / "notavideo.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    silent = write_video(tmp_path / "silent.mp4", None, 5.0)
    good = external(tmp_path, audio, 60.0, 90, seed=5)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:2000])
    for path, words in [
        (junk, "not a video file"),
        (truncated, "not a video file"),
        (silent, "has no audio track"),
        (tmp_path / "missing.mp4", "no such file"),
    ]:
        out = attune("video", "add", str(rec.parent), str(path))
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1 and words in lines[0], out.stderr
    out = attune("video", "add", str(rec.parent), str(silent), "--offset", "42.5")
    assert out.returncode == 0, out.stderr
    stored = json.loads((rec.parent / "session.json").read_text())["video"]
    assert stored["how"] == "manual" and abs(stored["offset_s"] - (T0 - 1.0 + 42.5)) < 1e-6
    assert os.stat(rec.parent / "session.json").st_mode & 0o777 == 0o600
    out = attune("video", "add", str(rec.parent), str(good))
    assert out.returncode == 0, out.stderr
    assert "aligned by sound" in out.stdout
    said = out.stdout.split("video starts ")[1].split(" (m:s)")[0]  # 60 s + the 1 s lead
    assert abs(int(said.split(":")[0]) * 60 + float(said.split(":")[1]) - 61.0) <= FRAME


def test_session_without_audio_says_so(tmp_path: Path) -> None:
    audio = speech(60, seed=4)
    rec = write_session(tmp_path / "s2", audio)
    (rec.parent / "recording.mp4").unlink()
    vid = write_video(tmp_path / "v.mp4", audio, 60.0)
    out = attune("video", "add", str(rec.parent), str(vid))
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "no recorded audio" in lines[0]
    assert "--offset" in lines[0]
