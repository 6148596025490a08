"""Imports point one way: blueprints, then jobs, then tracktrace, then models (issue 11)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each package and the packages above it, which it must never import (not even in a function).
ABOVE = {
    "models": ("blueprints", "jobs", "tracktrace", "app"),
    "tracktrace": ("blueprints", "jobs", "app"),
    "jobs": ("blueprints",),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Return (line, module) for every import in a file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_a_package_never_imports_the_layers_above_it(package):
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in ABOVE[package]
    ]
    assert upward == []
