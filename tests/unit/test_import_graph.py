"""The import graph of ``core``: no circles, and nothing below ``ui``/``cli`` imports them.

Every ``import``/``from ... import`` of a ``core`` module counts, wherever it sits (module top or
inside a function), so a function-local import cannot hide a circle. Run as a script to print
the counts (rooms, arrows, circles, function-local imports) for a change note:
``python -m tests.unit.test_import_graph``.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"


def _module_name(path: Path, root: Path = CORE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest known module that ``name`` starts with (``core.a.b.func`` -> ``core.a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = CORE) -> tuple[dict[str, set[str]], int]:
    """``{module: {imported core modules}}`` and the number of function-local core imports."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    local = 0
    for mod, path in files.items():
        tree = ast.parse(path.read_text())
        top = set(map(id, tree.body))
        typing_only = {id(n) for stmt in tree.body if _is_type_checking(stmt) for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # annotations only: not a run-time dependency
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            hits = {_resolve(n, modules) for n in names if n.startswith("core")} - {None, mod}
            if hits and id(node) not in top and not _guarded_top(tree, node):
                local += 1
            graph[mod] |= {h for h in hits if h is not None and not mod.startswith(h + ".") and h != "core"}
    return graph, local


def _is_type_checking(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)


def _guarded_top(tree: ast.Module, node: ast.AST) -> bool:
    """True for an import inside a top-level ``if TYPE_CHECKING:`` / ``try:`` block."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.If, ast.Try)) and any(n is node for n in ast.walk(stmt)):
            return True
    return False


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def room(module: str) -> str:
    """The package (or top module) of ``core`` a module lives in: ``core.ui.x`` -> ``ui``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"


def rooms(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, targets in graph.items():
        out.setdefault(room(a), set()).update(room(b) for b in targets if room(b) != room(a))
    return out


def test_no_import_circles() -> None:
    graph, _ = import_graph()
    assert circles(graph) == []


def test_no_circles_between_packages() -> None:
    graph, _ = import_graph()
    assert circles(rooms(graph)) == []


def test_lower_layers_do_not_import_ui_or_cli() -> None:
    graph, _ = import_graph()
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if room(b) in ("ui", "cli") and room(a) not in ("ui", "cli") and a != "core.__main__")
    assert upward == []


if __name__ == "__main__":
    g, n_local = import_graph()
    r = rooms(g)
    print(f"modules {len(g)}, rooms {len(r)}, room arrows {sum(len(v) for v in r.values())}, "
          f"module circles {len(circles(g))} {circles(g)}, room circles {len(circles(r))}, "
          f"function-local core imports {n_local}")
