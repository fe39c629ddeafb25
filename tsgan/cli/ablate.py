"""``python -m tsgan ablate``: paper Table II ablations over seeds.

The rows, training and scoring are :mod:`tsgan.experiments.ablate`.

Examples::

    python -m tsgan ablate --preset cpu --seeds 3
    python -m tsgan ablate --preset cpu --seeds 1 --rows backbone jd jd-rerank optim.epochs=4
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine.distributed import cleanup_distributed, env_dist_info
from ..experiments.ablate import ROWS, run_ablation, select_rows
from ..experiments.ablate_report import aggregate, format_markdown, save_plot, write_results
from ..paths import runs_dir
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, run_folder=False)
    parser.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="number of training seeds per row: train.seed, train.seed+1, ... (default 3)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        default=None,
        metavar="ROW",
        help=f"rows to run (default all): {' '.join(r.key for r in ROWS)}",
    )
    parser.add_argument("--out", default=None, help="output folder (default runs/ablate/<preset>)")


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1, got {args.seeds}")
    base = config_from_args(args)
    rows = select_rows(args.rows)
    seeds = [base.train.seed + i for i in range(args.seeds)]
    try:
        records = run_ablation(base, rows, seeds)
    finally:
        cleanup_distributed()
    if not env_dist_info().is_main:
        return 0
    out = Path(args.out) if args.out else runs_dir() / "ablate" / base.name
    summary = aggregate(records, rows)
    paths = write_results(summary, records, out, base)
    paths["plot"] = save_plot(summary, out / "ablation.png")
    print(format_markdown(summary))
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0
