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
    """Inside the block, ``nets`` act as constants: gradients flow *through* them, never *into*
    them, and their batch norms leave their running statistics (and ``num_batches_tracked``) as
    they are.

    A batch norm in train mode still normalises with the batch's statistics, so the output (and
    the gradient through it) is what the network computes in train mode; only the side effect of
    folding that batch into the running statistics is dropped (Algorithm 1 line 1 would otherwise
    add a fake-IR-only update to every BN of FE_S at each step). Each parameter's ``requires_grad``
    and each batch norm's ``track_running_stats`` is restored on exit (BoT's fixed BN-neck bias
    stays fixed).
    """
    params = [p for net in nets if net is not None for p in net.parameters()]
    norms = [
        m
        for net in nets
        if net is not None
        for m in net.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    before = [p.requires_grad for p in params]
    tracking = [m.track_running_stats for m in norms]
    for p in params:
        p.requires_grad_(False)
    for m in norms:
        m.track_running_stats = False  # train mode: batch statistics, running buffers not passed
    try:
        yield
    finally:
        for p, flag in zip(params, before, strict=True):
            p.requires_grad_(flag)
        for m, flag in zip(norms, tracking):
            m.track_running_stats = flag
