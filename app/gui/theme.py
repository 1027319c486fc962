"""Role palette, themes and persisted settings of the console.

Colours follow Okabe-Ito (colour-blind safe) and are the same in every widget: patient blue,
clinician orange, the dyad (concordance) bluish green, markers vermilion/purple/grey.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.palette import ROLE_COLOURS  # noqa: F401  (re-exported: one palette for every view)
from devices.health import HealthState

ROLE_NAMES = {"patient": "Patient", "clinician": "Clinician"}
DYAD_COLOUR = "#009E73"
MARKER_COLOURS = {"T": "#D55E00", "L": "#56B4E9", "M": "#CC79A7"}
STATE_COLOURS = {
    HealthState.CONNECTED: "#009E73",
    HealthState.STALE: "#E69F00",
    HealthState.LOST: "#D55E00",
    HealthState.RECONNECTING: "#56B4E9",
    HealthState.WAITING: "#999999",
    HealthState.UNUSABLE: "#D55E00",
}
STATE_SYMBOLS = {
    HealthState.CONNECTED: "●",
    HealthState.STALE: "◐",
    HealthState.LOST: "✕",
    HealthState.RECONNECTING: "↻",
    HealthState.WAITING: "○",
    HealthState.UNUSABLE: "⚠",
}


@dataclass(frozen=True)
class Theme:
    """Colours of one theme."""

    name: str
    background: str
    panel: str
    text: str
    muted: str
    grid: str
    band: str


THEMES = {
    "light": Theme("light", "#FFFFFF", "#F3F3F3", "#1A1A1A", "#9A9A9A", "#DDDDDD", "#D0D0D0"),
    "dark": Theme("dark", "#15181C", "#1F2329", "#EDEDED", "#6B6F75", "#33383F", "#3D434B"),
}


@dataclass(frozen=True)
class ConsoleSettings:
    """Settings persisted with QSettings.

    Attributes
    ----------
    trace_window_s : float
        Visible trace window (10-120 s).
    theme : str
        ``light`` or ``dark``.
    last_map_file : str
        The TOML stream map used last ('' for none).
    geometry : bytes
        Saved main-window geometry (empty for default).
    session_dir : str
        Folder receiving session recordings ('' for ~/Attunement/sessions).
    """

    trace_window_s: float = 30.0
    theme: str = "light"
    last_map_file: str = ""
    geometry: bytes = b""
    session_dir: str = ""

    def with_window(self, seconds: float) -> ConsoleSettings:
        return replace(self, trace_window_s=clamp_window(seconds))


def clamp_window(seconds: float) -> float:
    """Trace window limited to 10-120 s."""
    return float(min(max(seconds, 10.0), 120.0))


def qsettings() -> QSettings:
    return QSettings("Attunement", "Attunement console")


def load_settings(store: QSettings | None = None) -> ConsoleSettings:
    """Read the persisted settings (defaults for anything missing or malformed)."""
    s = store or qsettings()
    try:
        window = clamp_window(float(s.value("trace_window_s", 30.0)))
    except (TypeError, ValueError):
        window = 30.0
    theme = str(s.value("theme", "light"))
    geometry = s.value("geometry", QByteArray())
    return ConsoleSettings(
        trace_window_s=window,
        theme=theme if theme in THEMES else "light",
        last_map_file=str(s.value("last_map_file", "") or ""),
        geometry=bytes(geometry.data()) if isinstance(geometry, QByteArray) else b"",
        session_dir=str(s.value("session_dir", "") or ""),
    )


def save_settings(settings: ConsoleSettings, store: QSettings | None = None) -> None:
    """Persist ``settings``."""
    s = store or qsettings()
    s.setValue("trace_window_s", settings.trace_window_s)
    s.setValue("theme", settings.theme)
    s.setValue("last_map_file", settings.last_map_file)
    s.setValue("geometry", QByteArray(settings.geometry))
    s.setValue("session_dir", settings.session_dir)
    s.sync()


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Set the application palette and base font for ``theme``."""
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(theme.background))
    pal.setColor(QPalette.ColorRole.Base, QColor(theme.panel))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(theme.background))
    pal.setColor(QPalette.ColorRole.Button, QColor(theme.panel))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.ToolTipText,
    ):
        pal.setColor(role, QColor(theme.text))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(theme.panel))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.muted))
    app.setPalette(pal)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.5))
    app.setFont(font)
