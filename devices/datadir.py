"""The application's data folder on each platform (sessions, the clinic's remote folder).

As Qt's AppDataLocation for "Attunement", without Qt: Linux ``$XDG_DATA_HOME/attunement``
(default ``~/.local/share``), macOS ``~/Library/Application Support/Attunement``, Windows
``%APPDATA%/Attunement``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_data_dir(sub: str, env_var: str = "") -> Path:
    """``sub`` inside the platform data folder, or ``$env_var`` when that is set."""
    env = os.environ.get(env_var) if env_var else None
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / "Attunement" / sub
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Attunement" / sub
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "attunement" / sub
