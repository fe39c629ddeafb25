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


def _course() -> dict[str, list[str]]:
    from tsgan.assignments.course import EXERCISES, NOTEBOOKS

    return {nb: [e.name for e in EXERCISES if e.notebook == nb] for nb in NOTEBOOKS}


def test_the_notebooks_hold_every_exercise_each_followed_by_its_check(tmp_path):
    """Building the real notebooks finds every exercise, and the cell after each solution runs the
    check of the same name (docs/TEACHING.md lists the same exercises)."""
    from tsgan import checks
    from tsgan.paths import REPO_ROOT

    paths = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
    course = _course()
    assert len(course) == 7 and all(course.values())  # every notebook has exercises
    assert build_assignments(paths, tmp_path) == course
    for name in course:
        student = nbformat.read(tmp_path / "student" / name, as_version=4)
        instructor = nbformat.read(tmp_path / "instructor" / name, as_version=4)
        solution = nbformat.read(REPO_ROOT / "notebooks" / name, as_version=4)
        # the instructor copy keeps every stored output; the student copy has none
        assert [c.get("outputs") for c in instructor.cells] == [
            c.get("outputs") for c in solution.cells
        ]
        assert not any(c.get("outputs") for c in student.cells)
        cells = student.cells
        for exercise in course[name]:
            stub = (
                f"{exercise!r}): your letter"
                if exercise.startswith("q_")
                else f"raise ExerciseNotDone({exercise!r})"
            )
            (k,) = [k for k, c in enumerate(cells) if stub in c.source]
            assert cells[k].metadata["tsgan"]["exercises"] == [exercise]
            check = cells[k + 1].source
            if exercise.startswith("q_"):
                assert "check_choice(" in check or f"check_{exercise[2:]}(" in check, check
            else:
                assert f"check_{exercise}(" in check, (name, exercise)
                assert hasattr(checks, f"check_{exercise}")


@pytest.mark.parametrize(
    "exercise",
    [
        "pixel_features",
        "fake_set",
        "adversarial_losses",
        "ts_losses",
        "gradient_flow",
        "algorithm1_step",
        "sysu_removed",
        "cmc_ap",
        "k_reciprocal",
        "query_expansion",
        "paired_difference",
    ],
)
def test_a_student_stub_gets_the_not_done_message(exercise):
    from tsgan import checks

    def stub(*args):
        raise ExerciseNotDone("exercise")

    with pytest.raises(ExerciseNotDone, match=f"Exercise '{exercise}' is not done yet"):
        getattr(checks, f"check_{exercise}")(stub)


def test_a_question_region_becomes_an_unanswered_variable():
    source = 'x = 1\n# BEGIN SOLUTION q_colour\nanswer_colour = "b"\n# END SOLUTION\nprint(x)'
    out = student_source(source)
    assert "answer_colour = None  # TODO (question 'q_colour')" in out
    assert '"b"' not in out and "ExerciseNotDone" not in out
    with pytest.raises(RegionError, match="assigns no variable"):
        student_source("# BEGIN SOLUTION q_x\nprint(1)\n# END SOLUTION")


# --- grading ------------------------------------------------------------------------------------

WRONG_TRIPLET = """    dist = torch.cdist(features, features)
    same = labels[:, None] == labels[None, :]
    pos = dist.masked_fill(~same, 0).sum(1) / same.sum(1)           # the average positive
    neg = dist.masked_fill(same, 0).sum(1) / (~same).sum(1)         # the average negative
    return torch.relu(margin + pos - neg).mean()"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Student and instructor copies of notebooks 02 and 06 (grading them trains nothing)."""
    from tsgan.paths import REPO_ROOT

    out = tmp_path_factory.mktemp("course")
    names = ["02_teacher_pretraining.ipynb", "06_evaluation_and_reranking.ipynb"]
    build_assignments([REPO_ROOT / "notebooks" / n for n in names], out)
    return out


def _answer(path, exercise, body, out):
    """A copy of the notebook at ``path`` with ``exercise``'s code replaced by ``body``."""
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if exercise in c.metadata.get("tsgan", {}).get("exercises", [])]
    head = cell.source.split('"""', 2)
    cell.source = head[0] + '"""' + head[1] + '"""\n' + body
    nbformat.write(nb, out)
    return out


