"""Recorded outputs of the live per-person processor (:class:`dsp.person.LivePerson`), frozen.

``tests/test_person_parity.py`` replays the same simulated streams through the current
``LivePerson`` and compares every field of every snapshot (and the HR / EDA it puts on the
dyad grid) with the outputs the implementation of 2026-12-08 (before the live tick was made
incremental, issue 19) produced: numbers to 1e-9, words, counts and event lists exactly.

Regenerate (only after a deliberate change of a number, named in the commit message)::

    PYTHONPATH=. python -m tests.person_parity

Scenarios (each fed as the engine feeds it: one tick a second, the tick's samples in one to
three chunks with jittered timestamps, a snapshot and the 4 Hz grid samples after each tick):

* ``ppg``: 10 min of PPG 128 Hz + EDA 32 Hz with motion artifacts every 2-3 minutes, a
  12-s burst of noise in the PPG, an EDA jump and a flat EDA run, a PPG dropout of 12 s, an
  EDA dropout of 15 s and a 3-s dropout of both (past the 5-min history, so the trimming
  and the frozen IBI prefix are exercised);
* ``ecg``: 4 min of ECG 256 Hz + EDA 128 Hz (kept at 32 Hz) with motion artifacts;
* ``beats``: 4 min of device-reported beats (an extra beat, a missed beat, jitter) + EDA 4 Hz.

Arrays are stored as deltas between consecutive snapshots (samples dropped at the front, the
common part kept, the new tail), which reconstructs them exactly and keeps the file small.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dsp.person import LivePerson, PersonMetrics
from dsp.simulate import simulate_person

FIXTURE = Path(__file__).resolve().parent / "data" / "person_parity.npz"
T0 = 1000.0  # LSL clock of the session start (s)
SCENARIOS = ("ppg", "ecg", "beats")
ARRAY_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(PersonMetrics)
    if f.name in ("beat_times", "provisional_beat_times", "hr_trend_t", "hr_trend_bpm")
    or f.name.startswith("scr_o")
    or f.name in ("scr_peaks", "scr_amplitudes")
)
STR_FIELDS = ("cardiac_quality", "cardiac_quality_reason", "eda_quality", "eda_quality_reason")
SCALAR_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(PersonMetrics)
    if f.name not in ARRAY_FIELDS + STR_FIELDS + ("artifacts",)
)
ARTIFACTS = ("ectopic", "missed", "extra", "longshort")


def _gapped(t: np.ndarray, x: np.ndarray, gaps: list[tuple[float, float]]):
    keep = np.ones(t.size, dtype=bool)
    for a, b in gaps:
        keep &= ~((t >= a) & (t < b))
    return t[keep], x[keep]


def _chunks(t: np.ndarray, x: np.ndarray, k: int, rng: np.random.Generator) -> list:
    """Tick ``k``'s samples (``k <= t < k + 1``) in 1-3 chunks."""
    a, b = np.searchsorted(t, [k, k + 1])
    cuts = np.sort(rng.integers(a, b + 1, size=int(rng.integers(0, 3))))
    bounds = [int(a), *cuts.tolist(), int(b)]
    return [(t[i:j], x[:, i:j]) for i, j in zip(bounds[:-1], bounds[1:], strict=True) if j > i]


def _stream(seed: int, fs: float, x: np.ndarray, gaps, jitter_s: float):
    rng = np.random.default_rng(seed)
    t = np.arange(x.size) / fs
    t, x = _gapped(t, x, gaps)
    stamps = T0 + t + rng.normal(0.0, jitter_s, t.size)
    return t, stamps, x


