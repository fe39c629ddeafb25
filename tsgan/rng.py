"""Random-number state of one process: seed it, capture it, restore it.

Every floor may use these: the trainer saves the states in ``last.pt`` for an exact resume, and the
per-epoch probes (:mod:`tsgan.probes`) capture and restore them so that probing draws nothing from
the streams training uses. States are plain lists and tensors, so a checkpoint holding them loads
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    """This process's RNG states, as plain lists/tensors (loadable with weights_only=True)."""
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": random.getstate(),
        "torch": torch.get_rng_state(),
        "numpy": {
            **np_state,
            "state": {"key": np_state["state"]["key"].tolist(), "pos": np_state["state"]["pos"]},
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back the states :func:`capture_rng` returned (CUDA ones only where CUDA is present)."""
    random.setstate(state["python"])
    np_state = dict(state["numpy"])
    np_state["state"] = {
        "key": np.array(np_state["state"]["key"], dtype=np.uint32),
        "pos": np_state["state"]["pos"],
    }
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
