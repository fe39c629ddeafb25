"""Checks on the stored outputs of a notebook (tests/test_notebook_outputs.py applies them to every
notebook and tests them on small in-memory notebooks). Conventions: docs/TEACHING.md."""

from __future__ import annotations

import re

import nbformat

STDERR_LIMIT = 2_000  # stored stderr characters per notebook: a few progress lines, no bar redraws
WARNING = re.compile(r"Warning\b|warn\(")
MARKERS = ("# NBVAL_CHECK_OUTPUT", "# NBVAL_IGNORE_OUTPUT")
# Calls that train (or load a cached run): they print progress when the run cache is cold, so the
# cell's output differs between a fresh clone and a warm cache even when nothing is stored.
TRAINS = re.compile(r"get_or_train_\w+\(|run_ablation\(|\.fit\(")
NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?"
# A computed number in markdown: the number, optional %/bold, then <!-- computed: KEY -->.
TAG = re.compile(rf"({NUMBER})\s*%?\**\s*<!--\s*computed:\s*(\S+?)\s*-->")


def _texts(cell, kinds: tuple[str, ...]) -> list[str]:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream" and o.name in kinds:
            out.append(o.text)
        elif o.output_type != "stream" and "text/plain" in kinds:
            out.append(o.get("data", {}).get("text/plain", ""))
    return out


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def stderr_chars(nb: nbformat.NotebookNode) -> int:
    """Characters of stored stderr over the whole notebook."""
    return sum(len(t) for _, c in code_cells(nb) for t in _texts(c, ("stderr",)))


def warning_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, first warning line) for every cell whose stored output contains a warning."""
    found = []
    for i, c in code_cells(nb):
        for text in _texts(c, ("stdout", "stderr", "text/plain")):
            line = next((ln for ln in text.splitlines() if WARNING.search(ln)), None)
            if line is not None:
                found.append((i, line.strip()[:120]))
                break
    return found


def marker(cell: nbformat.NotebookNode) -> str | None:
    """The nbval marker on the cell's first line, if any."""
    first = cell.source.split("\n", 1)[0].strip()
    return next((m for m in MARKERS if first == m), None)


def unmarked_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, why) for code cells that break the convention: a cell with stored output
    carries a marker on its first line; a cell that trains carries NBVAL_IGNORE_OUTPUT."""
    bad = []
    for i, c in code_cells(nb):
        m = marker(c)
        if TRAINS.search(c.source) and m != MARKERS[1]:
            bad.append((i, "trains (output depends on the run cache): needs # NBVAL_IGNORE_OUTPUT"))
        elif c.get("outputs") and m is None:
            bad.append(
                (i, "has stored output: needs # NBVAL_CHECK_OUTPUT or # NBVAL_IGNORE_OUTPUT")
            )
    return bad


def printed_values(nb: nbformat.NotebookNode, key: str) -> list[str]:
    """Every value printed as ``key = value`` in the notebook's stored stdout."""
    pattern = re.compile(rf"(?<![\w\[\]>.-]){re.escape(key)}\s*=\s*({NUMBER})")
    return [
        m.group(1)
        for _, c in code_cells(nb)
        for text in _texts(c, ("stdout",))
        for m in pattern.finditer(text)
    ]


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def computed_mismatches(nb: nbformat.NotebookNode) -> list[str]:
    """One message per markdown number tagged ``<!-- computed: KEY -->`` that no cell printed as
    ``KEY = value``, or that differs from the printed value by more than its own rounding."""
    problems = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "markdown":
            continue
        for m in TAG.finditer(c.source):
            quoted, key = m.group(1), m.group(2)
            printed = set(printed_values(nb, key))
            if not printed:
                problems.append(
                    f"cell {i}: {quoted} tagged {key!r}, but no cell printed '{key} = '"
                )
                continue
            if len(printed) > 1:
                problems.append(
                    f"cell {i}: {key!r} printed with different values {sorted(printed)}"
                )
                continue
            value = float(printed.pop().replace(",", ""))
            tolerance = 0.5 * 10 ** -_decimals(quoted) + 1e-12
            if abs(float(quoted.replace(",", "")) - value) > tolerance:
                problems.append(
                    f"cell {i}: markdown says {quoted} for {key!r}, a cell printed {value}"
                )
    return problems


# Machine-specific noise a stored output must not carry: absolute paths of the executing machine
# (temporary and home folders, the checkout) and words of process control (a benchmark log's
# "helpers paused (SIGSTOP)").
MACHINE_PATH = re.compile(
    r"(?<![\w.~])(?:/(?:tmp|home|root|Users|work|var/folders|private)/|[A-Z]:\\)"
)
PROCESS_WORDS = re.compile(r"\bSIG(?:STOP|CONT|KILL|TERM|INT|HUP)\b|\bpaused\b|\bkill -\d")
# One line per epoch of a training stage ("teacher 3/75: 20 steps, ..."): a stored output keeps at
# most one such line per stage, a summary.
EPOCH_LINE = re.compile(r"^(\S+) (\d+)/(\d+): ", re.M)


def output_texts(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, text) of every stored stream and text/plain output."""
    return [
        (k, text)
        for k, cell in code_cells(nb)
        for text in _texts(cell, ("stdout", "stderr", "text/plain"))
    ]


def machine_noise(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell, excerpt) of each stored output holding an absolute machine path or a process-control
    word."""
    found = []
    for k, text in output_texts(nb):
        for pattern in (MACHINE_PATH, PROCESS_WORDS):
            for m in pattern.finditer(text):
                found.append((k, text[max(0, m.start() - 30) : m.end() + 30]))
    return found


def long_training_logs(nb: nbformat.NotebookNode) -> list[tuple[int, str, int]]:
    """(cell, stage, lines) for each stage with more than one per-epoch line in one cell."""
    out = []
    for k, cell in code_cells(nb):
        stages: dict[str, int] = {}
        for text in _texts(cell, ("stdout", "stderr")):
            for m in EPOCH_LINE.finditer(text):
                stages[m.group(1)] = stages.get(m.group(1), 0) + 1
        out += [(k, stage, n) for stage, n in stages.items() if n > 1]
    return out
