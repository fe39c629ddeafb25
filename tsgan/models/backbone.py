"""The ReID backbone of TS-GAN (paper Sec. III-B), split where the teacher-student losses attach.

Names from the paper:

* ``FE`` (FE_S for the student, FE_T for the teacher): the *former encoder*, the stem (conv1, bn1,
  relu, maxpool) and ResNet ``layer1..layer3``. Its output ``fmap`` is the middle-layer feature map
  at 1/16 of the input size (1024 channels for ResNet-50, 256 for ResNet-18): 288x144 -> 18x9.
* ``LE`` (LE_S): the *latter encoder*, ``layer4``, with the last stride set to 1 (BoT, ref. [34]),
  so its output stays at 1/16 resolution.
* ``V``: global average pooling of the LE output (2048-d for ResNet-50): the test feature.
* ``bnneck`` + ``classifier``: BoT's batch-norm neck and the bias-free FC giving the logits ``F``.

Inputs are [0, 1] RGB-like tensors (B, 3, H, W) (IR replicated to 3 channels, see
``tsgan.imaging.ir_to_3ch``); ImageNet normalisation happens inside the module.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torchvision.models as tvm

from ..config import ModelConfig
from ..imaging import IMAGENET_MEAN, IMAGENET_STD

# arch -> (constructor, ImageNet weights enum, fmap channels (layer3), V dimension (layer4))
ARCHS = {
    "resnet18": (tvm.resnet18, tvm.ResNet18_Weights, 256, 512),
    "resnet34": (tvm.resnet34, tvm.ResNet34_Weights, 256, 512),
    "resnet50": (tvm.resnet50, tvm.ResNet50_Weights, 1024, 2048),
    "resnet101": (tvm.resnet101, tvm.ResNet101_Weights, 1024, 2048),
}
NECK_FEATS = ("V", "bn")
BASIC_BLOCK_ARCHS = ("resnet18", "resnet34")  # the archs whose base width can change


def narrow_resnet(arch: str, width: int) -> tvm.ResNet:
    """torchvision's ``arch`` (ResNet-18/34) with base width ``width`` instead of 64: the four
    stages have ``width, 2 width, 4 width, 8 width`` channels, so a width of 32 costs ~1/4 of the
    multiply-adds. Same module names as torchvision's ResNet (conv1, bn1, layer1..4), random init.
    """
    if arch not in BASIC_BLOCK_ARCHS:
        raise ValueError(
            f"model.width={width} needs a BasicBlock ResNet ({', '.join(BASIC_BLOCK_ARCHS)}), "
            f"got arch {arch!r}; keep model.width=64 for {arch}"
        )
    if width < 8:
        raise ValueError(f"model.width must be at least 8, got {width}")
    net = ARCHS[arch][0](weights=None)
    blocks = [len(getattr(net, f"layer{i}")) for i in range(1, 5)]
    net.inplanes = width
    net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(width)
    for i, n in enumerate(blocks):
        layer = net._make_layer(tvm.resnet.BasicBlock, width * 2**i, n, stride=1 if i == 0 else 2)
        setattr(net, f"layer{i + 1}", layer)
    net.fc = nn.Linear(8 * width, 1000)
    for m in net.modules():  # torchvision's initialisation of its ResNets
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


class ImageNetNormalize(nn.Module):
    """[0, 1] -> ImageNet-normalised, checking that the input is a (B, 3, H, W) batch."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"ReID networks expect a (B, 3, H, W) batch in [0, 1], got shape {tuple(x.shape)}; "
                "replicate single-channel IR with tsgan.imaging.ir_to_3ch "
                "(and from_gan for [-1, 1] images)"
            )
        return (x - self.mean) / self.std


def imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights of ``arch`` from the torch hub cache; never downloads."""
    weights = ARCHS[arch][1].IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained='imagenet' needs torchvision's {arch} ImageNet weights at {path}, "
            "found nothing "
            "(this code never downloads). Fix: copy the file from a machine with internet "
            f"({weights.url}) to that path (set $TORCH_HOME to move the cache), or pass "
            "model.pretrained=/path/to/state_dict.pth, or model.pretrained='' for random init."
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def load_pretrained(net: tvm.ResNet, arch: str, pretrained: str) -> None:
    """Load ImageNet weights (``"imagenet"``) or a torchvision-style ResNet state dict (a path)."""
    if pretrained == "imagenet":
        state = imagenet_state_dict(arch)
    else:
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"model.pretrained={pretrained!r}: expected '' (random init), 'imagenet' "
                "or the path of a "
                f"torchvision {arch} state dict, found no file at {path}"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ValueError(
            f"pretrained weights {pretrained!r} do not fit torchvision's {arch}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}; "
            "pass a state dict saved from torchvision.models." + arch
        )


class ReIDBackbone(nn.Module):
    """BoT-style ReID network split into FE (stem + layer1..3) and LE (layer4), Sec. III-B."""

    def __init__(
        self,
        arch: str = "resnet50",
        num_classes: int = 395,
        last_stride: int = 1,
        pretrained: str = "",
        neck_feat: str = "V",
        width: int = 64,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown backbone arch {arch!r}; choose one of {sorted(ARCHS)}")
        if neck_feat not in NECK_FEATS:
            raise ValueError(f"neck_feat must be one of {NECK_FEATS}, got {neck_feat!r}")
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride must be 1 (BoT) or 2 (plain ResNet), got {last_stride}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        constructor, _, self.fmap_channels, self.feat_dim = ARCHS[arch]
        if width != 64 and pretrained:
            raise ValueError(
                f"model.width={width} has no pretrained weights (torchvision's are 64 wide); "
                "set model.pretrained='' or model.width=64"
            )
        net = constructor(weights=None) if width == 64 else narrow_resnet(arch, width)
        if width != 64:
            self.fmap_channels, self.feat_dim = 4 * width, 8 * width
        if pretrained:
            load_pretrained(net, arch, pretrained)
        block = net.layer4[0]
        (block.conv2 if hasattr(block, "conv3") else block.conv1).stride = (
            last_stride,
            last_stride,
        )
        block.downsample[0].stride = (last_stride, last_stride)

        self.arch, self.neck_feat = arch, neck_feat
        self.normalize = ImageNetNormalize()
        self.FE = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3
        )
        self.LE = net.layer4
        self.bnneck = nn.BatchNorm1d(self.feat_dim)
        self.bnneck.bias.requires_grad_(False)  # BoT: the neck only scales
        self.classifier = nn.Linear(self.feat_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def former(self, x: torch.Tensor) -> torch.Tensor:
        """FE on a [0, 1] batch: the middle-layer feature map f_map (B, fmap_channels, H/16,
        W/16)."""
        return self.FE(self.normalize(x))

    def latter(self, fmap: torch.Tensor) -> dict[str, torch.Tensor]:
        """LE, GAP, BN-neck and classifier on a feature map: V, its BN-neck output and the
        logits F."""
        V = self.LE(fmap).mean(dim=(2, 3))
        bn = self.bnneck(V)
        return {"V": V, "bn": bn, "logits": self.classifier(bn)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything the losses need: ``fmap`` (TS losses, D_I), ``V`` (triplet), ``logits``
        (ID)."""
        fmap = self.former(x)
        return {"fmap": fmap, **self.latter(fmap)}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The test feature: V (paper, "2048d features from the GAP layer") or the BN-neck
        output."""
        out = self.latter(self.former(x))
        return out[self.neck_feat]


def build_backbone(model_cfg: ModelConfig, num_classes: int) -> ReIDBackbone:
    """The student (or teacher) backbone described by a ``ModelConfig``."""
    return ReIDBackbone(
        arch=model_cfg.arch,
        num_classes=num_classes,
        last_stride=model_cfg.last_stride,
        pretrained=model_cfg.pretrained,
        neck_feat=model_cfg.neck_feat,
        width=model_cfg.width,
    )
