"""The first review of an unanalysed session: a usable window at once, the rest filling in.

The analysis runs in another process (:mod:`app.analysis.background`). The window opens on
the per-person part (traces, HRV / EDA tables, markers) as soon as it is known; its header
says that the concordance and its chance tests are being computed, with the stage and a
progress bar in the status bar, and the window fills in the concordance plot, the tested
statements and heartpy when they arrive. An error of the analysis is shown in the header and
the status bar (or, before the window exists, returned to the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QProgressBar

from app.analysis import AnalysisOptions, SessionAnalysis
from app.analysis.background import Background, start
from app.review.window import ReviewWindow

__all__ = ["ProgressiveReview"]


class ProgressiveReview:
    """Analyse ``path`` in the background and keep a review window up to date.

    Call :meth:`first_window` (returns the window, or raises ``RuntimeError`` with the
    analysis error), then :meth:`poll` from the Qt loop (a QTimer) until :attr:`finished`.
    """

    def __init__(self, path: str | Path, options: AnalysisOptions) -> None:
        self.bg: Background = start(path, options)  # before Qt starts, this is a fork
        self.window: ReviewWindow | None = None
        self.full: SessionAnalysis | None = None
        self.error = ""
        self.stage = (0.0, "starting")
        self._bar: QProgressBar | None = None

    @property
    def finished(self) -> bool:
        return self.full is not None or bool(self.error)

    def _messages(self) -> list[tuple]:
        out = []
        conn = self.bg.queue
        try:
            while conn.poll():
                out.append(conn.recv())
        except (EOFError, OSError):  # the process is gone
            if not self.finished and not any(m[0] in ("done", "error") for m in out):
                self.bg.process.join(1.0)
                code = self.bg.process.exitcode
                out.append(("error", f"the analysis process ended unexpectedly (exit code {code})"))
        return out

    def first_window(
        self, app: QApplication, progress: Callable[[float, str], None] | None = None
    ) -> ReviewWindow:
        """Wait (keeping Qt responsive) for the per-person part and open the window on it."""
        part = None
        while part is None:
            for msg in self._messages():
                if msg[0] == "progress":
                    self.stage = (msg[1], msg[2])
                    if progress is not None:
                        progress(msg[1], msg[2])
                elif msg[0] == "persons":
                    part = msg[1]
                elif msg[0] == "done":
                    part = self.full = msg[1]
                elif msg[0] == "error":
                    self.error = msg[1]
                    self.bg.stop()
                    raise RuntimeError(self.error)
            app.processEvents()
            if part is None:
                self.bg.queue.poll(0.02)
        if self.full is not None:
            self.window = ReviewWindow(self.full)
            return self.window
        self.window = ReviewWindow(part, pending=self._pending_text())
        self._bar = QProgressBar()
        self._bar.setRange(0, 100)
        self._bar.setMaximumWidth(220)
        self._bar.setFormat("concordance %p%")
        self._bar.setValue(int(100 * self.stage[0]))
        self.window.statusBar().addPermanentWidget(self._bar)
        self.window.destroyed.connect(lambda *_: self.bg.stop())
        return self.window

    def _pending_text(self) -> str:
        frac, stage = self.stage
        return (
            f"<i>being computed ({100 * frac:.0f} %: {stage}); the plots and tables below fill "
            "in when it is done</i>"
        )

    def poll(self) -> None:
        """Take the analysis's news: progress, then the whole analysis or its error."""
        if self.window is None or self.finished:
            return
        for msg in self._messages():
            if msg[0] == "progress":
                self.stage = (msg[1], msg[2])
                self.window.set_pending(self._pending_text())
                if self._bar is not None:
                    self._bar.setValue(int(100 * msg[1]))
            elif msg[0] == "done":
                self.full = msg[1]
                self._drop_bar()
                self.window.fill(self.full)
            elif msg[0] == "error":
                self.error = msg[1]
                self._drop_bar()
                self.window.set_pending(
                    f'<span style="color:#b00">not computed: {self.error}</span>'
                )
                self.window.statusBar().showMessage(f"analysis error: {self.error}")

    def _drop_bar(self) -> None:
        if self._bar is not None and self.window is not None:
            self.window.statusBar().removeWidget(self._bar)
            self._bar.deleteLater()
            self._bar = None

    def stop(self) -> None:
        """End the analysis process if it still runs."""
        self.bg.stop()
