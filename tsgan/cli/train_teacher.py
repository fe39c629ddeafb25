r"""``python -m tsgan train-teacher``: pretrain the IR-only teacher (BoT: ID + triplet on IR
images).

Examples::

    python -m tsgan train-teacher --preset cpu
    torchrun --nproc_per_node=4 -m tsgan train-teacher --preset paper \
        data.dataset=sysu data.root=/data/SYSU-MM01

Rerunning the same command resumes an interrupted run from its last checkpoint.
"""

from __future__ import annotations

import argparse

from ..engine.distributed import cleanup_distributed, env_dist_info
from ..engine.runs import cached_run, train_teacher
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    run_dir = args.run_dir or cached_run(cfg, "teacher").path
    try:
        final = train_teacher(cfg, run_dir, stop_at_step=args.stop_at_step)
    finally:
        cleanup_distributed()
    if env_dist_info().is_main:
        print(
            f"teacher {'stopped early, resumable' if final is None else 'trained'}: "
            f"{final or run_dir}"
        )
    return 0
