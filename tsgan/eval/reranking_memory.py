"""Memory planning for re-ranking: which of the two paths of :mod:`tsgan.eval.reranking` fits.

:func:`tsgan.eval.rerank` reads three distance matrices (q-g, q-q, g-g); ``rerank_features``
builds the distances a block at a time from the features. The matrices are faster to re-rank but
grow as (q + g)^2; this module estimates what they need and compares it with the memory the
kernel says is available now, so that an evaluation picks the features path on its own where the
matrices would not fit (MSMT17: the g x g matrix alone is 27 GB).

Block sizing, which every step of :mod:`tsgan.eval.reranking` shares: blocks of rows sized to
stay in a CPU cache (:func:`_cache_elements`; 64x larger on an accelerator, fewer and fuller
kernel launches) or to bound a working block (``_BLOCK_ELEMENTS``, ``_PAIR_BLOCK``), and the
gathers that read rows of a table by index without building large temporaries (:func:`_rows`,
:func:`_stack_rows`). On CPU memory traffic and page faults, not arithmetic, set re-ranking's
pace, so these sizes are its main tuning.
"""

from __future__ import annotations

import os

import torch


def available_memory() -> int:
    """Bytes of memory available to a new allocation now: psutil's estimate when it is installed,
    else the kernel's MemAvailable, else the free physical pages."""
    try:
        import psutil  # optional: deferred so that the package does not need it

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def rerank_path(q: int, g: int, itemsize: int = 4, available: int | None = None) -> tuple[str, str]:
    """Which re-ranking fits: ``("matrices", why)`` for :func:`rerank` on the three distance
    matrices, or ``("features", why)`` for :func:`rerank_features` when they would not fit.

    Estimate for the matrix path: the q-g, q-q and g-g matrices (``itemsize`` bytes each entry)
    plus rerank's working memory (chunk minima, about a fifth of the inputs, and the (q, g)
    float32 result); it is taken when that needs at most half of the ``available`` memory.
    """
    available = available_memory() if available is None else available
    inputs = (q * g + q * q + g * g) * itemsize
    need = inputs + inputs // 5 + q * g * 4
    gb = 2**30
    if need <= available // 2:
        return (
            "matrices",
            f"three distance matrices, ~{need / gb:.1f} GB of {available / gb:.1f} GB available",
        )
    return "features", (
        f"the three distance matrices would need ~{need / gb:.1f} GB, "
        f"more than half of the {available / gb:.1f} GB available"
    )


_BLOCK_ELEMENTS = 1 << 22  # rows per block so that a (rows, N) float32 block is ~16 MB
_PAIR_BLOCK = 1 << 18  # (query entry, gallery entry) pairs per Jaccard block
_CACHE_ELEMENTS = 1 << 18  # ~2 MB of float64: blocks that stay in a CPU cache
_ACCELERATOR_SCALE = 64  # on a GPU, blocks this much larger: fewer, fuller kernel launches


def _cache_elements(t: torch.Tensor) -> int:
    """Working-block size (elements) for tensors on t's device: cache-sized on CPU, larger
    elsewhere."""
    return _CACHE_ELEMENTS if t.device.type == "cpu" else _CACHE_ELEMENTS * _ACCELERATOR_SCALE


def _blocks(start: int, stop: int, size: int):
    for s in range(start, stop, size):
        yield s, min(s + size, stop)


def _even_blocks(start: int, stop: int, size: int):
    """Blocks of at most ``size`` covering [start, stop), of nearly equal length (no 1-row
    remainder: a matrix product of one row takes another code path, with other rounding)."""
    count = -(-(stop - start) // max(1, size))
    bounds = [start + (stop - start) * b // max(1, count) for b in range(count + 1)]
    return zip(bounds[:-1], bounds[1:])


def _rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for an index tensor of any shape: whole rows through ``index_select``,
    several times faster than advanced indexing on CPU."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, *table.shape[1:])


def _stack_rows(parts: list[torch.Tensor], n: int) -> torch.Tensor:
    """Concatenate row blocks of indices whose entries != n come first, cut or padded (with n) to
    the widest block's count."""
    width = max(max(int((p != n).sum(1).max()) for p in parts if len(p)), 1)
    return torch.cat(
        [
            torch.nn.functional.pad(p[:, :width], (0, max(0, width - p.shape[1])), value=n)
            for p in parts
        ]
    )
