"""No import cycles in the package: every import statement (module level or inside a function) of
every module under tsgan/ is an edge of one graph, which must have no cycle.

Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, so an edge to a module
is also an edge to each package above it (except the importing module's own packages, which are
initialised before it): a cycle through a package ``__init__`` counts.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsgan"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` (module ``name``) imports, with the packages above them."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            targets.add(base_name)
            targets.update(f"{base_name}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        parts = target.split(".")
        edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    # a module's own packages are initialised before it runs: importing them closes no cycle
    return {e for e in edges if e in known and e != name and not name.startswith(e + ".")}


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    return {name: imported_modules(path, name, set(paths)) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50 and "tsgan.methods.tsgan" in graph
    assert "tsgan.losses" in graph["tsgan.methods.tsgan"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_losses_do_not_import_the_networks():
    assert not any(m.startswith("tsgan.models") for m in import_graph(PACKAGE)["tsgan.losses"])


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "pkg"


def test_a_function_level_import_cycle_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import f\n",
            "pkg/b.py": "def f():\n    from . import a\n",
        },
    )
    assert find_cycle(import_graph(root)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/low/__init__.py": "from .report import r\n",
            "pkg/low/report.py": "from ..data.synth import s\n",
            "pkg/low/metrics.py": "",
            "pkg/data/__init__.py": "",
            "pkg/data/synth.py": "from .base import b\n",
            "pkg/data/base.py": "from ..low.metrics import m\n",
        },
    )
    cycle = find_cycle(import_graph(root))
    assert cycle is not None and "pkg.low" in cycle and "pkg.data.base" in cycle


@pytest.mark.parametrize("text", ["import pkg.b\n", "from pkg import b\n", "from . import b\n"])
def test_every_import_form_is_an_edge(tmp_path, text):
    root = _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": text, "pkg/b.py": "import pkg.a\n"})
    assert find_cycle(import_graph(root)) is not None
