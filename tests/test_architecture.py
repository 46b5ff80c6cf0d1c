"""The package's import graph: no cycle, and no import that runs upward through the layers.

Data flows one way (STYLE.md): data -> models -> losses -> sampling -> metrics -> report -> train ->
experiments -> bench -> cli. A module may import from its own layer's package or from any layer
below; nothing below reaches back up, and no two modules import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import counterfeit

PACKAGE = Path(counterfeit.__file__).parent

# Lowest first: a top-level module or subpackage may import only from those at lower layers.
LAYERS = [
    {"_version", "errors", "fileio", "hardware", "seeds", "presets", "private_ops", "provenance"},
    {"config", "home"},
    {"priors", "viz", "rundir", "augment"},
    {"data"},
    {"models"},
    {"losses"},
    {"sampling"},
    {"metrics"},
    {"report"},
    {"train"},
    {"experiments"},
    {"bench"},
    {"cli"},
    {"__main__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("counterfeit", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (at module level or inside functions)."""
    modules = module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("counterfeit"):
                for alias in node.names:  # `from pkg import submodule` imports the submodule
                    target = f"{node.module}.{alias.name}"
                    imported.add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name.startswith("counterfeit"))
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_top_level_module_has_a_layer() -> None:
    tops = {top(name) for name in module_names()} - {""}
    assert tops <= set(LAYER), f"add to LAYERS: {sorted(tops - set(LAYER))}"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{source} -> {target}" for source, targets in graph.items() if top(source)
                  for target in targets if top(target) != top(source) and LAYER[top(target)] >= LAYER[top(source)])


def cycles(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, str] = {}  # "active" while on the depth-first path, "done" after
    found: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "active"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "active":
                found.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_runs_upward() -> None:
    upward = upward_imports(import_graph())
    assert not upward, "imports that run upward or sideways:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_checks_catch_a_planted_cycle_and_upward_import() -> None:
    planted = {"counterfeit.data.a": {"counterfeit.train.b"}, "counterfeit.train.b": {"counterfeit.data.a"},
               "counterfeit.train.c": {"counterfeit.data.a"}}
    assert upward_imports(planted) == ["counterfeit.data.a -> counterfeit.train.b"]
    assert cycles(planted) == ["counterfeit.data.a -> counterfeit.train.b -> counterfeit.data.a"]
