"""The library's layout: small modules and no import cycles between them."""

import ast
from pathlib import Path

import bplit

ROOT = Path(bplit.__file__).parent
MODULES = {
    ".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
    for p in ROOT.rglob("*.py")
}


def test_every_library_module_is_at_most_500_lines():
    sizes = {name: len(p.read_text().splitlines()) for name, p in MODULES.items()}
    assert {n: s for n, s in sizes.items() if s > 500} == {}


def test_no_import_cycles():
    graph = {name: _module_imports(name, path) for name, path in MODULES.items()}
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


# ---------------------------------------------------------------- public names only
REPO = ROOT.parent
# Other libraries' underscore names that a test or a chapter needs on purpose: the
# printing hook SymPy documents for custom printers, and scikit-learn's optimizer
# (reset or read to compare trajectories with bplit's), matplotlib's arrow ends.
FOREIGN_UNDERSCORE = {"_print", "_optimizer", "_posA_posB"}
# package-internal helper modules (bplit/_validation.py, bplit/notation/_args.py, ...):
# importing the module is allowed, its functions are public names within the package
HELPER_MODULES = {p.stem for p in ROOT.rglob("_*.py") if not p.name.startswith("__")}


def _private(name: str) -> bool:
    """``_x`` but not ``__x__`` nor IPython's display hooks ``_repr_x_``."""
    return name.startswith("_") and not name.endswith("_") and name not in FOREIGN_UNDERSCORE


def _cross_module_underscores(source: str, where: str) -> list[str]:
    """Every ``obj._name`` on anything but ``self``, ``cls`` or a class of the same
    source, and every ``from x import _name``, as ``where:line: text``."""
    tree = ast.parse(source)
    own = {"self", "cls"} | {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in own):
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names if _private(a.name) and a.name not in HELPER_MODULES]
            found += [f"{where}:{node.lineno}: import {name}" for name in names]
    return found


def _code_cells(path: Path) -> str:
    import json

    cells = json.loads(path.read_text())["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            lines += ["# " + ln if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines()]
            lines.append("")
    return "\n".join(lines)


def test_no_module_reaches_into_another_modules_underscore_names():
    offenders = []
    files = [*sorted((REPO / "bplit").glob("*.py")), *sorted((REPO / "bplit" / "notation").glob("*.py"))]
    files += sorted((REPO / "tests").glob("*.py"))
    for path in files:
        offenders += _cross_module_underscores(path.read_text(), str(path.relative_to(REPO)))
    for path in sorted((REPO / "book").glob("*.ipynb")):
        offenders += _cross_module_underscores(_code_cells(path), str(path.relative_to(REPO)))
    assert len(files) > 30
    assert offenders == [], "underscore names used across modules:\n" + "\n".join(offenders)


def test_the_underscore_check_sees_what_it_should():
    source = (
        "class A:\n    def f(self):\n        return self._x, A._y, net._forward(X)\n\nfrom m import _z, y\n"
    )
    assert sorted(_cross_module_underscores(source, "m.py")) == ["m.py:3: net._forward", "m.py:5: import _z"]
    assert _cross_module_underscores("from . import _validation\nx.__dict__, x._repr_latex_()", "m.py") == []


# ---------------------------------------------------------------- layers in order
# Each module imports only modules of its own layer or of a layer below it. The core
# (layer 1) computes; the training loop and the file writer (layer 2) sit above it;
# bplit.Network and bplit.GraphNetwork put the three together (layer 3); the views, the
# reader and the package come after, and the optional extras use the package's names.
LAYERS = [
    (
        "foundations",
        {"_validation", "_deprecated", "results", "counting", "derive", "activations", "losses", "contract"},
    ),
    (
        "core",
        {
            "network_core",
            "graph_structure",
            "graph_vectorized",
            "graph_algorithms",
            "graph_core",
            "gradcheck",
        },
    ),
    ("training and files", {"training", "optim", "_npz_writer", "_npz_reader"}),
    ("networks", {"network", "graph", "graph_convert"}),
    (
        "views and reader",
        {
            "io",
            "notation",
            "notation._args",
            "notation.column",
            "notation.nielsen",
            "notation.outin",
            "notation.rowmajor",
        },
    ),
    ("package", {""}),
    ("optional extras", {"draw", "_draw_labels", "sklearn", "_sklearn_base"}),
]


def _layer_of(module: str) -> int:
    short = module.removeprefix("bplit").removeprefix(".")
    for i, (_, members) in enumerate(LAYERS):
        if short in members:
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: place it in LAYERS")


def _module_imports(name: str, path: Path) -> set[str]:
    """The bplit modules ``name`` imports; ``from . import x`` counts as the module ``x`` when
    there is one, else as the package (a name the package defines)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
                elif target in MODULES:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in MODULES}
    return found - {name}


def test_layers_in_order_no_import_runs_up():
    upward = []
    for name, path in MODULES.items():
        for dep in _module_imports(name, path):
            if name.startswith(dep + ".") and dep in ("bplit.notation",):
                continue  # a subpackage's modules import their own package
            if _layer_of(dep) > _layer_of(name):
                upward.append(
                    f"{name} ({LAYERS[_layer_of(name)][0]}) imports {dep} ({LAYERS[_layer_of(dep)][0]})"
                )
    assert upward == [], "imports that run up the layers:\n" + "\n".join(sorted(upward))


def test_the_core_imports_neither_the_training_loop_nor_the_file_writer():
    core = {f"bplit.{m}" for m in LAYERS[1][1]}
    for name in core:
        deps = _module_imports(name, MODULES[name])
        assert not deps & {"bplit.training", "bplit.optim", "bplit._npz_writer", "bplit.io"}, name
    # the check sees imports at all: the assembled network imports both
    assert {"bplit.training", "bplit._npz_writer"} <= _module_imports(
        "bplit.network", MODULES["bplit.network"]
    )


def test_the_layer_check_catches_an_upward_import(tmp_path):
    fake = tmp_path / "network_core.py"
    fake.write_text("from .training import Trainable\nfrom . import _validation as V\n")
    deps = _module_imports("bplit.network_core", fake)
    assert deps == {"bplit.training", "bplit._validation"}
    assert _layer_of("bplit.training") > _layer_of("bplit.network_core")
