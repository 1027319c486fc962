"""Studies over several sessions: role-keeping pseudo-dyads, summary.csv, summary.html, Dask."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from app.analysis import AnalysisOptions, analyze_paths
from app.analysis.study import pseudo_study
from dsp.concordance.pseudo import STATISTICS, DyadSeries, compare_to_pseudo, pair_statistics
from dsp.params import MethodParams
from dsp.session import SessionConfig
from dsp.simstudy import grid_series, listening_talking
from dsp.simulate import DyadSimConfig, simulate_dyad
from tests.xdf_sim import write_simulated_xdf

FS = 4.0


def _series(seed: int, coupling: float, dur: float = 600.0) -> DyadSeries:
    sched, iv = listening_talking(dur, 60.0, coupling, 0.0)
    g = grid_series(simulate_dyad(DyadSimConfig(dur, seed, coupling, 2.0, coupling_schedule=sched)))
    return DyadSeries(
        f"s{seed}", FS, g.eda_patient, g.eda_clinician, g.hr_patient, g.hr_clinician, tuple(iv)
    )


def test_real_coupled_dyads_beat_their_pseudo_dyads():
    series = [_series(s, 0.9) for s in range(4)]
    vals = np.array([[pair_statistics(p, c) for c in series] for p in series])
    assert vals.shape == (4, 4, len(STATISTICS))
    real = np.diag(vals[:, :, 0])
    pseudo = vals[:, :, 0][~np.eye(4, dtype=bool)]
    assert real.min() > np.median(pseudo)  # EDA CI of real coupled dyads above pseudo-dyads
    c = compare_to_pseudo(float(real[0]), np.r_[vals[0, 1:, 0], vals[1:, 0, 0]], False)
    assert c.n_pseudo == 6 and c.percentile > 50
    assert np.isnan(c.p)  # 6 pseudo-dyads cannot give p < 0.05: no p is made up
    rng = np.random.default_rng(0)
    big = compare_to_pseudo(3.0, rng.standard_normal(99), False)
    assert big.p == pytest.approx((1 + np.sum(rng.standard_normal(0) >= 3.0)) / 100, abs=0.02)
    two = compare_to_pseudo(-3.0, np.linspace(-1, 1, 39), True)
    assert two.p == pytest.approx(2 / 40) and two.percentile == 0.0


def test_pseudo_study_on_a_local_dask_cluster_equals_local_cores(tmp_path: Path):
    distributed = pytest.importorskip("dask.distributed")
    series = [_series(s, 0.8, 300.0) for s in range(3)]
    local = pseudo_study(series, tmp_path, jobs=1, log=lambda s: None)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
        host="127.0.0.1", dashboard_address=None,
    ) as cluster:  # fmt: skip
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = pseudo_study(series, tmp_path, scheduler=cluster.scheduler_address, log=print)
    assert remote.rows == local.rows and np.array_equal(remote.values, local.values, equal_nan=True)
    with open(tmp_path / "pseudo_dyads.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9 and sum(r["real"] == "true" for r in rows) == 3
    assert local.rows["s0"]["pseudo_dyads"] == "4"
    progress: list[str] = []
    cores = pseudo_study(
        series, tmp_path, jobs=2, log=lambda s: None, progress=lambda f, s: progress.append(s)
    )  # each worker holds the sessions, a task is a patient's row
    assert cores.rows == local.rows and np.array_equal(cores.values, local.values, equal_nan=True)
    assert progress[-1] == "pseudo-dyads 9/9"


@pytest.mark.slow
def test_analyze_several_files_writes_pseudo_dyad_columns_and_batch_page(tmp_path: Path):
    paths = []
    for seed in range(3):
        sched, iv = listening_talking(300.0, 60.0, 0.9, 0.0)
        d = simulate_dyad(DyadSimConfig(300.0, 40 + seed, 0.9, 2.0, coupling_schedule=sched))
        markers = [(a, "L" if lab == "listening" else "T") for a, _, lab in iv]
        paths.append(write_simulated_xdf(tmp_path / f"sess{seed}.xdf", d, markers=markers))
    cfg = SessionConfig(method=MethodParams(n_surrogates=40))
    opts = AnalysisOptions(formats=("json",), config=cfg, surrogate_method="segment")
    failed, rows = analyze_paths(paths, tmp_path / "out", opts, jobs=1, log=lambda s: None)
    assert failed == 0 and len(rows) == 3
    with open(tmp_path / "out" / "summary.csv", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert all(r["pseudo_dyads"] == "4" and r["eda_ci_pseudo_percentile"] for r in got)
    assert all(r["eda_ci_pseudo_p"] == "" for r in got)  # 4 pseudo-dyads: no p
    assert all(r["eda_lead"] for r in got)
    page = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert "role-keeping pseudo-dyads" in page and "sess0.xdf" in page
    assert "not enough data for a test (4 pseudo-dyads)" in page
    assert "Are real dyads more concordant than pseudo-dyads?" in page
    assert "too few sessions for a permutation test" in page  # 3 sessions: 6 permutations
    with open(tmp_path / "out" / "study.csv", encoding="utf-8") as fh:
        study = list(csv.DictReader(fh))
    assert [r["statistic"] for r in study] == [s for s, _ in STATISTICS]
    assert all(r["real_dyads"] == "3" and r["p_permutation"] == "" for r in study)
    assert (tmp_path / "out" / "pseudo_dyads.csv").is_file()


def _study_matrix(coupling: float, seed0: int, n: int = 20, dur: float = 300.0) -> np.ndarray:
    """Every pairing's statistics of ``n`` simulated sessions: coupled (the project's
    simulator), or independent people (:func:`dsp.nullgen.poisson_dyad`: own SCR trains)."""
    from dsp.nullgen import poisson_dyad

    series = []
    for s in range(seed0, seed0 + n):
        if coupling > 0:
            series.append(_series(s, coupling, dur))
            continue
        _, iv = listening_talking(dur, 60.0)
        g = poisson_dyad(s, dur)
        series.append(DyadSeries(f"s{s}", FS, g.eda_patient, g.eda_clinician, g.hr_patient,
                                 g.hr_clinician, tuple(iv)))  # fmt: skip
    return np.array([[pair_statistics(p, c) for c in series] for p in series])


@pytest.mark.slow
def test_study_answer_finds_20_coupled_sessions_and_not_20_independent_ones():
    from dsp.concordance.study import study_comparison

    coupled = _study_matrix(0.6, 500)
    c = study_comparison(coupled[:, :, 0], seed=1)
    assert c.p < 0.01 and c.difference > 0 and c.ci_low > 0  # EDA CI: real > pseudo
    assert c.n_real == 20 and c.n_pseudo == 380
    lead = study_comparison(coupled[:, :, 2], two_sided=True, seed=1)
    assert lead.p < 0.01 and lead.difference > 0  # the patient leads by 2 s in every dyad
    indep = _study_matrix(0.0, 900)
    for k, (name, two) in enumerate(STATISTICS):
        r = study_comparison(indep[:, :, k], two_sided=two, seed=1)
        assert r.p > 0.05, name
        assert r.ci_low < 0 < r.ci_high or not np.isfinite(r.ci_low), name


def test_study_permutation_p_is_exact_on_a_matrix_without_real_dyad_effect():
    from dsp.concordance.study import study_comparison

    rng = np.random.default_rng(3)
    ps = []
    for _ in range(200):  # pure noise plus patient and clinician effects: p uniform
        m = rng.standard_normal((8, 8)) + rng.standard_normal((8, 1)) + rng.standard_normal(8)
        ps.append(study_comparison(m, n_perm=400, n_boot=50, seed=int(rng.integers(1e9))).p)
    ps = np.array(ps)
    assert 0.02 <= np.mean(ps <= 0.05) <= 0.10 and 0.4 < np.mean(ps) < 0.6
    m = rng.standard_normal((8, 8)) + 3.0 * np.eye(8)  # real dyads 3 SD above: found
    c = study_comparison(m, seed=0)
    assert c.p < 0.001 and c.ci_low > 2.0
    two = study_comparison(-m, two_sided=True, seed=0)
    assert two.p < 0.001 and two.difference < -2.0
    assert np.isnan(study_comparison(m[:3, :3]).p)  # 3! = 6 permutations: no p made up
    with pytest.raises(ValueError):
        study_comparison(np.zeros((3, 4)))


def test_summary_page_answers_per_index_with_plots_and_links(tmp_path: Path):
    from app.analysis.study import PseudoStudy, write_summary_html
    from dsp.concordance.study import study_comparison

    rng = np.random.default_rng(5)
    n = 8
    vals = rng.standard_normal((n, n, len(STATISTICS))) + 2.0 * np.eye(n)[:, :, None]
    vals[:, :, 3] = np.nan  # no labels anywhere: no contrast
    names = tuple(f"s{i}.xdf" for i in range(n))
    answers = {name: study_comparison(vals[:, :, k], two, seed=0)
               for k, (name, two) in enumerate(STATISTICS)}  # fmt: skip
    rows = []
    for i, name in enumerate(names):
        out = tmp_path / f"s{i}"
        out.mkdir()
        if i != 3:  # one session without a report: no link
            (out / "report.html").write_text("<html></html>", encoding="utf-8")
        rows.append({"file": name, "output": str(out), "status": "ok"})
    study = PseudoStudy(names, vals, {}, answers)
    page = write_summary_html(rows, tmp_path / "summary.html", study).read_text(encoding="utf-8")
    assert page.count('<img alt="') == len(STATISTICS)
    assert page.count('<a href="s') == n - 1 and '<a href="s0/report.html">s0.xdf</a>' in page
    assert "<td>s3.xdf</td>" in page
    assert "EDA CI: real dyads higher than pseudo-dyads (permutation p = " in page
    assert "label contrast: not enough data for a test." in page
    assert answers["eda_ci"].p < 0.01 and answers["eda_ci"].ci_low > 0
