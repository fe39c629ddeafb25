"""Turn solution notebooks into student and instructor copies (see ``tsgan.assignments``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?:\s+(?P<name>[\w\-]+))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


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


def student_source(source: str, where: str = "cell") -> str:
    """Replace each solution region by a stub that raises ExerciseNotDone."""
    lines = []
    for chunk in _regions(source, where):
        if chunk[0] == "text":
            lines.append(chunk[1])
            continue
        _, name, indent, _body = chunk
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


def exercise_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names of the solution regions of a notebook, in order."""
    names = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            names += [c[1] for c in _regions(cell.source, f"cell {k}") if c[0] == "solution"]
    return names


def _convert(nb: nbformat.NotebookNode, fn, name: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = fn(cell.source, f"{name}, cell {k}")
            cell.outputs = []
            cell.execution_count = None
    return nb


def build_assignments(notebooks: list[Path], out: Path) -> dict[str, list[str]]:
    """Write ``out/student/*.ipynb`` and ``out/instructor/*.ipynb``; return {notebook: exercise
    names}."""
    out = Path(out)
    found = {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        names = exercise_names(nb)
        if not names:
            continue
        found[path.name] = names
        for kind, fn in (("student", student_source), ("instructor", instructor_source)):
            target = out / kind / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_convert(nb, fn, path.name), target)
    if not found:
        raise RegionError(f"no '# BEGIN SOLUTION' regions found in {[str(p) for p in notebooks]}")
    return found
