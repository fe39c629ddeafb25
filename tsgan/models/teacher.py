"""The ReID Teacher module (paper Sec. III-C): FE_T, the former encoder of an IR-only backbone.

The teacher is pretrained on IR images with ID + triplet losses (``tsgan.methods.teacher``); TS-GAN
then keeps only its stem + layer1..3, with fixed weights. This wrapper makes "fixed" hold whatever
the caller does: parameters never require gradients, ``train()`` leaves it in eval mode (its batch
norms keep their running statistics) and the forward pass runs under ``torch.no_grad``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .backbone import ReIDBackbone


class Teacher(nn.Module):
    """Frozen FE_T: ``forward(x)`` maps a [0, 1] (B, 3, H, W) batch to its feature map, no
    gradient."""

    def __init__(self, backbone: ReIDBackbone) -> None:
        super().__init__()
        if not isinstance(backbone, ReIDBackbone):
            raise TypeError(
                f"Teacher wraps a tsgan.models.ReIDBackbone, got {type(backbone).__name__}"
            )
        self.normalize = copy.deepcopy(backbone.normalize)
        self.FE = copy.deepcopy(backbone.FE)
        self.fmap_channels = backbone.fmap_channels
        self.FE.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> Teacher:
        """Always eval mode: the teacher's batch-norm statistics are part of what it teaches."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.FE(self.normalize(x))
