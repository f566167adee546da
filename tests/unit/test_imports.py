"""The import graph of gslb: no cycles, and the query path never reaches the
control plane.

Read from the source with `ast`, so every import counts: those under
`if TYPE_CHECKING:` and inside functions too, since each is a dependency the
design has. Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py`
first, so it depends on those packages too (except on the importer's own
packages, which Python has already started).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "gslb"

# The query path: what answers a query, from wire bytes to the decision.
QUERY_PATH = (
    "gslb.dns",
    "gslb.decide",
    "gslb.algorithms",
    "gslb.snapshot",
    "gslb.model",
    "gslb.health",
    "gslb.proximity",
    "gslb.counters",
    "gslb.errors",
)
# What runs the server and talks to operators: never needed to answer.
CONTROL_PLANE = (
    "gslb.control",
    "gslb.server",
    "gslb.monitors.runner",
    "gslb.probes.scheduler",
    "gslb.statefile",
    "gslb.cli",
    "gslb.config",
)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(importer: str, path: Path, known: set[str]) -> set[str]:
    """The gslb modules `importer` names in any import statement."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(importer, path.name == "__init__.py", node)
            names.add(module)
            # `from gslb.config import schema` imports the module gslb.config.schema
            names.update(f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known)
    return {n for n in names if n in known}


def _with_packages(name: str, importer: str) -> set[str]:
    """`name` and the packages importing it runs first, but not the
    importer's own (already running)."""
    parts = name.split(".")
    own = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 2)}
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} - own


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        deps: set[str] = set()
        for imported in _imported(name, path, known):
            deps |= _with_packages(imported, name) & known
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
    return found


def reaches(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module `start` depends on, each with the module that imports it."""
    via: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in graph.get(v, ()):
            if w not in via and w != start:
                via[w] = v
                todo.append(w)
    return via


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _chain(via: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(via[chain[-1]])
    return " -> ".join(reversed(chain))


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_query_path_never_imports_the_control_plane() -> None:
    graph = import_graph()
    leaks = []
    for name in sorted(graph):
        if not _within(name, QUERY_PATH):
            continue
        via = reaches(graph, name)
        leaks += [_chain(via, name, dep) for dep in sorted(via) if _within(dep, CONTROL_PLANE)]
    assert leaks == []


def test_the_control_plane_depends_on_what_it_uses_not_on_the_server() -> None:
    """gslb.control types against gslb.control.served.Served, never gslb.server."""
    graph = import_graph()
    leaks = []
    for name in sorted(graph):
        if _within(name, ("gslb.control",)):
            via = reaches(graph, name)
            leaks += [
                _chain(via, name, dep) for dep in sorted(via) if _within(dep, ("gslb.server",))
            ]
    assert leaks == []


def test_the_graph_is_read() -> None:
    """The checks above see real edges (a parser that found none would pass them)."""
    graph = import_graph()
    assert "gslb.decide.plan" in graph["gslb.decide.pipeline"]
    assert "gslb.dns.answer" in reaches(graph, "gslb.server.app")
    assert "gslb.algorithms" in graph["gslb.algorithms.rtt"] or (
        "gslb.algorithms.base" in graph["gslb.algorithms.rtt"]
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a cycle through a TYPE_CHECKING import counts
        (
            {
                "a.py": "import typing\nif typing.TYPE_CHECKING:\n    from gslb.b import X\n",
                "b.py": "from gslb.a import Y\n",
            },
            [["gslb.a", "gslb.b"]],
        ),
        # through a package's __init__, which importing a submodule runs
        (
            {
                "p/__init__.py": "from gslb.p.impl import Z\n",
                "p/impl.py": "from gslb.q import W\n",
                "q.py": "from gslb.p.base import V\n",
                "p/base.py": "",
            },
            [["gslb.p", "gslb.p.impl", "gslb.q"]],
        ),
        # a package importing its own submodules is no cycle
        (
            {
                "p/__init__.py": "from gslb.p.impl import Z\n",
                "p/impl.py": "from gslb.p.base import V\n",
                "p/base.py": "",
            },
            [],
        ),
        # a function-level import counts; a relative one resolves
        (
            {"a.py": "def f():\n    from . import b\n", "b.py": "from .a import f\n"},
            [["gslb.a", "gslb.b"]],
        ),
    ],
)
def test_cycles_are_found(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    root = tmp_path / "gslb"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert cycles(import_graph(root)) == expected
