"""False-positive rate of every session-level p on independent dyads from several null generators.

Usage: ``python benchmarks/bench_calibration.py [--n 500] [--minutes 10] [--workers 2]
[--generators sim,poisson,spectra,real] [--power 0]``

Generators (nobody in a dyad shares anything with the other person):

* ``sim``: the project's simulator, :func:`dsp.simstudy.independent_config` (every other dyad
  breathing within 0.01 Hz and sharing the Mayer frequency), ground-truth grid series;
* ``poisson``: :func:`dsp.nullgen.poisson_dyad`: own Poisson SCR trains on random-walk tonic
  levels, own HR drive (OU, wandering RSA, Mayer, HR bumps at the person's own SCRs);
* ``spectra``: :func:`dsp.nullgen.spectra_dyad`: power-law HR spectra, drifting breathing
  (one dyad in four both paced at 6/min), Cox-process SCRs on power-law tonic drift;
* ``real``: pseudo-dyads of real recordings in ``../shared/data`` (the only real two-signal
  material there is single-person): HR from the R-peaks / pulse peaks of six different people
  (ECG or PPG), every ordered pair of different people, cropped at several offsets; EDA from
  the one real GSR recording (NPLab) against an independent ``poisson`` person, since there
  is no second real EDA recording. These dyads reuse the same few people, so they are
  dependent: read the rate with that in mind.

Tests (each at p <= 0.05 on the same series the app's offline analysis reads): the session
CI test of EDA and HR (circular shifts >= 60 s, 200 surrogates), SUSY against shifts (EDA and
HR), the lead statement (EDA and HR: a leader named), the label contrast (alternating 1-minute
"listening"/"talking" blocks for EDA shared SCRs, 75-s blocks for HR lagged synchrony, whose
60-s windows do not fit in a minute) and the HR coherence (LF,
HF). ``--power N`` adds N coupled simulated dyads (coupling 0.6, 2 s lag) and prints how
often each test finds them, so that a fix of the null is not paid for in power.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import beta

from dsp.concordance.baselines import analyze_session, concordance_surrogate_test, susy_test
from dsp.concordance.contrast import ContrastMeasure, contrast_blocks, label_contrast
from dsp.concordance.dyad import COHERENCE_SPAN_S, SUSY_SURROGATES, susy_min_shift_s
from dsp.concordance.hr import hr_coherence_session_test
from dsp.concordance.indices import slope_signal
from dsp.concordance.lead import Leader
from dsp.nullgen import poisson_dyad, spectra_dyad
from dsp.person_session import SessionConfig
from dsp.simstudy import GridSeries, grid_series, independent_config, listening_talking
from dsp.simulate import DyadSimConfig, simulate_dyad

FS = 4.0
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TESTS = (
    "eda_ci", "hr_ci", "eda_susy", "hr_susy", "eda_lead", "hr_lead",
    "eda_contrast", "hr_contrast", "hr_coh_lf", "hr_coh_hf",
)  # fmt: skip


FAMILIES = ("ci", "susy", "lead", "contrast", "coh")


def session_ps(
    g: GridSeries,
    seed: int,
    cfg: SessionConfig = SessionConfig(),  # noqa: B008
    families: tuple[str, ...] = FAMILIES,
) -> dict:
    """Every session-level p of one dyad (NaN where the test cannot run), as the offline
    analysis (:func:`dsp.concordance.dyad.analyze_dyad`) computes them; ``families`` picks
    which (the CI p is the same with or without the lead test: same seed, same surrogates)."""
    out: dict = {}
    dur = g.t.size / g.fs
    for name, x, y, slope_s, win_s in (
        ("eda", g.eda_patient, g.eda_clinician, cfg.slope_s, cfg.wcc_win_s),
        ("hr", g.hr_patient, g.hr_clinician, cfg.hr_slope_s, cfg.hr_wcc_win_s),
    ):
        if "lead" in families:
            sc = analyze_session(
                x, y, FS, slope_s, cfg.corr_s, cfg.step_s, win_s, cfg.wcc_lag_s, cfg.wcc_inc_s,
                cfg.n_surrogates, "circular", cfg.min_shift_s, seed=seed,
                lead_min_span_s=cfg.lead_min_span_s,
            )  # fmt: skip
            out[f"{name}_ci"] = sc.surrogate.p_value
            out[f"{name}_lead"] = 0.0 if sc.lead.leader is not Leader.NONE else 1.0
        elif "ci" in families:
            out[f"{name}_ci"] = concordance_surrogate_test(
                x, y, FS, cfg.n_surrogates, "circular", cfg.min_shift_s, statistic="ci",
                slope_s=slope_s, corr_s=cfg.corr_s, step_s=cfg.step_s, seed=seed,
            ).p_value  # fmt: skip
        if "susy" in families:
            sx, sy = slope_signal(x, FS, slope_s), slope_signal(y, FS, slope_s)
            out[f"{name}_susy"] = susy_test(
                sx, sy, FS, cfg.susy_segment_s, cfg.susy_max_lag_s, SUSY_SURROGATES,
                susy_min_shift_s(name, cfg), seed=seed,
            ).p_value  # fmt: skip
        if "contrast" in families:
            measure = (
                ContrastMeasure.SHARED_SCR if name == "eda" else ContrastMeasure.LAGGED_SYNCHRONY
            )
            # blocks long enough for the signal's lagged-synchrony windows (HR: 60 s +- 5 s)
            _, iv = listening_talking(dur, 60.0 if name == "eda" else 75.0)
            blocks = contrast_blocks(
                x, y, FS, iv, 0.0, slope_s, cfg.corr_s, cfg.step_s, win_s, cfg.wcc_lag_s,
                cfg.wcc_inc_s, measure=measure, method=cfg.method,
            )  # fmt: skip
            out[f"{name}_contrast"] = label_contrast(blocks, "listening", "talking", seed=seed).p
    if "coh" in families:
        coh = hr_coherence_session_test(
            g.hr_patient, g.hr_clinician, FS, cfg.hr_coherence_window_s, cfg.hr_coherence_min_s,
            n_surrogates=SUSY_SURROGATES, min_shift_s=cfg.min_shift_s,
            min_span_s=COHERENCE_SPAN_S, seed=seed,
        )  # fmt: skip
        out["hr_coh_lf"], out["hr_coh_hf"] = coh.lf_p, coh.hf_p
    return out


# --------------------------------------------------------------------------- real recordings


def _hr_grid(beats: np.ndarray) -> np.ndarray:
    """Instantaneous HR (bpm) of beat times (s from the first beat) on the 4 Hz grid; IBIs
    outside 0.3-2 s or more than 20 % from their neighbours' median (missed or extra beats)
    are bridged (linear), as the app's corrected series would be."""
    beats = beats - beats[0]
    ibi = np.diff(beats)
    med = np.array([np.median(ibi[max(0, i - 10) : i + 11]) for i in range(ibi.size)])
    ok = (ibi > 0.3) & (ibi < 2.0) & (np.abs(ibi / med - 1.0) < 0.2)
    t = np.arange(0.0, beats[-1], 1.0 / FS)
    return np.interp(t, beats[1:][ok], 60.0 / ibi[ok])


