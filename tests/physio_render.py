"""Test helper: render PPG from known beat times, with realistic noise (tests and benchmarks)."""

from __future__ import annotations

import numpy as np


def ppg_from_beats(
    beat_times: np.ndarray,
    fs: float,
    duration_s: float,
    seed: int = 0,
    noise_sd: float = 0.02,
    resp_hz: float = 0.25,
    wander: float = 0.3,
) -> np.ndarray:
    """PPG (peak amplitude ~1) with a systolic peak at each beat time (s).

    Asymmetric pulse (fast rise, slow fall, dicrotic wave), respiratory amplitude modulation and
    baseline (0.15), slow baseline wander (``wander``, 0.02-0.05 Hz) and white noise ``noise_sd``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * fs))) / fs
    x = np.zeros(t.size)
    for b in np.asarray(beat_times, dtype=float):
        i0, i1 = int((b - 0.4) * fs), int((b + 0.8) * fs) + 1
        i0, i1 = max(i0, 0), min(i1, t.size)
        if i1 <= i0:
            continue
        u = t[i0:i1] - b
        am = 1.0 + 0.1 * np.sin(2 * np.pi * resp_hz * b)
        up = np.exp(-0.5 * (u / 0.07) ** 2)
        down = np.exp(-0.5 * (u / 0.13) ** 2)
        x[i0:i1] += am * (np.where(u < 0, up, down) + 0.35 * np.exp(-0.5 * ((u - 0.3) / 0.07) ** 2))
    ph = rng.uniform(0, 2 * np.pi, 3)
    x += 0.15 * np.sin(2 * np.pi * resp_hz * t + ph[0])
    x += wander * (
        np.sin(2 * np.pi * 0.023 * t + ph[1]) + 0.5 * np.sin(2 * np.pi * 0.047 * t + ph[2])
    )
    return x + rng.normal(0.0, noise_sd, t.size)


def inject_beats(
    beats: np.ndarray, ectopic: list[int], missed: list[int], extra: list[int], premature: float
) -> np.ndarray:
    """Detected-beat series with artifacts: beats ``ectopic`` moved ``premature`` x their
    interval early, beats ``missed`` deleted, a beat inserted half-way after beats ``extra``."""
    b = np.asarray(beats, dtype=float).copy()
    for i in ectopic:
        b[i] -= premature * (beats[i] - beats[i - 1])
    ins = [0.5 * (beats[i] + beats[i + 1]) for i in extra]
    keep = np.ones(b.size, dtype=bool)
    keep[missed] = False
    return np.sort(np.concatenate([b[keep], ins]))
