"""The shape of the package: which way imports point, and how large a module may grow.

Every ``import`` and ``from … import`` in ``src/deltaprop`` counts: at module level,
inside a function (a deferred import is still a dependency) and under
``if TYPE_CHECKING:`` (a type that names a module above is a dependency on it too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "deltaprop"

MATH_CORE = ("activations", "costs", "backprop", "network")
"""The seed's mathematics: it must not reach up into what uses it."""

ABOVE_THE_MATH = (
    "training",
    "loop",
    "objective",
    "compiled",
    "fused",
    "gradcheck",
    "history",
    "runstate",
    "distributed",
    "progress",
    "io",
    "cli",
    "app",
    "explain",
    "sklearn",
    "autoencoder",
    "data",
    "playground",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The deltaprop modules that the file at ``path`` imports, at any depth."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> None:
        # "a.b.c" may be a module or a name inside module "a.b".
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if stem.startswith("deltaprop"):
                for alias in node.names:
                    resolve(f"{stem}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the deltaprop modules it imports (packages count as their __init__)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_the_graph_is_read() -> None:
    # A parser that found nothing would make the tests below pass vacuously.
    graph = import_graph()
    assert "deltaprop.backprop" in graph
    assert "deltaprop.activations" in graph["deltaprop.backprop"]
    assert "deltaprop.costs" in graph["deltaprop.backprop"]
    assert "deltaprop.training" in graph["deltaprop.cli"] | _reaches(graph, "deltaprop.cli")


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


@pytest.mark.parametrize("core", MATH_CORE)
def test_the_math_core_imports_nothing_above_it(core: str) -> None:
    graph = import_graph()
    reached = _reaches(graph, f"deltaprop.{core}")
    above = {
        m
        for m in reached
        for top in ABOVE_THE_MATH
        if m == f"deltaprop.{top}" or m.startswith(f"deltaprop.{top}.")
    }
    assert above == set(), f"deltaprop.{core} reaches {sorted(above)}"


def test_no_module_over_500_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_the_architecture_page_names_functions_that_exist() -> None:
    # docs/architecture.md's table says where each seed equation lives, as `file.py:name`.
    import importlib
    import re

    page = (SRC.parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    places = re.findall(r"`([\w/]+)\.py:([\w.]+)`", page)
    assert len(places) >= 10
    for path, name in places:
        module = importlib.import_module("deltaprop." + path.replace("/", "."))
        target: object = module
        for part in name.split("."):
            assert hasattr(target, part), f"{path}.py has no {name}"
            target = getattr(target, part)
