"""Many files at once: a process pool, one output folder per file, a progress bar, ``summary.csv``."""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.analysis.cache import cache_store
from app.analysis.export import SUMMARY_FIELDS, metrics_dict, summary_row, write_outputs
from app.analysis.inputs import AnalysisError, AnalysisOptions
from app.analysis.pipeline import analyze_file
from app.analysis.study import PSEUDO_FIELDS, dyad_series, pseudo_study, write_summary_html
from app.sessionfolder import RECORDING
from dsp.concordance.pseudo import DyadSeries
from dsp.concordance.pseudo_group import GroupSeries, GroupStudy, pseudo_group_study


@dataclass(frozen=True)
class FileOutcome:
    """What analysing one file gave (picklable: it comes back from a worker process).

    Attributes
    ----------
    ok : bool
        The outputs were written.
    row : dict
        The file's ``summary.csv`` row (empty on failure).
    error : str
        One line saying why it failed ('' when ok).
    warnings : tuple of str
        The analysis' warnings.
    series : DyadSeries or None
        The dyad's grid series for the pseudo-dyad study (None without two people).
    """

    ok: bool
    row: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    warnings: tuple[str, ...] = ()
    series: DyadSeries | None = None
    group: GroupSeries | None = None


def group_series(a: Any) -> GroupSeries | None:
    """A group session's EDA grid for pseudo-groups (None for dyads and one person)."""
    g = a.group
    if g is None or g.grid_eda.size == 0:
        return None
    return GroupSeries(a.path.name, a.config.grid_fs, tuple(g.eda.people), g.grid_eda)


def group_study(
    groups: Sequence[GroupSeries], outdir: str | Path, log: Callable[[str], None], seed: int = 0
) -> GroupStudy | None:
    """Real groups against role-keeping pseudo-groups (``pseudo_groups.csv``), or None with
    the reason logged in one line."""
    if len(groups) < 2:
        return None
    try:
        st = pseudo_group_study(groups, seed=seed)
    except ValueError as exc:
        log(f"attune: no pseudo-group comparison: {exc}")
        return None
    with open(Path(outdir) / PSEUDO_GROUPS_CSV, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["statistic", "people", "real_groups", "pseudo_groups", "mean_real",
                    "mean_pseudo", "difference", "p_permutation", "permutations", "answer"])  # fmt: skip
        w.writerow(["group_index_mean_pairwise_eda_ci", " ".join(st.people), len(st.real),
                    st.n_pseudo, _f4(st.mean_real), _f4(st.mean_pseudo), _f4(st.difference),
                    _f4(st.p), st.n_perm, st.text])  # fmt: skip
        for g, v in zip(groups, st.real, strict=True):
            w.writerow([g.name, " ".join(g.people), 1, "", _f4(v), "", "", "", "", "real"])
    log(f"attune: group index over {len(groups)} group sessions: {st.text}")
    return st


def _f4(v: float) -> str:
    return f"{v:.4f}" if math.isfinite(v) else ""


#: The study-level pseudo-group answer of a batch of group sessions.
PSEUDO_GROUPS_CSV = "pseudo_groups.csv"


def analyze_to_folder(path: str, outdir: str, options: AnalysisOptions) -> FileOutcome:
    """Worker: analyse one file, write its outputs into ``outdir`` and cache the analysis."""
    try:
        a = analyze_file(path, options)
        write_outputs(a, outdir, options.formats, thumbnails=options.thumbnails)
        cache_store(path, options, a)
        row = summary_row(metrics_dict(a), str(outdir))
        return FileOutcome(True, row, "", a.warnings, dyad_series(a), group_series(a))
    except AnalysisError as exc:
        return FileOutcome(False, error=str(exc))
    except (OSError, ValueError, MemoryError) as exc:
        return FileOutcome(False, error=f"{path}: {type(exc).__name__}: {exc}")


def output_dirs(paths: Sequence[str | Path], outdir: str | Path) -> list[Path]:
    """One output folder per input: ``outdir`` itself for one file, ``outdir/<stem>`` else."""
    out = Path(outdir)
    if len(paths) == 1:
        return [out]
    seen: dict[str, int] = {}
    dirs = []
    for p in paths:
        stem = Path(p).name.split(".")[0] or "session"
        if Path(p).name == RECORDING:
            stem = Path(p).resolve().parent.name or stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        dirs.append(out / (stem if n == 0 else f"{stem}-{n + 1}"))
    return dirs


