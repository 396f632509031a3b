"""The import graph of a package, read from its source with ``ast`` (nothing is imported).

The graph has an edge for every module named by an ``import`` / ``from ... import`` statement of
every module of the package: absolute and relative imports, at module level and inside
functions alike (``Edge.deferred``). An import of ``a.b.c`` (or ``from a.b import c`` where
``c`` is a module) is an edge to ``a.b.c`` only, not to the packages ``a`` and ``a.b`` that
Python initialises first: a package whose ``__init__`` re-exports its own modules is the
ordinary layout, not a cycle. Used by the import-rule tests of ``workers`` and of the platform.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edge:
    source: str  # the importing module
    target: str  # the imported module (for external ones: the dotted name as written)
    line: int
    deferred: bool  # inside a function body: runs on call, not on import


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: Iterable[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = set(known)
        self.depth = 0
        self.edges: list[Edge] = []

    def _add(self, target: str, node: ast.stmt) -> None:
        self.edges.append(Edge(self.module, target, node.lineno, self.depth > 0))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            keep = len(parts) - (node.level - 1)
            if keep < 1:
                raise AssertionError(f"{self.module}:{node.lineno}: relative import above the root")
            base = ".".join(parts[:keep] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            name = f"{base}.{alias.name}"
            self._add(name if name in self.known else base, node)


def import_edges(root: Path, package: str, files: dict[str, Path] | None = None) -> list[Edge]:
    files = files if files is not None else module_files(root, package)
    edges: list[Edge] = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _Collector(module, path.name == "__init__.py", files)
        collector.visit(tree)
        edges.extend(collector.edges)
    return edges


def resolve(target: str, known: set[str]) -> str | None:
    """The package module an import refers to (the longest known prefix), or None."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in known:
            return name
    return None


def import_cycles(edges: list[Edge], known: set[str], *, deferred: bool = False) -> list[list[str]]:
    """Strongly connected components (more than one module, or a module importing itself) of
    the import graph among ``known`` modules (Tarjan's algorithm): module-level imports only,
    or all of them with ``deferred=True``."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for e in edges:
        target = resolve(e.target, known)
        if (deferred or not e.deferred) and target is not None:
            graph[e.source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def describe(cycle: list[str], edges: list[Edge], known: set[str]) -> str:
    members = set(cycle)
    lines = [
        f"  {e.source}:{e.line} imports {resolve(e.target, known)}"
        + (" (inside a function)" if e.deferred else "")
        for e in edges
        if e.source in members and resolve(e.target, known) in members
    ]
    # once per statement: ``from m import a, b`` gives an edge per name
    return " <-> ".join(cycle) + "\n" + "\n".join(dict.fromkeys(lines))
