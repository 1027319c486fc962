"""``attune review``: analyse (or load the cached analysis of) a recording and open the window.

The analysis of a file is cached (see :func:`app.analysis.cache_store`; ``attune analyze``
fills the same cache), so opening an analysed session is fast; a changed file or other
options are analysed afresh.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from app.analysis import (
    AnalysisError,
    AnalysisOptions,
    SessionAnalysis,
    analyze_file,
    cache_load,
    cache_store,
)
from app.display import prepare_display
from app.gui.qtapp import dispose, make_app, save_screenshot
from app.review.progressive import ProgressiveReview
from app.review.window import ReviewWindow
from app.sessionfolder import resolve_recording


def load_analysis(
    path: str | Path,
    options: AnalysisOptions = AnalysisOptions(),  # noqa: B008
    progress: Any = None,
    use_cache: bool = True,
) -> tuple[SessionAnalysis, bool]:
    """The analysis of ``path`` from the cache, or computed (and cached).

    Returns
    -------
    (analysis, from_cache)

    Raises
    ------
    AnalysisError
        As :func:`app.analysis.analyze_file`.
    """
    p = resolve_recording(path)
    if not p.is_file():
        raise AnalysisError(f"{p}: no such file")
    if use_cache:
        a = cache_load(p, options)
        if a is not None:
            return a, True
    a = analyze_file(p, options, progress=progress)
    if use_cache:
        cache_store(p, options, a)
    return a, False


def _screenshot(win: ReviewWindow, path: str, what: str) -> int:
    try:
        out = save_screenshot(win, path)
    except OSError as exc:
        print(f"attune: error: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"screenshot saved to {out} ({what})", flush=True)
    return 0


def _review_filling(
    app: Any, p: Path, review: ProgressiveReview | None, args: argparse.Namespace, t0: float,
    progress: Any,
) -> int:  # fmt: skip
    """An unanalysed session: the window on the per-person part as soon as it is known, the
    concordance filling in from the analysis process (:class:`ProgressiveReview`)."""
    if review is None:
        print(f"attune: error: {p}: no such file", file=sys.stderr, flush=True)
        return 2
    try:
        win = review.first_window(app, None if args.screenshot else progress)
    except RuntimeError as exc:
        print(f"attune: error: {exc}", file=sys.stderr, flush=True)
        return 2
    ready = time.perf_counter() - t0
    if not args.screenshot:
        print(file=sys.stderr)
    for w in win.a.warnings:
        print(f"attune: warning: {w}", file=sys.stderr, flush=True)
    timer = QTimer()
    timer.timeout.connect(review.poll)
    timer.start(100)
    if args.screenshot:  # the window while it fills in (kept open), then filled
        win.resize(1500, 950)
        win.show()
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.02)
        if not win.grab().save(str(args.screenshot)):
            print(f"attune: error: could not write {args.screenshot}", file=sys.stderr)
            review.stop()
            return 2
        state = "computing" if not review.finished else "done"
        print(f"screenshot saved to {args.screenshot} (window ready in {ready:.2f} s, "
              f"concordance {state})", flush=True)  # fmt: skip
        code = 0
        while not review.finished:
            app.processEvents()
            time.sleep(0.05)
        timer.stop()
        if review.error:
            print(f"attune: error: {review.error}", file=sys.stderr, flush=True)
            return 2
        shot = Path(args.screenshot)
        filled = shot.with_name(f"{shot.stem}-filled{shot.suffix}")
        return code or _screenshot(win, str(filled), f"filled in {time.perf_counter() - t0:.2f} s")
    win.resize(1400, 900)
    win.show()
    code = int(app.exec())
    timer.stop()
    review.stop()
    dispose(win)
    return code


def run_review(args: argparse.Namespace, options: AnalysisOptions) -> int:
    """Entry of ``attune review`` (exit status)."""
    why = prepare_display(bool(args.screenshot))
    if why:
        print(f"attune: error: {why}", file=sys.stderr, flush=True)
        return 2
    t0 = time.perf_counter()
    p = resolve_recording(args.file)
    a = cache_load(p, options) if p.is_file() else None
    # not analysed yet: its analysis starts now, forked before Qt has threads
    review = ProgressiveReview(p, options) if a is None and p.is_file() else None
    app = make_app()

    def progress(frac: float, stage: str) -> None:
        print(f"\ranalysing {Path(args.file).name}: {100 * frac:3.0f}% {stage:<40}", end="",
              file=sys.stderr, flush=True)  # fmt: skip
        app.processEvents()

    if a is None:
        return _review_filling(app, p, review, args, t0, progress)
    for w in a.warnings:
        print(f"attune: warning: {w}", file=sys.stderr, flush=True)
    win = ReviewWindow(a)
    if args.screenshot:
        return _screenshot(
            win,
            args.screenshot,
            f"window ready in {time.perf_counter() - t0:.2f} s, cached analysis",
        )
    win.resize(1400, 900)
    win.show()
    code = int(app.exec())
    dispose(win)
    return code
