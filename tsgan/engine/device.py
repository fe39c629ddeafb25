"""Device placement and the GPU speed features: autocast, GradScaler, channels_last, non-blocking
copies.

All of them are safe on a CPU: bf16 autocast works there, fp16 uses a GradScaler (enabled only for
fp16), ``non_blocking`` copies only matter with pinned memory on CUDA.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

AMP_DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(
    name: str = "auto", local_rank: int = 0, option: str = "train.device"
) -> torch.device:
    """``auto`` picks CUDA (this process's local rank) when available, else the CPU.

    A device that is not a torch device, or one this machine lacks, raises ``ValueError`` naming
    ``option``, the setting the user typed (``train.device`` for training, ``--device`` for
    ``evaluate``, ``extract`` and ``search``)."""
    if name == "auto":
        name = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    typed = f"{option} {name}" if option.startswith("--") else f"{option}={name}"
    use = "auto, cpu, cuda or cuda:N"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{typed} is not a device; use {use}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{typed}, but CUDA is not available here; use cpu or auto")
        if device.index is not None and device.index >= count:
            raise ValueError(f"{typed}, but this machine has {count} CUDA device(s)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{typed}, but MPS is not available here; use cpu or auto")
    elif device.type != "cpu":
        raise ValueError(f"{typed} is not supported; use {use}")
    return device


def check_amp(amp: str) -> torch.dtype | None:
    if amp not in AMP_DTYPES:
        raise ValueError(f"train.amp must be one of {sorted(AMP_DTYPES)}, got {amp!r}")
    return AMP_DTYPES[amp]


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """Mixed-precision context for forward passes (a no-op when ``amp == "off"``)."""
    dtype = check_amp(amp)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler:
    """One loss scaler shared by the optimizers; active only for fp16 (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=check_amp(amp) == torch.float16)


def move_batch(
    batch: dict[str, Any], device: torch.device, channels_last: bool = False
) -> dict[str, Any]:
    """Tensors of a batch to ``device`` (non-blocking: overlaps with compute from pinned memory)."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if channels_last and v.dim() == 4:
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def prepare_module(
    module: torch.nn.Module, device: torch.device, channels_last: bool = False
) -> torch.nn.Module:
    """Move a network to ``device`` (and to channels_last memory format when asked)."""
    module = module.to(device)
    return module.to(memory_format=torch.channels_last) if channels_last else module
