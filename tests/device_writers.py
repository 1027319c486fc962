"""Test helper: device files written exactly as each vendor documents them, from simulated
signals with known truth (:mod:`dsp.simulate`). Used by tests/test_import_*.py and
benchmarks/bench_import.py. Real vendor files are used where public ones exist (see the
README section "Importing device files")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

T0 = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC


def e4_zip(path: str | Path, person, start: float = T0, tags: tuple[float, ...] = (),
           eda_fs: float = 4.0, bvp_fs: float = 64.0) -> Path:  # fmt: skip
    """An E4 session zip (``<start>_<serial>.zip`` layout) from a simulated person.

    The person's EDA (µS) and PPG are resampled to the E4 rates when they differ; IBI.csv holds
    the true beats (offset from start, interval s); tags are seconds from the start.
    """
    path = Path(path)
    eda = _at_rate(person.eda, person.eda_fs, eda_fs)
    bvp = _at_rate(person.ppg, person.ppg_fs, bvp_fs)
    beats = np.asarray(person.truth.beat_times, dtype=float)
    ibi = np.diff(beats)
    offs = beats[1:]

    def sig(x: np.ndarray, fs: float, fmt: str) -> str:
        return f"{start:.6f}\n{fs:.6f}\n" + "\n".join(fmt % v for v in x) + "\n"

    secs = np.arange(10.0, eda.size / eda_fs)  # E4's HR starts 10 s in, 1 Hz
    hr = np.interp(secs, offs, 60.0 / ibi)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("EDA.csv", sig(eda, eda_fs, "%.6f"))
        z.writestr("BVP.csv", sig(bvp, bvp_fs, "%.2f"))
        z.writestr("HR.csv", sig(hr, 1.0, "%.2f"))
        z.writestr("TEMP.csv", sig(np.full(eda.size, 33.5), eda_fs, "%.2f"))
        n_acc = int(eda.size / eda_fs * 32)
        z.writestr(
            "ACC.csv",
            f"{start:.6f}, {start:.6f}, {start:.6f}\n32.000000, 32.000000, 32.000000\n"
            + "0,0,64\n" * n_acc,
        )
        z.writestr(
            "IBI.csv",
            f"{start:.6f}, IBI\n" + "".join(f"{o:.6f},{i:.6f}\n" for o, i in zip(offs, ibi, strict=True)),
        )
        z.writestr("tags.csv", "".join(f"{start + t:.2f}\n" for t in tags))
        z.writestr("info.txt", "written by Attunement's tests from simulated signals\n")
    return path


def _at_rate(x: np.ndarray, fs: float, new_fs: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if abs(fs - new_fs) < 1e-9:
        return x
    t = np.arange(x.size) / fs
    tn = np.arange(int(x.size / fs * new_fs)) / new_fs
    return np.interp(tn, t, x)