def feed(name: str) -> Iterator[tuple[PersonMetrics, np.ndarray, np.ndarray]]:
    """Run scenario ``name``; yield each tick's snapshot and its EDA and HR on the grid."""
    rng = np.random.default_rng({"ppg": 11, "ecg": 12, "beats": 13}[name])
    if name == "ppg":
        dur = 600
        rec = simulate_person(dur, seed=5, artifacts=True)
        ppg, e = rec.ppg.copy(), rec.eda.copy()
        ppg[380 * 128 : 392 * 128] += rng.normal(0.0, 3.0 * np.std(ppg), 12 * 128)  # noise burst
        e[500 * 32 : 503 * 32] += 4.0  # a jump the Kleckner slope rule rejects
        e[540 * 32 : 550 * 32] = e[540 * 32]  # a flat run (lost contact)
        card = _stream(1, rec.ppg_fs, ppg, [(200.0, 212.0), (450.0, 453.0)], 0.002)
        eda = _stream(2, rec.eda_fs, e, [(330.0, 345.0), (450.0, 453.0)], 0.002)
        c_fs, c_kind, e_fs = rec.ppg_fs, "ppg", rec.eda_fs
    elif name == "ecg":
        dur = 240
        rec = simulate_person(dur, seed=6, artifacts=True, ecg_fs=256.0, eda_fs=128.0)
        assert rec.ecg is not None and rec.ecg_fs is not None
        card = _stream(3, rec.ecg_fs, rec.ecg, [(100.0, 104.0)], 0.001)
        eda = _stream(4, rec.eda_fs, rec.eda, [], 0.001)
        c_fs, c_kind, e_fs = rec.ecg_fs, "ecg", rec.eda_fs
    else:
        dur = 240
        rec = simulate_person(dur, seed=7, eda_fs=4.0, hr_bpm=80.0)
        bt = rec.truth.beat_times
        bt = np.sort(np.concatenate([np.delete(bt, [150]), [bt[100] + 0.3]]))
        bt = bt + rng.normal(0.0, 0.003, bt.size)
        card = (bt, T0 + bt, bt)
        eda = _stream(5, rec.eda_fs, rec.eda, [(120.0, 130.0)], 0.01)
        c_fs, c_kind, e_fs = 0.0, "beats", rec.eda_fs
    lp = LivePerson()
    for k in range(dur):
        ct, cs, cx = card
        for _tt, xx in _chunks(ct, np.stack([cs, cx]), k, rng):
            if c_kind == "beats":
                lp.push_beats(xx[0])
            else:
                lp.push_cardiac(xx[0], xx[1], c_fs, c_kind)
        et, es, ex = eda
        for _tt, xx in _chunks(et, np.stack([es, ex]), k, rng):
            lp.push_eda(xx[0], xx[1], e_fs)
        now = T0 + k + 1.0
        snap = lp.snapshot(now)
        n_grid = 200 if k % 30 == 29 else 4  # the array path now and then
        tg = now - 1.5 - (n_grid - 1 - np.arange(n_grid)) / 4.0
        yield snap, lp.eda_on_grid(tg), lp.hr_on_grid(tg)


def record(name: str) -> dict[str, np.ndarray]:
    """Every output of scenario ``name`` as flat arrays (arrays as deltas)."""
    scal: dict[str, list] = {f: [] for f in SCALAR_FIELDS + STR_FIELDS}
    arts: list[list[int]] = []
    grid_e: list[np.ndarray] = []
    grid_h: list[np.ndarray] = []
    prev = {f: np.zeros(0) for f in ARRAY_FIELDS}
    delta_idx: list[list[int]] = []  # per (tick, field): dropped, kept, tail length
    tails: list[np.ndarray] = []
    for snap, ge, gh in feed(name):
        for f in SCALAR_FIELDS + STR_FIELDS:
            scal[f].append(getattr(snap, f))
        arts.append([int(snap.artifacts[k]) for k in ARTIFACTS])
        grid_e.append(ge)
        grid_h.append(gh)
        for f in ARRAY_FIELDS:
            new, old = np.asarray(getattr(snap, f), dtype=float), prev[f]
            drop = int(np.searchsorted(old, new[0])) if new.size and old.size else old.size
            if f in ("hr_trend_bpm", "scr_peaks", "scr_amplitudes"):  # aligned with the one before
                drop = delta_idx[-1][0]
            rest = old[drop:]
            m = min(rest.size, new.size)
            same = np.flatnonzero(rest[:m] != new[:m])
            keep = int(same[0]) if same.size else m
            delta_idx.append([drop, keep, new.size - keep])
            tails.append(new[keep:])
            prev[f] = new
    out = {f"{name}/{f}": np.asarray(v) for f, v in scal.items()}
    out[f"{name}/artifacts"] = np.asarray(arts, dtype=np.int64)
    out[f"{name}/grid_eda"] = np.concatenate(grid_e)
    out[f"{name}/grid_hr"] = np.concatenate(grid_h)
    out[f"{name}/delta"] = np.asarray(delta_idx, dtype=np.int64)
    out[f"{name}/tails"] = np.concatenate(tails)
    return out


def arrays_of(rec: dict[str, np.ndarray], name: str) -> dict[str, list[np.ndarray]]:
    """The per-snapshot arrays of a recorded scenario, rebuilt from their deltas."""
    delta, tails = rec[f"{name}/delta"], rec[f"{name}/tails"]
    out: dict[str, list[np.ndarray]] = {f: [] for f in ARRAY_FIELDS}
    prev = {f: np.zeros(0) for f in ARRAY_FIELDS}
    pos = 0
    for i, (drop, keep, n_tail) in enumerate(delta.tolist()):
        f = ARRAY_FIELDS[i % len(ARRAY_FIELDS)]
        new = np.concatenate([prev[f][drop : drop + keep], tails[pos : pos + n_tail]])
        pos += n_tail
        out[f].append(new)
        prev[f] = new
    return out


def main(argv: list[str]) -> None:
    names = argv or list(SCENARIOS)
    rec: dict[str, np.ndarray] = {}
    if FIXTURE.exists() and argv:
        rec.update(dict(np.load(FIXTURE)))
    for name in names:
        rec.update(record(name))
    np.savez_compressed(FIXTURE, **rec)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main(sys.argv[1:])
