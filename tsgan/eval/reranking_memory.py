"""Memory planning for re-ranking: which of the two paths of :mod:`tsgan.eval.reranking` fits.

:func:`tsgan.eval.rerank` reads three distance matrices (q-g, q-q, g-g); ``rerank_features``
builds the distances a block at a time from the features. The matrices are faster to re-rank but
grow as (q + g)^2; this module estimates what they need and compares it with the memory the
kernel says is available now, so that an evaluation picks the features path on its own where the
matrices would not fit (MSMT17: the g x g matrix alone is 27 GB).
"""

from __future__ import annotations

import os


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
