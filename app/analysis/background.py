"""The analysis of one recording in a separate process, reporting as it goes (no Qt here).

A review window of an unanalysed session opens on the per-person part and fills in the
concordance when it is ready (:mod:`app.review.progressive`); the analysis runs in a process
started with :func:`start` (a fresh interpreter: the window's process has Qt threads), which
puts on a queue, in order, ``("progress", fraction, stage)`` messages, ``("persons",
SessionAnalysis)`` (no concordance yet), then ``("done", SessionAnalysis)`` (also stored in
the analysis cache, as ``attune analyze`` does) or ``("error", text)``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from app.analysis.cache import cache_store
from app.analysis.inputs import AnalysisError, AnalysisOptions
from app.analysis.pipeline import analyze_file

__all__ = ["Background", "run", "start"]


def run(path: str, options: AnalysisOptions, queue: Any) -> None:
    """Analyse ``path`` and put the messages on ``queue`` (the process's target)."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # its own process group: stopping it stops its second-core worker too
    try:
        a = analyze_file(
            path, options,
            progress=lambda f, s: queue.put(("progress", float(f), str(s))),
            on_persons=lambda part: queue.put(("persons", part)),
            second_core=True,
        )  # fmt: skip
        cache_store(path, options, a)
        queue.put(("done", a))
    except AnalysisError as exc:
        queue.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the window, with its traceback
        traceback.print_exc()
        queue.put(("error", f"the analysis failed: {type(exc).__name__}: {exc}"))


@dataclass
class Background:
    """A running analysis process and its message queue."""

    process: BaseProcess
    queue: Any

    def stop(self) -> None:
        """End the process (a window closed before the analysis finished)."""
        if self.process.is_alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # with its second-core worker
            except (AttributeError, OSError):
                self.process.terminate()
        self.process.join(2.0)


def start(path: str | Path, options: AnalysisOptions) -> Background:
    """Start :func:`run` in a new process (not daemonic: it may use a second core itself)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=run, args=(str(path), options, queue), name="attune-analysis")
    proc.start()
    return Background(proc, queue)
