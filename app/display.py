"""Whether a window can be shown here (no Qt import: the CLI asks before loading Qt)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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


# sonames the Qt xcb platform plugin loads -> the Debian/Ubuntu package that provides them
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def _xcb_plugin() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    for root in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_qt_libraries() -> list[str]:
    """Debian/Ubuntu packages Qt's xcb window plugin needs and this system lacks.

    Empty unless a window would be opened through xcb (Linux, ``DISPLAY`` set, no Wayland
    session, ``QT_QPA_PLATFORM`` unset or ``xcb``). The plugin's and its Qt library's
    dependencies are listed by ``ldd``; sonames not in :data:`XCB_PACKAGES` are named as they
    are. Without them Qt would abort with "Could not load the Qt platform plugin xcb".
    """
    if not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"):
        return []
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or os.environ.get("WAYLAND_DISPLAY"):
        return []
    plugin = _xcb_plugin()
    if plugin is None:
        return []
    targets = [plugin, *sorted((plugin.parents[2] / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    missing: list[str] = []
    for target in targets:
        try:
            out = subprocess.run(
                ["ldd", str(target)], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return []  # cannot tell: let Qt try
        for line in out.splitlines():
            name, _, rest = line.strip().partition(" => ")
            if "not found" in rest:
                pkg = XCB_PACKAGES.get(name, name)
                if pkg not in missing:
                    missing.append(pkg)
    return missing


def missing_qt_line(packages: list[str]) -> str:
    """The one line printed before falling back to the headless view."""
    return (
        "cannot open a window: Qt's xcb plugin needs system libraries that are missing "
        f"(sudo apt-get install {' '.join(packages)}); showing the headless live view instead"
    )
