"""Score submitted student notebooks, exercise by exercise, without running the notebooks.

For each exercise of a submission the grader executes only the student's exercise cell (the cell
the builder tagged, or the code cell just above the exercise's check call), in one namespace per
submission that starts with the usual imports, and then calls the exercise's check as the
solution notebook's check cell does. The checks run on small seeded fixtures or the committed
results file, so nothing is trained and a class grades in seconds per notebook. An exercise scores
its full points when its check passes and 0 otherwise (not done, a failing case, an error, a call
of the package's reference, or longer than the time limit), with the reason in the table.

The student's code runs in the grader's process, as it would in their kernel: grade untrusted
submissions in a sandbox (a container without network or credentials).
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .. import checks
from ..paths import REPO_ROOT
from .build import cell_exercises, exercise_names
from .course import BY_NAME

PRELUDE = (
    "import math\n"
    "import numpy as np\n"
    "import torch\n"
    "import torch.nn.functional as F\n"
    "from tsgan.checks import ExerciseNotDone\n"
)


@dataclass
class Grade:
    """One row of the grade table."""

    submission: str
    notebook: str
    exercise: str
    points: int
    max_points: int
    status: str  # passed, failed, not done, error, missing, timeout
    message: str


class GradingTimeout(Exception):
    """An exercise ran longer than the grader's limit."""


def _check_calls(solution: nbformat.NotebookNode) -> dict[str, str]:
    """{exercise: the check call of the cell after its solution cell}, e.g.
    ``check_triplet(my_triplet)``, taken from the solution notebook (a student's edits to a
    check cell do not change what is graded)."""
    calls = {}
    cells = solution.cells
    for k, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        for name in cell_exercises(cell.source, f"cell {k}"):
            check = cells[k + 1].source if k + 1 < len(cells) else ""
            found = [
                ast.get_source_segment(check, node)
                for node in ast.walk(ast.parse(_python(check)))
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id.startswith("check_")
            ]
            if not found:
                raise ValueError(
                    f"{name}: the cell after its solution region calls no check_* function"
                )
            calls[name] = found[-1]
    return calls


def _python(source: str) -> str:
    """A cell's source as plain Python: IPython magics and shell lines dropped."""
    return "\n".join(
        line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))
    )


def _solution_for(submission: nbformat.NotebookNode, path: Path, solutions: Path) -> Path:
    """The solution notebook a submission was built from: the builder's metadata, else a file of
    the same name, else the one with the same title (the first line of the first markdown
    cell, e.g. "# 06 · Evaluation and re-ranking")."""
    name = submission.metadata.get("tsgan", {}).get("notebook") or path.name
    if (solutions / name).is_file():
        return solutions / name
    title = _title(submission)
    for candidate in sorted(solutions.glob("*.ipynb")):
        if title and _title(nbformat.read(candidate, as_version=4)) == title:
            return candidate
    raise ValueError(
        f"{path}: cannot tell which course notebook this is (no tsgan metadata, no file name like "
        f"the notebooks in {solutions}); submit the notebook built by `assignments build`"
    )


def _title(nb: nbformat.NotebookNode) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return first.strip().split("\n")[0].strip()


def _exercise_cell(cells: list, name: str, call: str) -> str | None:
    """The source of the submission's cell for exercise ``name``."""
    for cell in cells:
        if cell.cell_type == "code" and name in cell.metadata.get("tsgan", {}).get("exercises", []):
            return cell.source
    func = call.split("(")[0] + "("
    for k, cell in enumerate(cells):
        if (
            cell.cell_type == "code"
            and func in cell.source
            and call.split("(", 1)[1] in cell.source
        ):
            above = [c for c in cells[:k] if c.cell_type == "code"]
            return above[-1].source if above else None
    return None


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`GradingTimeout` after ``seconds`` (SIGALRM, main thread; else no limit)."""
    usable = hasattr(signal, "setitimer") and seconds > 0
    try:
        usable = usable and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    except ValueError:
        usable = False

    def expire(signum, frame):
        raise GradingTimeout(f"ran longer than {seconds:g} s")

    if usable:
        try:
            signal.signal(signal.SIGALRM, expire)
        except ValueError:  # not the main thread
            usable = False
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _one_line(err: BaseException) -> str:
    text = " ".join(part.strip() for part in str(err).splitlines() if part.strip())
    return f"{type(err).__name__}: {text}"[:300]


def grade_notebook(
    path: Path, solutions: Path | None = None, timeout: float = 120.0
) -> list[Grade]:
    """Grade every exercise of one submitted student notebook (see the module docstring)."""
    path = Path(path)
    solutions = Path(solutions) if solutions is not None else REPO_ROOT / "notebooks"
    try:
        submission = nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, AttributeError, KeyError) as err:
        raise ValueError(f"{path}: not a Jupyter notebook ({_one_line(err)})") from None
    solution_path = _solution_for(submission, path, solutions)
    solution = nbformat.read(solution_path, as_version=4)
    calls = _check_calls(solution)
    namespace: dict = {"__name__": "__submission__"}
    exec(PRELUDE, namespace)
    rows = []
    for name in exercise_names(solution):
        points = BY_NAME[name].points if name in BY_NAME else 1
        source = _exercise_cell(submission.cells, name, calls[name])
        status, message = "missing", "the exercise's cell is not in the submission"
        if source is not None:
            status, message = _run(name, source, calls[name], namespace, checks, timeout)
        rows.append(
            Grade(
                submission=str(path),
                notebook=solution_path.name,
                exercise=name,
                points=points if status == "passed" else 0,
                max_points=points,
                status=status,
                message=message,
            )
        )
    return rows


def _run(name, source, call, namespace, checks, timeout) -> tuple[str, str]:
    out = io.StringIO()
    try:
        with _time_limit(timeout), contextlib.redirect_stdout(out):
            exec(compile(_python(source), f"<{name} cell>", "exec"), namespace)
            # the real checks, whatever the submission defined under their names
            real = {n: getattr(checks, n) for n in dir(checks) if n.startswith("check_")}
            eval(compile(call, f"<check {name}>", "eval"), {**namespace, **real})
    except checks.ExerciseNotDone:
        return "not done", "the exercise still holds its stub"
    except checks.CheckFailed as err:
        return "failed", _one_line(err)
    except GradingTimeout as err:
        return "timeout", str(err)
    except Exception as err:  # the student's code raised: it scores 0, the grading goes on
        return "error", _one_line(err)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("check ")]
    return "passed", lines[-1] if lines else "passed"


def format_table(rows: list[Grade]) -> str:
    """The grades as a text table, with a total line per submission."""
    head = f"{'submission':<28} {'exercise':<20} {'points':>7}  {'status':<9} message"
    lines = [head, "-" * len(head)]
    totals: dict[str, list[int]] = {}
    for r in rows:
        sub = r.submission if len(r.submission) <= 28 else "..." + r.submission[-25:]
        lines.append(
            f"{sub[-28:]:<28} {r.exercise:<20} {f'{r.points}/{r.max_points}':>7}  "
            f"{r.status:<9} {r.message[:100]}"
        )
        t = totals.setdefault(r.submission, [0, 0])
        t[0] += r.points
        t[1] += r.max_points
    lines.append("")
    for sub, (got, full) in totals.items():
        lines.append(f"total {sub}: {got}/{full}")
    return "\n".join(lines)


def write_csv(rows: list[Grade], path: Path) -> None:
    """One CSV row per (submission, exercise); written to a temporary file and renamed, so an
    interrupted run never leaves half a grade sheet."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(Grade.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    os.replace(tmp, path)
