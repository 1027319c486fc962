"""Review's sound on real code paths: PyAV decodes a video's known speech and writes what
would be heard through an FFmpeg muxer (a WAV file stands in for the sound card, the same
code path as ALSA); where to start and how fast it goes are checked against the speech and
the clock. Without a sound card (as here) the review window says so and plays on."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from devices.audio_out import AudioPlayer  # noqa: E402
from devices.media_devices import VideoError  # noqa: E402
from tests.video_sim import RATE, speech, write_video  # noqa: E402


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> tuple[Path, np.ndarray]:
    audio = speech(12.0, 11)
    path = tmp_path_factory.mktemp("snd") / "talk.mp4"
    return write_video(path, audio, 12.0), audio


def _heard(wav: Path) -> np.ndarray:
    from scipy import signal

    with av.open(str(wav)) as c:
        x = [f.to_ndarray().reshape(-1, 2)[:, 0] for f in c.decode(audio=0)]
    return signal.resample_poly(np.concatenate(x).astype(float), 1, 3)  # 48 kHz -> RATE


def _start_in(heard: np.ndarray, audio: np.ndarray) -> float:
    """File time (s) at which ``heard`` begins in ``audio`` (cross-correlation peak)."""
    from scipy import signal

    c = signal.correlate(heard[: RATE // 2 * 2], audio, mode="full", method="fft")
    return -(int(np.argmax(np.abs(c))) - (audio.size - 1)) / RATE


@pytest.mark.parametrize("t_start", [0.0, 3.217, 9.5])
def test_sound_starts_at_the_cursor_and_keeps_real_time(talk, tmp_path, t_start) -> None:
    path, audio = talk
    wav = tmp_path / "out.wav"
    player = AudioPlayer(path, ("wav", str(wav)), lead_s=0.1)
    w0 = time.monotonic()
    player.start(t_start)
    ahead = []
    while time.monotonic() - w0 < 0.8:  # never more than lead_s ahead of the clock
        ahead.append(player.samples_written / player.rate - (time.monotonic() - player.wall0))
        time.sleep(0.05)
    player.stop()
    elapsed = time.monotonic() - player.wall0
    assert player.error is None
    assert max(ahead) <= 0.1 + 0.021  # one 20 ms piece over the lead at most
    assert elapsed - 0.25 < player.samples_written / player.rate <= elapsed + 0.121
    start = _start_in(_heard(wav), audio)
    assert abs(start - t_start) < 1 / 30, start  # within one frame of the cursor
    assert abs(player.position() - (t_start + player.samples_written / player.rate)) < 1e-9


def test_no_sound_and_no_output_are_one_line(tmp_path) -> None:
    silent = write_video(tmp_path / "silent.mp4", None, 2.0)
    with pytest.raises(VideoError, match="has no sound"):
        AudioPlayer(silent, ("wav", str(tmp_path / "x.wav")))
    errors: list[str] = []
    talk = write_video(tmp_path / "t.mp4", speech(2.0, 1), 2.0)
    player = AudioPlayer(talk, ("alsa", "attune_no_such_pcm"), on_error=errors.append)
    player.start(0.5)
    t_end = time.monotonic() + 5
    while player.playing and time.monotonic() < t_end:
        time.sleep(0.02)
    assert not player.playing and len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("sound (alsa:attune_no_such_pcm): ")
