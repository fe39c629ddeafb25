"""``python -m tsgan export``: the deployed student backbone as an ONNX or TorchScript file.

Example::

    python -m tsgan export --checkpoint runs/x/checkpoint.pt --format onnx --out tsgan.onnx
"""

from __future__ import annotations

import argparse

from .common import check_output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..deploy import FORMATS

    parser.add_argument(
        "--checkpoint", required=True, help="checkpoint written by train or train-teacher"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="onnx",
        help="onnx (needs the export extra) or torchscript",
    )
    parser.add_argument("--out", required=True, help="file to write, e.g. model.onnx or model.pt")


def run(args: argparse.Namespace) -> int:
    from ..deploy import export_backbone, read_metadata

    check_output_file(args.out, "--out", "model.onnx" if args.format == "onnx" else "model.pt")
    out = export_backbone(args.checkpoint, args.format, args.out)
    meta = read_metadata(out)
    print(
        f"wrote {out} ({args.format}, {out.stat().st_size / 2**20:.1f} MiB): "
        f"[0, 1] RGB images (batch, 3, {meta['input_height']}, {meta['input_width']}) -> "
        f"{meta['output_feature']} features (batch, {meta['output_dim']}); "
        "normalisation is inside the model; preprocessing is in the file's metadata"
    )
    return 0