def real_people() -> tuple[list[np.ndarray], np.ndarray | None]:
    """HR series (bpm, 4 Hz) of the real single-person recordings and the one real EDA (µS,
    4 Hz); empty when ``../shared/data`` is absent."""
    from devices.xdf_reader import load_recording as read_xdf  # noqa: PLC0415 - benchmark-only I/O
    from dsp.ecg import ecg_peaks  # noqa: PLC0415
    from dsp.ppg import ppg_peaks  # noqa: PLC0415

    hrs: list[np.ndarray] = []
    eda = None
    phys, xdf = DATA / "physio", DATA / "xdf"
    if not phys.is_dir():
        return hrs, eda
    import wfdb  # noqa: PLC0415 - dev extra

    for rec, ch in (("a103l", "II"), ("mixedsignals", "II")):
        r = wfdb.rdrecord(str(phys / rec), smooth_frames=False)
        i = r.sig_name.index(ch)
        sig = r.e_p_signal[i] if r.e_p_signal is not None else r.p_signal[:, i]
        fs = r.fs * (r.samps_per_frame[i] if r.samps_per_frame else 1)
        hrs.append(_hr_grid(ecg_peaks(np.nan_to_num(sig), fs) / fs))
    ppg = np.loadtxt(phys / "OSmontagePPG.txt", comments="#")[:, -1]
    hrs.append(_hr_grid(ppg_peaks(ppg, 125.0) / 125.0))
    rec = read_xdf(xdf / "NPLab__000.xdf")
    for s in rec.streams:
        if s.type == "EEG" and s.values.shape[1] == 3:
            fs = s.nominal_srate
            hrs.append(_hr_grid(ecg_peaks(s.values[:, 0], fs) / fs))
            te = s.timestamps - s.timestamps[0]
            raw = np.interp(np.arange(0, te[-1], 1 / FS), te, s.values[:, 2])
            # raw ADC units: placed at 5 µS with an SD of 1 µS (the CI, SUSY and lead are
            # scale-free; the SCR floor of the contrast needs µS-like values)
            eda = 5.0 + (raw - raw.mean()) / raw.std()
    pol = read_xdf(xdf / "PolarBand2lsl__data.xdf")
    for s in pol.streams:
        if s.values.ndim == 2 and s.nominal_srate > 100 and s.values.shape[0] > 130 * 150:
            hrs.append(_hr_grid(ecg_peaks(s.values[:, 0], s.nominal_srate) / s.nominal_srate))
    return [h for h in hrs if h.size / FS >= 200], eda


