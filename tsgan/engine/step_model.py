"""What the trainer needs from a model: networks, optimizers, schedulers, one loss scaler.

The trainer knows nothing of the model (minGPT's split): it calls ``set_input(batch)`` and
``optimize_parameters() -> {loss name: value}`` once per step, ``end_epoch()`` once per epoch,
and saves ``state_dict()``. :class:`tsgan.methods.teacher.IRBaseline`,
:class:`tsgan.methods.tsgan.TSGAN` and :class:`tsgan.methods.cyclegan.CycleGAN` build on this.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import Config
from .device import autocast, make_scaler, prepare_module
from .distributed import unwrap, wrap_ddp
from .schedule import build_scheduler


def backbone_optimizer(params, cfg: Config) -> torch.optim.Adam:
    """O_B: Adam, lr 3.5e-4, weight decay 5e-4 on weights and biases alike (paper Sec. IV-B)."""
    return torch.optim.Adam(
        [p for p in params if p.requires_grad], lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )


class StepModel:
    """Networks (``self.nets``), their optimizers and per-epoch schedulers, mixed-precision
    helpers."""

    def __init__(self, cfg: Config, device: torch.device):
        self.cfg, self.device = cfg, device
        self.nets: dict[str, nn.Module] = {}  # plain modules: state dicts, frozen uses
        self.train_nets: dict[
            str, nn.Module
        ] = {}  # DDP / torch.compile wrappers: the updating forward passes
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self.scaler = make_scaler(device, cfg.train.amp)
        self.losses: dict[str, torch.Tensor] = {}

    def add_net(self, name: str, net: nn.Module) -> nn.Module:
        """Register a network: moved to the device, wrapped for DDP and compiled when configured."""
        net = prepare_module(net, self.device, self.cfg.train.channels_last)
        self.nets[name] = net
        wrapped = wrap_ddp(net, self.device)
        if wrapped is not net and hasattr(net, "joint"):
            wrapped.joint = (
                net.joint
            )  # the losses ask a discriminator whether it is joint; DDP does not forward it
        self.train_nets[name] = torch.compile(wrapped) if self.cfg.train.compile else wrapped
        return net

    def add_optimizer(self, name: str, optimizer: torch.optim.Optimizer) -> None:
        """Register an optimizer and its per-epoch warm-up + step scheduler (paper Sec. IV-B)."""
        self.optimizers[name] = optimizer
        self.schedulers[name] = build_scheduler(optimizer, self.cfg.optim, self.milestones())

    def milestones(self) -> tuple[int, ...]:
        """Epochs at which the learning rates decay (``optim.milestones``; the teacher's differ)."""
        return self.cfg.optim.milestones

    def autocast(self):
        return autocast(self.device, self.cfg.train.amp)

    def zero_grad(self, optimizer: str) -> None:
        """Clear the gradients of ``optimizer``'s parameters (before the backward pass it steps
        on)."""
        self.optimizers[optimizer].zero_grad(set_to_none=True)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate the (scaled, for fp16) loss; gradients add to what is there."""
        self.scaler.scale(loss).backward()

    def step(self, optimizer: str) -> None:
        """Apply ``optimizer`` (the scaler skips the step when fp16 gradients overflowed)."""
        self.scaler.step(self.optimizers[optimizer])

    def end_step(self) -> dict[str, float]:
        """Update the loss scale once per step; the losses of this step as floats."""
        self.scaler.update()
        return {k: float(v.detach()) for k, v in self.losses.items()}

    def end_epoch(self) -> None:
        for s in self.schedulers.values():
            s.step()

    def visuals(self) -> dict[str, torch.Tensor]:
        """Named [0, 1] image batches of the current step worth looking at (TensorBoard grids)."""
        return {}

    def lr(self) -> dict[str, float]:
        return {f"lr_{k}": o.param_groups[0]["lr"] for k, o in self.optimizers.items()}

    def train(self) -> StepModel:
        for net in self.nets.values():
            net.train()
        return self

    def eval(self) -> StepModel:
        for net in self.nets.values():
            net.eval()
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {k: unwrap(n).state_dict() for k, n in self.nets.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for group in ("models", "optimizers", "schedulers"):
            ours = {
                "models": self.nets,
                "optimizers": self.optimizers,
                "schedulers": self.schedulers,
            }[group]
            if set(state[group]) != set(ours):
                raise ValueError(
                    f"checkpoint {group} {sorted(state[group])} do not match this model's "
                    f"{sorted(ours)}; "
                    "was it written with another config (train.use_gan, train.use_teacher)?"
                )
            for k, obj in ours.items():
                obj.load_state_dict(state[group][k])
        self.scaler.load_state_dict(state["scaler"])
