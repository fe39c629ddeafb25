"""The image-generation module of TS-GAN on its own (paper Sec. III-A): a CycleGAN between RGB and IR.

:class:`CycleGAN` runs Algorithm 1's generator and discriminator lines (1-2 and 5-7) without the
ReID backbone update, with the very losses the full model uses (``tsgan.losses``). It serves
notebook 03 and any warm start of G_I / G_R; the full step is ``tsgan.engine.tsgan_model.TSGAN``.
A joint D_I needs feature maps: pass ``fmap_net`` (a frozen ``Teacher``, or any module mapping a
[0, 1] 3-channel batch to f_map), used as a fixed feature extractor.
"""
from __future__ import annotations

from itertools import chain

import torch
import torch.nn as nn

from ..config import Config
from ..imaging import from_gan, ir_to_1ch, ir_to_3ch, to_gan
from ..losses import GANLoss, cycle_loss, discriminator_loss, discriminator_loss_R, generator_loss
from .discriminator import build_discriminators
from .generator import build_generators
from .grad import frozen


class CycleGAN(nn.Module):
    """G_I (RGB -> IR), G_R (IR -> RGB), D_I (joint or ordinary), D_R and their two Adam optimizers."""

    def __init__(self, cfg: Config, fmap_net: nn.Module | None = None, fmap_channels: int = 0) -> None:
        super().__init__()
        self.G_I, self.G_R = build_generators(cfg.model)
        self.D_I, self.D_R = build_discriminators(cfg.model, fmap_channels or getattr(fmap_net, "fmap_channels", 1))
        if self.D_I.joint and fmap_net is None:
            raise ValueError("a joint D_I judges (image, feature map) pairs: pass fmap_net (e.g. a Teacher), "
                             "or use model.discriminator=ordinary")
        self.fmap_net = fmap_net
        self.gan, self.omega = GANLoss(cfg.loss.gan_mode), cfg.loss.omega
        betas = (cfg.optim.gan_beta1, cfg.optim.gan_beta2)
        self.opt_G = torch.optim.Adam(chain(self.G_I.parameters(), self.G_R.parameters()), cfg.optim.gan_lr, betas)
        self.opt_D = torch.optim.Adam(chain(self.D_I.parameters(), self.D_R.parameters()), cfg.optim.gan_lr, betas)

    def translate(self, X_R: torch.Tensor, X_I: torch.Tensor) -> dict[str, torch.Tensor]:
        """GAN-space images of one cycle from [0, 1] loader batches: real, fake and reconstructed."""
        real_R, real_I = to_gan(X_R), to_gan(ir_to_1ch(X_I))
        fake_I, fake_R = self.G_I(real_R), self.G_R(real_I)
        return {"real_R": real_R, "real_I": real_I, "fake_I": fake_I, "fake_R": fake_R,
                "rec_R": self.G_R(fake_I), "rec_I": self.G_I(fake_R)}

    def fmap(self, x_gan: torch.Tensor) -> torch.Tensor | None:
        """f_map of a GAN-space IR batch for the joint D_I (None for the ordinary one)."""
        if not self.D_I.joint:
            return None
        with frozen(self.fmap_net):
            return self.fmap_net(ir_to_3ch(from_gan(x_gan)))

    def train_step(self, X_R: torch.Tensor, X_I: torch.Tensor) -> dict[str, float]:
        """Algorithm 1 lines 1-2 (L_G, Eq. 1, 6, 7; update G) then 5-7 (L_D, Eq. 2-5; update D)."""
        v = self.translate(X_R, X_I)
        cyc = cycle_loss(v["real_R"], v["rec_R"], v["real_I"], v["rec_I"])
        L_G = generator_loss(self.D_I, self.D_R, v["fake_I"], self.fmap(v["fake_I"]), v["fake_R"], cyc, self.gan,
                             self.omega)
        self.opt_G.zero_grad(set_to_none=True)
        L_G["total"].backward()
        self.opt_G.step()
        L_DI = discriminator_loss(self.D_I, v["real_I"], v["fake_I"], self.fmap(v["real_I"]),
                                  self.fmap(v["fake_I"].detach()), self.gan)
        L_DR = discriminator_loss_R(self.D_R, v["real_R"], v["fake_R"], self.gan)
        self.opt_D.zero_grad(set_to_none=True)
        (L_DI["total"] + L_DR["total"]).backward()
        self.opt_D.step()
        return {"G_adv_I": L_G["adv_I"].item(), "G_adv_R": L_G["adv_R"].item(), "G_cyc": cyc.item(),
                "D_I": L_DI["total"].item(), "D_R": L_DR["total"].item()}
