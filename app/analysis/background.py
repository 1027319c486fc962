"""The analysis of one recording in a separate process, reporting as it goes (no Qt here).

A review window of an unanalysed session opens on the per-person part and fills in the
concordance when it is ready (:mod:`app.review.progressive`); the analysis runs in a process
started with :func:`start` (forked when the caller has no other thread yet, e.g. before Qt
starts; else a fresh interpreter), which sends through a pipe, in order, ``("progress",
fraction, stage)`` messages, ``("persons", SessionAnalysis)`` (no concordance yet), then
``("done", SessionAnalysis)`` (also stored in the analysis cache, as ``attune analyze`` does)
or ``("error", text)``. A pipe, not a queue: the process keeps a single thread, so that its
own second core can be forked too.
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
    """Analyse ``path`` and send the messages on ``queue`` (the sending end of a pipe; the
    process's target)."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # its own process group: stopping it stops its second-core worker too
    try:
        a = analyze_file(
            path, options,
            progress=lambda f, s: queue.send(("progress", float(f), str(s))),
            on_persons=lambda part: queue.send(("persons", part)),
            second_core=True,
        )  # fmt: skip
        cache_store(path, options, a)
        queue.send(("done", a))
    except AnalysisError as exc:
        queue.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the window, with its traceback
        traceback.print_exc()
        queue.send(("error", f"the analysis failed: {type(exc).__name__}: {exc}"))


@dataclass
class Background:
    """A running analysis process and the receiving end of its pipe (``queue``)."""

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
    ctx = multiprocessing.get_context("fork" if _single_thread() else "spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=run, args=(str(path), options, sender), name="attune-analysis")
    proc.start()
    sender.close()  # the child's end: reading then ends with EOFError when the child is gone
    return Background(proc, receiver)


def _single_thread() -> bool:
    import threading

    return threading.active_count() == 1 and hasattr(os, "fork")
