"""The apps form layers with arrows one way: sessions → judging → llm, corpora → llm,
everything → accounts → core. Every module's imports are read with ``ast`` (at the top
and inside functions), so a cycle cannot hide behind an import placed in a function."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "llm", "corpora", "judging", "sessions")


def _imported_modules(tree: ast.AST, module: str) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                names.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.append(node.module)
    return names


def app_import_graph() -> dict[str, dict[str, list[str]]]:
    """app → imported app → the modules that import it (``path: imported module``)."""
    graph: dict[str, dict[str, list[str]]] = {app: defaultdict(list) for app in APPS}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            module = ".".join(relative.with_suffix("").parts)
            for name in _imported_modules(ast.parse(path.read_text(encoding="utf-8")), module):
                target = name.split(".")[0]
                if target in APPS and target != app:
                    graph[app][target].append(f"{relative}: {name}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Every elementary path a → … → a (small graph: a depth-first search will do)."""
    found = []

    def visit(start: str, node: str, path: list[str]) -> None:
        for target in graph[node]:
            if target == start:
                found.append([*path, start])
            elif target not in path and target > start:  # report each cycle once, from its least app
                visit(start, target, [*path, target])

    for app in sorted(graph):
        visit(app, app, [app])
    return found


def test_reader_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from judging.models import Judgment\n")
    assert _imported_modules(tree, "sessions.x") == ["judging.models"]


def test_no_import_cycle_between_apps() -> None:
    graph = app_import_graph()
    cycles = _cycles(graph)
    if cycles:
        lines = []
        for cycle in cycles:
            lines.append(" → ".join(cycle))
            for a, b in zip(cycle, cycle[1:], strict=False):
                lines.extend(f"    {a} → {b} in {where}" for where in graph[a][b][:3])
        pytest.fail("Import cycles between apps:\n" + "\n".join(lines))


@pytest.mark.parametrize(
    ("app", "allowed"),
    [
        ("core", set()),
        ("accounts", {"core"}),
        ("llm", {"core"}),
        ("corpora", {"core", "accounts", "llm"}),
        ("judging", {"core", "accounts", "llm"}),
        ("sessions", {"core", "accounts", "llm", "corpora", "judging"}),
    ],
)
def test_each_app_imports_only_the_layers_below_it(app: str, allowed: set[str]) -> None:
    imported = app_import_graph()[app]
    wrong = {target: where for target, where in imported.items() if target not in allowed}
    assert not wrong, f"{app} imports {sorted(wrong)}: " + "; ".join(w for ws in wrong.values() for w in ws[:3])
