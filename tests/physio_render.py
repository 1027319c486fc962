"""Test helper: ground-truth rhythms, PPG rendered from known beat times with realistic noise,
and the PhysioNet records of ``../shared/data/physio`` (tests and benchmarks use the same ones)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


def rhythm_beats(seed: int, duration_s: float, rsa_ms: float = 12.0) -> np.ndarray:
    """True beat times (s): sinus rhythm (850 ms) with respiratory variation and 6 ms beat noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(int(duration_s / 0.6))
    rr = 850 + rsa_ms * np.sin(2 * np.pi * k / 4.5) + rng.normal(0, 6, k.size)
    t = 1.0 + np.concatenate([[0.0], np.cumsum(rr) / 1000.0])
    return t[t < duration_s - 2.0]


def sinus_rr(seed: int, *, n: int = 300, rsa_ms: float) -> np.ndarray:
    """Sinus rhythm IBIs (ms): respiratory (4.5 beats) and slow (25 beats) waves plus 8 ms noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return (
        850 + rsa_ms * np.sin(2 * np.pi * k / 4.5) + 15 * np.sin(2 * np.pi * k / 25)
        + rng.normal(0, 8, n)
    )  # fmt: skip


def physionet_record(
    folder: Path, name: str, lead: str = "II"
) -> tuple[np.ndarray, float, np.ndarray, float]:
    """(ECG ``lead``, its fs, PPG, its fs) of the PhysioNet record ``name`` (read with wfdb)."""
    import wfdb

    if name == "a103l":
        r = wfdb.rdrecord(str(folder / name))
        sig = {n: r.p_signal[:, i] for i, n in enumerate(r.sig_name)}
        return sig[lead], float(r.fs), sig["PLETH"], float(r.fs)
    r = wfdb.rdrecord(str(folder / name), smooth_frames=False)
    fs = r.fs * np.asarray(r.samps_per_frame, dtype=float)
    i_e, i_p = r.sig_name.index(lead), r.sig_name.index("Pleth")
    return r.e_p_signal[i_e], float(fs[i_e]), r.e_p_signal[i_p], float(fs[i_p])


def leads_agree(r1: np.ndarray, r2: np.ndarray, window_s: float = 10.0) -> np.ndarray:
    """Reference-quality screen: per ``window_s`` window from 0 s, True where the R-peaks (s)
    of two ECG leads agree (F1 >= 0.95 within 50 ms). Where they do not, at least one lead is
    corrupted, so neither is a reference for PPG beats there."""
    from dsp.quality import match_events

    n = int(np.ceil(max(r1.max(), r2.max()) / window_s))
    ok = np.zeros(n, dtype=bool)
    for k in range(n):
        a, b = k * window_s, (k + 1) * window_s
        m = match_events(r1[(r1 >= a) & (r1 < b)], r2[(r2 >= a) & (r2 < b)], tol_s=0.05)
        ok[k] = m.f1 >= 0.95
    return ok


def ppg_from_beats(
    beat_times: np.ndarray,
    fs: float,
    duration_s: float,
    seed: int = 0,
    noise_sd: float = 0.02,
    resp_hz: float = 0.25,
    wander: float = 0.3,
    wave: tuple[float, float] = (0.35, 0.3),
) -> np.ndarray:
    """PPG (peak amplitude ~1) with a systolic peak at each beat time (s).

    Asymmetric pulse (fast rise, slow fall), a diastolic wave of ``wave[0]`` times the pulse
    ``wave[1]`` s after the peak, respiratory amplitude modulation and baseline (0.15), slow
    baseline wander (``wander``, 0.02-0.05 Hz) and white noise ``noise_sd``.
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
        dia = wave[0] * np.exp(-0.5 * ((u - wave[1]) / 0.07) ** 2)
        x[i0:i1] += am * (np.where(u < 0, up, down) + dia)
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


def real_nn_series() -> dict[str, np.ndarray]:
    """Real NN / RR series (ms) shipped in installed wheels; absent packages are left out.

    Read once per process (systole's R-peaks take seconds); each call returns fresh copies.

    * ``pyhrv 20 min``: the first 20 min of pyhrv's 1-hour NN series (young healthy heart,
      RMSSD ~63 ms, large respiratory changes);
    * ``pyhrv short``: pyhrv's 5.6-min NN series (RMSSD ~101 ms);
    * ``systole ECG``: R-R intervals of systole's 25-min 1 kHz ECG (``Task1_ECG.npy``), R-peaks
      by :func:`dsp.ecg.ecg_peaks` (RMSSD ~26 ms).
    """
    return {k: v.copy() for k, v in _real_nn_series().items()}


@lru_cache(maxsize=1)
def _real_nn_series() -> dict[str, np.ndarray]:
    import importlib.util

    out: dict[str, np.ndarray] = {}
    spec = importlib.util.find_spec("pyhrv")
    if spec is not None and spec.submodule_search_locations:
        base = Path(list(spec.submodule_search_locations)[0]) / "files"
        if (base / "SampleNNISeriesLong.npy").is_file():
            rr = np.load(base / "SampleNNISeriesLong.npy").astype(float)
            out["pyhrv 20 min"] = rr[np.cumsum(rr) < 1_200_000.0]
        if (base / "SampleNNISeriesShort.npy").is_file():
            out["pyhrv short"] = np.load(base / "SampleNNISeriesShort.npy").astype(float)
    spec = importlib.util.find_spec("systole")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "Task1_ECG.npy"
        if path.is_file():
            from dsp.ecg import ecg_peaks

            out["systole ECG"] = np.diff(ecg_peaks(np.load(path), 1000.0)).astype(float)
    return out


def premature_beats(n_beats: int, count: int = 20, margin: int = 60) -> np.ndarray:
    """Indices of ``count`` beats spread evenly over ``n_beats`` (``margin`` from each end)."""
    return np.linspace(margin, n_beats - margin, count).astype(int)
