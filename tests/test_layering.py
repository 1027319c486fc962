"""The dependency direction of the design card, enforced on the source text and at run time.

dsp/ is pure numpy/scipy; devices/ never imports Qt; only app/ may import PySide6/pyqtgraph.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "dsp": {"PySide6", "pyqtgraph", "pylsl", "pyxdf", "app", "devices", "heartpy", "matplotlib"},
    "devices": {"PySide6", "pyqtgraph", "app", "matplotlib"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_direction(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        hit = _imports(path) & FORBIDDEN[package]
        if hit:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(hit)}")
    assert not bad, "\n".join(bad)


def test_dsp_and_devices_load_without_qt() -> None:
    """Importing every dsp/ and devices/ module must not pull Qt in (also indirectly)."""
    mods = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for pkg in ("dsp", "devices")
        for p in sorted((ROOT / pkg).rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        "bad = [m for m in ('PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "dsp_bad = [m for m in ('pylsl', 'pyxdf') if m in sys.modules]\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]


def test_dsp_loads_without_lsl() -> None:
    mods = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in sorted((ROOT / "dsp").rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        "bad = [m for m in ('PySide6', 'pyqtgraph', 'pylsl', 'pyxdf') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
