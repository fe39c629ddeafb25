"""The discriminators of TS-GAN (paper Sec. III-A): D_R (RGB), D_I (IR) joint or ordinary.

* :class:`PatchDiscriminator` is CycleGAN's PatchGAN: a map of real/fake logits, one per image patch
  (70x70 receptive field with ``n_layers=3``). It is D_R, and D_I in the ablation TS-GAN_OD.
* :class:`JointDiscriminator` is D_I of TS-GAN_JD: it judges a *pair* (IR image, ReID feature map),
  so it can tell a real IR image shown with the feature map of a fake one (the set M of Eq. 5).
  The paper gives no architecture; ours (docs/ARCHITECTURE.md) is a PatchGAN image branch that
  brings the image down to the feature map's 1/16 grid with four stride-2 convolutions, a 1x1 conv
  projecting the feature map to the same width, concatenation, then ``n_layers`` 3x3
  conv-norm-LeakyReLU layers and a 3x3 conv to one logit per grid cell.

Both accept ``forward(x, fmap=None)`` and say whether they use ``fmap`` through ``joint``, so the
losses treat them alike. Images are in GAN space ([-1, 1]).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .generator import init_weights


def _check_image(x: torch.Tensor, channels: int) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(
            f"discriminator expects a (B, {channels}, H, W) image batch in [-1, 1], "
            f"got shape {tuple(x.shape)}"
        )


class PatchDiscriminator(nn.Module):
    """PatchGAN over images; ``fmap`` is accepted and ignored (the "ordinary" D_I of TS-GAN_OD)."""

    joint = False

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        if ndf < 1 or n_layers < 1:
            raise ValueError(
                f"PatchDiscriminator needs ndf >= 1 and n_layers >= 1, got {ndf}, {n_layers}"
            )
        self.in_channels = in_channels
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        width = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            new = ndf * min(2**n, 8)
            layers += [
                nn.Conv2d(width, new, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(new),
                nn.LeakyReLU(0.2, True),
            ]
            width = new
        layers += [nn.Conv2d(width, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor, fmap: torch.Tensor | None = None) -> torch.Tensor:
        _check_image(x, self.in_channels)
        return self.model(x)


class JointDiscriminator(nn.Module):
    """D_I over (IR image, ReID feature map) pairs, Eq. (1)-(5); returns a logit map on the fmap
    grid."""

    joint = True

    def __init__(
        self, img_channels: int, fmap_channels: int, ndf: int = 64, n_layers: int = 3
    ) -> None:
        super().__init__()
        if ndf < 1 or n_layers < 1:
            raise ValueError(
                f"JointDiscriminator needs ndf >= 1 and n_layers >= 1, got {ndf}, {n_layers}"
            )
        self.img_channels, self.fmap_channels = img_channels, fmap_channels
        widths = [ndf * min(2**i, 8) for i in range(4)]  # four stride-2 convs: 1/16 of the image
        image: list[nn.Module] = [
            nn.Conv2d(img_channels, widths[0], 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        for a, b in zip(widths, widths[1:]):
            image += [
                nn.Conv2d(a, b, 4, stride=2, padding=1),
                nn.InstanceNorm2d(b),
                nn.LeakyReLU(0.2, True),
            ]
        self.image = nn.Sequential(*image)
        self.feature = nn.Sequential(
            nn.Conv2d(fmap_channels, widths[-1], 1),
            nn.InstanceNorm2d(widths[-1]),
            nn.LeakyReLU(0.2, True),
        )
        joint: list[nn.Module] = []
        width = 2 * widths[-1]
        for _ in range(n_layers):
            joint += [
                nn.Conv2d(width, widths[-1], 3, padding=1),
                nn.InstanceNorm2d(widths[-1]),
                nn.LeakyReLU(0.2, True),
            ]
            width = widths[-1]
        joint += [nn.Conv2d(width, 1, 3, padding=1)]
        self.joint_layers = nn.Sequential(*joint)
        init_weights(self)

    def forward(self, x: torch.Tensor, fmap: torch.Tensor | None = None) -> torch.Tensor:
        _check_image(x, self.img_channels)
        if (
            fmap is None
            or fmap.dim() != 4
            or fmap.shape[1] != self.fmap_channels
            or fmap.shape[0] != x.shape[0]
        ):
            found = None if fmap is None else tuple(fmap.shape)
            raise ValueError(
                f"the joint discriminator needs the ReID feature map of each image: expected "
                f"({x.shape[0]}, {self.fmap_channels}, H/16, W/16), got {found}; "
                "pass backbone.former(x) "
                "or use the ordinary discriminator (model.discriminator=ordinary)"
            )
        h = self.image(x)
        if h.shape[2:] != fmap.shape[2:]:  # inputs whose size is not a multiple of 16
            fmap = F.interpolate(fmap, size=h.shape[2:], mode="bilinear", align_corners=False)
        return self.joint_layers(torch.cat([h, self.feature(fmap)], dim=1))


def build_discriminators(
    model_cfg: ModelConfig, fmap_channels: int
) -> tuple[nn.Module, PatchDiscriminator]:
    """(D_I, D_R): D_I joint or ordinary per ``model_cfg.discriminator``, D_R an RGB PatchGAN."""
    ndf, n = model_cfg.disc_filters, model_cfg.disc_layers
    if model_cfg.discriminator == "joint":
        D_I: nn.Module = JointDiscriminator(1, fmap_channels, ndf, n)
    elif model_cfg.discriminator == "ordinary":
        D_I = PatchDiscriminator(1, ndf, n)
    else:
        raise ValueError(
            f"model.discriminator must be 'joint' (TS-GAN_JD) or 'ordinary' (TS-GAN_OD), "
            f"got {model_cfg.discriminator!r}"
        )
    return D_I, PatchDiscriminator(3, ndf, n)
