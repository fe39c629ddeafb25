"""Dataset registry: ``get_dataset(name, root)`` for "sysu", "regdb", "llcm" and "synthetic"."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from .records import CrossModalityDataset

# name -> "module:function"; readers are imported on first use.
_READERS: dict[str, str] = {
    "sysu": "tsgan.data.sysu:read_sysu",
    "regdb": "tsgan.data.regdb:read_regdb",
    "llcm": "tsgan.data.llcm:read_llcm",
    "synthetic": "tsgan.data.synthetic:read_synthetic",
}


def register_dataset(name: str, target: str | Callable[..., CrossModalityDataset]) -> None:
    """Add a reader: ``target`` is a function ``(root, **kwargs) -> CrossModalityDataset`` or
    "module:function"."""
    _READERS[name] = target


def dataset_names() -> list[str]:
    return sorted(_READERS)


def get_dataset(name: str, root: str | Path, **kwargs) -> CrossModalityDataset:
    """Read dataset ``name`` from ``root``. Extra keyword arguments go to the reader (e.g.
    ``trial`` for RegDB)."""
    if name not in _READERS:
        raise KeyError(
            f"unknown dataset {name!r}; known: {dataset_names()} (add one with register_dataset)"
        )
    target = _READERS[name]
    if isinstance(target, str):
        module, func = target.split(":")
        target = getattr(importlib.import_module(module), func)
    return target(root, **kwargs)
