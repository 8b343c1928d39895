"""No import cycle among logsim's modules, counting the imports inside functions.

A cycle hidden in a function-level import still ties the modules into one: neither can
be read, tested or replaced without the other, and the import order decides whether a
name exists yet. The graph is read from the source (``ast``), so nothing is imported.
An import of a package's submodule counts as an edge to that submodule only (Python
runs the parents' ``__init__`` first, which is not a dependency of the importer's own).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "logsim"
#: Modules whose cycles the pipeline rewrite (plan, chunk, store) removes.
PIPELINE = {"logsim.sweep", "logsim.planner", "logsim.chunk", "logsim.store",
            "logsim.distributed", "logsim.analysis"}


def _module_files() -> dict[str, Path]:
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


def import_graph() -> dict[str, dict[str, list[str]]]:
    """``{importer: {imported: ["file:line", ...]}}`` over logsim's modules."""
    files = _module_files()

    def target(name: str) -> str | None:
        """The logsim module an import of ``name`` runs (the longest existing prefix)."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in files:
                return candidate
        return None

    graph: dict[str, dict[str, list[str]]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges = graph.setdefault(module, {})
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from a import b" runs a.b when b is a submodule, else a
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                found = target(name) if name.split(".")[0] == "logsim" else None
                if found is not None and found != module:
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    if where not in edges.setdefault(found, []):
                        edges[found].append(where)
    return graph


def cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
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
            visit(v)
    return sorted(found)


def _shortest_cycle(graph, component) -> list[str]:
    """A shortest cycle through the component's first module, as a path of modules."""
    start = component[0]
    inside = set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    return [*paths[v], start]
                if w in inside and w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a cycle")  # pragma: no cover


def describe(graph, components) -> str:
    """Each cycle: its modules, a shortest loop, and every import inside it with its line."""
    lines = []
    for component in components:
        loop = " -> ".join(_shortest_cycle(graph, component))
        lines.append(f"cycle of {len(component)} modules: {loop}")
        for v in component:
            for w, where in sorted(graph[v].items()):
                if w in component:
                    lines.append(f"    {v} imports {w} at {', '.join(where)}")
    return "\n".join(lines)


def test_the_graph_sees_imports_inside_functions():
    """A function-level import is an edge (the reader is not fooled by where it sits)."""
    graph = import_graph()
    # logsim.cli imports logsim.sweep only inside _run
    assert "logsim.sweep" in graph["logsim.cli"]
    assert "logsim.bench.cli" in graph["logsim.bench"]


def test_cycles_are_found_with_their_imports():
    graph = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:2"]}, "c": {"a": ["c.py:3"]},
             "d": {"a": ["d.py:4"]}}
    assert cycles(graph) == [["a", "b", "c"]]
    text = describe(graph, cycles(graph))
    assert "a -> b -> c -> a" in text and "c imports a at c.py:3" in text
    assert cycles({"a": {"b": []}, "b": {}}) == []


def test_no_import_cycle_outside_the_pipeline():
    graph = import_graph()
    found = [c for c in cycles(graph) if not PIPELINE & set(c)]
    assert not found, "\n" + describe(graph, found)


def test_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "\n" + describe(graph, found)
