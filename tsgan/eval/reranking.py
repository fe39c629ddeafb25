"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), exact and small.

Same numbers as the widely copied ``re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2,
lambda_value)``, step by step, without ever building or transposing the (N, N) matrix
(N = q + g). Where the original holds several dense N x N arrays, the working memory here is the
(q, g) result, O(N * k1) neighbour lists and weights, and the chunk minima of step 1 (5 N^2 / 32
values in the input dtype, about a fifth of the size of the three input matrices):

1. ``M``: the (N, N) distance matrix D = [[q_q, q_g], [q_g^T, g_g]] squared, each column divided
   by its maximum, transposed (so row i of M is column i of D), in float32 as the original does.
   Only each row's ``k1 + 1`` nearest neighbours (``initial_rank``) and the column maxima are kept.
   Large inputs find them by chunk minima (:func:`_neighbours_chunked`): every column of D is cut
   into chunks of 32 rows, and only entries no larger than the (k1 + 2)-th smallest chunk minimum
   can be among the k1 + 1 nearest, so a short candidate list per column is sorted instead of a
   whole row of M. Small inputs build M a block of rows at a time (:func:`_neighbours_dense`).
2. k-reciprocal set R(i): the j in the top ``k1 + 1`` of i that have i in their own top ``k1 + 1``.
   Expansion: for each candidate c in R(i), its half-size set R_half(c) (top ``round(k1 / 2) + 1``)
   joins when more than 2/3 of it lies in R(i) (membership read from a per-block bitmap of R(i)).
3. V(i, j) = exp(-M(i, j)) over the expanded set, normalised to sum 1: a sparse row (index and
   value lists).
4. Local query expansion: V(i) <- mean of V over the top ``k2`` of i (when ``k2 != 1``).
5. Jaccard distance from query i to gallery j: 1 - s / (2 - s), s = sum_k min(V(i, k), V(j, k)),
   computed through a padded inverted index over the gallery rows, a block of queries at a time.
6. final = (1 - lambda) * Jaccard + lambda * M[query, gallery], float32 like the original's.

From features (:func:`rerank_features`), step 1 computes D a block at a time from the query and
gallery features, rounded exactly as ``euclidean_distance`` rounds the three matrices
(:class:`_FeatureDistance`), each dot product once: D is symmetric up to the order in which the
norms are added, so a block of rows is multiplied only by the points after it and read both as
columns and as rows of D (:func:`_neighbours_symmetric`). The weights read their distances from
the neighbour lists this search keeps. No N x N matrix and no input matrix exist, so MSMT17 size
(N = 93,820) runs in a few GB.
:func:`tsgan.eval.reranking_memory.rerank_path` says which of the two fits in the memory
available.

The readable dense original is :func:`tsgan.eval.reference.re_ranking`; the tests compare both
paths with it.

This module is the algorithm (the public functions and :func:`_rerank`, steps 1-6 in order); step
1's distance views and neighbour searches are :mod:`tsgan.eval.reranking_search`, steps 2-6
:mod:`tsgan.eval.reranking_sets`, and the block sizing and memory planning they share
:mod:`tsgan.eval.reranking_memory`.

Ties: the original orders neighbours with ``np.argsort`` (quicksort, not stable); here equal
values of M are ordered by index, as a stable sort would. On distances without exact ties inside
the top ``k1 + 1`` the two agree exactly; otherwise the neighbour sets may differ at the tie.

