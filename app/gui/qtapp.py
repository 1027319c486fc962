"""The one QApplication and the window chores shared by the console and the review windows."""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.gui.compat import pin_none


def make_app() -> QApplication:
    """The QApplication (created once), with pyqtgraph options for speed."""
    pin_none()
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Attunement")
        app.setOrganizationName("Attunement")
    pg.setConfigOptions(antialias=False, foreground="k", useOpenGL=False)
    return app


def dispose(widget: QWidget) -> None:
    """Destroy a closed window's C++ objects now, while the QApplication still exists.

    Left to interpreter shutdown, pyqtgraph scenes can be torn down after their items'
    owners ("shared QObject was deleted directly") and crash the process on exit.
    """
    widget.close()
    QApplication.processEvents()
    if shiboken6.isValid(widget):
        shiboken6.delete(widget)


def save_screenshot(widget: QWidget, path: str | Path, size: tuple[int, int] = (1500, 950)) -> Path:
    """Show ``widget`` at ``size``, save it as PNG once the event loop has drawn it, close it.

    Runs the application's event loop until the shot is taken (as the console does), which
    also lets Qt tear the window down in order.
    """
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
