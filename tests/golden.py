"""Golden outputs of the analysis: every number and word of a set of recordings, frozen.

The parity test (``tests/test_golden_parity.py``) recomputes them and compares numbers to
1e-9 and words exactly, so that a faster implementation provably gives the same results.

Regenerate (only after a deliberate change of a number, named in the commit message)::

    PYTHONPATH=. python -m tests.golden            # all cases
    PYTHONPATH=. python -m tests.golden sim_coupled # one case

Cases
-----
* ``sim_coupled``: 8 min simulated dyad, coupling 0.8, clinician follows by 2 s,
  listening/talking markers every 2 min (metrics.json, 1 Hz timelines, every coupling check);
* ``sim_independent``: 6 min independent dyad (different breathing and Mayer rhythms);
* ``sim_schedule``: 7 min dyad coupled while listening, uncoupled while talking, with the
  segment-shuffle surrogates of the EDA session CI test (HR keeps circular shifts);
* ``live_coupled``: the live engine (``LiveDyad``) fed the coupled dyad's grid, a snapshot
  every 10 s after warm-up;
* ``real_*``: the real one-person files of ``../shared/data/xdf`` the analysis applies to
  (skipped when absent).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "data" / "golden"
SHARED_XDF = ROOT.parent / "shared" / "data" / "xdf"
#: Absolute and relative tolerance of numbers.
TOL = 1e-9
#: Fields whose value depends on the run, not on the data (the simulated files are stamped
#: with the time they were written).
VOLATILE = {"analysed_at", "generator", "file", "elapsed_s", "recorded_at"}


def to_plain(v: Any) -> Any:
    """JSON-ready copy of ``v``: dataclasses, enums, numpy arrays and scalars, NaN as "nan"."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: to_plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, enum.Enum):
        return to_plain(v.value)
    if isinstance(v, dict):
        return {str(k): to_plain(x) for k, x in v.items() if str(k) not in VOLATILE}
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [to_plain(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, Path):
        return v.name
    return v


def _markers(dur: float, block: float) -> list[tuple[float, str]]:
    return [
        (float(t), "listening" if k % 2 == 0 else "talking")
        for k, t in enumerate(np.arange(0.0, dur, block))
    ]


def _sim_xdf(tmp: Path, name: str, dyad: Any, markers: list[tuple[float, str]]) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from xdf_sim import write_simulated_xdf

    return write_simulated_xdf(tmp / f"{name}.xdf", dyad, t0=5000.0, markers=markers)


def _timeline(tl: Any) -> dict[str, Any]:
    return to_plain(tl)


def analysis_golden(path: Path, **options: Any) -> dict[str, Any]:
    """metrics.json of ``path`` plus the 1 Hz timelines of both signals."""
    from app.analysis import AnalysisOptions, analyze_file
    from app.analysis.export import metrics_dict

    a = analyze_file(path, AnalysisOptions(**options))
    out: dict[str, Any] = {"metrics": to_plain(metrics_dict(a))}
    if a.dyad is not None:
        for sig in (a.dyad.eda, a.dyad.hr):
            out[f"{sig.signal}_timeline"] = _timeline(sig.timeline)
            sc = sig.session
            out[f"{sig.signal}_session"] = None if sc is None else {
                "lead": to_plain(sc.lead),
                "surrogate": to_plain(sc.surrogate),
                "susy_test": to_plain(sig.susy_test),
                "contrasts": to_plain(sig.contrasts),
                "coherence": to_plain(sig.coherence),
            }  # fmt: skip
    return out


def _coupled(duration_s: float = 480.0) -> Any:
    from dsp.simulate import DyadSimConfig, simulate_dyad

    return simulate_dyad(DyadSimConfig(duration_s=duration_s, seed=5, coupling=0.8, lag_s=2.0))


def case_sim_coupled(tmp: Path) -> dict[str, Any]:
    return analysis_golden(_sim_xdf(tmp, "coupled", _coupled(), _markers(480.0, 120.0)))


def case_sim_independent(tmp: Path) -> dict[str, Any]:
    from dsp.simstudy import independent_config
    from dsp.simulate import simulate_dyad

    dyad = simulate_dyad(independent_config(7, 360.0))
    return analysis_golden(_sim_xdf(tmp, "independent", dyad, _markers(360.0, 90.0)))


def case_sim_schedule(tmp: Path) -> dict[str, Any]:
    from dsp.simulate import DyadSimConfig, simulate_dyad

    sched = [(0.0, 105.0, 0.95), (105.0, 210.0, 0.1), (210.0, 315.0, 0.95), (315.0, 420.0, 0.1)]
    cfg = DyadSimConfig(duration_s=420.0, seed=11, coupling=0.8, lag_s=2.0, coupling_schedule=sched)
    path = _sim_xdf(tmp, "schedule", simulate_dyad(cfg), _markers(420.0, 105.0))
    return analysis_golden(path, surrogate_method="segment")


def case_live_coupled(tmp: Path) -> dict[str, Any]:
    from dsp.concordance.live import LiveDyad
    from dsp.simstudy import grid_series, live_snapshots

    g = grid_series(_coupled())
    snaps = list(live_snapshots(g, LiveDyad()))
    return {"snapshots": [to_plain(m) for m in snaps[::10]], "n": len(snaps)}


def _real(name: str, map_text: str | None = None) -> Callable[[Path], dict[str, Any] | None]:
    def case(tmp: Path) -> dict[str, Any] | None:
        f = SHARED_XDF / name
        if not f.is_file():
            return None
        opts: dict[str, Any] = {}
        if map_text:
            m = tmp / "map.toml"
            m.write_text(map_text, encoding="utf-8")
            opts = {"map_path": str(m), "eda_scale": 0.001}
        return analysis_golden(f, **opts)

    return case


NPLAB_MAP = (
    '[patient]\necg = { stream = "BrainVision RDA", channel = 0 }\n'
    'eda = { stream = "BrainVision RDA", channel = 2 }\n'
)

CASES: dict[str, Callable[[Path], dict[str, Any] | None]] = {
    "sim_coupled": case_sim_coupled,
    "sim_independent": case_sim_independent,
    "sim_schedule": case_sim_schedule,
    "live_coupled": case_live_coupled,
    "real_nplab": _real("NPLab__000.xdf", NPLAB_MAP),
    "real_polar": _real("PolarBand2lsl__data.xdf"),
    "real_muse_p050": _real("MuseLSL2__sub-P050_run-001.xdf"),
}


def compute(name: str) -> dict[str, Any] | None:
    """The golden content of case ``name`` (None when its input file is absent)."""
    with tempfile.TemporaryDirectory(prefix="golden_") as tmp:
        return CASES[name](Path(tmp))


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def differences(want: Any, got: Any, where: str = "", out: list[str] | None = None) -> list[str]:
    """Every place where ``got`` differs from ``want`` (numbers beyond :data:`TOL`)."""
    out = [] if out is None else out
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if k not in want or k not in got:
                out.append(f"{where}/{k}: only in {'golden' if k in want else 'new'}")
            else:
                differences(want[k], got[k], f"{where}/{k}", out)
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            out.append(f"{where}: length {len(want)} -> {len(got)}")
        else:
            for i, (a, b) in enumerate(zip(want, got, strict=True)):
                differences(a, b, f"{where}[{i}]", out)
    elif (
        isinstance(want, (int, float))
        and isinstance(got, (int, float))
        and not isinstance(want, bool)
        and not isinstance(got, bool)
    ):
        if not math.isclose(want, got, rel_tol=TOL, abs_tol=TOL):
            out.append(f"{where}: {want!r} -> {got!r}")
    elif want != got:
        out.append(f"{where}: {want!r} -> {got!r}")
    return out


def write(name: str) -> Path | None:
    """Recompute case ``name`` and store it (None when its input is absent)."""
    data = compute(name)
    if data is None:
        return None
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    p = golden_path(name)
    p.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return p


def main(argv: list[str]) -> int:
    names = argv or list(CASES)
    bad = [n for n in names if n not in CASES]
    if bad:
        print(f"unknown case(s) {bad}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    for n in names:
        p = write(n)
        print(f"{n}: {'input absent, not written' if p is None else p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
