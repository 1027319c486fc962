"""The live dyad's 10-s refresh in a second process, off the engine's tick.

Every ``surrogate_every_s`` the live dyad's refresh (chance baselines, the EDA and HR coupling
tests of 200 circular shifts each, the HR coherence test) costs tens of milliseconds; inline it
made every tenth engine tick a burst. :class:`RefreshRunner` takes the dyad's deferred refresh
jobs (:meth:`dsp.concordance.LiveDyad.take_refresh_job`: the inputs copied at the refresh
instant and the random generator) and runs them one after the other in a worker process (not a
thread: the tests are Python-heavy and would hold the tick thread's GIL), then applies each
result at the next tick after it is ready. The numbers are the inline refresh's (same inputs,
same draws); they show from the tick after their instant instead of that tick.

If the worker cannot run (it died, or a process cannot be started), the job is computed inline
in the tick, as before, and the runner stays inline; an error of the computation itself
reaches the tick's errors as an inline one would.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from dsp.concordance import LiveDyad
from dsp.concordance.live_refresh import RefreshJob, RefreshResult, run_refresh

__all__ = ["RefreshRunner", "timed_refresh"]

log = logging.getLogger(__name__)


def timed_refresh(job: RefreshJob) -> tuple[RefreshResult, float]:
    """:func:`run_refresh` and the CPU seconds it took (in the process that ran it)."""
    c0 = time.process_time()
    res = run_refresh(job)
    return res, time.process_time() - c0


class RefreshRunner:
    """Runs a deferred :class:`LiveDyad`'s refreshes in one worker process.

    Call :meth:`step` from the tick thread after each push; :meth:`close` when the session
    ends. ``in_process=False`` computes every job inline (the tick then has the burst again;
    for comparisons).

    Attributes
    ----------
    worker_cpu_s : list of float
        CPU seconds of each refresh computed (in the worker or inline).
    """

    def __init__(self, in_process: bool = True) -> None:
        self.in_process = in_process
        self._pool: ProcessPoolExecutor | None = None
        self._running: tuple[RefreshJob, Future] | None = None
        self.worker_cpu_s: list[float] = []

    def start(self) -> None:
        """Start the worker now (its interpreter loads numpy/scipy while the session warms
        up); otherwise it starts with the first job."""
        if self.in_process and self._pool is None:
            try:
                ctx = multiprocessing.get_context("spawn")  # other threads are alive: no fork
                self._pool = ProcessPoolExecutor(1, mp_context=ctx)
                self._pool.submit(int)  # start the process
            except (OSError, RuntimeError) as exc:
                log.warning("dyad refresh worker could not start (%s): refreshing inline", exc)
                self.in_process = False

    def step(self, dyad: LiveDyad) -> None:
        """Apply a finished refresh, then hand the next due one to the worker (when several
        are due at once, the older ones are computed here first)."""
        if self._running is not None and self._running[1].done():
            job, fut = self._running
            self._running = None
            try:
                res, cpu = fut.result()
            except BrokenProcessPool as exc:  # the worker died: this job and the rest inline
                log.warning("dyad refresh worker failed (%s): refreshing inline", exc)
                self.close()
                self.in_process = False
                res, cpu = self._inline(dyad, job)
            except Exception:
                dyad.refresh_failed()
                raise
            self.worker_cpu_s.append(cpu)
            dyad.apply_refresh(res)
        if self._running is not None:
            return
        # the first refresh (the meter waits for its chance band; after the demo's pre-rolled
        # history that would be the worker's start-up time) and a backlog of several: inline
        while dyad.refresh_pending > 1 or (dyad.refresh_pending and not dyad.refreshes_applied):
            job = dyad.take_refresh_job()
            res, cpu = self._inline(dyad, job)
            self.worker_cpu_s.append(cpu)
            dyad.apply_refresh(res)
        job = dyad.take_refresh_job()
        if job is None:
            return
        if not self.in_process:
            res, cpu = self._inline(dyad, job)
            self.worker_cpu_s.append(cpu)
            dyad.apply_refresh(res)
            return
        self.start()
        if self._pool is None:
            res, cpu = self._inline(dyad, job)
            self.worker_cpu_s.append(cpu)
            dyad.apply_refresh(res)
            return
        try:
            fut = self._pool.submit(timed_refresh, job)
        except RuntimeError as exc:  # BrokenProcessPool included: the worker died idle
            log.warning("dyad refresh worker failed (%s): refreshing inline", exc)
            self.close()
            self.in_process = False
            res, cpu = self._inline(dyad, job)
            self.worker_cpu_s.append(cpu)
            dyad.apply_refresh(res)
            return
        self._running = (job, fut)

    def wait(self, dyad: LiveDyad, timeout: float = 60.0) -> None:
        """Block until every due refresh is applied (tests, the end of a benchmark)."""
        end = time.monotonic() + timeout
        while dyad.refresh_pending and time.monotonic() < end:
            if self._running is not None:
                self._running[1].result(max(end - time.monotonic(), 0.0))
            self.step(dyad)

    @staticmethod
    def _inline(dyad: LiveDyad, job: RefreshJob) -> tuple[RefreshResult, float]:
        try:
            return timed_refresh(job)
        except Exception:
            dyad.refresh_failed()
            raise

    def discard(self) -> None:
        """Forget a refresh still running (its dyad was replaced); the worker stays."""
        self._running = None

    def close(self) -> None:
        """Stop the worker (a refresh still running is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._running = None
