"""One image-value convention for the whole project.

* datasets yield float tensors in [0, 1], shape (B, 3, H, W); IR images are 3 identical channels;
* ReID networks take [0, 1] and normalise with ImageNet statistics inside the module;
* generators and discriminators work in [-1, 1] (tanh); IR is single-channel there.

These helpers are the only place where values move between the spaces.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_gan(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return x * 2.0 - 1.0


def from_gan(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (clamped)."""
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def ir_to_1ch(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) IR image (3 equal channels) -> (B, 1, H, W) by averaging the channels."""
    if x.shape[1] == 1:
        return x
    return x.mean(dim=1, keepdim=True)


def ir_to_3ch(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 3, H, W) by replicating the channel, for the ReID networks."""
    if x.shape[1] == 3:
        return x
    return x.expand(-1, 3, -1, -1)


def to_image(x: torch.Tensor) -> torch.Tensor:
    """A GAN-space batch (RGB, or single-channel IR) as [0, 1] 3-channel images for the ReID
    networks and for display."""
    return ir_to_3ch(from_gan(x))


def fake_ir(G_I: Callable[[torch.Tensor], torch.Tensor], X_R: torch.Tensor) -> torch.Tensor:
    """X_I' = G_I(X_R) from a [0, 1] RGB batch, as [0, 1] 3-channel images (paper Fig. 5).

    Call it under ``torch.no_grad()`` (and with ``G_I.eval()``) to only look at the images.
    """
    return to_image(G_I(to_gan(X_R)))