Speed (``benchmarks/bench_rerank.py``, SYSU multi-shot sizes, N = 6,813): about 25-30x faster
than the dense original, same metrics; blocks are sized to stay in cache, because on CPU memory
traffic and page faults, not arithmetic, set the pace. The kernels run on one intra-op thread
whatever torch's count (:mod:`tsgan.threads`); only the distance products from features use the
caller's threads.
"""

from __future__ import annotations

from typing import Any

import torch

from ..threads import limit_threads
from .metrics import _as_tensor
from .reranking_memory import _ACCELERATOR_SCALE, _BLOCK_ELEMENTS, available_memory, rerank_path
from .reranking_search import (
    _FeatureDistance,
    _FullDistance,
    _neighbours,
    _neighbours_blocks,
    _neighbours_symmetric,
)
from .reranking_sets import _expanded_sets, _jaccard_mix, _query_expansion, _reciprocal, _weights


def rerank(q_g: Any, q_q: Any, g_g: Any, k1: int = 20, k2: int = 6, lambda_: float = 0.3) -> Any:
    """Re-ranked (q, g) distances from Euclidean q-g, q-q and g-g distance matrices.

    Numpy in -> numpy out, tensor in -> tensor out on the same device. The result is float32,
    as the original's is: the method computes in float32 from the squared distances on. Inputs are
    read in their own precision (float64 stays float64 until it is squared); half precision is
    widened to float32 first.
    """
    _check_parameters(k1, k2, lambda_)
    is_numpy = not isinstance(q_g, torch.Tensor)
    qg = _as_tensor(q_g, "q_g")
    qq, gg = _as_tensor(q_q, "q_q", qg.device), _as_tensor(g_g, "g_g", qg.device)
    if qg.dim() != 2 or qq.shape != (qg.shape[0],) * 2 or gg.shape != (qg.shape[1],) * 2:
        raise ValueError(
            "expected q_g (q, g), q_q (q, q) and g_g (g, g); "
            f"got {tuple(qg.shape)}, {tuple(qq.shape)}, {tuple(gg.shape)}"
        )
    D = _FullDistance(*(x.to(_work_dtype(qg, qq, gg)).contiguous() for x in (qg, qq, gg)))
    with limit_threads(1):  # memory-bound passes and sorts: one thread (tsgan.threads)
        final = _rerank(D, k1, k2, lambda_, _neighbours)
    return final.cpu().numpy() if is_numpy else final


def rerank_features(
    query_feats: Any,
    gallery_feats: Any,
    k1: int = 20,
    k2: int = 6,
    lambda_: float = 0.3,
    block_rows: int = 0,
    symmetric: bool = False,
) -> Any:
    """Re-ranked (q, g) distances straight from features: :func:`rerank` without its three inputs.

    The same numbers as ``rerank(euclidean_distance(qf, gf), euclidean_distance(qf, qf),
    euclidean_distance(gf, gf))``, which is how the evaluation builds them, but the (N, N)
    distances (N = q + g) are computed a block of ``block_rows`` columns at a time (default: at
    least 256, about 16 MB of float32 per block on CPU) and dropped once their k1 + 1 nearest
    neighbours and maxima are read; the weights recompute the few distances they need. Memory:
    the (q, g) float32 result, O(N * k1) neighbour lists and sets, one block: MSMT17 size
    (11,659 x 82,161) needs about 4 GB where the three input matrices alone would take 31 GB.

    Why the full (q, g) matrix and not ranked lists per query: the result is what ``evaluate_rank``
    and the report take, its size is the output's own (3.8 GB at MSMT17), and the Jaccard step
    produces whole rows anyway; a caller who wants top-k lists takes ``torch.topk`` of the rows.
    Numpy in -> numpy out, tensor in -> tensor out on the same device (GPU tensors stay there).

    The default (the block search: each block of columns of D as the caller's matrices round it)
    took 216.6 s at MSMT17 size on a quiet 2-core machine, at a 7.1 GB peak
    (``benchmarks/results/bench_rerank.txt``). ``symmetric=True`` computes each dot product once
    (:func:`_neighbours_symmetric`; 224 s against 334 s in an earlier pair of runs at load 1-3).
    It is not the default: in 2 early fresh processes at low load its output differed from
    :func:`rerank`'s by up to 0.096, with neighbour sets that gained points of other identities (a
    gross error, not a tie order; the block products were equal to the caller's matrices bit for
    bit), which the block search has never shown. It has not recurred since (0 of 20 fresh
    processes on a quiet machine, ``benchmarks/bench_rerank.py --identity 20``), but the cause is
    not found, so it stays opt-in.
    """
    _check_parameters(k1, k2, lambda_)
    is_numpy = not isinstance(query_feats, torch.Tensor)
    qf = _as_tensor(query_feats, "query_feats")
    gf = _as_tensor(gallery_feats, "gallery_feats", qf.device)
    if qf.dim() != 2 or gf.dim() != 2 or qf.shape[1] != gf.shape[1] or not len(qf) or not len(gf):
        raise ValueError(
            f"expected non-empty query_feats (q, d) and gallery_feats (g, d) with the same d; got "
            f"{tuple(qf.shape)} and {tuple(gf.shape)}"
        )
    work = _work_dtype(qf, gf)
    D = _FeatureDistance(qf.to(work).contiguous(), gf.to(work).contiguous())
    if not torch.isfinite(D.sq).all():
        raise ValueError(
            "rerank_features needs finite features, but some hold NaN or inf; "
            "check the model's output"
        )
    scale = 1 if qf.device.type == "cpu" else _ACCELERATOR_SCALE
    rows = block_rows or max(256, _BLOCK_ELEMENTS * scale // D.n)
    search = _neighbours_symmetric if symmetric else _neighbours_blocks
    with limit_threads(1):  # one thread, but the distance blocks get the caller's (tsgan.threads)
        final = _rerank(D, k1, k2, lambda_, lambda d, k: search(d, k, rows))
    return final.cpu().numpy() if is_numpy else final


def neighbourhoods(dist: Any, k1: int = 20) -> dict[str, list[list[int]]]:
    """Steps 1-2 on one full (N, N) distance matrix, for inspection: for every point its top
    ``k1 + 1`` neighbours, its k-reciprocal set R(i) and the expanded set R*(i) (as index
    lists)."""
    d = _as_tensor(dist, "dist")
    if d.dim() != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(
            f"dist must be a square (N, N) distance matrix, got shape {tuple(d.shape)}"
        )
    n = d.shape[0]
    D = _FullDistance(d.new_zeros((n, 0)), d, d.new_zeros((0, 0)))
    rank, _, _ = _neighbours(D, min(k1 + 1, n))
    recip = _reciprocal(rank)
    expanded = _expanded_sets(rank, k1)
    return {
        "nearest": rank.tolist(),
        "reciprocal": [rank[i][recip[i]].tolist() for i in range(n)],
        "expanded": [row[row < n].tolist() for row in expanded],
    }


def _check_parameters(k1: int, k2: int, lambda_: float) -> None:
    if k1 < 1 or k2 < 1 or not 0.0 <= lambda_ <= 1.0:
        raise ValueError(
            f"need k1 >= 1, k2 >= 1 and 0 <= lambda_ <= 1; got k1={k1}, k2={k2}, lambda_={lambda_}"
        )


def _work_dtype(*xs: torch.Tensor) -> torch.dtype:
    """The inputs' common floating dtype, at least float32 (integers: float64)."""
    work = xs[0].dtype
    for x in xs[1:]:
        work = torch.promote_types(work, x.dtype)
    if not work.is_floating_point:
        return torch.float64
    return torch.float32 if work.itemsize < 4 else work


def _rerank(
    D: _FullDistance | _FeatureDistance, k1: int, k2: int, lambda_: float, search
) -> torch.Tensor:
    """Steps 1-6 on D; ``search`` finds step 1's neighbours."""
    K = min(max(k1 + 1, k2), D.n)
    rank, col_max, m_qg = search(D, K)
    sets = _expanded_sets(rank, k1)
    vals = _weights(D, sets, col_max)
    if k2 != 1:
        sets, vals = _query_expansion(sets, vals, rank, k2)
    return _jaccard_mix(sets, vals, D.q, m_qg, lambda_)


# available_memory and rerank_path (tsgan.eval.reranking_memory) are public here too
__all__ = ["rerank", "rerank_features", "neighbourhoods", "available_memory", "rerank_path"]
