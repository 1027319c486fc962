"""``attune review``: analyse (or load the cached analysis of) a recording and open the window.

The analysis of a file is cached (see :func:`app.analysis.cache_store`; ``attune analyze``
fills the same cache), so opening an analysed session is fast; a changed file or other
options are analysed afresh.
"""

from __future__ import annotations

import argparse
import os
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


def resolve_recording(path: str | Path) -> Path:
    """A session folder means its ``recording.xdf``."""
    p = Path(path)
    if p.is_dir() and (p / "recording.xdf").is_file():
        return p / "recording.xdf"
    return p


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


def dispose(widget: Any) -> None:
    """Destroy a closed window's C++ objects now, while the QApplication still exists.

    Left to interpreter shutdown, pyqtgraph scenes can be torn down after their items'
    owners ("shared QObject was deleted directly") and crash the process on exit.
    """
    import shiboken6
    from PySide6.QtWidgets import QApplication

    widget.close()
    QApplication.processEvents()
    if shiboken6.isValid(widget):
        shiboken6.delete(widget)


def save_screenshot(widget: Any, path: str | Path, size: tuple[int, int] = (1500, 950)) -> Path:
    """Show ``widget`` at ``size``, save it as PNG once the event loop has drawn it, close it.

    Runs the application's event loop until the shot is taken (as the console does), which
    also lets Qt tear the window down in order.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    out = Path(path)
    errors: list[str] = []

    def shoot() -> None:
        if not widget.grab().save(str(out)):
            errors.append(f"could not write {out}")
        widget.close()
        app.quit()

    widget.resize(*size)
    widget.show()
    QTimer.singleShot(300, shoot)
    app.exec()
    dispose(widget)
    if errors:
        raise OSError(errors[0])
    return out


def prepare_display(screenshot: bool) -> str:
    """Use the offscreen Qt platform for screenshots without a display; '' when a window can
    be shown, else the reason it cannot."""
    has_display = bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal")
        or sys.platform in ("win32", "darwin")
    )
    if has_display:
        return ""
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return ""
    return "no display is available (use --screenshot FILE.png, or attune analyze for a report)"


def run_review(args: argparse.Namespace, options: AnalysisOptions) -> int:
    """Entry of ``attune review`` (exit status)."""
    from app.gui.compat import pin_none

    why = prepare_display(bool(args.screenshot))
    if why:
        print(f"attune: error: {why}", file=sys.stderr, flush=True)
        return 2
    from app.gui.launch import make_app

    pin_none()
    app = make_app()
    from app.review.window import ReviewWindow

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
