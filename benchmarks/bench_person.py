"""One person's live tick, this tree against an older revision, interleaved in one process.

On a shared machine two runs minutes apart see different loads; this benchmark times the
working tree's :class:`dsp.person.LivePerson` and the one of ``--ref REV`` on the same
simulated person (PPG 128 Hz + EDA 32 Hz, ``seed``) tick by tick in one process, alternating
which goes first, so both see the same load. ``REV``'s ``dsp`` package is extracted to a
temporary folder as ``dsp_ref`` (its own imports renamed). Per tick each person gets 1 s of
samples, is snapshotted and puts 4 grid samples of HR and EDA out, as in the engine.

Printed per session minute (``--at``): thread CPU median / p95 / mean of each, the median of
the per-tick ratio (new / ref, the load-robust figure), the same split by what the tick did
(SCR update, HRV spectra) and whether every snapshot field of the two agreed (1e-9).

Run:  .venv/bin/python benchmarks/bench_person.py --ref bd139de --at 5,90 [--ticks 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _extract_ref(rev: str, dest: Path) -> None:
    """``rev``'s dsp package as ``dest/dsp_ref`` (imports of ``dsp`` renamed)."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "dsp"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(dest, filter="data")
    (dest / "dsp").rename(dest / "dsp_ref")
    pat = re.compile(r"^(\s*)(from|import) dsp([. ])", re.M)
    for f in (dest / "dsp_ref").rglob("*.py"):
        f.write_text(pat.sub(r"\1\2 dsp_ref\3", f.read_text()))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
    if isinstance(a, float):
        return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12
    return a == b


def run(minute: float, ticks: int, seed: int) -> None:
    """Time ``ticks`` ticks of both from session minute ``minute``."""
    from dsp_ref.person import LivePerson as RefPerson

    from dsp.person import LivePerson
    from dsp.simulate import simulate_person

    warm = int(minute * 60)
    rec = simulate_person(float(warm + ticks + 5), seed=seed)
    fc, fe = rec.ppg_fs, rec.eda_fs
    new, ref = LivePerson(), RefPerson()

    def tick(lp, k: int):
        a, b = int(k * fc), int((k + 1) * fc)
        lp.push_cardiac(np.arange(a, b) / fc, rec.ppg[a:b], fc, "ppg")
        a, b = int(k * fe), int((k + 1) * fe)
        lp.push_eda(np.arange(a, b) / fe, rec.eda[a:b], fe)
        snap = lp.snapshot(k + 1.0)
        tg = k - 1.5 + np.arange(4) / 4.0
        return snap, lp.hr_on_grid(tg), lp.eda_on_grid(tg)

    for k in range(warm):
        tick(new, k)
        tick(ref, k)
    t_new, t_ref, kind, differ = [], [], [], 0
    for k in range(warm, warm + ticks):
        scr0, spec0 = new._scr_last_run, new._spec_cache
        out = {}
        for who in ("new", "ref") if k % 2 else ("ref", "new"):
            lp = new if who == "new" else ref
            c = time.thread_time_ns()
            out[who] = tick(lp, k)
            (t_new if who == "new" else t_ref).append((time.thread_time_ns() - c) / 1e6)
        kind.append((new._scr_last_run != scr0, new._spec_cache is not spec0))
        (sn, *gn), (sr, *gr) = out["new"], out["ref"]
        fields = [f.name for f in dataclasses.fields(sn)]
        differ += sum(not _same(getattr(sn, f), getattr(sr, f)) for f in fields)
        differ += sum(not _same(a, b) for a, b in zip(gn, gr, strict=True))
    tn, tr = np.asarray(t_new), np.asarray(t_ref)
    ratio = tn / tr
    print(f"  from minute {minute:g} ({ticks} ticks, load avg {os.getloadavg()[0]:.2f})")
    for name, v in (("ref", tr), ("new", tn)):
        print(f"    {name:<5}{np.median(v):>9.3f}{np.percentile(v, 95):>9.3f}{v.mean():>9.3f}")
    print(f"    new / ref per tick: median {np.median(ratio):.3f}")
    kinds = np.asarray(kind)
    for label, sel in (
        ("plain ticks", ~kinds[:, 0] & ~kinds[:, 1]),
        ("ticks with the SCR update", kinds[:, 0] & ~kinds[:, 1]),
        ("ticks with the HRV spectra", kinds[:, 1]),
    ):
        if sel.any():
            print(
                f"    {label:<28} n={int(sel.sum()):>4}: ref {np.median(tr[sel]):.3f}, "
                f"new {np.median(tn[sel]):.3f} ms (median)"
            )
    print(f"    snapshot fields differing beyond 1e-9: {differ}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="git revision to compare against")
    ap.add_argument("--at", default="5,90", help="session minutes, e.g. 5,90")
    ap.add_argument("--ticks", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_person_") as tmp:
        _extract_ref(args.ref, Path(tmp))
        sys.path.insert(0, tmp)
        print(f"one LivePerson tick (PPG 128 Hz + EDA 32 Hz), thread CPU ms, ref {args.ref}")
        print(f"    {'':<5}{'median':>9}{'p95':>9}{'mean':>9}")
        for minute in (float(v) for v in args.at.split(",")):
            run(minute, args.ticks, args.seed)


if __name__ == "__main__":
    main()
