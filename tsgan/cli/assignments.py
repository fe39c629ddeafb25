"""``python -m tsgan assignments build --out DIR``: student and instructor notebooks;
``python -m tsgan assignments grade SUBMISSION.ipynb... [--csv FILE]``: score submissions."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..assignments.build import build_assignments
from ..paths import REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["build", "grade"],
        help="build: write student/ and instructor/ notebooks; grade: score student notebooks",
    )
    parser.add_argument(
        "submissions", nargs="*", metavar="SUBMISSION.ipynb", help="grade: the notebooks to score"
    )
    parser.add_argument("--out", help="build: output folder (not committed)")
    parser.add_argument("--csv", help="grade: also write the grades to this CSV file")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="grade: seconds one exercise may run before it scores 0 (default 120)",
    )
    parser.add_argument(
        "--notebooks", default=str(REPO_ROOT / "notebooks"), help="folder of solution notebooks"
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        if not args.out or args.submissions:
            raise ValueError("assignments build takes --out DIR and no submissions")
        notebooks = sorted(Path(args.notebooks).glob("*.ipynb"))
        found = build_assignments(notebooks, Path(args.out))
        for name, exercises in found.items():
            print(f"{name}: {', '.join(exercises) or '(no exercises)'}")
        print(f"student notebooks:    {Path(args.out) / 'student'}")
        print(f"instructor notebooks: {Path(args.out) / 'instructor'}")
        return 0
    from ..assignments.grade import format_table, grade_notebook, write_csv

    if not args.submissions:
        raise ValueError("assignments grade needs at least one SUBMISSION.ipynb")
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise ValueError(f"--csv {args.csv}: its folder does not exist")
    missing = [s for s in args.submissions if not Path(s).is_file()]
    if missing:
        raise FileNotFoundError(f"no such submission: {', '.join(missing)}")
    rows = []
    for submission in args.submissions:
        rows += grade_notebook(Path(submission), Path(args.notebooks), args.timeout)
    print(format_table(rows))
    if args.csv:
        write_csv(rows, Path(args.csv))
        print(f"grades: {args.csv}")
    return 0
