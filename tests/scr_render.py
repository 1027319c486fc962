"""Synthetic skin-conductance pairs with known coupling and lag, for dyad tests."""

from __future__ import annotations

import numpy as np


def scr_pair(
    seed: int,
    n_s: float,
    lag_s: float = 2.0,
    coupled: bool = True,
    drift_us_per_s: float = 0.0,
    fs: float = 4.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SC pair on a grid at ``fs``: ``(t s, patient µS, clinician µS)``.

    One SCR every 10 s on average at random times; coupled, the clinician's SCRs follow the
    patient's by ``lag_s``; uncoupled, they fall at their own random times. Each person has its
    own white noise (SD 0.002 µS) and an optional linear drift.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(n_s * fs)) / fs

    def sc(events: np.ndarray) -> np.ndarray:
        x = 5.0 + drift_us_per_s * t + 0.002 * rng.standard_normal(t.size)
        for te in events:
            u = np.clip(t - te, 0, None)
            x += 0.3 * (np.exp(-u / 4.0) - np.exp(-u / 0.75))
        return x

    ev = np.sort(rng.uniform(0, n_s, int(n_s / 10)))
    ev2 = ev + lag_s if coupled else np.sort(rng.uniform(0, n_s, ev.size))
    return t, sc(ev), sc(ev2)
