"""The paper's learning-rate schedule (Sec. IV-B), applied once per epoch.

Linear warm-up: epoch ``e`` (0-based) of the first ``warmup_epochs`` uses
``lr * (e + 1) / warmup_epochs``, i.e. from ``lr / E_warmup`` up to ``lr``; afterwards ``lr`` is
multiplied by ``gamma`` at each milestone epoch (``x0.3`` at epochs 40 and 70 in the paper, counted
0-based as in BoT's WarmupMultiStepLR).
"""

from __future__ import annotations

from bisect import bisect_right

import torch

from ..config import OptimConfig


def lr_factor(epoch: int, warmup_epochs: int, milestones: tuple[int, ...], gamma: float) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    warm = (epoch + 1) / warmup_epochs if epoch < warmup_epochs else 1.0
    return warm * gamma ** bisect_right(sorted(milestones), epoch)


class WarmupMultiStep:
    """The factor as a callable for ``LambdaLR``; its three numbers are saved with the scheduler
    state."""

    def __init__(self, optim_cfg: OptimConfig, milestones: tuple[int, ...] | None = None):
        self.warmup_epochs = optim_cfg.warmup_epochs
        self.milestones = tuple(optim_cfg.milestones if milestones is None else milestones)
        self.gamma = optim_cfg.gamma

    def __call__(self, epoch: int) -> float:
        return lr_factor(epoch, self.warmup_epochs, self.milestones, self.gamma)


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    optim_cfg: OptimConfig,
    milestones: tuple[int, ...] | None = None,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch scheduler: call ``.step()`` once at the end of every epoch. ``milestones``
    replaces ``optim_cfg.milestones`` (the IR teacher's pretraining has its own,
    ``train.teacher_milestones``)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupMultiStep(optim_cfg, milestones))
