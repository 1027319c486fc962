#!/usr/bin/env python3
"""Set up Attunement in a local virtual environment and run it.

Only the Python standard library is used here, so this works on a fresh machine with
nothing but ``python3`` (>= 3.11):

    python3 bootstrap.py demo     # install the app, start the simulated-dyad demo
    python3 bootstrap.py test     # install app + dev tools, run lint and the whole test suite

Any further arguments are passed on (to ``attune demo`` or to ``pytest``).
The environment lives in ``.venv`` next to this file (override with ``ATTUNE_VENV``);
it is re-installed only when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("ATTUNE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _run(cmd: list[str], **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], **kw)


def ensure_env(extra: str) -> None:
    """Create the venv and install the project (with ``extra``) if anything changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - bootstrap runs on any python3
        sys.exit(f"Attunement needs Python >= 3.11; this is {sys.version.split()[0]}.")
    stamp = VENV / f".attune-installed-{extra or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        try:
            venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
        except Exception as exc:  # Debian without python3-venv lacks ensurepip
            sys.exit(
                f"could not create a virtual environment in {VENV} ({exc}); "
                "on Debian/Ubuntu install it with: apt-get install python3-venv"
            )
    if _run([PY, "-m", "pip", "install", "-q", "--upgrade", "pip"]) != 0:
        sys.exit("pip could not upgrade itself; see the messages above.")
    target = f".[{extra}]" if extra else "."
    if _run([PY, "-m", "pip", "install", "-q", "-e", target], cwd=ROOT) != 0:
        sys.exit("installing Attunement failed; see the pip messages above.")
    if extra == "dev":
        # pyhrv's wheel ships a real NN-interval series the tests read as data; its own
        # dependency tree (biosppy, opencv, ...) is not needed for that, so skip it.
        if _run([PY, "-m", "pip", "install", "-q", "--no-deps", "pyhrv==0.4.1"]) != 0:
            sys.exit("installing the pyhrv test data failed; see the pip messages above.")
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "env"}:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "demo":
        ensure_env("")
        return _run([BIN / "attune", "demo", *rest])
    if cmd == "env":
        ensure_env("dev")
        return 0
    ensure_env("dev")
    env = dict(os.environ)
    env["LSLAPICFG"] = str(ROOT / "resources" / "lsl_local.cfg")
    env["QT_QPA_PLATFORM"] = "offscreen"
    for step in (
        [PY, "-m", "ruff", "check", "."],
        [PY, "-m", "ruff", "format", "--check", "."],
        # the import contracts in pyproject.toml (layers, Qt only in the windows, no cycles)
        [BIN / "lint-imports", "--no-cache"],
    ):
        if _run(step, cwd=ROOT, env=env) != 0:
            return 1
    # Three workers, one test file each at a time: most tests wait on real LSL streams, real
    # time and Qt timers rather than compute (the load average stays near 1-2 with three), so
    # a third worker on a 2-core machine cut the suite from 582 s to 398 s (2026-12-08).
    return _run(
        [PY, "-m", "pytest", "-q", "-rs", "-n", "3", "--dist", "loadfile", *rest], cwd=ROOT, env=env
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
