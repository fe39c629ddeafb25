"""docs/ARCHITECTURE.md's "Where is equation N" table: every equation of the paper (1-16) and
Algorithm 1 has one row, every function, test and notebook section it names exists, and the named
test calls the row's function (so a row cannot point at a test of something else)."""

import ast
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Where is equation N"


def equation_rows(text: str) -> list[dict[str, str]]:
    """The table under HEADING as dicts of its columns (code spans unwrapped)."""
    if HEADING not in text:
        raise AssertionError(f"docs/ARCHITECTURE.md has no section {HEADING!r}")
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip().lower() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def resolve_function(dotted: str) -> object:
    """``package.module.attr[.attr]``: import the longest module prefix, then walk attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def test_function_exists(reference: str) -> bool:
    path, _, name = reference.partition("::")
    file = ROOT / path
    if not file.is_file():
        return False
    tree = ast.parse(file.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


test_function_exists.__test__ = False  # a helper, not a test


_TRACED: dict[str, set[str]] = {}  # test node id -> "tsgan/x.py:qualname" of what it ran


def traced_calls(tests: list[str]) -> dict[str, set[str]]:
    """What each test runs of the package (``tests/call_trace_plugin.py``), in one pytest process
    for the tests not traced yet; a test that fails to run records nothing."""
    todo = sorted(set(tests) - set(_TRACED))
    if todo:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "calls.json"
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
                "TSGAN_CALL_TRACE": str(out),
                "OMP_NUM_THREADS": "1",
            }
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "call_trace_plugin",
                    "-p",
                    "no:cacheprovider",
                    *todo,
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                check=False,
            )
            found = json.loads(out.read_text()) if out.is_file() else {}
        for test in todo:
            _TRACED[test] = set(found.get(test, ()))
    return {test: _TRACED[test] for test in tests}


def code_name(function: str) -> str:
    """``tsgan.losses.id_loss`` -> ``tsgan/losses.py:id_loss`` (what the tracer records)."""
    obj = inspect.unwrap(resolve_function(function))
    code = obj.__code__
    return f"{Path(code.co_filename).resolve().relative_to(ROOT).as_posix()}:{code.co_qualname}"


def notebook_has_section(reference: str) -> bool:
    number, _, title = reference.partition(" § ")
    notebooks = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    if len(notebooks) != 1:
        return False
    cells = json.loads(notebooks[0].read_text())["cells"]
    headings = [
        "".join(c["source"]).splitlines()[0]
        for c in cells
        if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("#")
    ]
    return any(title in h for h in headings)


def check_table(text: str) -> list[str]:
    """Every problem of the table, as one line each (empty when it is right)."""
    problems = []
    rows = equation_rows(text)
    named = [r["test"] for r in rows if test_function_exists(r["test"])]
    calls = traced_calls(named)
    keys = [r["eq."] for r in rows]
    expected = [str(n) for n in range(1, 17)] + ["Alg. 1"]
    if keys != expected:
        problems.append(f"rows {keys}, expected {expected}")
    for r in rows:
        try:
            if not callable(resolve_function(r["function"])):
                problems.append(f"Eq. {r['eq.']}: {r['function']} is not callable")
        except (ImportError, AttributeError) as err:
            problems.append(f"Eq. {r['eq.']}: {r['function']} does not resolve ({err})")
        if not re.fullmatch(r"tests/test_\w+\.py::test_\w+", r["test"]) or not test_function_exists(
            r["test"]
        ):
            problems.append(f"Eq. {r['eq.']}: no test {r['test']}")
        else:
            try:
                if code_name(r["function"]) not in calls[r["test"]]:
                    problems.append(f"Eq. {r['eq.']}: {r['test']} does not call {r['function']}")
            except (ImportError, AttributeError):
                pass  # reported above
        if not notebook_has_section(r["notebook section"]):
            problems.append(f"Eq. {r['eq.']}: no notebook section {r['notebook section']!r}")
    return problems


def test_equation_table_is_complete_and_resolves():
    assert check_table((ROOT / "docs" / "ARCHITECTURE.md").read_text()) == []


@pytest.mark.parametrize(
    "old, new, problem",
    [
        ("`tsgan.losses.cycle_loss`", "`tsgan.losses.cycle_los`", "does not resolve"),
        ("`tsgan.losses.reid_loss`", "`tsgan.methods.reid_loss`", "does not resolve"),
        ("test_cycle_loss_is_mean_l1_of_both_cycles`", "test_cycle_loss_is_gone`", "no test"),
        ("| 6 | L_cyc |", "| 66 | L_cyc |", "rows"),
        ("03 § 2. The cycle-consistency loss", "03 § 2. The cycle loss", "no notebook section"),
        # the test exists but checks another function: Eq. 9 pointed at the triplet's test
        (
            "`tsgan.losses.id_loss` | "
            "`tests/test_losses.py::test_id_loss_matches_hand_computation`",
            "`tsgan.losses.id_loss` | "
            "`tests/test_losses.py::test_batch_hard_triplet_matches_loop_over_all_triplets`",
            "does not call tsgan.losses.id_loss",
        ),
    ],
)
def test_a_wrong_entry_is_reported(old, new, problem):
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert old in text
    problems = check_table(text.replace(old, new, 1))
    assert problems and any(problem in p for p in problems), problems


def readme_ablation_block(doc: dict) -> str:
    """The README's ablation block as the committed results file makes it."""
    from tsgan.experiments.ablate_report import format_markdown, format_paired

    paired = "\n".join("- " + line for line in format_paired(doc["paired"]).splitlines())
    return format_markdown(doc["summary"]) + "\n\n" + paired


