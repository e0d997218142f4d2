"""The library's layout: small modules and no import cycles between them."""

import ast
from pathlib import Path

import bplit

ROOT = Path(bplit.__file__).parent
MODULES = {
    ".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
    for p in ROOT.rglob("*.py")
}


def _imports(name: str, path: Path) -> set[str]:
    """The bplit modules that ``name`` imports (at run time or for type checking alike)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            if node.level and not node.module:
                target = base
            for alias in node.names:  # "from . import x" imports the module x
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
            if target in MODULES:
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
    return found - {name}


def test_every_library_module_is_at_most_500_lines():
    sizes = {name: len(p.read_text().splitlines()) for name, p in MODULES.items()}
    assert {n: s for n, s in sizes.items() if s > 500} == {}


def test_no_import_cycles():
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    # a package imports its modules to re-export them; the cycles that matter are between modules
    graph = {n: {m for m in deps if not n.startswith(m + ".") and n != m} for n, deps in graph.items()}
    graph = {n: deps - {p for p in deps if MODULES[p].name == "__init__.py"} for n, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(n, path):
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append(path[path.index(m) :] + [m])
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert cycles == []
    assert "bplit.graph_structure" in graph["bplit.graph_vectorized"]  # the test sees imports at all
