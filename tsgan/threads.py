"""Thread counts for the package's own CPU kernels: good timings for a user who sets nothing.

torch runs each operation on all its intra-op threads (one per core). For the evaluation's
kernels (sorts, gathers, elementwise passes over a few MB) that is a poor default: each of
thousands of short parallel regions ends with OpenMP's worker threads spinning while they wait for
the next one, and on a busy machine a spinning thread takes the core from the thread that has the
work. Measured on a 2-core machine under load (``benchmarks/bench_rerank.py``): re-ranking at
N = 1,200 takes ~0.1-0.2 s on one thread and 1.5-4 s on two with the default wait policy; with
``OMP_WAIT_POLICY=PASSIVE`` two threads take ~0.2 s, so the loss is the spinning, not the work.

So the package's small kernels run on one thread (:func:`limit_threads`), and only work that
gains from more threads, such as large matrix products, gets the caller's count back
(:func:`threads_for`). The count is restored when the block ends, also on an error. Nothing is
ever raised above the caller's own setting: ``torch.set_num_threads(1)`` or ``OMP_NUM_THREADS=1``
keeps everything on one thread. Accelerators are unaffected (the count only concerns CPU
kernels).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

# Work below which one thread is as fast as several on a 2-core CPU and cannot suffer from
# spinning: a matrix product of this many multiply-adds (~1/20 s on one core), an elementwise pass
# over this many elements.
PARALLEL_MIN_FLOP = 1 << 31
PARALLEL_MIN_ELEMENTS = 1 << 24

_caller: list[int] = []  # the caller's thread counts, innermost last, while a limit is active


def caller_threads() -> int:
    """The intra-op thread count the caller set (torch's, outside any :func:`limit_threads`)."""
    return _caller[0] if _caller else torch.get_num_threads()


def threads_for(flop: float = 0.0, elements: float = 0.0) -> int:
    """Threads for one kernel of ``flop`` multiply-adds or ``elements`` elementwise work: the
    caller's count when either is large enough to gain from more threads, else one."""
    if flop >= PARALLEL_MIN_FLOP or elements >= PARALLEL_MIN_ELEMENTS:
        return caller_threads()
    return 1


@contextmanager
def limit_threads(n: int = 1) -> Iterator[int]:
    """Run the block with ``n`` intra-op threads, at most the caller's count; restore the count
    afterwards. Nested blocks may go back up to the caller's count, never above it. Yields the
    count in force."""
    outer = torch.get_num_threads()
    n = max(1, min(n, caller_threads()))
    _caller.append(caller_threads())
    try:
        if n != outer:
            torch.set_num_threads(n)
        yield n
    finally:
        _caller.pop()
        if torch.get_num_threads() != outer:
            torch.set_num_threads(outer)
