"""Beats and EDA against ground truth, beside the peers (figures only, no pass/fail).

Prints five tables:

1. PPG beat timing on rendered PPG (``tests/physio_render.py``: white noise SD 0.02 of the
   pulse, respiration, baseline wander; a low-variability rhythm, true RMSSD ~14 ms) at 25,
   64 and 128 Hz: beat F1 (50 ms), timing jitter (SD of detected - true after removing the
   median offset) and RMSSD error of the matched beats, for ours, neurokit2 (Elgendi) and
   heartpy.
2. Real PPG against ECG R-peaks (PhysioNet a103l and mixedsignals in ../shared/data/physio,
   skipped when absent): F1 within 50 ms after shifting by the median pulse arrival time, on
   the whole record, and screened for reference quality: only the 10 s windows where the
   R-peaks of lead II and lead V agree (F1 >= 0.95; ``physio_render.leads_agree``), the same
   windows for every detector.
3. Ectopic detection rate by prematurity on 30 injected series (sinus rhythm, respiratory
   variation 20 ms): ours (``ibi_classify``) vs NeuroKit2 ``signal_fixpeaks(kubios)`` vs
   systole ``rr_artefacts``; an ectopic beat counts as found when both its intervals are
   flagged (any class).
4. Real NN series (``physio_render.real_nn_series``: pyhrv 20 min and short, systole's 25-min
   ECG) rendered as PPG at 64 and 128 Hz, clean and with 20 premature beats (10 % early):
   RMSSD of ours (``analyze_person``), NeuroKit2 raw (``ppg_peaks``) and NeuroKit2 kubios
   (``ppg_peaks(correct_artifacts=True)``) against the true series' RMSSD (the clean one for
   the injected rows), and systole raw (``ppg_peaks``) and corrected (``correct_rr``, every
   class), share of our beats marked corrected, premature beats found; mean over
   ``--nn-seeds`` PPG noise seeds (default 5) with the worst seed in brackets.
5. SCRs per minute on pure noise at 4 Hz (10 min x 4 seeds): fixed 0.01 µS threshold vs the
   noise floor (``scr_threshold_us``).
6. Start-up: heartpy's ``data3.csv`` (a wrist PPG whose diastolic wave falls half-way through
   the cycle): median heart rate over 0-30 s, 60-300 s and the last 10 min, ours with and
   without the start-up rule (and the lock check, which re-runs it) and the peers; live commit latency (``LivePerson`` fed 0.1 s chunks of 120 s simulated PPG):
   the start-up batch and every later beat.

Run:  .venv/bin/python benchmarks/bench_beats.py [--seconds 300] [--only 4] [--quick] [--nn-seeds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from physio_render import (  # noqa: E402
    inject_beats,
    leads_agree,
    physionet_record,
    ppg_from_beats,
    premature_beats,
    real_nn_series,
    rhythm_beats,
    sinus_rr,
)

from dsp.ecg import ecg_peaks  # noqa: E402
from dsp.eda import eda_noise_us, eda_scr, scr_threshold_us  # noqa: E402
from dsp.hrv import hrv_time, ibi_classify  # noqa: E402
from dsp.ppg import ppg_peaks  # noqa: E402
from dsp.quality import match_events  # noqa: E402
from dsp.session import analyze_person  # noqa: E402

warnings.filterwarnings("ignore")
PHYSIO = (ROOT / ".." / "shared" / "data" / "physio").resolve()


def _timing(det: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(F1, jitter ms, RMSSD error %) of detected beats (s) against true beats (s)."""
    det = np.sort(det[np.isfinite(det)])
    if det.size < 3:
        return 0.0, float("nan"), float("nan")
    j = np.abs(det[:, None] - truth[None, :]).argmin(axis=1)
    e = det - truth[j]
    off = np.median(e)
    ok = np.abs(e - off) < 0.05
    f1 = match_events(det - off, truth, tol_s=0.05).f1
    keep = np.zeros(truth.size, dtype=bool)
    keep[j[ok]] = True
    moved = np.interp(truth, truth[j[ok]], det[ok])
    ibi = np.where(keep[1:] & keep[:-1], np.diff(moved), np.nan) * 1000.0
    ibi_t = np.where(keep[1:] & keep[:-1], np.diff(truth), np.nan) * 1000.0
    r = hrv_time(ibi).rmssd_ms / hrv_time(ibi_t).rmssd_ms - 1.0
    return f1, float(np.std(e[ok]) * 1000.0), 100.0 * r


