"""Architecture contracts: the data side never imports the screen."""

from __future__ import annotations

import ast
from pathlib import Path

import collectors

FORBIDDEN = ("textual", "rich", "tui")
ROOT = Path(collectors.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_collectors_never_import_ui() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        for name in imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert offenders == []


def test_only_entry_points_import_demo() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "demo" in path.relative_to(ROOT).parts:
            continue
        for name in imported_modules(path):
            if name.startswith("collectors.demo"):
                offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert offenders == []