def test_readme_ablation_table_is_the_committed_results_file():
    """README quotes Table II from results/ablation_cpu.json, never typed numbers."""
    from tsgan.experiments.ablate_report import load_results

    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- ablation:start -->\n", 1)[1].split("\n<!-- ablation:end -->", 1)[0]
    assert block == readme_ablation_block(load_results(ROOT / "results" / "ablation_cpu.json"))
    # mutation: one changed digit in the file's summary no longer matches
    doc = load_results(ROOT / "results" / "ablation_cpu.json")
    doc["summary"][0]["mean"]["R1"] += 0.1
    assert block != readme_ablation_block(doc)


def test_readme_v4_table_is_the_committed_v4_results_file():
    """README's table of the same recipe in world v4 is results/ablation_cpu_v4.json's summary."""
    from tsgan.experiments.ablate_report import format_markdown, load_results

    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- ablation-v4:start -->\n", "\n<!-- ablation-v4:end -->"
    block = readme.split(start, 1)[1].split(end, 1)[0]
    doc = load_results(ROOT / "results" / "ablation_cpu_v4.json")
    assert block == format_markdown(doc["summary"])
    doc["summary"][0]["mean"]["R1"] += 0.1  # mutation: one changed digit no longer matches
    assert block != format_markdown(doc["summary"])


def test_teaching_kit_tables_match_the_course_registry():
    """Each notebook section of docs/TEACHING.md's instructor kit lists exactly the exercises of
    tsgan.assignments.course with their kind, minutes and points, and has objectives and
    prerequisites; the exercise table names every exercise once."""
    import re

    from tsgan.assignments.course import EXERCISES, NOTEBOOKS

    text = (ROOT / "docs" / "TEACHING.md").read_text()
    kit = text[text.index("## Instructor kit") : text.index("### Rubric")]
    sections = re.split(r"\n### (?=\d\d )", kit)[1:]
    assert [s[:2] for s in sections] == [nb[:2] for nb in NOTEBOOKS]
    for nb, section in zip(NOTEBOOKS, sections):
        assert "**Objectives**" in section and "**Prerequisites**" in section, nb
        rows = re.findall(r"^\| `(\w+)` \| (\w+) \| (\d+) \| (\d+) \|$", section, re.M)
        expected = [(e.name, e.kind, str(e.minutes), str(e.points)) for e in EXERCISES]
        assert rows == [r for r, e in zip(expected, EXERCISES) if e.notebook == nb], nb
    table = text[text.index("## The exercises") :]
    for e in EXERCISES:
        assert len(re.findall(rf"^\| 0\d \| `{e.name}` \|", table, re.M)) == 1, e.name
    assert "### Solutions policy" in text
