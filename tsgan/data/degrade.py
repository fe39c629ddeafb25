"""Degraded IR twins: a controlled family of X_I' between a perfect G_I and a poor one.

``train.fakes=twins`` feeds the embedded data's true IR twins of X_R as X_I' (an oracle G_I);
``train.twin_degrade=k`` (k in 1..4) feeds those twins degraded by level ``k`` of :data:`LEVELS`,
so the TS losses can be measured against how faithful X_I' is ("how good must G_I be?"). Each
level applies, in order, to the twin's grey level x in [0, 1] at the training size:

1. contrast loss: a blend toward the picture's mean grey, ``x + b (mean - x)``;
2. grey-level jitter: a per-picture gain and offset, ``(1 + g u1) x + g u2 / 2``;
3. Gaussian blur of standard deviation ``sigma`` pixels (reflected borders);
4. additive Gaussian noise of standard deviation ``noise``, then clipped to [0, 1] and rounded
   to uint8 like every cached picture.

The random draws (u1, u2 uniform in [-1, 1], one unit-normal field) are a function of the
picture alone (:func:`picture_seed`: its identity, camera and file name), the same at every level,
so a picture's level k+1 is its level k with every amount larger (common random numbers: the
levels are monotone picture by picture, not only on average) and a run sees the same degraded
twin at every epoch. Draws come from numpy's PCG64 and the arithmetic is numpy float64, so the
pictures do not depend on the CPU's vector extensions. :data:`LEVELS` were chosen so the mean twin
SSIM on the validation pictures spans about 0.9 (level 1) down to what the cpu preset's G_I
reaches (about 0.2-0.3); :func:`tsgan.eval.twins.degraded_twin_error` measures it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .records import Sample


@dataclass(frozen=True)
class Level:
    """One degradation level's amounts (see the module docstring); all zero is the twin itself."""

    blend: float = 0.0  # b: fraction of the way to the picture's mean grey
    jitter: float = 0.0  # g: per-picture gain / offset amplitude
    sigma: float = 0.0  # blur standard deviation, pixels
    noise: float = 0.0  # additive noise standard deviation, grey levels in [0, 1]


LEVELS: tuple[Level, ...] = (
    Level(),
    Level(blend=0.1, jitter=0.05, sigma=0.5, noise=0.02),
    Level(blend=0.2, jitter=0.08, sigma=0.8, noise=0.035),
    Level(blend=0.3, jitter=0.12, sigma=1.0, noise=0.055),
    Level(blend=0.45, jitter=0.2, sigma=1.5, noise=0.08),
)


def check_level(level: int) -> int:
    """``level`` itself when it names one of :data:`LEVELS`, else a ValueError naming the field."""
    if not isinstance(level, int) or not 0 <= level < len(LEVELS):
        raise ValueError(
            f"train.twin_degrade must be an integer level in [0, {len(LEVELS) - 1}] "
            f"(0: the true twins), got {level!r}"
        )
    return level


def picture_seed(sample: Sample) -> int:
    """A stable seed of one picture: CRC-32 of ``pid/cam/file name`` (no path prefix, so a tree
    moved or generated elsewhere degrades the same)."""
    return zlib.crc32(f"{sample.pid}/{sample.cam}/{Path(sample.path).name}".encode())


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an (H, W) float64 array, radius 3 sigma, reflected borders."""
    r = max(1, int(np.ceil(3 * sigma)))
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    for axis in (0, 1):
        n = x.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(x, pad, mode="reflect" if n > r else "edge")
        x = sum(w * (p[i : i + n] if axis == 0 else p[:, i : i + n]) for i, w in enumerate(k))
    return x


def degrade(twin: torch.Tensor, level: int, seed: int) -> torch.Tensor:
    """The twin ``twin`` (uint8 (C, H, W), C equal grey channels) at degradation ``level``, with
    the picture's random draws from ``seed``; level 0 returns ``twin`` unchanged."""
    check_level(level)
    if level == 0:
        return twin
    if twin.dtype != torch.uint8 or twin.dim() != 3:
        raise ValueError(f"expected a uint8 (C, H, W) twin, got {twin.dtype} {tuple(twin.shape)}")
    lv = LEVELS[level]
    rng = np.random.default_rng(seed)
    u1, u2 = rng.uniform(-1.0, 1.0, size=2)
    field = rng.standard_normal(twin.shape[1:])
    x = twin[0].numpy().astype(np.float64) / 255
    x = x + lv.blend * (x.mean() - x)
    x = (1 + lv.jitter * u1) * x + lv.jitter * u2 / 2
    if lv.sigma > 0:
        x = _blur(x, lv.sigma)
    x = np.clip(x + lv.noise * field, 0.0, 1.0)
    grey = torch.from_numpy(np.round(x * 255).astype(np.uint8))
    return grey.expand(twin.shape[0], -1, -1).contiguous()


__all__ = ["LEVELS", "Level", "check_level", "degrade", "picture_seed"]
