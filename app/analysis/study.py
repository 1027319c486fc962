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
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as cf_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.analysis.pipeline import SessionAnalysis
from app.analysis.study_page import answer_section
from app.sessionfolder import REPORT_HTML
from dsp.concordance.pseudo import (
    MIN_PSEUDO,
    STATISTICS,
    DyadSeries,
    compare_to_pseudo,
    pair_statistics,
)
from dsp.concordance.study import StudyComparison, study_comparison

__all__ = [
    "PSEUDO_FIELDS",
    "STUDY_CSV",
    "PseudoStudy",
    "dyad_series",
    "pseudo_study",
    "write_study_csv",
    "write_summary_html",
]

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


_SERIES: tuple[DyadSeries, ...] = ()  # a worker's copy of the study's sessions


def _hold_series(series: tuple[DyadSeries, ...]) -> None:
    global _SERIES
    _SERIES = series


def _row(i: int) -> list[np.ndarray]:
    """The patient of session ``i`` with the clinician of every session (in a worker)."""
    return [pair_statistics(_SERIES[i], c) for c in _SERIES]


Progress = Callable[[float, str], None]


def _run_pairs(
    series: Sequence[DyadSeries],
    jobs: int | None,
    scheduler: str | None,
    log: Callable[[str], None],
    progress: Progress,
) -> list[np.ndarray]:
    n = len(series)
    tasks = [(series[i], series[j]) for i in range(n) for j in range(n)]
    out: list[Any] = [None] * len(tasks)
    if scheduler:
        try:
            from dask.distributed import Client, as_completed
        except ImportError:
            raise RuntimeError(
                "--scheduler needs Dask distributed: pip install 'attunement[dask]'"
            ) from None
        with Client(scheduler, timeout="20s") as client:
            has = client.scheduler_info().get("services", {}).get("dashboard")
            log(
                f"attune: Dask dashboard: {client.dashboard_link if has else 'none (the scheduler runs none)'}"
            )
            futs = client.map(_pair, tasks, pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            for k, fut in enumerate(as_completed(futs), 1):
                out[index[fut.key]] = fut.result()
                progress(k / len(tasks), f"pseudo-dyads {k}/{len(tasks)}")
            return out
    if jobs == 1 or len(tasks) < 4:
        for k, t in enumerate(tasks, 1):
            out[k - 1] = _pair(t)
            progress(k / len(tasks), f"pseudo-dyads {k}/{len(tasks)}")
        return out
    # each worker receives the sessions once; a task is one patient's row of pairings
    with ProcessPoolExecutor(jobs, initializer=_hold_series, initargs=(tuple(series),)) as pool:
        futs = {pool.submit(_row, i): i for i in range(n)}
        for k, fut in enumerate(cf_completed(futs), 1):
            i = futs[fut]
            out[i * n : (i + 1) * n] = fut.result()
            progress(k / n, f"pseudo-dyads {k * n}/{len(tasks)}")
    return out


@dataclass(frozen=True, eq=False)
class PseudoStudy:
    """The pseudo-dyad study of a batch.

    Attributes
    ----------
    names : tuple of str
        Session names, in matrix order.
    values : numpy.ndarray
        ``(n, n, len(STATISTICS))``: patient of session i with the clinician of session j.
    rows : dict
        ``{session name: {PSEUDO_FIELDS column: text}}`` for summary.csv.
    answers : dict
        ``{statistic name: StudyComparison}``: real dyads against pseudo-dyads over the study.
    """

    names: tuple[str, ...]
    values: np.ndarray
    rows: dict[str, dict[str, str]]
    answers: dict[str, StudyComparison]


def pseudo_study(
    series: Sequence[DyadSeries],
    outdir: str | Path,
    jobs: int | None = None,
    scheduler: str | None = None,
    log: Callable[[str], None] = print,
    progress: Progress = lambda frac, stage: None,
    seed: int = 0,
) -> PseudoStudy:
    """Compare every real dyad with its pseudo-dyads, and the real dyads as a group with the
    pseudo-dyads (:func:`dsp.concordance.study.study_comparison`); write ``pseudo_dyads.csv``
    and ``study.csv``. ``progress(fraction, stage)`` is called as pairings finish.
    """
    n = len(series)
    log(f"attune: {n} real dyads and {n * (n - 1)} role-keeping pseudo-dyads")
    vals = np.array(_run_pairs(series, jobs, scheduler, log, progress))
    vals = vals.reshape(n, n, len(STATISTICS))
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
    answers = {
        name: study_comparison(vals[:, :, k], two, seed=seed)
        for k, (name, two) in enumerate(STATISTICS)
    }
    write_study_csv(answers, out_dir / STUDY_CSV)
    return PseudoStudy(tuple(s.name for s in series), vals, rows, answers)


#: The study-level answer, one row per statistic.
STUDY_CSV = "study.csv"
STUDY_FIELDS = [
    "statistic", "test", "real_dyads", "pseudo_dyads", "mean_real", "mean_pseudo",
    "difference", "ci95_low", "ci95_high", "p_permutation", "permutations",
]  # fmt: skip


def _f(v: float, nd: int = 4) -> str:
    return "" if not math.isfinite(v) else f"{v:.{nd}f}"


def write_study_csv(answers: dict[str, StudyComparison], path: Path) -> Path:
    """``study.csv``: per statistic, real minus pseudo with its interval and permutation p."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(STUDY_FIELDS)
        for name, c in answers.items():
            w.writerow([
                name, "two-sided" if c.two_sided else "one-sided (real > pseudo)", c.n_real,
                c.n_pseudo, _f(c.mean_real), _f(c.mean_pseudo), _f(c.difference),
                _f(c.ci_low), _f(c.ci_high), _f(c.p), c.n_perm,
            ])  # fmt: skip
    return path


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


def _session_cell(r: dict[str, Any], base: Path) -> str:
    """The session name, linked to its report when one was written."""
    name = html.escape(str(r.get("file", "")))
    out = r.get("output")
    if out and (Path(out) / REPORT_HTML).is_file():
        rel = os.path.relpath(Path(out) / REPORT_HTML, base)
        return f'<td><a href="{html.escape(Path(rel).as_posix())}">{name}</a></td>'
    return f"<td>{name}</td>"


def write_summary_html(
    rows: Sequence[dict[str, Any]], path: str | Path, study: PseudoStudy | None = None
) -> Path:
    """The batch page: the study-level answer per index (words, interval, permutation p,
    plots), then one row per session (linked to its report), each statistic beside its
    pseudo-dyad test."""
    p = Path(path)
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in _COLUMNS)

    def cell(r: dict[str, Any], k: str) -> str:
        if k == "file":
            return _session_cell(r, p.parent)
        v = str(r.get(k, ""))
        if k.endswith("_pseudo_p") and not v and r.get("pseudo_dyads"):
            v = f"not enough data for a test ({r['pseudo_dyads']} pseudo-dyads)"
        return f"<td>{html.escape(v)}</td>"

    body = "".join("<tr>" + "".join(cell(r, k) for k, _ in _COLUMNS) + "</tr>" for r in rows)
    if study is not None:
        answers = "".join(
            answer_section(name, study.values[:, :, k], study.names, study.answers[name])
            for k, (name, _) in enumerate(STATISTICS)
        )
        answers = (
            "<h2>Are real dyads more concordant than pseudo-dyads?</h2><p>Per index: the mean "
            "of the real dyads minus the mean of the pseudo-dyads (every patient with every "
            "other session's clinician), its 95 % bootstrap interval over sessions, and a "
            "permutation p over sessions: the clinicians are reassigned to patients at "
            "random and the difference recomputed (one-sided for the CIs, two-sided for lead "
            f"asymmetry and label contrast). Also in {STUDY_CSV}.</p>" + answers
        )
    else:
        answers = "<p>Fewer than two dyads: no study-level comparison (not enough data).</p>"
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Study summary</title>'
        "<style>body{font-family:Helvetica,Arial,sans-serif;font-size:13px;margin:1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px}"
        "th{background:#f0f0f0}img{max-width:100%}h2{font-size:16px;margin-top:1.4em}"
        "</style></head><body><h1>Study summary</h1>"
        f"{answers}<h2>Sessions</h2>"
        "<p>Each real dyad against role-keeping pseudo-dyads: the same patient with every other "
        "session's clinician and every other patient with the same clinician (people who never "
        "met, in the same situation). p: share of pseudo-dyads at least as extreme (one-sided "
        "for CIs, two-sided for lead asymmetry and label contrast). The within-session columns "
        "are each session's own tests against circular-shift surrogates. A p needs at least "
        f"{MIN_PSEUDO} pseudo-dyads per dyad (11 sessions); with fewer only the percentile is "
        "given. Session names link to their reports.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )
    p.write_text(page, encoding="utf-8")
    return p
