"""``python -m tsgan demo``: the whole pipeline on the embedded data.

The steps are :mod:`tsgan.experiments.demo`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..experiments.demo import run_demo
from ..paths import runs_dir
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, run_folder=False)
    parser.add_argument("--out", default=None, help="report folder (default runs/demo)")


def run(args: argparse.Namespace) -> int:
    run_demo(config_from_args(args), Path(args.out) if args.out else runs_dir() / "demo")
    return 0
