"""Whether a window can be shown here (no Qt import: the CLI asks before loading Qt)."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """True when a window system (or Qt's offscreen/minimal platform) is available."""
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal")
        or sys.platform in ("win32", "darwin")
    )


def prepare_display(screenshot: bool) -> str:
    """'' when a window can be drawn, else the reason it cannot.

    Without a display, a screenshot is still possible: Qt's offscreen platform is selected
    (``QT_QPA_PLATFORM=offscreen``, before Qt is loaded).
    """
    if has_display():
        return ""
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return ""
    return "no display is available (use --screenshot FILE.png, or attune analyze for a report)"
