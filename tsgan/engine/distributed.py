"""Multi-GPU and multi-node training through ``torchrun`` and DistributedDataParallel.

``torchrun --nproc_per_node=N -m tsgan train ...`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and joins the process group
(NCCL on CUDA, gloo on CPU). Without them everything runs as a single process. Each rank gets its
own batches from the sampler (``CrossModalityBatchSampler(rank=, world_size=)``); DDP averages the
gradients, so all ranks keep identical weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_dist_info() -> DistInfo:
    """Rank and world size from the variables ``torchrun`` sets (single process when absent)."""
    try:
        return DistInfo(
            int(os.environ.get("RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError as err:
        raise RuntimeError(
            f"RANK/WORLD_SIZE/LOCAL_RANK must be integers (as set by torchrun): {err}"
        ) from None


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun; returns this process's rank info."""
    info = env_dist_info()
    if info.is_distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return info


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` wrapped in DDP when a process group is running, else unchanged."""
    if (
        not dist.is_initialized()
        or dist.get_world_size() == 1
        or not any(p.requires_grad for p in module.parameters())
    ):
        return module
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module behind DDP and ``torch.compile`` wrappers (for state dicts and methods)."""
    while True:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar logs over ranks (identity in a single process)."""
    if not dist.is_initialized() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))
