"""A batch of uniform noise in the train loader's format, for step-model tests and benchmarks.

``random_batch(P, K, h, w, seed)`` is what :func:`tsgan.data.dataset.build_train_loader` yields
(``{"rgb", "ir", "label"}``, values in [0, 1], IR as 3 equal channels, pair i of identity
``label[i]``) without reading any image: one Algorithm 1 step can run on it anywhere. The draw
depends only on ``seed`` (its own generator; the global RNG is not touched).
"""

from __future__ import annotations

import torch


def random_batch(P: int, K: int, h: int, w: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """P identities x K (RGB, IR) pairs of (3, h, w) noise images; labels 0..P-1, K each."""
    g = torch.Generator().manual_seed(seed)
    B = P * K
    return {
        "rgb": torch.rand(B, 3, h, w, generator=g),
        "ir": torch.rand(B, 1, h, w, generator=g).expand(-1, 3, -1, -1),
        "label": torch.arange(P).repeat_interleave(K),
    }