class ProgressBar:
    """A one-line progress bar on stderr (only drawn when stderr is a terminal)."""

    def __init__(self, label: str, stream: Any = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.width = width
        self.t0 = time.monotonic()

    def __call__(self, frac: float, stage: str) -> None:
        if not self.enabled:
            return
        n = int(round(max(0.0, min(1.0, frac)) * self.width))
        bar = "#" * n + "-" * (self.width - n)
        line = f"\r{self.label} [{bar}] {100 * frac:3.0f}% {stage:<36.36} {time.monotonic() - self.t0:5.1f} s"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def analyze_paths(
    paths: Sequence[str | Path],
    outdir: str | Path,
    options: AnalysisOptions,
    jobs: int | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    scheduler: str | None = None,
    recording: Any = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Analyse several files in parallel (process pool); write ``summary.csv`` when > 1.

    With two or more dyads, each real dyad is also compared with role-keeping pseudo-dyads
    (:mod:`app.analysis.study`; on the local cores, or on the Dask cluster at ``scheduler``)
    and the batch page ``summary.html`` is written. With two or more group sessions of the
    same roles, the real groups' index is compared with role-keeping pseudo-groups
    (:mod:`dsp.concordance.pseudo_group`; ``pseudo_groups.csv`` and one line in the log).

    ``recording``: the single file's :class:`~devices.xdf_reader.XdfRecording` when it was
    read already (``attune analyze`` reads it while importing the analysis).

    Returns
    -------
    (n_failed, summary rows)
    """
    dirs = output_dirs(paths, outdir)
    rows: list[dict[str, Any] | None] = [None] * len(paths)
    failed = 0
    if len(paths) == 1:
        bar = ProgressBar(Path(paths[0]).name)
        try:
            a = analyze_file(paths[0], options, progress=bar, recording=recording)
            bar(0.95, "writing report")
            write_outputs(a, dirs[0], options.formats, thumbnails=options.thumbnails)
            cache_store(paths[0], options, a)
            bar(1.0, "done")
        finally:
            bar.close()
        for w in a.warnings:
            log(f"attune: warning: {w}")
        rows[0] = summary_row(metrics_dict(a), str(dirs[0]))
        return 0, [r for r in rows if r is not None]
    n_workers = max(1, min(len(paths), jobs or os.cpu_count() or 1))
    bar = ProgressBar(f"{len(paths)} files")
    done = 0
    series: list[DyadSeries | None] = [None] * len(paths)
    groups: list[GroupSeries | None] = [None] * len(paths)
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        futs = {
            pool.submit(analyze_to_folder, str(p), str(d), options): i
            for i, (p, d) in enumerate(zip(paths, dirs, strict=True))
        }
        for fut in as_completed(futs):
            i = futs[fut]
            outcome = fut.result()
            done += 1
            bar(done / len(paths), Path(paths[i]).name)
            if outcome.ok:
                rows[i] = outcome.row
                series[i] = outcome.series
                groups[i] = outcome.group
                for w in outcome.warnings:
                    log(f"attune: warning: {w}")
            else:
                failed += 1
                log(f"attune: error: {outcome.error}")
                r = {k: "" for k in SUMMARY_FIELDS}
                r.update(file=Path(paths[i]).name, status="error", warnings=outcome.error)
                rows[i] = r
    bar.close()
    Path(outdir).mkdir(parents=True, exist_ok=True)
    have = [i for i, s in enumerate(series) if s is not None]
    names = [series[i].name for i in have]
    study = None
    if len(have) >= 2 and len(set(names)) == len(names):
        bar = ProgressBar("pseudo-dyads")
        try:
            study = pseudo_study(
                [series[i] for i in have], outdir, jobs, scheduler, log, progress=bar
            )
        finally:
            bar.close()
        for i in have:
            rows[i].update(study.rows[series[i].name])
    elif len(have) < 2 and not any(groups):
        log("attune: fewer than two dyads: no pseudo-dyad comparison (not enough data for a test)")
    group_study([g for g in groups if g is not None], outdir, log, options.config.seed)
    fields = SUMMARY_FIELDS + PSEUDO_FIELDS
    write_summary_html([r for r in rows if r is not None], Path(outdir) / "summary.html", study)
    with open(Path(outdir) / "summary.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, restval="")
        w.writeheader()
        for r in rows:
            if r is not None:
                w.writerow(r)
    return failed, [r for r in rows if r is not None]
