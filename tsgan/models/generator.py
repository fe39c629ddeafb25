"""The image generators of TS-GAN (paper Sec. III-A): G_I (RGB -> IR) and G_R (IR -> RGB).

Both are CycleGAN's ResNet generator (Zhu et al. 2017): a 7x7 stem, two stride-2 down-samplings,
``n_blocks`` residual blocks, two up-samplings and a 7x7 head with tanh, reflection padding and
instance norm throughout. They work in GAN space: [-1, 1] values, IR single-channel
(``tsgan.imaging.to_gan`` / ``ir_to_1ch`` get images there, ``from_gan`` / ``ir_to_3ch`` back).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn as nn

from ..config import ModelConfig


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """CycleGAN's initialisation: conv weights ~ N(0, std), biases 0, norm scales ~ N(1, std)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN ResNet generator, ``in_channels`` -> ``out_channels``, [-1, 1] in and out.

    Height and width must be multiples of 4 (two stride-2 down-samplings, undone exactly).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ngf: int = 64,
        n_blocks: int = 9,
        upsample: str = "deconv",
    ) -> None:
        super().__init__()
        if upsample not in ("deconv", "resize"):
            raise ValueError(f"upsample must be 'deconv' or 'resize', got {upsample!r}")
        if ngf < 1 or n_blocks < 0:
            raise ValueError(
                f"ResnetGenerator needs ngf >= 1 and n_blocks >= 0, "
                f"got ngf={ngf}, n_blocks={n_blocks}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            if upsample == "deconv":
                up = [
                    nn.ConvTranspose2d(
                        ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1
                    )
                ]
            else:  # resize-convolution: no uneven kernel overlap, so no checkerboard pattern
                up = [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.ReflectionPad2d(1),
                    nn.Conv2d(ngf * mult, ngf * mult // 2, 3),
                ]
            layers += [*up, nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"generator expects a (B, {self.in_channels}, H, W) batch in [-1, 1], "
                f"got shape {tuple(x.shape)}; "
                "convert with tsgan.imaging.to_gan (and ir_to_1ch for IR)"
            )
        if x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(
                f"generator input height and width must be multiples of 4, "
                f"got {tuple(x.shape[2:])}; "
                "resize the images (data.height / data.width)"
            )
        return self.model(x)


def build_generators(model_cfg: ModelConfig) -> tuple[ResnetGenerator, ResnetGenerator]:
    """(G_I, G_R): RGB (3 channels) -> IR (1 channel) and back, sized by
    ``gen_filters``/``gen_blocks``."""
    size = {
        "ngf": model_cfg.gen_filters,
        "n_blocks": model_cfg.gen_blocks,
        "upsample": model_cfg.gen_upsample,
    }
    G_I = ResnetGenerator(3, 1, **size)
    G_R = ResnetGenerator(1, 3, **size)
    return G_I, G_R


def load_generator_I(
    model_cfg: ModelConfig, weights: Mapping[str, torch.Tensor]
) -> ResnetGenerator:
    """G_I of ``model_cfg``'s size holding ``weights`` (a saved state dict), in eval mode: a
    snapshot of a CycleGAN stage, measured or drawn after its training."""
    G_I = build_generators(model_cfg)[0]
    G_I.load_state_dict(weights)
    return G_I.eval()
