"""``python -m tsgan data``: generate the embedded dataset, summarise any dataset.

Examples::

    python -m tsgan data synth --out data/synthetic_sysu --seed 0
    python -m tsgan data synth --out data/synthetic_regdb --layout regdb
    python -m tsgan data synth --out data/synthetic_sysu_v4 --world v4 --train-ids 395
    python -m tsgan data summary --dataset sysu --root /data/SYSU-MM01
    python -m tsgan data check --dataset sysu --root /data/SYSU-MM01   # exit 1 if it cannot be read
    python -m tsgan data check --dataset sysu --root /data/SYSU-MM01 --decode  # and every image
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from ..data.records import CrossModalityDataset, DatasetError
from ..data.registry import dataset_names, get_dataset
from ..data.synthetic import WORLDS, generate

SIZE_OPTIONS = (
    "num_ids",
    "height",
    "width",
    "min_images",
    "max_images",
    "images_per_id",
    "trials",
    "train_ids",
    "test_ids",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="subcommand", required=True)
    synth = sub.add_parser(
        "synth", help="render the embedded dataset (byte-identical for the same seed)"
    )
    synth.add_argument(
        "--out", required=True, help="output folder (missing, empty, or an earlier synthetic tree)"
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--layout", choices=("sysu", "regdb"), default="sysu")
    synth.add_argument(
        "--world",
        choices=WORLDS,
        default=None,
        help="SYSU layout: v3 (default) | v4 (SYSU-MM01's cameras; --train-ids, --test-ids)",
    )
    for name in SIZE_OPTIONS:
        synth.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=int,
            default=None,
            help="size option (default: the layout's default, see tsgan.data.synthetic)",
        )
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    summary = sub.add_parser("summary", help="counts per split, modality and camera")
    summary.add_argument("--dataset", required=True, choices=dataset_names())
    summary.add_argument("--root", required=True, help="dataset root")
    summary.add_argument("--trial", type=int, default=None, help="RegDB trial (1..10)")
    check = sub.add_parser("check", help="compare a tree with the published layout and counts")
    check.add_argument("--dataset", required=True, choices=("sysu", "regdb", "llcm"))
    check.add_argument("--root", required=True, help="dataset root")
    check.add_argument(
        "--decode",
        action="store_true",
        help="also decode every image (a progress bar; training always does this first)",
    )


def camera_table(data: CrossModalityDataset) -> str:
    """Identities and images per (split, camera), as a deterministic text table."""
    lines = [f"{'split':<6} {'cam':>4} {'modality':>8} {'ids':>5} {'images':>7}"]
    for split, records in (("train", data.train), ("test", data.test)):
        images = Counter((s.cam, s.modality) for s in records)
        ids = Counter(
            (s.cam, s.modality) for s in {(s.pid, s.cam, s.modality): s for s in records}.values()
        )
        for cam, modality in sorted(images):
            lines.append(
                f"{split:<6} {cam:>4} {modality:>8} {ids[cam, modality]:>5} "
                f"{images[cam, modality]:>7}"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.data_command == "synth":
        sizes = {k: getattr(args, k) for k in SIZE_OPTIONS if getattr(args, k) is not None}
        if args.world is not None:
            sizes["world"] = args.world
        start = time.perf_counter()
        try:
            out = generate(
                args.out, seed=args.seed, layout=args.layout, progress=not args.quiet, **sizes
            )
        except (TypeError, ValueError, DatasetError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        images = sum(1 for p in out.rglob("*") if p.suffix in (".jpg", ".bmp"))
        print(
            f"wrote {images} images in the {args.layout} layout to {out} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        return 0
    if args.data_command == "check":
        from ..data.check import check_dataset, first_problem, format_rows

        rows = check_dataset(args.dataset, args.root, decode=args.decode)
        print(format_rows(rows))
        problem = first_problem(rows)
        print(
            f"{args.dataset} at {args.root}: "
            + (
                "readable"
                if problem is None
                else "cannot be read until the "
                f"{sum(r.status in ('missing', 'invalid') for r in rows)} "
                "missing/invalid row(s) are fixed"
            )
        )
        return 0 if problem is None else 1
    kwargs = {"trial": args.trial} if args.trial is not None else {}
    data = get_dataset(args.dataset, args.root, **kwargs)
    print(data.summary())
    print(camera_table(data))
    return 0
