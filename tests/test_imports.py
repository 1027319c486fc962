"""Every import statement in the product code resolves, function-level ones included.

A function-level import of a deleted name fails only when that function runs (the library
window's double-click did); this walks the source of app/, devices/ and dsp/ instead.
Imports inside ``try: ... except ImportError`` (version fallbacks) are skipped.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "devices", "dsp")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _guarded(tree: ast.AST) -> set[int]:
    """ids of import nodes inside a try whose handlers catch ImportError."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            names = {
                n.id
                for h in node.handlers
                for n in ast.walk(h.type)
                if h.type is not None and isinstance(n, ast.Name)
            }
            if names & {"ImportError", "ModuleNotFoundError"}:
                out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _statements(path: Path, here: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(line, absolute module, imported names)`` of every import statement in ``path``,
    the module ``here``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _guarded(tree)
    pkg = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            out.append((node.lineno, base, tuple(a.name for a in node.names)))
    return out


def _problem(module: str, names: tuple[str, ...]) -> str | None:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return f"cannot import {module}: {exc}"
    for name in names:
        if name == "*" or hasattr(mod, name):
            continue
        if importlib.util.find_spec(f"{module}.{name}") is None:
            return f"{module} has no {name!r}"
    return None


FILES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_resolves(path: Path) -> None:
    bad = []
    for line, module, names in _statements(path, _module_name(path)):
        why = _problem(module, names)
        if why:
            bad.append(f"{path.relative_to(ROOT)}:{line}: {why}")
    assert not bad, "\n".join(bad)


def test_the_walk_finds_a_broken_function_level_import(tmp_path: Path) -> None:
    """The checker itself: a function-level import of a missing name is reported."""
    src = tmp_path / "m.py"
    src.write_text(
        textwrap.dedent("""
            import json

            def f():
                from json import no_such_function
                from . import x
                return no_such_function

            try:
                from enum import NoSuchEnum
            except ImportError:
                NoSuchEnum = None
        """),
        encoding="utf-8",
    )
    got = _statements(src, "app.review.m")
    assert (5, "json", ("no_such_function",)) in got  # inside a function
    assert (6, "app.review", ("x",)) in got  # relative, resolved against the package
    assert not [g for g in got if g[1] == "enum"]  # version fallback in try/except ImportError
    assert _problem("json", ("no_such_function",)) == "json has no 'no_such_function'"
    assert _problem("json", ("loads",)) is None
    assert _problem("app.review", ("launch",)) is None  # a submodule counts as a name


def test_contracts_see_function_level_cycles(tmp_path: Path) -> None:
    """import-linter (grimp) reads imports inside functions: a cycle made only of
    function-level imports breaks an acyclic_siblings contract like ours."""
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyc import b\n    return b\n")
    (pkg / "b.py").write_text("def g():\n    from cyc.a import f\n    return f\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = cyc\n\n"
        "[importlinter:contract:1]\nname = no cycles\ntype = acyclic_siblings\nancestors = cyc\n"
    )
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed next to this interpreter")
    run = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(tmp_path), "PATH": ""})  # fmt: skip
    assert run.returncode != 0, run.stdout
    assert "BROKEN" in run.stdout
    assert ".a -> .b" in run.stdout or ".b -> .a" in run.stdout
