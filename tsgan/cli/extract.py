"""``python -m tsgan extract``: test features of every image under a folder, saved with their paths.

Example::

    python -m tsgan extract --checkpoint runs/x/checkpoint.pt --images my_images/ --out feats.pt

``feats.pt`` loads with ``torch.load(path, weights_only=True)``: ``features`` (N, D) float32 as
the network gives them, ``paths`` (N paths relative to ``root``, row order), ``root``, ``feature``
("V" or "bn"), ``flip``, ``feat_norm`` (True: L2-normalise before Euclidean distances, as
``tsgan evaluate`` does for this run), ``checkpoint``, ``config_digest``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import at_least, check_output_file

if TYPE_CHECKING:
    from ..config import Config
    from ..models.backbone import ReIDBackbone


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by extract and search: which model, where it runs, batch size, flip."""
    parser.add_argument(
        "--checkpoint", required=True, help="checkpoint written by train or train-teacher"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=at_least(1), default=64)
    parser.add_argument(
        "--flip",
        action="store_true",
        help="average features of each image and its mirror (default: the run's eval.flip)",
    )


def load_model(args: argparse.Namespace) -> tuple[ReIDBackbone, Config]:
    """The checkpoint's backbone on the chosen device and its config (no image cache here)."""
    from ..config import replace
    from ..engine.checkpoint import load_backbone
    from ..engine.device import resolve_device

    device = resolve_device(args.device, option="--device")
    backbone, cfg = load_backbone(args.checkpoint, map_location=device)
    return backbone, replace(cfg, data__cache=False, eval__flip=args.flip or cfg.eval.flip)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--images", required=True, help="folder of images (searched recursively) or one image"
    )
    parser.add_argument("--out", required=True, help="output file (torch.save), e.g. feats.pt")


def run(args: argparse.Namespace) -> int:
    from ..eval.search import folder_features, save_features

    check_output_file(args.out, "--out", "feats.pt")  # before the features are computed
    backbone, cfg = load_model(args)
    feats, samples = folder_features(
        backbone, cfg, args.images, args.batch_size, cfg.eval.flip, progress=True
    )
    info = {
        "feature": cfg.model.neck_feat,
        "flip": cfg.eval.flip,
        "feat_norm": cfg.eval.feat_norm,
        "checkpoint": str(Path(args.checkpoint).resolve()),
        "config_digest": cfg.digest(),
    }
    out = save_features(args.out, feats, samples, args.images, info)
    print(
        f"wrote {out}: {len(samples)} images x {feats.shape[1]} features ({cfg.model.neck_feat}); "
        f"load with torch.load({str(out)!r}, weights_only=True)"
    )
    return 0
