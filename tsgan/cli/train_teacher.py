r"""``python -m tsgan train-teacher``: pretrain the IR-only teacher (BoT: ID + triplet on IR
images).

Examples::

    python -m tsgan train-teacher --preset cpu
    python -m tsgan train-teacher --preset cpu --modality rgb    # Table III's RGB row
    torchrun --nproc_per_node=4 -m tsgan train-teacher --preset paper \
        data.dataset=sysu data.root=/data/SYSU-MM01

Rerunning the same command resumes an interrupted run from its last checkpoint; a second command
on the same run waits for the first. The config, the device and the run folder are checked before
anything trains.
"""

from __future__ import annotations

import argparse

from ..engine.distributed import cleanup_distributed, env_dist_info
from ..training import baseline, train_teacher, validate
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument(
        "--modality",
        choices=("ir", "rgb"),
        default="ir",
        help="train on the IR half of each batch (the teacher) or on the RGB half (Table III's "
        "RGB baseline, its own run folder)",
    )


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    kind = baseline(args.modality).kind
    run_dir = validate(cfg, kind, args.run_dir).path
    try:
        final = train_teacher(cfg, run_dir, stop_at_step=args.stop_at_step, modality=args.modality)
    finally:
        cleanup_distributed()
    if env_dist_info().is_main:
        print(
            f"{kind} {'stopped early, resumable' if final is None else 'trained'}: "
            f"{final or run_dir}"
        )
    return 0