def test_grade_scores_correct_wrong_and_empty_submissions(built, tmp_path):
    from tsgan.assignments.grade import grade_notebook

    nb02 = "02_teacher_pretraining.ipynb"
    correct = grade_notebook(built / "instructor" / nb02)
    assert [(g.exercise, g.status, g.points) for g in correct] == [
        ("id_loss", "passed", 4),
        ("triplet", "passed", 6),
    ]
    wrong_path = _answer(
        built / "instructor" / nb02, "triplet", WRONG_TRIPLET, tmp_path / "w.ipynb"
    )
    wrong = grade_notebook(wrong_path)
    assert [(g.status, g.points, g.max_points) for g in wrong] == [
        ("passed", 4, 4),
        ("failed", 0, 6),
    ]
    assert wrong[1].message.startswith("CheckFailed: triplet, case 'random 3 ids x 2': expected")
    empty = grade_notebook(built / "student" / nb02)
    assert [(g.status, g.points) for g in empty] == [("not done", 0), ("not done", 0)]


def test_grade_cannot_be_fooled(built, tmp_path):
    """An answer that calls the reference scores 0 saying so; a submission that redefines the
    check is still graded by the real check; a cell that raises is an error for that exercise
    only, a deleted exercise is missing; stripped metadata and a renamed file are still
    recognised (by the check calls and the notebook's title)."""
    from tsgan.assignments.grade import grade_notebook

    nb06 = built / "instructor" / "06_evaluation_and_reranking.ipynb"
    cheat = (
        "    from tsgan.eval.metrics import keep_mask\n"
        '    return ~keep_mask("sysu", torch.tensor([q_pid]), torch.tensor([q_cam]), g_pids,'
        " g_cams)[0]"
    )
    path = _answer(nb06, "sysu_removed", cheat, tmp_path / "alice_06.ipynb")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("tsgan", None)
    # the query-expansion exercise and its check deleted
    nb.cells = [c for c in nb.cells if "query_expansion" not in c.source]
    (cmc,) = [c for c in nb.cells if "def my_cmc_ap" in c.source]
    cmc.source = "def check_cmc_ap(f):\n    print('passed')\n\ndef my_cmc_ap(*a):\n    return None"
    (kr,) = [c for c in nb.cells if "def my_k_reciprocal" in c.source]
    kr.source = "raise RuntimeError('my cell is broken')"
    nb.metadata.pop("tsgan")
    nbformat.write(nb, path)
    grades = {g.exercise: g for g in grade_notebook(path)}
    assert grades["sysu_removed"].status == "failed"
    assert "reference implementation tsgan.eval.metrics.keep_mask" in grades["sysu_removed"].message
    assert grades["cmc_ap"].status == "failed" and grades["cmc_ap"].points == 0
    assert grades["k_reciprocal"].status == "error"
    assert "my cell is broken" in grades["k_reciprocal"].message
    assert grades["query_expansion"].status == "missing"
    assert grades["cmc_ap"].message.startswith(
        "CheckFailed: cmc_ap, case 'two images, match first'"
    )


def test_cli_grade_prints_a_table_and_writes_csv(built, tmp_path):
    import csv

    csv_path = tmp_path / "grades.csv"
    nb02 = "02_teacher_pretraining.ipynb"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsgan",
            "assignments",
            "grade",
            str(built / "instructor" / nb02),
            str(built / "student" / nb02),
            "--csv",
            str(csv_path),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert f"total {built / 'instructor' / nb02}: 10/10" in run.stdout
    assert f"total {built / 'student' / nb02}: 0/10" in run.stdout
    rows = list(csv.DictReader(csv_path.open()))
    assert [(r["exercise"], r["points"], r["status"]) for r in rows] == [
        ("id_loss", "4", "passed"),
        ("triplet", "6", "passed"),
        ("id_loss", "0", "not done"),
        ("triplet", "0", "not done"),
    ]
    missing = subprocess.run(
        [sys.executable, "-m", "tsgan", "assignments", "grade", str(tmp_path / "nope.ipynb")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        f"error: no such submission: {tmp_path / 'nope.ipynb'}"
    ]
