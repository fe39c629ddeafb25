"""Who receives gradients: the switches Algorithm 1 needs between its three updates."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch.nn as nn


def set_requires_grad(nets: nn.Module | list[nn.Module | None], flag: bool) -> None:
    """Turn gradient tracking of every parameter of ``nets`` on or off (CycleGAN's helper)."""
    for net in nets if isinstance(nets, (list, tuple)) else [nets]:
        if net is not None:
            for p in net.parameters():
                p.requires_grad_(flag)


@contextmanager
def frozen(*nets: nn.Module | None) -> Iterator[None]:
    """Inside the block, ``nets`` act as constants: gradients flow *through* them, never *into* them.

    Each parameter's previous ``requires_grad`` is restored on exit (BoT's fixed BN-neck bias stays
    fixed).
    """
    params = [p for net in nets if net is not None for p in net.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)
