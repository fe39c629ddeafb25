"""Turn solution notebooks into student and instructor copies (see ``tsgan.assignments``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?:\s+(?P<name>[\w\-]+))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
ASSIGN = re.compile(r"^\s*(?P<target>[A-Za-z_]\w*)\s*=[^=]")
# A region whose name starts with this is a question answered by assigning a value (a letter):
# its stub sets the variable to None, which the question's check reports as not done.
QUESTION = "q_"


class RegionError(ValueError):
    """A solution region is malformed (unclosed, nested, or an END without a BEGIN)."""


def _regions(source: str, where: str = "cell"):
    """Yield ("text", lines) and ("solution", name, indent, lines) chunks of ``source``."""
    lines = source.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise RegionError(
                f"{where}, line {i + 1}: '# END SOLUTION' without a '# BEGIN SOLUTION' above it"
            )
        if not m:
            out.append(("text", lines[i]))
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not END.match(lines[i]):
            if BEGIN.match(lines[i]):
                raise RegionError(
                    f"{where}, line {i + 1}: nested '# BEGIN SOLUTION' (regions cannot nest)"
                )
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise RegionError(
                f"{where}, line {start + 1}: '# BEGIN SOLUTION' is never closed by '# END SOLUTION'"
            )
        out.append(("solution", m.group("name") or "exercise", m.group("indent"), body))
        i += 1
    return out


def _question_target(name: str, body: list[str], where: str) -> str:
    """The variable a question region assigns last (its answer)."""
    targets = [m.group("target") for m in map(ASSIGN.match, body) if m]
    if not targets:
        raise RegionError(f"{where}: question region '{name}' assigns no variable (NAME = ...)")
    return targets[-1]


def student_source(source: str, where: str = "cell") -> str:
    """Replace each solution region by a stub that raises ExerciseNotDone (a question region:
    its answer variable set to None)."""
    lines = []
    for chunk in _regions(source, where):
        if chunk[0] == "text":
            lines.append(chunk[1])
            continue
        _, name, indent, body = chunk
        if name.startswith(QUESTION):
            target = _question_target(name, body, where)
            lines.append(
                f'{indent}{target} = None  # TODO (question {name!r}): your letter, e.g. "a"'
            )
            continue
        lines += [
            f"{indent}# TODO (exercise '{name}'): replace this line with your code.",
            f"{indent}raise ExerciseNotDone({name!r})",
        ]
    text = "\n".join(lines)
    if "raise ExerciseNotDone(" in text and "import ExerciseNotDone" not in text:
        text = "from tsgan.checks import ExerciseNotDone\n" + text
    return text


def instructor_source(source: str, where: str = "cell") -> str:
    """Keep the solutions, drop the marker lines."""
    lines = []
    for chunk in _regions(source, where):
        lines += [chunk[1]] if chunk[0] == "text" else chunk[3]
    return "\n".join(lines)


def cell_exercises(source: str, where: str = "cell") -> list[str]:
    """Names of the solution regions of one cell's source, in order."""
    return [c[1] for c in _regions(source, where) if c[0] == "solution"]


def exercise_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names of the solution regions of a notebook, in order."""
    names = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            names += cell_exercises(cell.source, f"cell {k}")
    return names


def _convert(nb: nbformat.NotebookNode, fn, name: str, keep_outputs: bool) -> nbformat.NotebookNode:
    """A copy of ``nb`` with ``fn`` applied to each code cell; each solution cell is tagged with
    its exercise names (``metadata.tsgan.exercises``) and the notebook with its source's file name
    (``metadata.tsgan.notebook``), which the grader reads back from a submission."""
    nb = nbformat.from_dict(nb)
    nb.metadata["tsgan"] = {"notebook": name}
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name}, cell {k}"
        names = cell_exercises(cell.source, where)
        if names:
            cell.metadata["tsgan"] = {"exercises": names}
        cell.source = fn(cell.source, where)
        if not keep_outputs:
            cell.outputs = []
            cell.execution_count = None
    return nb


def build_assignments(notebooks: list[Path], out: Path) -> dict[str, list[str]]:
    """Write ``out/student/*.ipynb`` (solutions replaced by stubs, outputs cleared) and
    ``out/instructor/*.ipynb`` (solutions and stored outputs kept) for every notebook, with or
    without exercises; return {notebook: exercise names}."""
    out = Path(out)
    found = {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        found[path.name] = exercise_names(nb)
        for kind, fn in (("student", student_source), ("instructor", instructor_source)):
            target = out / kind / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_convert(nb, fn, path.name, keep_outputs=kind == "instructor"), target)
    if not any(found.values()):
        raise RegionError(f"no '# BEGIN SOLUTION' regions found in {[str(p) for p in notebooks]}")
    return found