def real_dyad(k: int, hrs: list[np.ndarray], eda: np.ndarray | None) -> GridSeries | None:
    """Pseudo-dyad ``k``: HR of person i with HR of person j != i (crop offset from ``k``),
    the real EDA against an independent simulated person."""
    pairs = [(i, j) for i in range(len(hrs)) for j in range(len(hrs)) if i != j]
    i, j = pairs[k % len(pairs)]
    n = min(hrs[i].size, hrs[j].size, eda.size if eda is not None else 10**9)
    off = ((k // len(pairs)) % 8) * int(10 * FS)  # eight crops, 10 s apart
    a, b = hrs[i][-n:], hrs[j][-n:]
    n = n - off
    if n / FS < 200:
        return None
    hp, hc = a[off : off + n], b[:n]
    other = poisson_dyad(90_000 + k, n / FS).eda_clinician
    ep = eda[off : off + n] if eda is not None else other
    return GridSeries(np.arange(n) / FS, FS, ep, other, hp, hc)


# --------------------------------------------------------------------------- the study


def make_dyad(gen: str, k: int, minutes: float, real: tuple | None = None) -> GridSeries | None:
    """Dyad ``k`` of generator ``gen`` (``minutes`` long except ``real``)."""
    dur = 60.0 * minutes
    if gen == "sim":
        return grid_series(simulate_dyad(independent_config(k, dur, shared_rhythms=k % 2 == 0)))
    if gen == "poisson":
        return poisson_dyad(k, dur)
    if gen == "spectra":
        return spectra_dyad(k, dur)
    if gen == "power":
        cfg = DyadSimConfig(duration_s=dur, seed=20_000 + k, coupling=0.6, lag_s=2.0)
        return grid_series(simulate_dyad(cfg))
    return real_dyad(k, *real) if real and real[0] else None


_REAL: tuple | None = None


def _job(job: tuple) -> tuple[str, dict | None]:
    global _REAL  # noqa: PLW0603 - loaded once per worker
    gen, k, minutes, families = job
    if gen == "real" and _REAL is None:
        _REAL = real_people()
    g = make_dyad(gen, k, minutes, _REAL)
    return gen, (session_ps(g, k, families=families) if g is not None else None)


def binom_ci(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95 % interval of a proportion ``k / n``."""
    lo = beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def table(res: dict[str, list[dict]], alpha: float = 0.05, flag: bool = True) -> list[str]:
    """Markdown rows: generator x test, rate of p <= alpha with its n and Clopper-Pearson CI;
    ``flag`` marks rates whose whole interval lies above ``alpha`` (optimistic)."""
    gens = list(res)
    lines = ["| test | " + " | ".join(gens) + " |", "|---|" + "---|" * len(gens)]
    for test in TESTS:
        cells = []
        for gen in gens:
            ps = np.array([r.get(test, np.nan) for r in res[gen] if r is not None], dtype=float)
            ps = ps[np.isfinite(ps)]
            if not ps.size:
                cells.append("no test")
                continue
            k = int((ps <= alpha).sum())
            lo, hi = binom_ci(k, ps.size)
            mark = " **!**" if flag and lo > alpha else ""
            cells.append(
                f"{100 * k / ps.size:.1f} % ({k}/{ps.size}; {100 * lo:.1f}-{100 * hi:.1f}){mark}"
            )
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="dyads per generator")
    ap.add_argument("--n-real", type=int, default=120, help="real pseudo-dyads")
    ap.add_argument("--power", type=int, default=0, help="coupled simulated dyads (0.6, 2 s)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--generators", default="sim,poisson,spectra,real")
    ap.add_argument("--seed0", type=int, default=0, help="first dyad number")
    ap.add_argument("--tests", default=",".join(FAMILIES), help="families: " + ",".join(FAMILIES))
    ap.add_argument("--save", help="append each dyad's p-values to this JSON-lines file")
    ap.add_argument("--load", help="only print the table of a --save file")
    args = ap.parse_args()
    if args.load:
        res: dict[str, list] = {}
        with open(args.load, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                res.setdefault(d.pop("gen"), []).append(d)
        print("\n".join(table({g: v for g, v in res.items() if g != "power"})))
        if "power" in res:
            print("\n".join(table({"power": res["power"]}, flag=False)))
        return
    gens = args.generators.split(",")
    fam = tuple(args.tests.split(","))
    jobs = [
        (g, args.seed0 + k, args.minutes, fam)
        for k in range(max(args.n, args.n_real))  # interleaved: a partial run covers all
        for g in gens
        if k < (args.n_real if g == "real" else args.n)
    ] + [("power", args.seed0 + k, args.minutes, fam) for k in range(args.power)]
    t0 = time.perf_counter()
    res: dict[str, list] = {g: [] for g in [*gens, "power"]}
    with ProcessPoolExecutor(args.workers) as ex:
        for gen, r in ex.map(_job, jobs, chunksize=1):
            res[gen].append(r)
            if args.save and r is not None:
                with open(args.save, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"gen": gen, **r}) + "\n")
    took = time.perf_counter() - t0
    null = {g: v for g, v in res.items() if g != "power"}
    print("False-positive rate (p <= 0.05) per generator: rate (k/n; Clopper-Pearson 95 %)")
    print("\n".join(table(null)))
    if res.get("power"):
        print("\nPower on coupled simulated dyads (coupling 0.6, clinician 2 s behind)")
        print("\n".join(table({"power": res["power"]}, flag=False)))
    print(f"\n{len(jobs)} dyads of {args.minutes:g} min; {took:.0f} s on {args.workers} workers")


if __name__ == "__main__":
    main()
