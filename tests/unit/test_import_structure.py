"""The package's imports, read from its source: no module imports itself back through others,
and ``metrics/`` neither draws (``viz/``) nor runs models (``engine/``)."""
import ast
from pathlib import Path

import vreid_lite

PACKAGE = Path(vreid_lite.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["vreid_lite", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, node: ast.AST, is_package: bool, known: set[str]) -> set[str]:
    """The kit's modules an import statement loads: a submodule named in ``from pkg import x``
    counts as itself, not as ``pkg``."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names} & known
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    found = set()
    for alias in node.names:
        sub = f"{prefix}.{alias.name}"
        found.add(sub if sub in known else prefix)
    return found & known


def import_graph() -> dict[str, set[str]]:
    """Each module → the kit's modules it imports, at its top or inside a function."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _imported(name, node, path.name == "__init__.py", set(modules))
        graph[name] = edges - {name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_reader_finds_a_circle_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_reader_sees_imports_inside_functions_and_relative_ones(tmp_path):
    tree = ast.parse("def f():\n    from .b import x\n")
    node = tree.body[0].body[0]
    assert _imported("p.a", node, False, {"p.a", "p.b"}) == {"p.b"}
    graph = import_graph()
    assert "vreid_lite.models.baseline" in graph["vreid_lite.models"]


def test_the_package_has_no_import_circle():
    assert circles(import_graph()) == []


def test_metrics_neither_draws_nor_runs_models():
    graph = import_graph()
    crossing = {module: sorted(d for d in deps if d.startswith(("vreid_lite.viz",
                                                                 "vreid_lite.engine")))
                for module, deps in graph.items() if module.startswith("vreid_lite.metrics")}
    assert {m: d for m, d in crossing.items() if d} == {}
