"""Arguments shared by the training commands: a preset plus ``section.field=value`` overrides."""

from __future__ import annotations

import argparse

from ..config import PRESETS, Config, get_config


def add_config_arguments(parser: argparse.ArgumentParser, run_folder: bool = True) -> None:
    """``--preset`` and overrides; with ``run_folder`` also ``--run-dir`` and ``--stop-at-step``."""
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="cpu",
        help="cpu: minutes on a laptop; paper: the full recipe of the paper (GPU)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="section.field=value",
        help="config overrides, e.g. optim.lr=1e-3 data.root=/data/SYSU-MM01 data.dataset=sysu",
    )
    if not run_folder:
        return
    parser.add_argument(
        "--run-dir",
        default=None,
        help=(
            "run folder (default: the cached run under runs/cache that notebooks and the demo "
            "reuse)"
        ),
    )
    parser.add_argument(
        "--stop-at-step",
        type=int,
        default=None,
        help=(
            "stop (with a resumable checkpoint) after this many steps; "
            "rerun the same command to resume"
        ),
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return get_config(args.preset, args.overrides)
