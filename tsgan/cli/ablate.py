"""``python -m tsgan ablate``: paper Table II ablations over seeds, and their CI re-check.

The rows, training and scoring are :mod:`tsgan.experiments.ablate`; the results document (mean
and 95% CI over seeds, paired differences, chance, provenance) :mod:`tsgan.experiments.
ablate_report`; the re-check :mod:`tsgan.experiments.recheck`.

Examples::

    python -m tsgan ablate --preset cpu --seeds 5          # writes results/ablation_cpu.json
    python -m tsgan ablate --preset cpu --seeds 1 --rows backbone jd jd-rerank optim.epochs=4
    python -m tsgan ablate --recheck backbone --results results/ablation_cpu.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import get_config
from ..data.records import DatasetError
from ..engine.distributed import cleanup_distributed, env_dist_info
from ..experiments.ablate import (
    DECISION_ROWS,
    ROW_FAMILIES,
    ROWS,
    chance_level,
    run_ablation,
    select_rows,
)
from ..experiments.ablate_report import (
    format_markdown,
    format_paired,
    results_document,
    save_plot,
    save_results,
    write_results,
)
from ..experiments.recheck import format_recheck, recheck
from ..paths import REPO_ROOT, runs_dir
from ..probes import probe_floors
from ..training import load_dataset
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, run_folder=False)
    parser.add_argument(
        "--seeds",
        type=int,
        default=5,
        help="number of training seeds per row: train.seed, train.seed+1, ... (default 5)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        default=None,
        metavar="ROW",
        help=(
            f"rows to run (default all of the table): {' '.join(r.key for r in ROWS)}; "
            f"rows of open decisions: {' '.join(r.key for r in DECISION_ROWS)}; row families "
            f"(a name stands for its rows): "
            + "; ".join(f"{k}: {' '.join(r.key for r in v)}" for k, v in ROW_FAMILIES.items())
        ),
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="train nothing: score the (row, seed) runs already finished in the run cache",
    )
    parser.add_argument("--out", default=None, help="output folder (default runs/ablate/<preset>)")
    parser.add_argument(
        "--results",
        default=None,
        help="the results file to write (default results/ablation_<preset>.json when all rows run "
        "with the preset's own config, else only <out>/ablation.json); with --recheck, the file "
        "to check",
    )
    parser.add_argument(
        "--recheck",
        default=None,
        metavar="ROW",
        help="instead of the grid: re-run ROW for one seed with the config of --results and "
        "compare it with the committed row (exit 1 when outside the seed-to-seed band)",
    )
    parser.add_argument(
        "--recheck-seed", type=int, default=None, help="seed of --recheck (default the first)"
    )


def default_results(preset: str) -> Path:
    """Where the committed results of ``preset`` live."""
    return REPO_ROOT / "results" / f"ablation_{preset}.json"


def run(args: argparse.Namespace) -> int:
    if args.recheck:
        result = recheck(
            args.results or default_results(args.preset), args.recheck, args.recheck_seed
        )
        print(format_recheck(result))
        return 0 if result["ok"] else 1
    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    base = config_from_args(args)
    rows = select_rows(args.rows)
    seeds = [base.train.seed + i for i in range(args.seeds)]
    try:
        records = run_ablation(base, rows, seeds, cached_only=args.cached_only)
    finally:
        cleanup_distributed()
    if not env_dist_info().is_main:
        return 0
    try:
        floors = probe_floors(base, load_dataset(base)) if base.train.probe_images else None
    except DatasetError:  # no IR twins: not the embedded data
        floors = None
    doc = results_document(records, rows, base, chance_level(base), floors)
    out = Path(args.out) if args.out else runs_dir() / "ablate" / base.name
    paths = write_results(doc, out)
    paths["plot"] = save_plot(doc["summary"], out / "ablation.png", doc["chance"])
    results = args.results
    if results is None and not args.rows and base.digest() == get_config(base.name).digest():
        results = default_results(base.name)
    if results is not None:
        paths["results"] = save_results(doc, results)
    print(format_markdown(doc["summary"]))
    print(format_paired(doc["paired"]))
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0
