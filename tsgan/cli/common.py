"""Arguments shared by the commands: a preset plus ``section.field=value`` overrides for the
training commands, checked numbers, and output paths checked before any work starts."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

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
        type=at_least(1),
        default=None,
        help=(
            "stop (with a resumable checkpoint) after this many steps; "
            "rerun the same command to resume"
        ),
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return get_config(args.preset, args.overrides)


def at_least(minimum: int, kind: type = int) -> Callable[[str], int | float]:
    """An argparse ``type``: a ``kind`` number no smaller than ``minimum`` (argparse names the
    option in its error: ``argument --k1: must be at least 1, got -5``)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expects {kind.__name__}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    return parse


def between(low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type``: a float in [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expects float, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {text}")
        return value

    return parse


def check_output_file(path: str | Path, option: str, example: str) -> Path:
    """``path`` as a file the command may write, checked before any work: not a folder, and its
    nearest existing folder writable. ``ValueError`` naming ``option`` otherwise (``example``: a
    file name to suggest inside a folder)."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{option} {out} is a folder; give a file name such as {out / example}")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {out}: the folder {parent} is not writable; choose another")
    return out
