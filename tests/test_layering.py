"""The package's floors: every import (module level or inside a function) goes down, never up.

Each module of ``tsgan/`` belongs to a unit (its first name under ``tsgan``: ``engine``, ``data``,
``figures``...) and each unit to a floor (:data:`FLOORS`). An import must reach a strictly lower
floor, or stay inside its own unit; units of one floor do not import each other (``data``,
``losses`` and ``models`` know nothing of one another; ``engine`` and ``eval`` neither). On top,
:data:`FORBIDDEN` names the directions that matter most, so a failure says which rule broke, and
a few that go down but are not the importer's business (the plots load nothing).

The graph is ``tests/test_imports.py``'s (``ast``, function-level imports included, an import of
``a.b.c`` is also one of the packages ``a`` and ``a.b``), so a deferred import cannot hide a climb.
A new unit must be given a floor here before it can be imported at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_imports import PACKAGE, find_cycle, import_graph

FLOORS: dict[str, int] = {
    # 0: utilities every floor may use (no tsgan import beyond each other)
    "tsgan": 0,  # the package __init__ (version only)
    "config": 0,
    "paths": 0,
    "progress": 0,
    "rng": 0,
    "stats": 0,
    "units": 0,
    "threads": 0,
    "imaging": 0,
    "freeze": 0,
    "loss_names": 0,
    "notebook_setup": 0,
    # 1: records and readers, the losses, the networks: three independent units
    "data": 1,
    "losses": 1,
    "models": 1,
    # 2: the training loop and its infrastructure (knows no method); evaluation (takes any model)
    "engine": 2,
    "eval": 2,
    # 3: the step models (Algorithm 1...); plots; the exported network
    "methods": 3,
    "figures": 3,
    "deploy": 3,
    # 4: per-epoch probes, a callback the orchestration attaches to the trainer
    "probes": 4,
    # 4: what the figures draw, loaded (dataset images, run folders, ranked galleries)
    "figure_inputs": 4,
    # 5: the application's orchestration: cached runs, teacher then TS-GAN, loss figures
    "training": 5,
    # 6: experiments built from trained runs; the course exercises' checks
    "experiments": 6,
    "checks": 6,
    # 7: the course's notebook builds and the grader, which runs the checks on submissions
    "assignments": 7,
    # 8: the commands; 9: their dispatcher (which imports the chosen one at run time)
    "cli": 8,
    "__main__": 9,
}

# (importer unit, imported unit, why not). Most are also climbs or same-floor imports under FLOORS,
# named so that the failure says which promise broke; the figures' ones go down a floor and are
# still not allowed: plots take numbers and load nothing (tsgan.figure_inputs loads).
FORBIDDEN = (
    ("engine", "methods", "the loop drives any StepModel and knows no method"),
    ("engine", "figures", "the loop draws nothing: the loss figure is the orchestration's"),
    ("engine", "experiments", "the loop knows no experiment"),
    ("engine", "training", "the orchestration sits above the engine"),
    ("engine", "probes", "probes are a callback handed to the trainer"),
    ("eval", "engine", "evaluation takes any model, trained by anything"),
    ("eval", "methods", "evaluation takes any model, trained by anything"),
    ("figures", "experiments", "plots take numbers; the experiments produce them"),
    ("figures", "training", "plots take numbers; loading runs is not theirs"),
    ("figures", "figure_inputs", "plots take numbers; loading them is figure_inputs' job"),
    ("figures", "engine", "plots take numbers; reading run folders is figure_inputs' job"),
    ("figures", "data", "plots take numbers; loading images is figure_inputs' job"),
    ("losses", "models", "a loss takes tensors, not networks"),
    ("models", "losses", "networks do not know what they are trained with"),
    ("data", "eval", "data knows no metrics"),
    ("data", "models", "data knows no networks"),
    ("data", "engine", "data knows no loop"),
    ("data", "methods", "data knows no step model"),
)


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def violations(graph: dict[str, set[str]], floors: dict[str, int] = FLOORS) -> list[str]:
    """Every import edge that climbs a floor, crosses units of one floor or is FORBIDDEN."""
    forbidden = {(a, b): why for a, b, why in FORBIDDEN}
    found = []
    for importer in sorted(graph):
        for imported in sorted(graph[importer]):
            a, b = unit(importer), unit(imported)
            if a == b:
                continue
            edge = f"{importer} -> {imported}"
            if a not in floors or b not in floors:
                unknown = a if a not in floors else b
                found.append(f"{edge}: unit {unknown!r} has no floor in FLOORS")
            elif (a, b) in forbidden:
                found.append(f"{edge}: {a} -> {b} is forbidden ({forbidden[a, b]})")
            elif floors[b] > floors[a]:
                found.append(f"{edge}: climbs from floor {floors[a]} to {floors[b]}")
            elif floors[b] == floors[a]:
                found.append(f"{edge}: units {a} and {b} share floor {floors[a]}")
    return found


def test_every_unit_has_a_floor():
    units = {unit(m) for m in import_graph(PACKAGE)}
    assert units <= set(FLOORS), f"give these units a floor: {sorted(units - set(FLOORS))}"
    assert set(FLOORS) <= units, f"FLOORS names units that are gone: {sorted(set(FLOORS) - units)}"


def test_no_import_climbs_a_floor():
    graph = import_graph(PACKAGE)
    # the graph is the real one: the orchestration reaches down to every floor it drives
    assert {"tsgan.engine.trainer", "tsgan.methods.tsgan", "tsgan.probes"} <= graph[
        "tsgan.training"
    ]
    assert "tsgan.engine.step_model" in graph["tsgan.methods.tsgan"]
    found = violations(graph)
    if cycle := find_cycle(graph):
        found.append("import cycle: " + " -> ".join(cycle))
    assert not found, "imports that break the floors:\n" + "\n".join(found)


def test_importing_the_engine_loads_no_method_and_no_plotting(tmp_path):
    """What the floors promise, observed: the loop imports neither a method nor matplotlib."""
    import subprocess
    import sys

    code = (
        "import sys, tsgan.engine.trainer, tsgan.engine.checkpoint, tsgan.eval.report\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('tsgan.methods', 'tsgan.figures',"
        " 'tsgan.training', 'tsgan.experiments', 'matplotlib', 'seaborn')))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- the checker itself finds what it must --------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "tsgan"


BASE = {
    "tsgan/__init__.py": "",
    "tsgan/config.py": "",
    "tsgan/engine/__init__.py": "",
    "tsgan/engine/trainer.py": "from ..config import x\n",
    "tsgan/methods/__init__.py": "",
    "tsgan/methods/tsgan.py": "from ..engine.trainer import t\n",
    "tsgan/data/__init__.py": "",
    "tsgan/data/records.py": "",
    "tsgan/losses.py": "",
    "tsgan/models/__init__.py": "",
}


def test_a_clean_tree_has_no_violation(tmp_path):
    assert violations(import_graph(_package(tmp_path, BASE))) == []


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        # a function-level import of a method inside the loop
        (
            "tsgan/engine/trainer.py",
            "def f():\n    from ..methods.tsgan import TSGAN\n",
            "tsgan.engine.trainer -> tsgan.methods: engine -> methods is forbidden",
        ),
        ("tsgan/losses.py", "import tsgan.models\n", "losses -> models is forbidden"),
        ("tsgan/models/__init__.py", "from .. import losses\n", "models -> losses is forbidden"),
        ("tsgan/data/records.py", "from ..engine import trainer\n", "data -> engine is forbidden"),
        ("tsgan/config.py", "from .data import records\n", "climbs from floor 0 to 1"),
        ("tsgan/engine/trainer.py", "from ..extra import e\n", "unit 'extra' has no floor"),
    ],
)
def test_a_forbidden_import_is_found(tmp_path, path, text, expected):
    files = {**BASE, path: text, "tsgan/extra.py": ""}
    found = violations(import_graph(_package(tmp_path, files)))
    assert any(expected in v for v in found), found


def test_the_test_sees_imports_inside_functions_of_the_real_tree():
    """At least one deferred import exists in tsgan/ and is in the graph (else the walk that
    includes function bodies would be untested on the real tree)."""
    graph = import_graph(PACKAGE)
    deferred = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef):
                deferred += [n for n in ast.walk(fn) if isinstance(n, ast.ImportFrom) and n.level]
    assert deferred
    assert "tsgan.stats" in graph["tsgan.figures"]  # seed_bars imports it inside the function
