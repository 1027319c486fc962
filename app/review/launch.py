"""``attune review``: analyse (or load the cached analysis of) a recording and open the window.

The analysis of a file is cached (pickle, owner-only) under the user cache folder, keyed by
the file's path, size, modification time and the analysis options, so reopening a session is
fast; a changed file or other options are analysed afresh.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from app.analysis import AnalysisError, AnalysisOptions, SessionAnalysis, analyze_file

CACHE_VERSION = 1


def cache_dir() -> Path:
    """Folder of cached analyses (``$ATTUNE_CACHE_DIR`` or the user cache folder)."""
    env = os.environ.get("ATTUNE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attunement" / "analysis"


def _key(path: Path, options: AnalysisOptions) -> str:
    st = path.stat()
    text = f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{options!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


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
    cfile = cache_dir() / f"{_key(p, options)}.pkl"
    if use_cache and cfile.is_file():
        try:
            with open(cfile, "rb") as fh:
                a = pickle.load(fh)
            if isinstance(a, SessionAnalysis):
                return a, True
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    a = analyze_file(p, options, progress=progress)
    if use_cache:
        try:
            cfile.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = cfile.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(a, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cfile)
        except OSError:
            pass
    return a, False


def open_review(path: str | Path, options: AnalysisOptions = AnalysisOptions()):  # noqa: B008
    """Analyse ``path`` (or use the cache) and return a shown :class:`ReviewWindow`.

    For the console's "Open session"; raises :class:`AnalysisError` on bad input.
    """
    from app.review.window import ReviewWindow

    a, _ = load_analysis(path, options)
    w = ReviewWindow(a)
    w.resize(1400, 900)
    w.show()
    return w


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
