"""Test-session set-up: keep LSL on this machine and Qt offscreen.

Both variables must be set before pylsl / Qt are first imported, which is why this happens
at import time of the conftest, before any test module is collected.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["LSLAPICFG"] = str(ROOT / "resources" / "lsl_local.cfg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the user's settings or sessions: QSettings (XDG_CONFIG_HOME) and the
# default sessions folder (XDG_DATA_HOME) point into a throw-away folder.
import tempfile  # noqa: E402

_SANDBOX = tempfile.mkdtemp(prefix="attune-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_SANDBOX, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_SANDBOX, "data")
os.environ.pop("ATTUNE_SESSIONS_DIR", None)

import uuid  # noqa: E402

import pytest  # noqa: E402

SHARED_XDF = (ROOT / ".." / "shared" / "data" / "xdf").resolve()


@pytest.fixture
def uid() -> str:
    """A unique token for LSL source_ids and stream names, so parallel tests never meet."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def shared_xdf() -> Path:
    """Folder with the real third-party XDF recordings; skip when it is absent."""
    if not SHARED_XDF.is_dir():
        pytest.skip(f"real XDF recordings not found at {SHARED_XDF}")
    return SHARED_XDF
