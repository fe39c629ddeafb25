"""Who receives gradients: the switch Algorithm 1 needs between its three updates.

It sits at the package top (not in ``tsgan.models``) so that ``tsgan.losses`` can freeze the
discriminators without importing the networks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch.nn as nn


@contextmanager
def frozen(*nets: nn.Module | None) -> Iterator[None]:
    """Inside the block, ``nets`` act as constants: gradients flow *through* them, not *into* them.

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
        for p, flag in zip(params, before, strict=True):
            p.requires_grad_(flag)