def _peers(x: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    out = {}
    try:
        import neurokit2 as nk

        clean = nk.ppg_clean(x, sampling_rate=int(round(fs)))
        out["neurokit2"] = (
            np.asarray(nk.ppg_findpeaks(clean, sampling_rate=int(round(fs)))["PPG_Peaks"]) / fs
        )
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a figure, not a crash
        print(f"  neurokit2 failed: {exc}")
    try:
        import heartpy as hp

        wd, _ = hp.process(x, sample_rate=fs)
        out["heartpy"] = np.asarray(wd["peaklist"], dtype=float) / fs
    except Exception as exc:  # noqa: BLE001
        print(f"  heartpy failed at {fs:g} Hz: {exc}")
        out["heartpy"] = np.zeros(0)
    return out


def table_timing(seconds: float) -> None:
    print("\n1. PPG beats on rendered noisy PPG: F1 / jitter SD / RMSSD error")
    print("| fs | ours | neurokit2 | heartpy |\n|---|---|---|---|")
    for fs in (25.0, 64.0, 128.0):
        cells: dict[str, list[tuple[float, float, float]]] = {}
        for seed in range(3):
            truth = rhythm_beats(seed, seconds)
            x = ppg_from_beats(truth, fs, seconds, seed=seed + 10, noise_sd=0.02)
            res = {"ours": ppg_peaks(x, fs) / fs, **_peers(x, fs)}
            for k, v in res.items():
                cells.setdefault(k, []).append(_timing(v, truth))
        row = [f"{fs:g} Hz"]
        for k in ("ours", "neurokit2", "heartpy"):
            v = np.asarray(cells.get(k, [(np.nan, np.nan, np.nan)]))
            f1, jit, err = np.mean(v[:, 0]), np.mean(v[:, 1]), np.mean(np.abs(v[:, 2]))
            row.append(f"{f1:.4f} / {jit:.1f} ms / {err:.1f} %")
        print("| " + " | ".join(row) + " |")


def _f1_ecg(ppg_s: np.ndarray, r_s: np.ndarray, ok: np.ndarray | None = None, w: float = 10.0):
    """Match of PPG beats (s) to R-peaks (s) after the median PAT shift; with ``ok`` (one bool
    per ``w`` s window) only beats and R-peaks inside the windows where ``ok`` is True."""
    if ppg_s.size < 3:
        return match_events(np.zeros(0), r_s, tol_s=0.05)
    j = np.searchsorted(r_s, ppg_s) - 1
    d = ppg_s[j >= 0] - r_s[j[j >= 0]]
    q = ppg_s - float(np.median(d[(d > 0.05) & (d < 0.6)]))
    if ok is None:
        return match_events(q, r_s, tol_s=0.05)
    keep = lambda t: ok[np.clip((t // w).astype(int), 0, ok.size - 1)]  # noqa: E731
    return match_events(q[keep(q)], r_s[keep(r_s)], tol_s=0.05)


def table_real() -> None:
    print("\n2. Real PPG vs ECG R-peaks (median PAT shift, 50 ms): F1 (TP / FP / FN)")
    if not (PHYSIO / "a103l.hea").exists() or importlib.util.find_spec("wfdb") is None:
        print("  skipped: ../shared/data/physio or wfdb absent")
        return
    print("| record | reference | ours | neurokit2 | heartpy |\n|---|---|---|---|---|")
    for name in ("a103l", "mixedsignals"):
        ecg, efs, ppg, pfs = physionet_record(PHYSIO, name)
        r = ecg_peaks(np.nan_to_num(ecg), efs) / efs
        ecg2, efs2, _, _ = physionet_record(PHYSIO, name, lead="V")
        ok = leads_agree(r, ecg_peaks(np.nan_to_num(ecg2), efs2) / efs2)
        x = np.asarray(ppg, dtype=float)
        res = {"ours": ppg_peaks(x, pfs) / pfs, **_peers(np.nan_to_num(x), pfs)}
        for label, screen in (
            ("lead II, all", None),
            (f"leads agree ({ok.sum()}/{ok.size} x 10 s)", ok),
        ):
            cells = []
            for k in ("ours", "neurokit2", "heartpy"):
                m = _f1_ecg(res.get(k, np.zeros(0)), r, screen)
                cells.append(f"{m.f1:.4f} ({m.tp} / {m.fp} / {m.fn})")
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")


def table_ectopic() -> None:
    import neurokit2 as nk
    from systole.detection import rr_artefacts

    print("\n3. Ectopic beats found, of 30, by prematurity")
    print("| premature | ours | NeuroKit2 kubios | systole |\n|---|---|---|---|")
    for p in (0.05, 0.10, 0.20, 0.30):
        found = {"ours": 0, "nk": 0, "sy": 0}
        for seed in range(30):
            rr = sinus_rr(seed, rsa_ms=20.0)
            d = p * rr[150]
            rr[150] -= d
            rr[151] += d
            f = ibi_classify(rr)
            ours = set(np.concatenate([f.ectopic, f.missed, f.extra, f.longshort]).tolist())
            pk = (np.concatenate([[0.0], np.cumsum(rr)]) * 1000).round().astype(np.int64)
            info = nk.signal_fixpeaks(
                pk, sampling_rate=1_000_000, method="kubios", iterative=False
            )[0]
            nks = {int(v) - 1 for k in ("ectopic", "missed", "extra", "longshort") for v in info[k]}
            a = rr_artefacts(rr.copy())
            sy = set(
                np.flatnonzero(
                    a["ectopic"] | a["long"] | a["short"] | a["missed"] | a["extra"]
                ).tolist()
            )
            for key, flagged in (("ours", ours), ("nk", nks), ("sy", sy)):
                found[key] += {150, 151} <= flagged
        print(f"| {100 * p:.0f} % | {found['ours']} | {found['nk']} | {found['sy']} |")


def _nk2_rmssd(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """NeuroKit2 on one PPG: (raw peaks s, kubios-corrected peaks s, kubios flags as peak s)."""
    import neurokit2 as nk

    fi = int(round(fs))
    clean = nk.ppg_clean(x, sampling_rate=fi)
    raw = np.asarray(nk.ppg_peaks(clean, sampling_rate=fi)[1]["PPG_Peaks"])
    info = nk.ppg_peaks(clean, sampling_rate=fi, correct_artifacts=True)[1]
    flags = {
        k: raw[np.clip(np.asarray(info.get("PPG_fixpeaks_" + k, []), dtype=int), 0, raw.size - 1)]
        for k in ("ectopic", "missed", "extra", "longshort")
    }
    return raw / fs, np.asarray(info["PPG_Peaks"]) / fs, {k: v / fs for k, v in flags.items()}


def _systole_rmssd(x: np.ndarray, fs: float) -> tuple[float, float, np.ndarray]:
    """systole on one PPG: (raw RMSSD ms, RMSSD after ``correct_rr``, flagged beats s).

    ``ppg_peaks`` (rolling average, peaks on its 1 kHz resampling); ``correct_rr`` corrects
    every class (extra, missed, short, long, ectopic); a beat is flagged when
    ``rr_artefacts`` flags an interval it closes or opens."""
    from systole.correction import correct_rr
    from systole.detection import ppg_peaks as sy_peaks
    from systole.detection import rr_artefacts

    _, pk = sy_peaks(x, sfreq=int(round(fs)))
    ps = np.flatnonzero(pk) / 1000.0
    rr = np.diff(ps) * 1000.0
    fixed, _ = correct_rr(rr.copy(), verbose=False)
    a = rr_artefacts(rr.copy())
    bad = np.flatnonzero(a["ectopic"] | a["long"] | a["short"] | a["missed"] | a["extra"])
    flagged = np.unique(np.concatenate([ps[bad], ps[bad + 1]]))
    return hrv_time(rr).rmssd_ms, hrv_time(np.asarray(fixed, float)).rmssd_ms, flagged


def _found(ours, nk_flags: dict, sy_flags: np.ndarray, truth, det, idx) -> tuple[int, int, int]:
    """Injected premature beats found: ours moved (to within 40 ms of the true time) or
    excluded; NeuroKit2's kubios and systole flag one of the beat's two intervals."""
    moved = ours.ibi_t[ours.ibi_corrected]
    n_o = n_k = n_s = 0
    fl = np.concatenate([v for v in nk_flags.values()] + [np.zeros(0)])
    for i in idx:
        hit = moved.size and np.min(np.abs(moved - truth[i])) < 0.04
        ex = ours.excluded_t.size and np.min(np.abs(ours.excluded_t - det[i])) < 0.03
        n_o += bool(hit or ex)
        n_k += bool(fl.size and np.min(np.abs(fl - det[i])) < 0.03)
        n_s += bool(sy_flags.size and np.min(np.abs(sy_flags - det[i])) < 0.03)
    return n_o, n_k, n_s


def _real_nn_cell(rr: np.ndarray, ect: bool, fs: float, seed: int) -> tuple:
    """(ours, nk2 raw, nk2 kubios, systole raw, systole corrected RMSSD ms, ours % corrected,
    found ours, nk2, systole)."""
    truth = 2.0 + np.concatenate([[0.0], np.cumsum(rr)]) / 1000.0
    idx = premature_beats(truth.size)
    det = inject_beats(truth, list(idx), [], [], premature=0.1) if ect else truth
    x = ppg_from_beats(det, fs, truth[-1] + 3.0, seed=seed)
    p = analyze_person(x, np.arange(x.size) / fs, fs, "ppg")
    raw, fixed, flags = _nk2_rmssd(x, fs)
    s_raw, s_fixed, s_flags = _systole_rmssd(x, fs)
    fo, fk, fsy = _found(p, flags, s_flags, truth, det, idx) if ect else (0, 0, 0)
    rm = lambda b: hrv_time(np.diff(b) * 1000.0).rmssd_ms  # noqa: E731
    corr = 100.0 * p.ibi_corrected[np.isfinite(p.ibi_ms)].mean()
    return p.rmssd_ms, rm(raw), rm(fixed), s_raw, s_fixed, corr, fo, fk, fsy


def table_real_nn(seeds: int = 5, quick: bool = False) -> None:
    print("\n4. Real NN series rendered as PPG: RMSSD (ms, mean over noise seeds; error vs truth,")
    print("   mean [worst]), beats corrected (mean [max]), injected premature beats (20 per")
    print(f"   seed, 10 % early) found, summed over {seeds} seeds")
    series = real_nn_series()
    if not series:
        print("  skipped: pyhrv / systole absent")
        return
    print(
        "| series | fs | beats | truth | ours | nk2 raw | nk2 kubios | systole raw | "
        "systole corrected | ours corrected | found (ours / nk2 / systole) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def pct(v: np.ndarray, t: float) -> str:
        e = 100.0 * (v / t - 1.0)
        return f"{v.mean():.1f} ({e.mean():+.1f} % [{e[np.argmax(np.abs(e))]:+.1f}])"

    for name, rr in series.items():
        rt = hrv_time(rr).rmssd_ms
        for fs in (64.0,) if quick else (64.0, 128.0):
            for ect in (False, True):
                v = np.array([_real_nn_cell(rr, ect, fs, seed) for seed in range(seeds)])
                n = 20 * seeds
                f6, f7, f8 = (int(v[:, c].sum()) for c in (6, 7, 8))
                found = f"{f6} / {f7} / {f8} of {n}" if ect else ""
                print(
                    f"| {name} | {fs:g} Hz | {'10 % ectopic' if ect else 'clean'} | {rt:.1f} | "
                    f"{pct(v[:, 0], rt)} | {pct(v[:, 1], rt)} | {pct(v[:, 2], rt)} | "
                    f"{pct(v[:, 3], rt)} | {pct(v[:, 4], rt)} | "
                    f"{v[:, 5].mean():.2f} [{v[:, 5].max():.2f}] % | {found} |"
                )


def table_scr_noise() -> None:
    print("\n5. SCRs per minute on pure noise, 4 Hz (10 min x 4 seeds)")
    print("| noise SD | fixed 0.01 µS | noise floor (threshold) |\n|---|---|---|")
    fs = 4.0
    for sd in (0.005, 0.01):
        fixed, floor, thr = [], [], []
        for seed in range(4):
            rng = np.random.default_rng(seed)
            t = np.arange(int(600 * fs)) / fs
            x = 5.0 + 0.2 * np.sin(2 * np.pi * t / 300.0) + rng.normal(0, sd, t.size)
            th = scr_threshold_us(eda_noise_us(x, fs), fs)
            thr.append(th)
            fixed.append(len(eda_scr(x, fs, min_amplitude_us=0.01)) / 10.0)
            floor.append(len(eda_scr(x, fs, min_amplitude_us=th)) / 10.0)
        print(
            f"| {sd} µS | {np.mean(fixed):.2f} /min | {np.mean(floor):.2f} /min "
            f"({np.mean(thr):.3f} µS) |"
        )


def _startup_row(name: str, pk: np.ndarray) -> str:
    ibi = np.diff(pk)
    hr = [
        60.0 / np.median(ibi[(pk[1:] >= a) & (pk[1:] < b)])
        for a, b in ((0.0, 30.0), (60.0, 300.0), (pk[-1] - 600.0, np.inf))
    ]
    return f"| {name} | " + " | ".join(f"{v:.0f} bpm" for v in hr) + " |"


def table_startup() -> None:
    import csv
    import dataclasses
    import datetime as dt

    from dsp.person import LivePerson
    from dsp.ppg import PPG_PARAMS
    from dsp.simulate import simulate_person

    print("\n6. Start-up: heartpy data3.csv (diastolic wave half-way through the cycle)")
    spec = importlib.util.find_spec("heartpy")
    if spec is not None and spec.submodule_search_locations:
        with open(Path(list(spec.submodule_search_locations)[0]) / "data" / "data3.csv") as f:
            rows = list(csv.DictReader(f))
        t = np.array([dt.datetime.fromisoformat(r["datetime"]).timestamp() for r in rows])
        x = np.array([float(r["hr"]) for r in rows])
        fs = 1.0 / np.median(np.diff(t))
        print("| detector | HR 0-30 s | HR 60-300 s | HR last 10 min |\n|---|---|---|---|")
        print(_startup_row("ours", ppg_peaks(x, fs) / fs))
        no_start = dataclasses.replace(PPG_PARAMS, startup_s=None)
        print(_startup_row("ours, start-up rule off", ppg_peaks(x, fs, no_start) / fs))
        for k, v in _peers(x, fs).items():
            if v.size > 10:
                print(_startup_row(k, v))
    rec = simulate_person(120.0, seed=1, ppg_fs=64.0)
    lp, seen, lat, first = LivePerson(), 0, [], []
    for k in range(1200):
        a, b = int(k * 6.4), int((k + 1) * 6.4)
        lp.push_cardiac(np.arange(a, b) / 64.0, rec.ppg[a:b], 64.0, "ppg")
        bt = lp.snapshot(b / 64.0).beat_times
        (lat if first else first).extend((b / 64.0 - bt[seen:]).tolist())
        seen = bt.size
    print(
        f"Live commit latency: start-up batch of {len(first)} beats {min(first):.1f}-"
        f"{max(first):.1f} s; later beats median {np.median(lat):.2f} s, "
        f"p95 {np.percentile(lat, 95):.2f} s, max {max(lat):.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="length of each rendered PPG")
    ap.add_argument("--quick", action="store_true", help="table 4 at 64 Hz only")
    ap.add_argument("--nn-seeds", type=int, default=5, help="noise seeds of table 4")
    ap.add_argument("--only", type=int, default=0, help="print only this table (1-6)")
    a = ap.parse_args()
    tables = (
        lambda: table_timing(a.seconds),
        table_real,
        table_ectopic,
        lambda: table_real_nn(a.nn_seeds, a.quick),
        table_scr_noise,
        table_startup,
    )
    for k, fn in enumerate(tables, start=1):
        if a.only in (0, k):
            fn()


if __name__ == "__main__":
    main()
