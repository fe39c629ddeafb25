"""``python -m tsgan assignments build --out DIR``: student and instructor notebooks."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..assignments.build import build_assignments
from ..paths import REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=["build"], help="build: write student/ and instructor/ notebooks"
    )
    parser.add_argument("--out", required=True, help="output folder (not committed)")
    parser.add_argument(
        "--notebooks", default=str(REPO_ROOT / "notebooks"), help="folder of solution notebooks"
    )


def run(args: argparse.Namespace) -> int:
    notebooks = sorted(Path(args.notebooks).glob("*.ipynb"))
    found = build_assignments(notebooks, Path(args.out))
    for name, exercises in found.items():
        print(f"{name}: {', '.join(exercises)}")
    print(f"student notebooks:    {Path(args.out) / 'student'}")
    print(f"instructor notebooks: {Path(args.out) / 'instructor'}")
    return 0
