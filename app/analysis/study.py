"""A study over several sessions: each real dyad against role-keeping pseudo-dyads.

After ``attune analyze`` has analysed several files, the patient of every session is paired
with the clinician of every other session (:mod:`dsp.concordance.pseudo`). Each real dyad's
EDA CI, HR CI, EDA lead asymmetry and first label contrast are placed among the pseudo-dyads
sharing its patient or its clinician. The N x (N - 1) pairings run on the local cores
(process pool) or, with ``--scheduler ADDRESS``, on an existing Dask distributed cluster
(optional extra ``dask``). Writes ``pseudo_dyads.csv`` (every pairing), adds the
comparisons to ``summary.csv`` and writes the batch page ``summary.html``.
"""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from app.analysis.pipeline import SessionAnalysis
from dsp.concordance.pseudo import (
    MIN_PSEUDO,
    STATISTICS,
    DyadSeries,
    compare_to_pseudo,
    pair_statistics,
)

__all__ = ["PSEUDO_FIELDS", "dyad_series", "pseudo_study", "write_summary_html"]

#: summary.csv columns added by the study.
PSEUDO_FIELDS = [f"{name}_pseudo_{k}" for name, _ in STATISTICS for k in ("percentile", "p")] + [
    "pseudo_dyads"
]


def dyad_series(a: SessionAnalysis) -> DyadSeries | None:
    """The grid series of an analysed session (None without two people)."""
    d = a.dyad
    if d is None or d.t_grid.size == 0:
        return None
    g0 = float(d.t_grid[0])
    iv = tuple((float(s - g0), float(e - g0), str(lab)) for s, e, lab in a.intervals)
    return DyadSeries(
        a.path.name, 4.0, d.eda_patient, d.eda_clinician, d.hr_patient, d.hr_clinician, iv
    )


def _pair(args: tuple[DyadSeries, DyadSeries]) -> np.ndarray:
    return pair_statistics(*args)


def _run_pairs(
    tasks: list[tuple[DyadSeries, DyadSeries]], jobs: int | None, scheduler: str | None
) -> list[np.ndarray]:
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise RuntimeError(
                "--scheduler needs Dask distributed: pip install 'attunement[dask]'"
            ) from None
        with Client(scheduler, timeout="20s") as client:
            futs = client.map(_pair, tasks, pure=False)
            return client.gather(futs)
    if jobs == 1 or len(tasks) < 4:
        return [_pair(t) for t in tasks]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_pair, tasks, chunksize=max(1, len(tasks) // 16)))


def pseudo_study(
    series: Sequence[DyadSeries],
    outdir: str | Path,
    jobs: int | None = None,
    scheduler: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, str]]:
    """Compare every real dyad with its pseudo-dyads; write ``pseudo_dyads.csv``.

    Returns
    -------
    dict
        ``{session name: {PSEUDO_FIELDS column: text}}`` for summary.csv.
    """
    n = len(series)
    tasks = [(series[i], series[j]) for i in range(n) for j in range(n)]
    log(f"attune: {n} real dyads and {n * (n - 1)} role-keeping pseudo-dyads")
    vals = np.array(_run_pairs(tasks, jobs, scheduler)).reshape(n, n, len(STATISTICS))
    out_dir = Path(outdir)
    with open(out_dir / "pseudo_dyads.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["patient_of", "clinician_of", "real", *[s for s, _ in STATISTICS]])
        for i in range(n):
            for j in range(n):
                cells = ["" if not math.isfinite(v) else f"{v:.4f}" for v in vals[i, j]]
                w.writerow([series[i].name, series[j].name, str(i == j).lower(), *cells])
    rows: dict[str, dict[str, str]] = {}
    for i in range(n):
        row: dict[str, str] = {"pseudo_dyads": str(2 * (n - 1))}
        for k, (name, two) in enumerate(STATISTICS):
            pseudo = np.r_[np.delete(vals[i, :, k], i), np.delete(vals[:, i, k], i)]
            c = compare_to_pseudo(float(vals[i, i, k]), pseudo, two)
            row[f"{name}_pseudo_percentile"] = (
                "" if math.isnan(c.percentile) else f"{c.percentile:.1f}"
            )
            row[f"{name}_pseudo_p"] = "" if math.isnan(c.p) else f"{c.p:.4f}"
        rows[series[i].name] = row
    return rows


_COLUMNS = [
    ("file", "session"),
    ("eda_ci", "EDA CI"),
    ("eda_ci_pseudo_percentile", "EDA CI: percentile among pseudo-dyads"),
    ("eda_ci_pseudo_p", "p"),
    ("eda_lead", "EDA lead (within-session test)"),
    ("eda_lead_asymmetry_pseudo_p", "lead asymmetry vs pseudo-dyads: p"),
    ("eda_contrast", "label contrast (within-session test)"),
    ("eda_contrast_pseudo_p", "contrast vs pseudo-dyads: p"),
    ("hr_ci", "HR CI"),
    ("hr_ci_pseudo_p", "HR CI vs pseudo-dyads: p"),
    ("status", "status"),
]


def write_summary_html(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """The batch page: one row per session, each statistic beside its pseudo-dyad test."""
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in _COLUMNS)

    def cell(r: dict[str, Any], k: str) -> str:
        v = str(r.get(k, ""))
        if k.endswith("_pseudo_p") and not v and r.get("pseudo_dyads"):
            v = f"not enough data for a test ({r['pseudo_dyads']} pseudo-dyads)"
        return f"<td>{html.escape(v)}</td>"

    body = "".join("<tr>" + "".join(cell(r, k) for k, _ in _COLUMNS) + "</tr>" for r in rows)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Study summary</title>'
        "<style>body{font-family:Helvetica,Arial,sans-serif;font-size:13px;margin:1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px}"
        "th{background:#f0f0f0}</style></head><body><h1>Study summary</h1>"
        "<p>Each real dyad against role-keeping pseudo-dyads: the same patient with every other "
        "session's clinician and every other patient with the same clinician (people who never "
        "met, in the same situation). p: share of pseudo-dyads at least as extreme (one-sided "
        "for CIs, two-sided for lead asymmetry and label contrast). The within-session columns "
        "are each session's own tests against circular-shift surrogates. A p needs at least "
        f"{MIN_PSEUDO} pseudo-dyads per dyad (11 sessions); with fewer only the percentile is "
        "given.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )
    p = Path(path)
    p.write_text(page, encoding="utf-8")
    return p
