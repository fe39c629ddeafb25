"""Rewrite the numbers tagged as computed in notebook markdown to the values the cells printed.

Usage, from the repository root, after re-executing notebooks::

    python tools/sync_computed_numbers.py notebooks/0[2-7]_*.ipynb           # rewrite, list changes
    python tools/sync_computed_numbers.py --check notebooks/*.ipynb          # exit 1 on a mismatch

A markdown number followed by ``<!-- computed: KEY -->`` quotes what a code cell printed as
``KEY = value`` (docs/TEACHING.md; tests/notebook_checks.py owns the patterns and the test that
compares them). Each tagged number is replaced by the printed value at the markdown's own
precision (decimals, thousands separators, an explicit ``+``); untagged text is left alone. Every
change is printed as ``notebook cell N: KEY old -> new`` so that the prose around it can be
re-read: a number that changed may make a sentence false. A tag with no printed value, or with
several different ones, is an error (one line each, exit 2) and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from notebook_checks import TAG, printed_values  # noqa: E402


def formatted(value: float, like: str) -> str:
    """``value`` written like the markdown number ``like``: same decimals, thousands separators
    and explicit plus sign."""
    decimals = len(like.split(".")[1]) if "." in like else 0
    text = f"{value:{',' if ',' in like else ''}.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # -0.0 reads as a sign that is not there
        text = text.lstrip("-")
    if like.startswith("+") and not text.startswith("-"):
        text = "+" + text
    return text


def sync(nb: nbformat.NotebookNode) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """Rewrite ``nb``'s tagged markdown numbers in place. Returns the changes as (cell, key, old,
    new) and the errors (tags without a single printed value); with errors nothing is changed."""
    changes, errors, rewritten = [], [], {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        source, found = cell.source, []
        for m in reversed(list(TAG.finditer(cell.source))):
            old, key = m.group(1), m.group(2)
            printed = sorted(set(printed_values(nb, key)))
            if len(printed) != 1:
                why = "no cell printed it" if not printed else f"printed as {', '.join(printed)}"
                errors.append(f"cell {i}: {old} tagged {key!r}, but {why} (expected '{key} = ')")
                continue
            new = formatted(float(printed[0].replace(",", "")), old)
            if new != old:
                found.append((i, key, old, new))
                source = source[: m.start(1)] + new + source[m.end(1) :]
        rewritten[i] = source
        changes += reversed(found)  # in reading order
    if not errors:
        for i, source in rewritten.items():
            nb.cells[i].source = source
    return changes, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a number differs"
    )
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        changes, errors = sync(nb)
        for message in errors:
            print(f"{path}: {message}", file=sys.stderr)
        for i, key, old, new in changes:
            print(f"{path} cell {i}: {key} {old} -> {new}")
        if errors:
            status = 2
        elif changes and args.check:
            status = max(status, 1)
        elif changes:
            nbformat.write(nb, path)
    return status


if __name__ == "__main__":
    sys.exit(main())
