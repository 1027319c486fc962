"""liblsl's own log lines never reach the user's stderr: the shipped configurations set its
log level to fatal-only, and the CLI picks its configuration before pylsl loads."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.lsl import LOCAL_CFG_TEXT

ROOT = Path(__file__).resolve().parents[1]

# A stream that vanishes after it was listed: fetching its full info is refused, which liblsl
# reports as an ERR line on stderr unless its log level is below -2.
VANISHED = """
import time
from devices.lsl import full_info, make_outlet, resolve_streams
name = "Vanish{uid}"
outlet = make_outlet(name, "EDA", name, 32.0, ["eda"], "uS")
deadline = time.monotonic() + 15
listed = []
while not listed and time.monotonic() < deadline:
    listed = [i for d, i in resolve_streams(0.5) if d.name == name]
del outlet
try:
    full_info(listed[0], timeout=2.0)
    print("answered")  # the port was taken by another outlet meanwhile: no refusal to log
except Exception as exc:
    print(type(exc).__name__)
"""


def _level(text: str) -> int:
    cfg = configparser.ConfigParser()
    cfg.read_string(text)
    return cfg.getint("log", "level")


def _run(script: str, cfg: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LSLAPICFG=str(cfg), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_fallback_local_config_says_what_the_file_says() -> None:
    """``use_local_lsl`` writes LOCAL_CFG_TEXT when the resources folder is absent."""

    def settings(text: str) -> dict[str, dict[str, str]]:
        cfg = configparser.ConfigParser()
        cfg.read_string(text)
        return {s: dict(cfg[s]) for s in cfg.sections()}

    path = ROOT / "resources" / "lsl_local.cfg"
    assert settings(LOCAL_CFG_TEXT) == settings(path.read_text(encoding="utf-8"))


def test_every_shipped_config_is_fatal_only() -> None:
    texts = {
        "lsl_local.cfg": (ROOT / "resources" / "lsl_local.cfg").read_text(encoding="utf-8"),
        "lsl_quiet.cfg": (ROOT / "resources" / "lsl_quiet.cfg").read_text(encoding="utf-8"),
        "LOCAL_CFG_TEXT": LOCAL_CFG_TEXT,
    }
    assert {name: _level(text) for name, text in texts.items()} == dict.fromkeys(texts, -3)


@pytest.mark.lsl
def test_a_vanished_stream_prints_nothing_with_the_shipped_config(uid, tmp_path) -> None:
    script = VANISHED.format(uid=uid)
    # control: with liblsl's error level (-2) the same events do print an ERR line
    loud = tmp_path / "loud.cfg"
    shipped = (ROOT / "resources" / "lsl_local.cfg").read_text(encoding="utf-8")
    loud.write_text(shipped.replace("level = -3", "level = -2"), encoding="utf-8")
    out = _run(script, loud)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "LostError":
        assert "ERR|" in out.stderr
    out = _run(script, ROOT / "resources" / "lsl_local.cfg")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("LostError", "answered")
    assert out.stderr == ""


def test_the_cli_chooses_its_config_before_pylsl_loads() -> None:
    # without LSLAPICFG the CLI uses the quiet config; importing the CLI must not load pylsl
    script = (
        "import os, sys\n"
        "import app.cli\n"
        "print('pylsl' in sys.modules)\n"
        "from devices.lsl import use_quiet_lsl\n"
        "use_quiet_lsl()\n"
        "print(os.environ['LSLAPICFG'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    loaded, cfg = out.stdout.split()
    assert loaded == "False"
    assert Path(cfg) == ROOT / "resources" / "lsl_quiet.cfg"
    assert _level(Path(cfg).read_text(encoding="utf-8")) == -3
