"""Modules stay small and blocks readable: ≤ 500 lines, radon grade C or better (issue 11)."""

from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "blueprints", "jobs", "tracktrace")
MAX_LINES = 500
# Radon's grade C ends at cyclomatic complexity 20; D and worse are hard to hold in one's head.
MAX_COMPLEXITY = 20


def sources():
    """Return every Python file of the application packages."""
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_is_over_500_lines():
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sources()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


def test_no_block_is_above_grade_c():
    tangled = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.name} "
        f"(complexity {block.complexity}, grade {cc_rank(block.complexity)})"
        for path in sources()
        for block in cc_visit(path.read_text())  # functions, classes and methods
        if block.complexity > MAX_COMPLEXITY
    ]
    assert tangled == []


@pytest.mark.parametrize("complexity, grade", [(20, "C"), (21, "D")])
def test_the_limit_is_radon_grade_c(complexity, grade):
    assert cc_rank(complexity) == grade
