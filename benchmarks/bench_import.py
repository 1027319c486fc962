"""Benchmark: ``attune import`` of one hour from each device-file format, and accuracy.

Run from the repository root::

    .venv/bin/python benchmarks/bench_import.py [--minutes 60] [--accuracy-minutes 10 (0: skip)]

1. Speed: a seeded dyad (``dsp.simulate``) is written in each format by
   ``tests/device_writers.py`` (layouts as the vendors document them; not timed), then
   ``app.importer.import_files`` builds the session folder (both people: read, convert, align,
   write ``recording.xdf`` + ``session.json``; timed, best of 2). Beside it a peer reads the
   same data files: NeuroKit2's ``read_bitalino`` for OpenSignals, ``fastavro`` for Avro,
   ``pandas.read_csv`` of the data files for the text formats (the bare parsing cost).
   Biopac: no .acq can be written, so the real files in tests/data/acq are timed instead.
2. Accuracy: on a shorter dyad in each format, imported and analysed
   (``app.analysis.analyze_file``): HR and RMSSD against the simulator's beats, SCL against the
   mean of the simulated EDA, and the E4 / EmbracePlus tags (pressed at 100 s) against their
   true time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.analysis import AnalysisOptions, analyze_file  # noqa: E402
from app.importer import import_files  # noqa: E402
from dsp.params import MethodParams  # noqa: E402
from dsp.session import SessionConfig  # noqa: E402
from dsp.simulate import simulate_dyad  # noqa: E402
from tests import device_writers as W  # noqa: E402

FORMATS = {
    "e4": lambda f, p: W.e4_zip(f / "1767261600_A01234.zip", p, tags=(100.0,)),
    "embraceplus": lambda f, p: W.embraceplus_avro(f / "1-1-P1_1767261600.avro", p, tags=(100.0,)),
    "emotibit": lambda f, p: W.emotibit_csvs(f, p),
    "opensignals": lambda f, p: W.opensignals_txt(f / "opensignals.txt", p),
    "shimmer": lambda f, p: W.shimmer_csv(f / "consensys.csv", p),
    "polar_rr": lambda f, p: W.polar_rr(f / "Polar_H10_1A2B3C_RR.txt", p),
    "polar_ecg": lambda f, p: W.polar_ecg(f / "Polar_H10_1A2B3C_ECG.txt", p),
    "csvtoml": lambda f, p: W.csv_with_toml(f / "amplifier.csv", p),
}


def _write(root: Path, fmt: str, dyad) -> list[str]:
    files = []
    for role in ("patient", "clinician"):
        folder = root / fmt / role
        folder.mkdir(parents=True)
        files.append(str(FORMATS[fmt](folder, getattr(dyad, role))))
    return files


def _peer(fmt: str, files: list[str]) -> tuple[str, float]:
    import pandas as pd

    t = time.perf_counter()
    for f in files:
        if fmt == "opensignals":
            import neurokit2 as nk

            nk.read_bitalino(f)
        elif fmt == "embraceplus":
            import fastavro

            with open(f, "rb") as fh:
                list(fastavro.reader(fh))
        elif fmt == "e4":
            with zipfile.ZipFile(f) as z:
                for m in ("EDA.csv", "BVP.csv", "ACC.csv", "IBI.csv"):
                    pd.read_csv(z.open(m), header=None, skiprows=1)
        elif fmt == "emotibit":
            for m in Path(f).parent.glob("*_??.csv"):
                pd.read_csv(m)
        elif fmt == "shimmer":
            pd.read_csv(f, sep="\t", skiprows=[0, 2, 3])
        else:
            pd.read_csv(f, sep=";" if fmt.startswith("polar") else ",")
    name = {"opensignals": "neurokit2.read_bitalino", "embraceplus": "fastavro.reader"}.get(
        fmt, "pandas.read_csv"
    )
    return name, time.perf_counter() - t


def speed(minutes: float) -> None:
    print(
        f"import of {minutes:g} min per person, both people (best of 2), peer reading the same files"
    )
    print(f"{'format':<12} {'import s':>9} {'peer s':>8}  peer")
    dyad = simulate_dyad(duration_s=minutes * 60, seed=7, eda_fs=32.0, ppg_fs=128.0, ecg_fs=260.0)
    root = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        for fmt in FORMATS:
            files = _write(root, fmt, dyad)
            best = np.inf
            for k in range(2):
                t = time.perf_counter()
                import_files(
                    files, root / fmt / f"S{k}", [f"patient={files[0]}", f"clinician={files[1]}"]
                )
                best = min(best, time.perf_counter() - t)
            peer, tp = _peer(fmt, files)
            print(f"{fmt:<12} {best:9.2f} {tp:8.2f}  {peer}", flush=True)
        acq = ROOT / "tests" / "data" / "acq" / "physio-3.8.1-c.acq"
        t = time.perf_counter()
        import_files([str(acq)], root / "acq" / "S")
        ti = time.perf_counter() - t
        import neurokit2 as nk

        t = time.perf_counter()
        nk.read_acqknowledge(str(acq))
        print(f"{'biopac':<12} {ti:9.2f} {time.perf_counter() - t:8.2f}  neurokit2.read_acqknowledge"
              " (real 62 s file, tests/data/acq; no hour-long .acq can be written)")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def accuracy(minutes: float) -> None:
    print(f"\naccuracy on {minutes:g} min simulated dyads written in each format "
          "(goal: HR ±0.5 bpm, RMSSD ±5 %, SCL ±1 %, tags ±1 sample)")  # fmt: skip
    print(f"{'format':<12} {'role':<10} {'dHR bpm':>8} {'dRMSSD %':>9} {'dSCL %':>7}  tags")
    dyad = simulate_dyad(duration_s=minutes * 60, seed=5, eda_fs=32.0, ppg_fs=128.0, ecg_fs=260.0)
    opts = AnalysisOptions(config=SessionConfig(method=MethodParams(n_surrogates=20)), formats=())
    root = Path(tempfile.mkdtemp(prefix="bench-import-acc-"))
    try:
        for fmt in FORMATS:
            files = _write(root, fmt, dyad)
            res = import_files(
                files, root / fmt / "S", [f"patient={files[0]}", f"clinician={files[1]}"]
            )
            a = analyze_file(res.recording, opts)
            tags = ", ".join(f"{t - W.T0 - 100.0:+.3f} s" for t, _ in a.markers) or "-"
            for role in ("patient", "clinician"):
                p, tr = a.persons[role], getattr(dyad, role).truth
                scl = 100 * (p.scl_us / float(np.mean(getattr(dyad, role).eda)) - 1)
                print(f"{fmt:<12} {role:<10} {p.mean_hr_bpm - tr.mean_hr_bpm:+8.2f} "
                      f"{100 * (p.rmssd_ms / tr.rmssd_ms - 1):+9.1f} "
                      f"{scl:+7.2f}  {tags if role == 'patient' else ''}", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--accuracy-minutes", type=float, default=10.0)
    args = ap.parse_args()
    speed(args.minutes)
    if args.accuracy_minutes > 0:
        accuracy(args.accuracy_minutes)


if __name__ == "__main__":
    main()
