"""Optional uint8 cache of resized images: decode and resize every JPEG once, then read arrays.

The cache is one ``.npy`` array of shape (N, H, W, 3) under ``<runs>/cache/images/``, named by a
hash of the image paths, their sizes and modification times, and the target size (so a changed
or regenerated dataset gets a new cache). It is built once with a progress bar, written
atomically, and memory-mapped on reuse (cheap in DataLoader workers). Datasets given a cache
skip JPEG decoding; the pixels are exactly those of the uncached path (same resize function).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..paths import cache_dir
from ..progress import bar
from .images import load_image
from .transforms import resize


def cache_key(paths: Sequence[str], size: tuple[int, int]) -> str:
    """Hash of (paths, file sizes and mtimes, size): changes whenever the cached pixels would."""
    h = hashlib.sha1(json.dumps(list(size)).encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


class ImageCache:
    """Resized uint8 images (N, H, W, 3) addressed by path: ``cache[path]`` -> uint8
    tensor (3, H, W)."""

    def __init__(self, paths: Sequence[str], size: tuple[int, int], array: np.ndarray) -> None:
        if array.shape != (len(paths), size[0], size[1], 3) or array.dtype != np.uint8:
            raise ValueError(
                f"cache array should be uint8 of shape {(len(paths), size[0], size[1], 3)}, "
                f"found {array.dtype} {array.shape}; delete the cache file and rebuild it."
            )
        self.paths, self.size, self.array = list(paths), tuple(size), array
        self.row = {p: i for i, p in enumerate(self.paths)}

    @classmethod
    def build(
        cls,
        paths: Sequence[str],
        size: tuple[int, int],
        folder: Path | None = None,
        progress: bool = True,
    ) -> ImageCache:
        """Load the cache for (paths, size) from ``folder`` (default ``<runs>/cache/images``),
        building it if absent."""
        paths = [str(p) for p in paths]
        folder = Path(folder) if folder is not None else cache_dir() / "images"
        file = folder / f"{cache_key(paths, size)}_{size[0]}x{size[1]}.npy"
        if not file.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(f".tmp{os.getpid()}.npy")
            out = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint8, shape=(len(paths), size[0], size[1], 3)
            )
            for i, p in enumerate(
                bar(
                    paths,
                    desc=f"caching {len(paths)} images at {size[0]}x{size[1]}",
                    enabled=progress,
                )
            ):
                out[i] = resize(load_image(p), size).permute(1, 2, 0).numpy()
            out.flush()
            del out
            os.replace(tmp, file)
        return cls(paths, size, np.load(file, mmap_mode="r"))

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: str) -> bool:
        return str(path) in self.row

    def __getitem__(self, path: str) -> torch.Tensor:
        return torch.from_numpy(np.array(self.array[self.row[str(path)]])).permute(2, 0, 1)

    def missing(self, paths: Sequence[str]) -> list[str]:
        """The paths among ``paths`` that this cache does not hold."""
        return [p for p in paths if str(p) not in self.row]
