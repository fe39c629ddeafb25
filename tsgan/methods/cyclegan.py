"""The image-generation module of TS-GAN on its own (paper Sec. III-A): an RGB <-> IR CycleGAN.

:class:`CycleGAN` runs Algorithm 1's generator and discriminator lines (1-2 and 5-7) without the
ReID backbone update: the very phases and optimizers of the full step
(:class:`tsgan.methods.tsgan.GANPhases`), so it serves notebook 03 and any warm start of G_I / G_R.
A joint D_I needs feature maps: pass ``fmap_net`` (a frozen ``Teacher``, or any module mapping a
[0, 1] 3-channel batch to f_map), used as a fixed feature extractor.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import Config
from ..freeze import frozen
from .tsgan import DISCRIMINATOR_LOSSES, GENERATOR_LOSSES, GANPhases


class CycleGAN(GANPhases):
    """G_I (RGB -> IR), G_R (IR -> RGB), D_I (joint or ordinary), D_R, optimizers O_G and O_D."""

    kind = "cyclegan"
    loss_names = GENERATOR_LOSSES + DISCRIMINATOR_LOSSES

    def __init__(
        self,
        cfg: Config,
        device: torch.device | None = None,
        fmap_net: nn.Module | None = None,
        fmap_channels: int = 0,
    ) -> None:
        super().__init__(cfg, device or torch.device("cpu"))
        joint = cfg.model.discriminator == "joint"
        if joint and fmap_net is None:
            raise ValueError(
                "a joint D_I judges (image, feature map) pairs: pass fmap_net (e.g. a "
                "Teacher), or use model.discriminator=ordinary"
            )
        self.fmap_net = fmap_net
        self.add_gan(fmap_channels or getattr(fmap_net, "fmap_channels", 1))

    def generator_fmap(self, X_I_fake: torch.Tensor) -> torch.Tensor:
        """f(X_I') from the fixed ``fmap_net``."""
        with frozen(self.fmap_net):
            return self.fmap_net(X_I_fake)

    def optimize_parameters(self) -> dict[str, float]:
        """Algorithm 1 lines 1-2 (L_G, Eq. 1, 6, 7; update G) then 5-7 (L_D, Eq. 2-5; update D)."""
        self.losses = {}
        self.forward()
        self.zero_grad("G")
        self.backward_G()
        self.step("G")
        if self.D_I.joint:
            with torch.no_grad():
                self.fmap_real = self.fmap_net(self.X_I)
                self.fmap_fake = self.fmap_net(self.X_I_fake)
        self.zero_grad("D")
        self.backward_D()
        self.step("D")
        return self.end_step()

    @torch.no_grad()
    def translate(self, X_R: torch.Tensor, X_I: torch.Tensor) -> dict[str, torch.Tensor]:
        """GAN-space images of one cycle from [0, 1] loader batches: real, fake, reconstructed."""
        self.set_input({"rgb": X_R, "ir": X_I, "label": None})
        self.forward()
        return {
            k: getattr(self, k) for k in ("real_R", "real_I", "fake_I", "fake_R", "rec_R", "rec_I")
        }
