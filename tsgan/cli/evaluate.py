"""``python -m tsgan evaluate``: score a checkpoint with a standard protocol, print Table I, write
a JSON report.

Example::

    python -m tsgan evaluate --checkpoint runs/x/checkpoint.pt --dataset sysu \\
        --root /data/SYSU-MM01 --mode all --shots 1 --rerank --draw official \\
        --split-file /data/rand_perm_cam.mat
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import replace
from ..data.check import require_valid
from ..engine.checkpoint import load_backbone
from ..engine.device import resolve_device
from ..eval.report import evaluate_model, format_table, save_report
from ..paths import resolve_path
from .common import at_least, check_output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, help="checkpoint written by train or train-teacher"
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="sysu | regdb | llcm | synthetic (default: the checkpoint's)",
    )
    parser.add_argument(
        "--root", default=None, help="dataset root (default: the checkpoint's data.root)"
    )
    parser.add_argument(
        "--mode", choices=("all", "indoor"), default=None, help="SYSU-MM01 search mode"
    )
    parser.add_argument(
        "--shots",
        type=int,
        choices=(1, 10),
        default=None,
        help="SYSU-MM01 gallery images per (id, camera)",
    )
    parser.add_argument(
        "--all-settings",
        action="store_true",
        help="SYSU-MM01: all/indoor x single/multi-shot (Table I)",
    )
    parser.add_argument(
        "--draw", choices=("seeded", "official"), default=None, help="SYSU-MM01 gallery draw"
    )
    parser.add_argument(
        "--split-file", default=None, help="rand_perm_cam.mat, for --draw official (implies it)"
    )
    parser.add_argument(
        "--trials", type=at_least(1), default=None, help="number of trials (default 10)"
    )
    parser.add_argument(
        "--regdb-trial",
        type=at_least(1),
        default=None,
        help="RegDB trial 1..10 the model was trained on",
    )
    parser.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranking")
    parser.add_argument(
        "--flip", action="store_true", help="average features of each image and its mirror"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=at_least(1), default=None)
    parser.add_argument(
        "--out", default=None, help="JSON report path (default: next to the checkpoint)"
    )


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_output_file(args.out, "--out", "report.json")
    device = resolve_device(args.device, option="--device")
    backbone, cfg = load_backbone(args.checkpoint, map_location=device)
    overrides = {
        "data__dataset": args.dataset,
        "data__root": args.root,
        "data__regdb_trial": args.regdb_trial,
        "eval__mode": args.mode,
        "eval__shots": args.shots,
        "eval__trials": args.trials,
        "eval__batch_size": args.batch_size,
        "eval__split_file": args.split_file,
        "eval__draw": args.draw or ("official" if args.split_file else None),
        "eval__rerank": args.rerank or None,
        "eval__flip": args.flip or None,
    }
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    # as protocol_trials reads it; no decoding pass: a corrupt image stops the loader with the
    # same one-line error, and evaluation loses nothing by stopping
    require_valid(cfg.data.dataset, resolve_path(cfg.data.root), decode=False)
    settings = [(m, s) for m in ("all", "indoor") for s in (1, 10)] if args.all_settings else None
    report = evaluate_model(
        backbone.features, cfg, settings=settings, name=Path(args.checkpoint).stem
    )
    report["checkpoint"] = str(Path(args.checkpoint).resolve())
    print(format_table(report))
    for result in report["results"]:
        for path, why in result.get("rerank_path", {}).items():
            print(f"re-ranking of {result['setting']} took the {path} path ({why})")
    e = cfg.eval
    default = Path(args.checkpoint).with_name(
        f"eval_{cfg.data.dataset}_{e.mode}_{e.shots}shot_{e.draw}.json"
    )
    print(f"report written to {save_report(report, args.out or default)}")
    return 0
