"""Test helper: synthetic sessions with sound and video, written as real files with PyAV.

Sound is speech-like: syllables of band-limited noise (80-350 ms, random loudness) separated
by pauses. Every video frame carries its frame number burned into the picture as 16 black or
white squares (a 16-bit binary code), which survives H.264 compression.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from devices.xdf_writer import XdfWriter
from tests.xdf_sim import header_xml

RATE = 16000
CODE_BITS = 16
CELL = 8  # pixels per code square


def speech(seconds: float, seed: int, rate: int = RATE) -> np.ndarray:
    """Speech-like sound (float32, peak ~1)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    env = np.zeros(n)
    i = 0
    while i < n:
        on = int(rng.uniform(0.08, 0.35) * rate)
        env[i : i + on] = rng.uniform(0.2, 1.0)
        i += on + int(rng.exponential(0.25) * rate)
    env = np.convolve(env, np.hanning(int(0.02 * rate)) / (0.01 * rate), mode="same")
    sos = signal.butter(4, [200, 3500], btype="bandpass", fs=rate, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n)) * env
    return (x / np.max(np.abs(x)) * 0.8).astype(np.float32)


def code_frame(i: int, w: int = 160, h: int = 96) -> np.ndarray:
    """RGB frame ``i`` with its number as 16 squares (bit 0 first, white = 1)."""
    img = np.full((h, w, 3), 90, np.uint8)
    for b in range(CODE_BITS):
        r, c = divmod(b, 8)
        v = 255 if (i >> b) & 1 else 0
        img[
            8 + r * 2 * CELL : 8 + r * 2 * CELL + CELL, 8 + c * 2 * CELL : 8 + c * 2 * CELL + CELL
        ] = v
    return img


def read_code(img: np.ndarray) -> int:
    """The frame number burned in by :func:`code_frame` (RGB or grey picture)."""
    g = img.mean(axis=2) if img.ndim == 3 else img
    h, w = g.shape
    sy, sx = h / 96, w / 160
    i = 0
    for b in range(CODE_BITS):
        r, c = divmod(b, 8)
        y = int((8 + r * 2 * CELL + CELL / 2) * sy)
        x = int((8 + c * 2 * CELL + CELL / 2) * sx)
        if g[y, x] > 128:
            i |= 1 << b
    return i


def write_video(path: Path, audio: np.ndarray | None, seconds: float, fps: int = 30,
                bitrate: int = 64000, size: tuple[int, int] = (160, 96),
                gop: int = 30) -> Path:  # fmt: skip
    """An MP4 (H.264 + AAC) of ``seconds``: coded frames at ``fps``, ``audio`` at RATE."""
    import av

    with av.open(str(path), "w", format="mp4") as o:
        v = o.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(gop)})
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        a = None
        if audio is not None:
            a = o.add_stream("aac", rate=RATE, layout="mono")
            a.bit_rate = bitrate
        n_frames = int(seconds * fps)
        n_audio = 0 if audio is None else audio.size
        per = RATE // fps  # audio samples per video frame
        for i in range(n_frames):
            f = av.VideoFrame.from_ndarray(code_frame(i, *size), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, fps)
            for p in v.encode(f):
                o.mux(p)
            if a is not None and i * per < n_audio:
                chunk = audio[i * per : (i + 1) * per].reshape(1, -1)
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk), format="flt", layout="mono"
                )
                af.sample_rate, af.pts, af.time_base = RATE, i * per, Fraction(1, RATE)
                for p in a.encode(af):
                    o.mux(p)
        for p in v.encode(None):
            o.mux(p)
        if a is not None:
            for p in a.encode(None):
                o.mux(p)
    return path


def write_session(folder: Path, audio: np.ndarray, t0: float = 5000.0, video: bool = False) -> Path:
    """A session folder as Attunement records it: ``recording.xdf`` (one EDA stream and the
    ``AudioBlocks`` stamps: file time ``k / RATE`` at LSL time ``t0 + k / RATE``),
    ``recording.mp4`` (the sound; coded frames with ``video``) and ``session.json``.
    Returns the recording's path."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = audio.size / RATE
    if video:
        write_video(folder / "recording.mp4", audio, seconds, bitrate=96000)
    else:
        _write_audio_only(folder / "recording.mp4", audio)
    rec = folder / "recording.xdf"
    with XdfWriter(rec) as w:
        eda = w.add_stream(header_xml("P-EDA", "EDA", "float32", ["EDA"], "uS", 4.0, "eda1"))
        t = t0 - 1.0 + np.arange(int((seconds + 2) * 4)) / 4
        w.write_samples(eda, np.full((t.size, 1), 2.0, np.float32), t)
        ab = w.add_stream(header_xml("Attunement-AudioBlocks", "AudioBlocks", "double64",
                                     ["sample_index"], "index", 0.0, "ab1"))  # fmt: skip
        k = np.arange(0, audio.size, 1024)
        w.write_samples(ab, k.reshape(-1, 1).astype(float), t0 + k / RATE)
    (folder / "session.json").write_text(json.dumps({"patient": "P1"}))
    os.chmod(folder / "session.json", 0o600)
    return rec


def _write_audio_only(path: Path, audio: np.ndarray) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as o:
        a = o.add_stream("aac", rate=RATE, layout="mono")
        a.bit_rate = 96000
        for i in range(0, audio.size, 1024):
            chunk = np.ascontiguousarray(audio[i : i + 1024].reshape(1, -1))
            af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            af.sample_rate, af.pts, af.time_base = RATE, i, Fraction(1, RATE)
            for p in a.encode(af):
                o.mux(p)
        for p in a.encode(None):
            o.mux(p)


def room_copy(audio: np.ndarray, gain: float, noise_db: float, seed: int) -> np.ndarray:
    """The same sound through another microphone: ``gain``, white room noise ``noise_db`` dB
    relative to the sound's RMS, a little reverberation (exponential 80 ms tail)."""
    rng = np.random.default_rng(seed)
    rev = np.exp(-np.arange(int(0.08 * RATE)) / (0.02 * RATE))
    rev[1:] *= 0.3 * rng.standard_normal(rev.size - 1)
    y = signal.fftconvolve(audio, rev)[: audio.size]
    y = y / np.sqrt(np.mean(y**2)) * np.sqrt(np.mean(audio**2))
    noise = rng.standard_normal(audio.size) * np.sqrt(np.mean(audio**2)) * 10 ** (noise_db / 20)
    out = gain * (y + noise)
    return np.clip(out, -1, 1).astype(np.float32)
