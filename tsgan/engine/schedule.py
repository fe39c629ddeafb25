"""The paper's learning-rate schedule (Sec. IV-B), applied once per epoch.

Linear warm-up over the first ``warmup_epochs`` epochs (0-based epoch ``e``), in one of two forms
chosen by ``warmup_factor`` (docs/ARCHITECTURE.md, "Decisions"):

* ``warmup_factor = 0`` (the default; every run key made before the choice existed has it):
  ``lr * (e + 1) / warmup_epochs``, from ``lr / warmup_epochs`` up to ``lr``. Its first epoch is
  at ``lr`` when ``warmup_epochs`` is 1, so ``warmup_epochs=1`` there is no warm-up at all;
* ``warmup_factor = f`` in (0, 1): BoT's WarmupMultiStepLR (linear method),
  ``lr * (f + (1 - f) * e / warmup_epochs)``: the first epoch at ``lr * f``, ``lr`` reached at
  epoch ``warmup_epochs``, so any ``warmup_epochs >= 1`` really starts below ``lr``.

Afterwards ``lr`` is multiplied by ``gamma`` at each milestone epoch (``x0.3`` at epochs 40 and 70
in the paper, counted 0-based as in BoT's WarmupMultiStepLR).
"""

from __future__ import annotations

from bisect import bisect_right

import torch

from ..config import OptimConfig


def warmup(epoch: int, warmup_epochs: int, warmup_factor: float = 0.0) -> float:
    """The warm-up multiplier of ``epoch`` (0-based): 1 from epoch ``warmup_epochs`` on."""
    if not 0 <= warmup_factor < 1:
        raise ValueError(
            f"optim.warmup_factor must be in [0, 1) (0: lr * (e + 1) / warmup_epochs; f > 0: "
            f"BoT's linear warm-up from lr * f), got {warmup_factor}"
        )
    if epoch >= warmup_epochs:
        return 1.0
    if warmup_factor == 0:
        return (epoch + 1) / warmup_epochs
    return warmup_factor + (1 - warmup_factor) * epoch / warmup_epochs


def lr_factor(
    epoch: int,
    warmup_epochs: int,
    milestones: tuple[int, ...],
    gamma: float,
    warmup_factor: float = 0.0,
) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    warm = warmup(epoch, warmup_epochs, warmup_factor)
    return warm * gamma ** bisect_right(sorted(milestones), epoch)


class WarmupMultiStep:
    """The factor as a callable for ``LambdaLR``; its numbers are saved with the scheduler
    state."""

    def __init__(self, optim_cfg: OptimConfig, milestones: tuple[int, ...] | None = None):
        self.warmup_epochs = optim_cfg.warmup_epochs
        self.warmup_factor = optim_cfg.warmup_factor
        warmup(0, self.warmup_epochs, self.warmup_factor)  # a bad factor fails before training
        self.milestones = tuple(optim_cfg.milestones if milestones is None else milestones)
        self.gamma = optim_cfg.gamma

    def __call__(self, epoch: int) -> float:
        return lr_factor(epoch, self.warmup_epochs, self.milestones, self.gamma, self.warmup_factor)


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    optim_cfg: OptimConfig,
    milestones: tuple[int, ...] | None = None,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch scheduler: call ``.step()`` once at the end of every epoch. ``milestones``
    replaces ``optim_cfg.milestones`` (the IR teacher's pretraining has its own,
    ``train.teacher_milestones``)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupMultiStep(optim_cfg, milestones))
