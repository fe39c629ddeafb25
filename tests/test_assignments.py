"""Solution regions -> student/instructor notebooks, and the check framework."""

import subprocess
import sys

import nbformat
import pytest
import torch

from tsgan.assignments.build import (
    RegionError,
    build_assignments,
    instructor_source,
    student_source,
)
from tsgan.checks import CheckFailed, ExerciseNotDone, rel_error, run_cases

SRC = """import torch
def double(x):
    # BEGIN SOLUTION double
    y = 2 * x
    return y
    # END SOLUTION
print(double(3))"""


def test_student_source_replaces_region_and_keeps_indentation():
    out = student_source(SRC)
    assert "y = 2 * x" not in out and "# BEGIN" not in out and "# END" not in out
    assert "    raise ExerciseNotDone('double')" in out
    namespace = {}
    exec(out.replace("print(double(3))", ""), namespace)  # defining the function works
    with pytest.raises(ExerciseNotDone, match="Exercise 'double' is not done yet"):
        namespace["double"](3)


def test_instructor_source_keeps_solution_without_markers():
    out = instructor_source(SRC)
    assert "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    namespace = {}
    exec(out.replace("print(double(3))", ""), namespace)
    assert namespace["double"](3) == 6


@pytest.mark.parametrize(
    "bad, message",
    [
        ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n# END SOLUTION\n", "without a '# BEGIN SOLUTION'"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "nested"),
    ],
)
def test_malformed_regions_are_reported_with_the_line(bad, message):
    with pytest.raises(RegionError, match=message):
        student_source(bad, "nb.ipynb, cell 3")


def _notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Exercise"),
        nbformat.v4.new_code_cell(SRC),
        nbformat.v4.new_code_cell(
            "from tsgan.checks import run_cases\n"
            "run_cases('double', double, lambda x: 2 * x, [('three', (3,), {})])"
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_build_writes_student_and_instructor_copies(tmp_path):
    found = build_assignments([_notebook(tmp_path)], tmp_path / "out")
    assert found == {"nb.ipynb": ["double"]}
    student = nbformat.read(tmp_path / "out" / "student" / "nb.ipynb", as_version=4)
    assert "raise ExerciseNotDone('double')" in student.cells[1].source
    instructor = nbformat.read(tmp_path / "out" / "instructor" / "nb.ipynb", as_version=4)
    assert "y = 2 * x" in instructor.cells[1].source


def test_cli_build(tmp_path):
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    _notebook(nb_dir)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsgan",
            "assignments",
            "build",
            "--out",
            str(tmp_path / "o"),
            "--notebooks",
            str(nb_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "nb.ipynb: double" in out
    assert (tmp_path / "o" / "student" / "nb.ipynb").is_file()


def test_run_cases_names_the_failing_case_with_expected_and_got():
    cases = [("ones", (torch.ones(3),), {}), ("arange", (torch.arange(1.0, 4.0),), {})]
    assert run_cases("double", lambda x: 2 * x, lambda x: 2 * x, cases) == 2
    wrong = lambda x: x + x if x.sum() == 3 else x  # noqa: E731 (right on the first case only)
    with pytest.raises(
        CheckFailed, match=r"double, case 'arange': expected \[2\. 4\. 6\.\], got \[1\. 2\. 3\.\]"
    ):
        run_cases("double", wrong, lambda x: 2 * x, cases)


def test_rel_error_hand_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert rel_error([1.0], [1.0, 2.0]) == float("inf")


def test_student_notebook_runs_to_the_first_exercise_and_stops_at_its_check(tmp_path):
    """The generated student copy of notebook 03 runs until the cycle-loss check, which stops with
    the 'not done yet' message (not an unrelated error); the instructor copy keeps the solution."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from tsgan.paths import REPO_ROOT

    source = REPO_ROOT / "notebooks" / "03_cyclegan_joint_discriminator.ipynb"
    found = build_assignments([source], tmp_path)
    assert found[source.name][:2] == ["cycle_loss", "fake_set"]
    student = nbformat.read(tmp_path / "student" / source.name, as_version=4)
    client = NotebookClient(
        student,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPO_ROOT / "notebooks")}},
    )
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    assert "ExerciseNotDone" in str(err.value)
    assert "Exercise 'cycle_loss' is not done yet" in str(err.value)
    ran = [c for c in student.cells if c.cell_type == "code" and c.get("execution_count")]
    assert "check_cycle_loss" in ran[-1].source  # it stopped at the check cell, not before
    instructor = nbformat.read(tmp_path / "instructor" / source.name, as_version=4)
    assert any("(X_R_rec - X_R).abs().mean()" in c.source for c in instructor.cells)


EXERCISES = {
    "02_teacher_pretraining.ipynb": ["id_loss", "triplet"],
    "03_cyclegan_joint_discriminator.ipynb": ["cycle_loss", "fake_set"],
    "04_teacher_student_losses.ipynb": ["ts_losses"],
    "05_full_training.ipynb": ["gradient_flow", "algorithm1_step"],
    "06_evaluation_and_reranking.ipynb": ["sysu_removed", "cmc_ap", "k_reciprocal"],
}


def test_the_notebooks_hold_every_exercise_each_followed_by_its_check(tmp_path):
    """Building the real notebooks finds every exercise, and the cell after each solution runs the
    check of the same name (docs/TEACHING.md lists the same exercises)."""
    from tsgan import checks
    from tsgan.paths import REPO_ROOT

    paths = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
    assert build_assignments(paths, tmp_path) == EXERCISES
    for name in EXERCISES:
        cells = nbformat.read(tmp_path / "student" / name, as_version=4).cells
        for k, cell in enumerate(cells):
            for exercise in EXERCISES[name]:
                if f"raise ExerciseNotDone({exercise!r})" in cell.source:
                    assert f"check_{exercise}(" in cells[k + 1].source, (name, exercise)
                    assert hasattr(checks, f"check_{exercise}")


@pytest.mark.parametrize(
    "exercise", ["fake_set", "ts_losses", "gradient_flow", "sysu_removed", "cmc_ap", "k_reciprocal"]
)
def test_a_student_stub_gets_the_not_done_message(exercise):
    from tsgan import checks

    def stub(*args):
        raise ExerciseNotDone("exercise")

    with pytest.raises(ExerciseNotDone, match=f"Exercise '{exercise}' is not done yet"):
        getattr(checks, f"check_{exercise}")(stub)
