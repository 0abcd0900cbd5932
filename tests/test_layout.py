# SPDX-License-Identifier: Apache-2.0
"""The folders are the architecture: the instrumentation and the collector depend on the shared core
(`llmledger/_core/`) and never on each other, and the core on neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each folder, the name it is installed under, and the installed names its modules must never import.
SIDES = {
    "instrumentation": ("llmledger.instrumentation", ("llmledger.collector",)),
    "collector": ("llmledger.collector", ("llmledger.instrumentation",)),
    "llmledger/_core": ("llmledger._core", ("llmledger.collector", "llmledger.instrumentation")),
}


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module `path` imports, relative imports resolved against `package` (the file's own package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _modules(folder: str, installed: str) -> list[tuple[Path, str]]:
    modules = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT / folder).with_suffix("").parts
        package = ".".join([installed, *parts[:-1]])
        modules.append((path, package))
    return modules


@pytest.mark.parametrize("folder", SIDES)
def test_a_side_never_imports_the_other(folder):
    installed, forbidden = SIDES[folder]
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path, package in _modules(folder, installed)
        for line, name in _imports(path, package)
        if name.startswith(forbidden)
    ]
    assert crossings == []


@pytest.mark.parametrize("folder", ["instrumentation", "collector"])
def test_a_side_imports_its_own_modules_relatively(folder):
    """So that mypy can check each folder as its own root, without a map to its installed name."""
    installed, _ = SIDES[folder]
    absolute = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, _ in _modules(folder, installed)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom | ast.Import)
        and not getattr(node, "level", 0)
        and any(
            name.startswith(installed)
            for name in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
        )
    ]
    assert absolute == []


def test_the_layout_check_sees_a_crossing(tmp_path):
    """The rule above is not vacuous: a relative import that climbs into the other side is caught."""
    module = tmp_path / "m.py"
    module.write_text("from ...instrumentation._shared import invocation\nfrom ..records import X\n")
    names = [name for _, name in _imports(module, "llmledger.collector.extract")]
    assert names == ["llmledger.instrumentation._shared.invocation", "llmledger.collector.records.X"]
