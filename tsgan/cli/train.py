r"""``python -m tsgan train``: train TS-GAN (Algorithm 1); the teacher is pretrained first when
needed.

Examples::

    python -m tsgan train --preset cpu
    python -m tsgan train --preset cpu model.discriminator=ordinary loss.ts_losses=cross
    torchrun --nproc_per_node=4 -m tsgan train --preset paper \
        data.dataset=sysu data.root=/data/SYSU-MM01 train.amp=bf16

Rerunning the same command resumes an interrupted run from its last checkpoint; a second command
on the same run waits for the first. The whole command (TS-GAN's config and the teacher's, the
device, the run folder, ``--teacher``) is checked before anything trains. A ``--teacher`` file is
part of the run's identity (its sha256): another teacher trains another run.
"""

from __future__ import annotations

import argparse

from ..engine.distributed import cleanup_distributed, env_dist_info
from ..training import train_tsgan, validate
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument(
        "--teacher",
        default=None,
        help="teacher checkpoint (default: the cached teacher of this config, trained if missing)",
    )


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    run_dir = validate(cfg, "tsgan", args.run_dir, args.teacher, teacher_name="--teacher").path
    try:
        final = train_tsgan(cfg, run_dir, teacher=args.teacher, stop_at_step=args.stop_at_step)
    finally:
        cleanup_distributed()
    if env_dist_info().is_main:
        if final is None:
            print(f"stopped early; rerun the same command to resume from {run_dir}")
        else:
            print(
                f"TS-GAN trained: {final}\n"
                f"evaluate it with: python -m tsgan evaluate --checkpoint {final} --rerank"
            )
    return 0
