"""The live dyad's refresh computed in a worker process gives the inline refresh's numbers."""

from __future__ import annotations

import os

import pytest
from golden import differences, to_plain

from app.dyad_refresh import RefreshRunner
from dsp.concordance.live import LiveDyad
from dsp.simstudy import grid_series, live_snapshots
from dsp.simulate import DyadSimConfig, simulate_dyad


@pytest.fixture(scope="module")
def grid():
    return grid_series(
        simulate_dyad(DyadSimConfig(duration_s=300.0, seed=5, coupling=0.8, lag_s=2.0))
    )


@pytest.fixture(scope="module")
def want(grid):  # noqa: ANN001, ANN201
    return [to_plain(m) for m in live_snapshots(grid, LiveDyad())]


def _deferred(g, runner: RefreshRunner, wait: bool):  # noqa: ANN001, ANN202
    dyad = LiveDyad(defer_refresh=True)
    n = int(round(g.fs))
    for k in range(0, g.t.size, n):
        s = slice(k, k + n)
        dyad.push(g.t[s], g.eda_patient[s], g.eda_clinician[s], g.hr_patient[s], g.hr_clinician[s])
        runner.step(dyad)
        if wait:
            runner.wait(dyad)
        m = dyad.snapshot()
        if not m.warming_up:
            yield m


def test_worker_refresh_equals_inline(grid, want) -> None:  # noqa: ANN001
    """Applied before each snapshot, the worker's refreshes give every snapshot of the inline
    engine (chance bands, coupling tests and their p, highlight, coherence); the work ran in
    another process; a worker that dies is replaced by inline refreshes with the same numbers."""
    runner = RefreshRunner()
    try:
        got = [to_plain(m) for m in _deferred(grid, runner, wait=True)]
        assert runner._pool is not None and len(runner.worker_cpu_s) >= 14
        pids = list(runner._pool._processes)
        assert pids and os.getpid() not in pids
    finally:
        runner.close()
    assert len(got) == len(want)
    tested = [m for m in want if "not enough" not in m["lead"]["status"] + m["hr_lead"]["status"]]
    assert tested, "the coupling tests must have run in the compared snapshots"
    diff = differences(want, got)
    assert not diff, "\n".join(diff[:20])


def test_refresh_shows_from_the_next_tick(grid, want) -> None:  # noqa: ANN001
    """Without waiting, a refresh computed inline by the runner is applied in the same step;
    in the worker it shows at a later tick, never with other numbers."""
    inline = RefreshRunner(in_process=False)
    got = [to_plain(m) for m in _deferred(grid, inline, wait=False)]
    assert not differences(want, got)
    runner = RefreshRunner()
    try:
        late = [to_plain(m) for m in _deferred(grid, runner, wait=False)]
    finally:
        runner.close()
    leads = [m["lead"] for m in want]
    assert all(m["lead"] in leads for m in late)  # each shown test is one the inline engine made


def test_worker_killed_while_idle_refreshes_inline(grid, want) -> None:  # noqa: ANN001
    """A worker process killed between refreshes (out of memory, a user's kill) breaks the
    pool at the next submit; the job is computed inline with the same numbers instead of
    being left taken (every later tick then failed)."""
    import signal
    import time

    runner = RefreshRunner()
    try:
        runner.start()
        runner._pool.submit(int).result(60)
        for pid in list(runner._pool._processes):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        got = [to_plain(m) for m in _deferred(grid, runner, wait=True)]
    finally:
        runner.close()
    assert not runner.in_process
    assert not differences(want, got)
