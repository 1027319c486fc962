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
3. Clap (``--sync-event clap@...``): the clinician's clock offset recovered from a clap in
   both people's files, against the true offset, per clinician device.
"""

from __future__ import annotations

import argparse
import json
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
from app.importer import ImportFilesError, import_files  # noqa: E402
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
    print(f"{'format':<12} {'import s':>9} {'CPU s':>6} {'peer s':>8}  peer   (s per hour of "
          "recording: import / 2 people / hours)")  # fmt: skip
    dyad = simulate_dyad(duration_s=minutes * 60, seed=7, eda_fs=32.0, ppg_fs=128.0, ecg_fs=260.0)
    root = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        for fmt in FORMATS:
            files = _write(root, fmt, dyad)
            best = cpu = np.inf
            for k in range(2):
                t, c = time.perf_counter(), time.process_time()
                import_files(
                    files, root / fmt / f"S{k}", [f"patient={files[0]}", f"clinician={files[1]}"]
                )
                best = min(best, time.perf_counter() - t)
                cpu = min(cpu, time.process_time() - c)
            peer, tp = _peer(fmt, files)
            print(f"{fmt:<12} {best:9.2f} {cpu:6.2f} {tp:8.2f}  {peer}   "
                  f"({cpu / 2 / (minutes / 60):.2f} CPU s per person-hour)", flush=True)  # fmt: skip
        acq = ROOT / "tests" / "data" / "acq" / "physio-3.8.1-c.acq"
        t, c = time.perf_counter(), time.process_time()
        import_files([str(acq)], root / "acq" / "S")
        ti, ci = time.perf_counter() - t, time.process_time() - c
        import neurokit2 as nk

        t = time.perf_counter()
        nk.read_acqknowledge(str(acq))
        print(f"{'biopac':<12} {ti:9.2f} {ci:6.2f} {time.perf_counter() - t:8.2f}  "
              "neurokit2.read_acqknowledge"
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


CLAP_DEVICES = {
    "emotibit": lambda f, p, st, c, s, g: W.emotibit_csvs(f, p, start=st, claps=c, seed=s,
                                                         gestures_g=g),
    "shimmer": lambda f, p, st, c, s, g: W.shimmer_csv(f / "c.csv", p, start=st, claps=c,
                                                       seed=s, gestures_g=g),
    "embraceplus": lambda f, p, st, c, s, g: W.embraceplus_avro(f / "c.avro", p, start=st,
                                                                claps=c, seed=s, gestures_g=g),
    "e4": lambda f, p, st, c, s, g: W.e4_zip(f / "1767261600_B0.zip", p, start=st, claps=c,
                                             seed=s, gestures_g=g),
    "opensignals PPG": lambda f, p, st, c, s, g: W.opensignals_txt(f / "c.txt", p, start=st,
                                                                   claps=c),
}  # fmt: skip


def clap(trials: int, gestures_g: float = 0.0) -> None:
    """Clap alignment against truth: the patient's E4 and the clinician's device (cycling
    through the formats) with a random clock offset (±8 s), clap time (random sub-sample
    phase) and a marked time up to 3 s off; ``gestures_g`` > 0 adds hand gestures of up to that
    size to both wrists (``device_writers.clap_acc``)."""
    print(f"\nclap alignment, {trials} trials, gestures up to {gestures_g:g} g: error of the clinician's shift against the true "
          "clock offset, beside the stated bound (one sample of each device)")  # fmt: skip
    rng = np.random.default_rng(3)
    dyad = simulate_dyad(duration_s=150, seed=9, eda_fs=32.0, ppg_fs=128.0)
    root = Path(tempfile.mkdtemp(prefix="bench-clap-"))
    rows: dict[str, list[tuple[float, float]]] = {k: [] for k in CLAP_DEVICES}
    refused: dict[str, int] = dict.fromkeys(CLAP_DEVICES, 0)
    reasons: dict[str, int] = {}
    try:
        for k in range(trials):
            dev = list(CLAP_DEVICES)[k % len(CLAP_DEVICES)]
            off, tc = rng.uniform(-8, 8), rng.uniform(60, 90)
            f = root / str(k)
            f.mkdir()
            p = W.e4_zip(f / "1767261600_A0.zip", dyad.patient, claps=(tc,), seed=k,
                         gestures_g=gestures_g)  # fmt: skip
            (f / "c").mkdir()
            c = CLAP_DEVICES[dev](f / "c", dyad.clinician, W.T0 + off, (tc,), k + 1000, gestures_g)
            mark = tc + rng.uniform(-3, 3)
            try:
                res = import_files([str(p), str(c)], f / "S", [f"patient={p}", f"clinician={c}"],
                                   f"clap@{mark:.1f}")  # fmt: skip
            except ImportFilesError as exc:
                refused[dev] += 1
                who = "patient" if "_A0.zip" in str(exc).split(":")[0] else "clinician"
                why = "ambiguous" if "nearly as large" in str(exc) else "weak"
                reasons[f"{who} {why}"] = reasons.get(f"{who} {why}", 0) + 1
                continue
            js = json.loads((f / "S" / "session.json").read_text())
            rows[dev].append(
                (abs(res.placed[1].shift_s + off), js["imported"]["alignment"]["uncertainty_s"])
            )
            shutil.rmtree(f, ignore_errors=True)
        print(f"{'clinician':<16} {'n':>3} {'median ms':>10} {'max ms':>7} {'bound ms':>9} "
              f"{'within':>7} {'refused':>8}")  # fmt: skip
        for dev, r in rows.items():
            e = np.array([x for x, _ in r]) * 1000
            b = np.array([y for _, y in r]) * 1000
            within = np.mean(e <= b + 1e-6) if e.size else np.nan
            print(f"{dev:<16} {e.size:3d} {np.median(e):10.1f} {e.max():7.1f} {np.median(b):9.1f} "
                  f"{within:7.0%} {refused[dev]:8d}", flush=True)  # fmt: skip
        print("refusals:", ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--accuracy-minutes", type=float, default=10.0)
    ap.add_argument("--clap-trials", type=int, default=50, help="0: skip")
    ap.add_argument("--clap-gestures", type=float, default=0.0, metavar="G",
                    help="hand gestures of up to G g on both wrists during the clap trials")  # fmt: skip
    ap.add_argument("--only", choices=["speed", "accuracy", "clap"], default=None)
    args = ap.parse_args()
    if args.only in (None, "speed"):
        speed(args.minutes)
    if args.accuracy_minutes > 0 and args.only in (None, "accuracy"):
        accuracy(args.accuracy_minutes)
    if args.clap_trials > 0 and args.only in (None, "clap"):
        clap(args.clap_trials, args.clap_gestures)


if __name__ == "__main__":
    main()
