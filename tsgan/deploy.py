"""Export the deployed network: the student backbone alone, as ONNX or TorchScript.

At test time TS-GAN runs nothing but the student ReID backbone (paper Sec. III: the generators,
discriminators and the teacher only shape training). :class:`DeployedBackbone` is that network as
one function, [0, 1] images (B, 3, H, W) -> test features (B, D): the GAP feature V (paper: "2048d
features from the GAP layer") or the BN-neck output, as ``model.neck_feat`` of the run says;
``tsgan evaluate`` scores exactly these features with Euclidean distances (after L2
normalisation when the run's ``eval.feat_norm`` is set: the metadata key ``distance`` says which;
the file outputs the features before that normalisation).

Everything a user must do to the pixels before calling the file is written into it
(:func:`preprocessing_metadata`): ONNX ``metadata_props`` and a TorchScript extra file
``tsgan.json`` hold the same string keys; :func:`read_metadata` reads either back. The ImageNet
normalisation happens inside the exported model, so callers feed plain [0, 1] RGB values.

ONNX uses PyTorch's ``torch.export``-based exporter (``dynamo=True``, needs ``onnxscript``), opset
18, batch dimension dynamic; TorchScript is traced (``torch.jit.trace``; the batch size stays free
because no operation depends on it). A trace records Python conditions as constants, so the
network's own input check would vanish and a 1-channel batch would broadcast against the 3-channel
normalisation without a word; the traced file therefore calls a scripted check
(:func:`_check_images`) that keeps refusing anything but (B, 3, H, W), as the ONNX model's fixed
input shape does.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .config import Config
from .imaging import IMAGENET_MEAN, IMAGENET_STD
from .models.backbone import ReIDBackbone

FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "images", "features"
TORCHSCRIPT_META = "tsgan.json"  # the TorchScript extra file holding the metadata
EXTRA_HINT = 'pip install -e ".[export]"'


class ExportError(RuntimeError):
    """An export cannot run (missing optional packages, unknown format, bad output path)."""


class DeployedBackbone(nn.Module):
    """The test-time network: [0, 1] (B, 3, H, W) -> ``backbone.features`` (B, D)."""

    def __init__(self, backbone: ReIDBackbone) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(images)


def preprocessing_metadata(cfg: Config, backbone: ReIDBackbone, kind: str) -> dict[str, str]:
    """What a caller of the exported file must know, as string keys and values (both formats)."""
    d = cfg.data
    return {
        "tsgan_version": __version__,
        "config_digest": cfg.digest(),
        "config": json.dumps(cfg.to_dict(), sort_keys=True),
        "checkpoint_kind": kind,
        "arch": backbone.arch,
        "input_name": INPUT_NAME,
        "input_layout": "NCHW float32, batch dimension dynamic",
        "input_height": str(d.height),
        "input_width": str(d.width),
        "input_resize": f"whole image to {d.height}x{d.width} (bilinear, antialiased), no crop",
        "input_range": "[0, 1] (uint8 pixels / 255)",
        "input_channels": "RGB order; infrared / grey images as 3 equal channels",
        "normalisation": "inside the model: (x - mean) / std per channel; feed [0, 1] values",
        "normalisation_mean": json.dumps(list(IMAGENET_MEAN)),
        "normalisation_std": json.dumps(list(IMAGENET_STD)),
        "output_name": OUTPUT_NAME,
        "output_feature": backbone.neck_feat,
        "output_dim": str(backbone.feat_dim),
        "distance": ("euclidean on L2-normalised features" if cfg.eval.feat_norm else "euclidean")
        + " (what tsgan evaluate scores)",
    }


def export_backbone(checkpoint: str | Path, fmt: str, out: str | Path) -> Path:
    """Write the deployed backbone of ``checkpoint`` to ``out`` as "onnx" or "torchscript"."""
    from .engine.checkpoint import backbone_from_state, load_checkpoint

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        _require_onnx()
    out = Path(out)
    if out.is_dir():
        raise ExportError(
            f"--out {out} is a folder; give a file name such as {out / ('model.' + _suffix(fmt))}"
        )
    state = load_checkpoint(checkpoint, map_location="cpu")
    backbone, cfg = backbone_from_state(state, checkpoint)
    model = DeployedBackbone(backbone).eval()
    meta = preprocessing_metadata(cfg, backbone, str(state.get("kind", "unknown")))
    example = torch.rand(
        2, 3, cfg.data.height, cfg.data.width, generator=torch.Generator().manual_seed(0)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        (_export_onnx if fmt == "onnx" else _export_torchscript)(model, example, meta, Path(tmp))
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out


def _suffix(fmt: str) -> str:
    return {"onnx": "onnx", "torchscript": "pt"}[fmt]


def _require_onnx() -> None:
    """ONNX export needs the optional extra and torch's export-based exporter; say how."""
    if torch.torch_version.TorchVersion(torch.__version__) < (2, 6):
        raise ExportError(
            f"--format onnx needs torch >= 2.6 (torch.export-based exporter), found "
            f"{torch.__version__}; upgrade torch or use --format torchscript"
        )
    missing = [name for name in ("onnx", "onnxscript") if not _importable(name)]
    if missing:
        raise ExportError(
            f"--format onnx needs the optional packages {', '.join(missing)}: {EXTRA_HINT}"
        )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _export_onnx(model: nn.Module, example: torch.Tensor, meta: dict[str, str], path: Path) -> None:
    import onnx

    batch = torch.export.Dim("batch")
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        opset_version=ONNX_OPSET,
        verbose=False,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes={"images": {0: batch}},
    )
    proto = program.model_proto
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, path)


def _check_images(images: torch.Tensor) -> torch.Tensor:
    """``images`` unchanged when it is a (B, 3, H, W) batch; a clear error otherwise (scripted,
    so that a traced file keeps the check at run time)."""
    if images.dim() != 4 or images.size(1) != 3:
        raise ValueError(
            "the exported tsgan model takes [0, 1] RGB images (batch, 3, H, W), got shape "
            + str(images.shape)
            + "; repeat a grey or infrared image over 3 channels"
        )
    return images


class _CheckedInput(nn.Module):
    """The deployed network behind the scripted input check (TorchScript export only)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning
            )
            self.check = torch.jit.script(_check_images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.check(images))


def _export_torchscript(
    model: nn.Module, example: torch.Tensor, meta: dict[str, str], path: Path
) -> None:
    model = _CheckedInput(model)
    with warnings.catch_warnings():
        # PyTorch 2.14 marks torch.jit as deprecated; the format still loads in C++ (libtorch)
        # and Python, which is why it is offered. The input check of ImageNetNormalize (3
        # channels) is a Python condition the tracer records as passed: the scripted check of
        # _CheckedInput is the one the file keeps.
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning
        )
        warnings.filterwarnings(
            "ignore",
            message="Converting a tensor to a Python boolean",
            category=torch.jit.TracerWarning,
        )
        traced = torch.jit.trace(model, (example,))
        torch.jit.save(
            traced, str(path), _extra_files={TORCHSCRIPT_META: json.dumps(meta, sort_keys=True)}
        )


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata written by :func:`export_backbone`, from an ``.onnx`` or TorchScript file."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"expected an exported model file at {path}, found nothing")
    with path.open("rb") as f:
        is_zip = f.read(2) == b"PK"  # TorchScript files are zip archives; ONNX is protobuf
    if is_zip:
        extra = {TORCHSCRIPT_META: ""}
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning
            )
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        return json.loads(extra[TORCHSCRIPT_META])
    _require_onnx()
    import onnx

    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
