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


def run_review(args: argparse.Namespace, options: AnalysisOptions) -> int:
    """Entry of ``attune review`` (exit status)."""
    why = prepare_display(bool(args.screenshot))
    if why:
        print(f"attune: error: {why}", file=sys.stderr, flush=True)
        return 2
    app = make_app()
    t0 = time.perf_counter()

    def progress(frac: float, stage: str) -> None:
        print(f"\ranalysing {Path(args.file).name}: {100 * frac:3.0f}% {stage:<40}", end="",
              file=sys.stderr, flush=True)  # fmt: skip
        app.processEvents()

    try:
        a, cached = load_analysis(
            args.file, options, progress=None if args.screenshot else progress
        )
    except AnalysisError as exc:
        print(f"attune: error: {exc}", file=sys.stderr, flush=True)
        return 2
    if not cached and not args.screenshot:
        print(file=sys.stderr)
    for w in a.warnings:
        print(f"attune: warning: {w}", file=sys.stderr, flush=True)
    win = ReviewWindow(a)
    if args.screenshot:
        opened = time.perf_counter() - t0
        try:
            out = save_screenshot(win, args.screenshot)
        except OSError as exc:
            print(f"attune: error: {exc}", file=sys.stderr, flush=True)
            return 2
        print(f"screenshot saved to {out} (window ready in {opened:.2f} s"
              f"{', cached analysis' if cached else ''})")  # fmt: skip
        return 0
    win.resize(1400, 900)
    win.show()
    code = int(app.exec())
    dispose(win)
    return code
