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

import bisect
from typing import Any

import numpy as np
import torch

from ..threads import limit_threads, threads_for
from .metrics import _as_tensor
from .reranking_memory import available_memory, rerank_path  # noqa: F401  (public here too)

_BLOCK_ELEMENTS = 1 << 22  # rows per block so that a (rows, N) float32 block is ~16 MB
_PAIR_BLOCK = 1 << 18  # (query entry, gallery entry) pairs per Jaccard block
_CACHE_ELEMENTS = 1 << 18  # ~2 MB of float64: blocks that stay in a CPU cache
_ACCELERATOR_SCALE = 64  # on a GPU, blocks this much larger: fewer, fuller kernel launches
_CHUNK = 32  # rows of D per chunk in the chunked neighbour search (a power of two)
_SUB = 4  # interleaved parts of a chunk, each checked on its own
_MAX_CANDIDATES = 1024  # columns with more candidates than this (mass ties) are sorted whole
_SLACK = 8  # neighbours kept beyond K per column in the symmetric search (ties after division)


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

    ``symmetric=True`` computes each dot product once (:func:`_neighbours_symmetric`): 224 s
    instead of 334 s at MSMT17 size in one run each. It is not the default: in a few fresh
    processes at low load (1 of 2 bench runs, 1 of 6 separate runs) its output differed from
    :func:`rerank`'s by up to 0.096, with neighbour sets that gained points of other identities (a
    gross error, not a tie order; the block products were equal to the caller's matrices bit for
    bit), which the block search has never shown; until that is explained
    (``benchmarks/bench_rerank.py --identity``), the block search (each block of columns as the
    caller's matrices round it) is used.
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


class _FullDistance:
    """D = [[q_q, q_g], [q_g^T, g_g]] without building it: columns and single entries on demand."""

    def __init__(self, q_g: torch.Tensor, q_q: torch.Tensor, g_g: torch.Tensor):
        self.q_g, self.q_q, self.g_g = q_g, q_q, g_g
        self.q, self.g = q_g.shape
        self.n = self.q + self.g

    def squared_columns_as_rows(self, start: int, stop: int) -> torch.Tensor:
        """(stop - start, N) float32: row r is column ``start + r`` of D squared, rounded to float32
        after squaring (``np.power(D, 2).astype(np.float32)``); columns never straddle q.

        Transposed pieces are squared into a contiguous float32 buffer (one pass: the product is
        taken in the input dtype, rounded on store) and then transposed whole: torch's blocked 2-D
        transpose is several times faster than copying strided columns.
        """
        q, n = self.q, self.n
        if stop <= q:
            left = _squared32(
                self.q_q[:, start:stop], self.q_q.new_empty((q, stop - start), dtype=torch.float32)
            )
            right = _squared32(
                self.q_g[start:stop],
                self.q_g.new_empty((stop - start, self.g), dtype=torch.float32),
            )
            return torch.cat([left.T.contiguous(), right], dim=1)
        cols = self.q_g.new_empty((n, stop - start), dtype=torch.float32)
        _squared32(self.q_g[:, start - q : stop - q], cols[:q])
        _squared32(self.g_g[:, start - q : stop - q], cols[q:])
        return cols.T.contiguous()

    def entries(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """D[rows, cols] for index tensors of equal shape, all < N."""
        q = self.q
        out = torch.empty(rows.shape, dtype=self.q_g.dtype, device=rows.device)
        rq, cq = rows < q, cols < q
        for mask, mat, r, c in (
            (rq & cq, self.q_q, rows, cols),
            (rq & ~cq, self.q_g, rows, cols - q),
            (~rq & cq, self.q_g, cols, rows - q),  # lower-left block is q_g transposed
            (~rq & ~cq, self.g_g, rows - q, cols - q),
        ):
            out[mask] = mat[r[mask], c[mask]]
        return out


class _FeatureDistance:
    """D from features, as the callers build it: ``euclidean_distance`` on queries and gallery.

    Only blocks of columns (for the neighbour search) and single entries (for the weights) are
    computed, so no (N, N) matrix exists. Every entry is rounded exactly as in the caller's
    matrices: the dot products come from the same matrix product (symmetric, and the same in a
    block of 8 or more rows as in the whole product), and the squared norms are added in the
    caller's order,
    (-2 x.y + |x|^2) + |y|^2 with x the row of q_q, q_g or g_g: the query in a query-gallery pair.
    """

    def __init__(self, qf: torch.Tensor, gf: torch.Tensor):
        self.x = torch.cat([qf, gf])
        self.sq = (self.x * self.x).sum(1)
        self.q, self.g = len(qf), len(gf)
        self.n = self.q + self.g
        self.known: tuple[torch.Tensor, torch.Tensor] | None = None  # see _neighbours_symmetric

    def squared_columns_as_rows(self, start: int, stop: int) -> torch.Tensor:
        """(stop - start, N) float32: row r is column ``start + r`` of D squared (see
        _FullDistance)."""
        q = self.q
        d = (self.x[start:stop] @ self.x.T).mul_(-2.0)
        own = self.sq[start:stop, None]
        if stop <= q:  # query columns: q_q[j, i] = x_j first; q_g[i, j - q] = the query x_i first
            d[:, :q].add_(self.sq[None, :q]).add_(own)
            d[:, q:].add_(own).add_(self.sq[None, q:])
        else:  # gallery columns: q_g[j, i - q] and g_g[j - q, i - q], x_j first
            d.add_(self.sq[None, :]).add_(own)
        d = d.clamp_(min=0).sqrt_()
        if d.dtype == torch.float32:
            return d.mul_(d)
        return _squared32(d, torch.empty(d.shape, dtype=torch.float32, device=d.device))

    def products(self, start: int, stop: int) -> torch.Tensor:
        """(stop - start, N - start): -2 x_i . x_j for the points i in [start, stop) and j >= start,
        one matrix product (the symmetric search's block)."""
        return (self.x[start:stop] @ self.x[start:].T).mul_(-2.0)

    def entries(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """D[rows, cols] for index tensors of equal shape, all < N; a bounded number of pairs at a
        time."""
        out = torch.empty(rows.shape, dtype=self.x.dtype, device=rows.device)
        r, c, o = rows.reshape(-1), cols.reshape(-1), out.view(-1)
        step = max(1, _BLOCK_ELEMENTS // self.x.shape[1])
        for s, e in _blocks(0, len(r), step):
            a, b = r[s:e], c[s:e]
            dot = (_rows(self.x, a) * _rows(self.x, b)).sum(1).mul_(-2.0)
            first = torch.where(
                (b < self.q) & (a >= self.q), b, a
            )  # the row point of q_q, q_g or g_g
            second = torch.where(first == a, b, a)
            o[s:e] = dot.add_(self.sq[first]).add_(self.sq[second]).clamp_(min=0).sqrt_()
        return out


def _cache_elements(t: torch.Tensor) -> int:
    """Working-block size (elements) for tensors on t's device: cache-sized on CPU, larger
    elsewhere."""
    return _CACHE_ELEMENTS if t.device.type == "cpu" else _CACHE_ELEMENTS * _ACCELERATOR_SCALE


def _blocks(start: int, stop: int, size: int):
    for s in range(start, stop, size):
        yield s, min(s + size, stop)


def _neighbours(D: _FullDistance, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1: the top-K neighbours of every row of M (ties by index), the column maxima of D^2 in
    float32 (the original's normaliser), and M[:q, q:].

    Large inputs take the chunked search (:func:`_neighbours_chunked`, no transposes); small ones
    build M a block of rows at a time (:func:`_neighbours_dense`). Both give the same answer.
    """
    n_chunks = -(-D.q // _CHUNK) + -(-D.g // _CHUNK)
    chunked = min(D.q, D.g) >= _CHUNK and n_chunks >= 4 * (K + 1)
    return (_neighbours_chunked if chunked else _neighbours_dense)(D, K)


def _require_finite(col_max: torch.Tensor, first: int = 0) -> None:
    """NaN and inf survive into the column maxima (maxima propagate NaN): one cheap check for all
    of D."""
    bad = (~torch.isfinite(col_max)).nonzero()[:, 0]
    if len(bad):
        raise ValueError(
            f"rerank needs finite distances, but {len(bad)} column(s) of "
            "[[q_q, q_g], [q_g^T, g_g]] hold NaN or "
            f"inf (first: column {first + int(bad[0])}); check the features that produced them "
            "(a NaN feature gives NaN distances to everything)"
        )


def _smallest(
    vals: torch.Tensor, K: int, idx: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the ``idx`` (default: the positions) of the K smallest ``vals`` and their values,
    ordered by value and, among equal values, by index: the order of a stable sort.

    ``torch.topk`` breaks ties arbitrarily; its K + 1 smallest are re-sorted by (value, index), and
    the rare rows where the K-th and (K + 1)-th values tie are sorted whole.
    """
    rows, width = vals.shape
    kk = min(K + 1, width)
    v, p = torch.topk(vals, kk, dim=1, largest=False, sorted=False)
    i = p if idx is None else idx.gather(1, p)
    o = i.argsort(1)
    v, i = v.gather(1, o), i.gather(1, o)
    o = v.argsort(dim=1, stable=True)
    v, i = v.gather(1, o), i.gather(1, o)
    if kk > K:
        tied = (v[:, K - 1] == v[:, K]).nonzero()[:, 0]
        if len(tied):
            all_i = (
                torch.arange(width, device=vals.device).expand(len(tied), width)
                if idx is None
                else idx[tied]
            )
            o = all_i.argsort(1)
            all_v, all_i = vals[tied].gather(1, o), all_i.gather(1, o)
            o = all_v.argsort(dim=1, stable=True)[:, :kk]
            i[tied], v[tied] = all_i.gather(1, o), all_v.gather(1, o)
    return i[:, :K], v[:, :K]


def _even_blocks(start: int, stop: int, size: int):
    """Blocks of at most ``size`` covering [start, stop), of nearly equal length (no 1-row
    remainder: a matrix product of one row takes another code path, with other rounding)."""
    count = -(-(stop - start) // max(1, size))
    bounds = [start + (stop - start) * b // max(1, count) for b in range(count + 1)]
    return zip(bounds[:-1], bounds[1:])


def _neighbours_dense(
    D: _FullDistance | _FeatureDistance, K: int, rows: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 on M built a block of rows at a time (column blocks of D, transposed).

    Also the whole of step 1 for :func:`rerank_features`, where D exists only a block at a time."""
    n, q = D.n, D.q
    dev = D.x.device if isinstance(D, _FeatureDistance) else D.q_g.device
    rank = torch.empty((n, K), dtype=torch.long, device=dev)
    col_max = torch.empty(n, dtype=torch.float32, device=dev)
    m_qg = torch.empty((q, D.g), dtype=torch.float32, device=dev)
    rows = rows or max(1, _BLOCK_ELEMENTS // n)
    for lo, hi in ((0, q), (q, n)):
        for s, e in _even_blocks(lo, hi, rows):
            m = D.squared_columns_as_rows(s, e)
            mx = m.amax(1, keepdim=True)
            _require_finite(mx[:, 0], s)
            m.div_(mx)  # / np.max(axis=0), then transposed
            col_max[s:e] = mx[:, 0]
            if e <= q:
                m_qg[s:e] = m[:, q:]
            rank[s:e] = _smallest(m, K)[0]
    return rank, col_max, m_qg


def _neighbours_blocks(
    D: _FeatureDistance, K: int, rows: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 from features, a block of ``rows`` columns of D at a time
    (:func:`_neighbours_dense`), the blocks' products on the caller's threads."""
    with limit_threads(threads_for(flop=rows * D.n * D.x.shape[1], elements=rows * D.n)):
        return _neighbours_dense(D, K, rows)


def _neighbours_symmetric(
    D: _FeatureDistance, K: int, rows: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 from features, each dot product computed once: the same answer as
    :func:`_neighbours_dense` for about half of its matrix products.

    D is symmetric up to the order in which the two squared norms are added, and the matrix
    product that holds the dot products is symmetric bit for bit. Block b of columns [s, e) takes
    the product P = x[s:e] x[s:]^T only against the points j >= s, and reads it twice:

    * as columns s..e-1 of D (rows j >= s; norms added as ``squared_columns_as_rows`` adds them);
    * transposed, as rows s..e-1 of the columns j >= e (norms added in the row point's order).

    Each column i meets its rows in increasing order: rows < s from the earlier blocks' second
    reading, rows >= s from its own block. A running list per column keeps the K' = K + slack
    smallest D^2 (float32) by (value, row), merged only where a new value beats the list's last.
    M divides a column by its maximum, which is known at the end only, and x -> x / max never
    decreases but can map different D^2 to one float32 M: the K nearest by (M, row) are read from
    the list, and a column is exact unless its K-th M equals the M of the list's last entry (a
    value beyond the list could then tie with it); those rare columns are recomputed whole,
    a block of columns of D as :func:`_neighbours_dense` computes it.
    """
    n, q, dev = D.n, D.q, D.x.device
    keep = min(K + _SLACK, n)
    best_v = torch.full((n, keep), float("inf"), dtype=torch.float32, device=dev)
    best_i = torch.full((n, keep), n, dtype=torch.long, device=dev)
    col_max = torch.full((n,), -float("inf"), dtype=torch.float32, device=dev)
    m_qg = torch.empty((q, D.g), dtype=torch.float32, device=dev)
    rows = rows or max(1, _BLOCK_ELEMENTS // n)
    # large blocks: the products and the passes over them on the caller's threads
    with limit_threads(threads_for(flop=rows * n * D.x.shape[1], elements=rows * n)):
        for lo, hi in ((0, q), (q, n)):
            for s, e in _even_blocks(lo, hi, rows):
                P = D.products(s, e)  # P[a, j - s] = -2 x_(s+a) . x_j
                own, sq = D.sq[s:e, None], D.sq[None, s:]
                # reading 1: columns s..e-1 of D, rows j >= s (the norm order of _FeatureDistance)
                col = P.clone()
                if e <= q:  # query columns: q_q rows add x_j first, q_g rows the query (x_i) first
                    col[:, : q - s].add_(sq[:, : q - s]).add_(own)
                    col[:, q - s :].add_(own).add_(sq[:, q - s :])
                else:
                    col.add_(sq).add_(own)
                col = _squared_distances(col)
                torch.maximum(col_max[s:e], col.amax(1), out=col_max[s:e])
                if e <= q:
                    m_qg[s:e] = col[:, q - s :]  # D^2 for now; divided by the maxima at the end
                i, v = _smallest(col, keep)
                best_i[s:e], best_v[s:e] = _smallest(
                    torch.cat([best_v[s:e], v], 1), keep, torch.cat([best_i[s:e], i + s], 1)
                )
                if e == n:
                    continue
                # reading 2: rows s..e-1 of the columns j >= e; the row point x_i comes first
                # (a query row, or a gallery row of a gallery column): the same as reading 1 for q_g
                if e <= q:
                    row = torch.cat(
                        [
                            _squared_distances(
                                P[:, e - s : q - s].add_(own).add_(sq[:, e - s : q - s])
                            ),
                            col[:, q - s :],
                        ],
                        1,
                    )
                else:
                    row = _squared_distances(P[:, e - s :].add_(own).add_(sq[:, e - s :]))
                torch.maximum(col_max[e:], row.amax(0), out=col_max[e:])
                # rows that beat a column's list (they come in increasing order: ties stay behind)
                beats = row < best_v[e:, keep - 1]
                count = int(beats.sum())
                if count * 8 > beats.numel():  # early blocks: most lists change, merge whole
                    i, v = _smallest(row.T.contiguous(), keep)
                    best_i[e:], best_v[e:] = _smallest(
                        torch.cat([best_v[e:], v], 1), keep, torch.cat([best_i[e:], i + s], 1)
                    )
                elif count:
                    a, jj = beats.nonzero(as_tuple=True)
                    _merge_into(best_v, best_i, jj + e, a + s, row[a, jj], keep)
    _require_finite(col_max)
    m = best_v / col_max[:, None]
    rank, kth = _smallest(m, K, best_i)
    if keep < n:  # an entry beyond the list has M >= M(list's last): unsure where that ties
        unsure = (kth[:, K - 1] >= m[:, keep - 1]).nonzero()[:, 0]
        for s, e in _even_blocks(0, q, rows) if len(unsure) else ():
            _recompute_columns(D, rank, unsure, col_max, K, s, e)
        for s, e in _even_blocks(q, n, rows) if len(unsure) else ():
            _recompute_columns(D, rank, unsure, col_max, K, s, e)
    for s, e in _blocks(0, q, max(1, _cache_elements(m_qg) // max(1, D.g))):
        m_qg[s:e].div_(col_max[s:e, None])
    D.known = best_i, best_v  # the weights read their D^2 here (step 3)
    return rank, col_max, m_qg


def _merge_into(
    best_v: torch.Tensor,
    best_i: torch.Tensor,
    col: torch.Tensor,
    idx: torch.Tensor,
    val: torch.Tensor,
    keep: int,
) -> None:
    """Merge the entries (column, row index, value) into the running lists (best_v, best_i) of
    their columns: per column the ``keep`` smallest by (value, row index)."""
    order = torch.argsort(col, stable=True)
    col, idx, val = col[order], idx[order], val[order]
    cols, count = torch.unique_consecutive(col, return_counts=True)
    slot = torch.arange(len(col), device=col.device) - (
        torch.cumsum(count, 0) - count
    ).repeat_interleave(count)
    width = int(count.max())
    n = best_i.shape[0]
    v = torch.full((len(cols), width), float("inf"), dtype=best_v.dtype, device=col.device)
    i = torch.full((len(cols), width), n, dtype=best_i.dtype, device=col.device)
    which = torch.repeat_interleave(torch.arange(len(cols), device=col.device), count)
    v[which, slot], i[which, slot] = val, idx
    best_i[cols], best_v[cols] = _smallest(
        torch.cat([best_v[cols], v], 1), keep, torch.cat([best_i[cols], i], 1)
    )


def _squared_distances(d: torch.Tensor) -> torch.Tensor:
    """float32 D^2 from squared-distance sums d: sqrt (clamped at 0) in d's dtype, then squared
    and rounded to float32, as ``np.power(D, 2).astype(np.float32)`` on the caller's matrices."""
    d = d.clamp_(min=0).sqrt_()
    if d.dtype == torch.float32:
        return d.mul_(d)
    return _squared32(d, torch.empty(d.shape, dtype=torch.float32, device=d.device))


def _recompute_columns(
    D: _FeatureDistance,
    rank: torch.Tensor,
    unsure: torch.Tensor,
    col_max: torch.Tensor,
    K: int,
    s: int,
    e: int,
) -> None:
    """The unsure columns among [s, e) ranked from the whole block of columns of D (the block
    :func:`_neighbours_dense` computes), into ``rank``."""
    u = unsure[(unsure >= s) & (unsure < e)]
    if len(u):
        m = D.squared_columns_as_rows(s, e).index_select(0, u - s)
        rank[u] = _smallest(m.div_(col_max[u, None]), K)[0]


def _tree(v: torch.Tensor, op, keep: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(b, m, c) -> (b, c): ``op`` (torch.minimum / torch.maximum) folded over dim 1 by halves (m a
    power of two); elementwise halves on a cache-sized block beat torch's own reduction over a
    middle dim.
    With ``keep`` (a power of two), also the (b, keep, c) level: entry s folds rows s, s + keep,
    ..."""
    kept = v if keep == v.shape[1] else None
    while v.shape[1] > 1:
        h = v.shape[1] // 2
        v = op(v[:, :h], v[:, h:])
        if h == keep:
            kept = v
    return v[:, 0], kept


def _chunk_extrema(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Over every run of C = ``_CHUNK`` rows of x (r, c) (the last run may be shorter): the minima,
    (ceil(r / C), c), and the minima of its S = ``_SUB`` interleaved parts, (ceil(r / C), S, c),
    part s holding the rows s, s + S, s + 2S, ... of the run; and the column maxima of x, (c,).
    A cache-sized block of rows at a time."""
    r, c = x.shape
    full = r // _CHUNK
    n_parts = min(_SUB, _CHUNK)
    mins = x.new_empty((-(-r // _CHUNK), c))
    parts = x.new_empty((len(mins), n_parts, c))
    col_max = x.new_full((c,), -float("inf"))
    per = max(1, _cache_elements(x) // (_CHUNK * c))
    for s, e in _blocks(0, full, per):
        v = x[s * _CHUNK : e * _CHUNK].view(e - s, _CHUNK, c)
        mins[s:e], parts[s:e] = _tree(v, torch.minimum, n_parts)
        torch.maximum(col_max, _tree(v, torch.maximum)[0].amax(0), out=col_max)
    if full * _CHUNK < r:
        tail = x[full * _CHUNK :]
        mins[full] = tail.amin(0)
        torch.maximum(col_max, tail.amax(0), out=col_max)
        for p in range(n_parts):
            parts[full, p] = tail[p::n_parts].amin(0) if p < len(tail) else float("inf")
    return mins, parts, col_max


def _chunk_minima_along_rows(x: torch.Tensor) -> torch.Tensor:
    """(r, ceil(c / C)) minima of x (r, c) over every run of C = ``_CHUNK`` columns (contiguous
    runs)."""
    r, c = x.shape
    full = c // _CHUNK * _CHUNK
    parts = [x[:, :full].unflatten(1, (full // _CHUNK, _CHUNK)).amin(2)]
    if full < c:
        parts.append(x[:, full:].amin(1, keepdim=True))
    return torch.cat(parts, 1)


def _squared32(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (float32) <- x * x computed in x's dtype and rounded to float32 on store, like
    ``np.power(D, 2).astype(np.float32)``; a cache-sized block of rows at a time."""
    if x.dim() < 2 or x.numel() == 0:
        return torch.mul(x, x, out=out) if x.dtype == torch.float32 else out.copy_(x * x)
    rows = max(1, _cache_elements(x) // max(1, x[0].numel()))
    for s, e in _blocks(0, x.shape[0], rows):
        if x.dtype == torch.float32:
            torch.mul(x[s:e], x[s:e], out=out[s:e])
        else:
            out[s:e].copy_(x[s:e].square())
    return out


def _neighbours_chunked(
    D: _FullDistance, K: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 without building or transposing M.

    Row i of M is column i of D divided by its maximum, through x -> float32(x^2) / max, which never
    decreases: ordering row i of M is ordering column i of D. Cut every column of D into chunks of
    C consecutive rows. Each chunk minimum is an entry of the column, so with t the (K + 1)-th
    smallest chunk minimum at least K + 1 entries are <= t, and the K smallest entries of the
    column are among the entries <= t: a short candidate list per column (~30 of 6,813 at SYSU
    size), gathered from the parts of chunks (S interleaved groups of C / S rows) whose
    minimum is <= t.
    One condition makes this exact after the mapping into M: the K-th smallest candidate value must
    be strictly below M(t) (otherwise an entry above t could round to a tie with it); the rare
    columns where it is not, or with very many candidates, are sorted whole.
    The chunk extrema (which also give the column maxima) are reductions over contiguous rows of
    q_q, q_g and g_g, so the (N, N) matrix is read once, in order, and never transposed.
    """
    thr, col_max, parts = _chunk_thresholds(D, K)
    ci, cj, cd = _candidates(D, thr, parts)
    cm = _squared32(cd, torch.empty(ci.shape, dtype=torch.float32, device=ci.device)).div_(
        col_max[ci]
    )
    rank, unsure = _smallest_candidates(ci, cj, cm, D.n, K, thr, col_max)
    _sort_whole_columns(D, rank, unsure, col_max, K)
    m_qg = torch.empty((D.q, D.g), dtype=torch.float32, device=ci.device)
    for s, e in _blocks(0, D.q, max(1, _cache_elements(m_qg) // max(1, D.g))):
        # squared and divided while the block is in cache: one pass over M[:q, q:], not two
        _squared32(D.q_g[s:e], m_qg[s:e]).div_(col_max[s:e, None])
    return rank, col_max, m_qg


def _chunk_thresholds(D: _FullDistance, K: int) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """Step 1, chunked search, part a: per column i of D, the threshold t_i (the (K + 1)-th smallest
    chunk minimum), the column maxima of D^2 in float32 (M's normaliser), and the chunk-part minima
    (of q_q, q_g, g_g) and the side chunk minima that part b reads to find the entries <= t_i."""
    qq, qg, gg = D.q_q, D.q_g, D.g_g
    n = D.n
    # chunk extrema of every column of D: chunks of rows j < q, then of rows j >= q
    min_qq, parts_qq, max_qq = _chunk_extrema(qq)  # columns i < q, rows j < q
    min_qg_top, parts_qg, max_qg_top = _chunk_extrema(qg)  # columns i >= q, rows j < q
    min_gg, parts_gg, max_gg = _chunk_extrema(gg)  # columns i >= q, rows j >= q
    min_qg_side = _chunk_minima_along_rows(
        qg
    )  # columns i < q, rows j >= q: D[j, i] = q_g[i, j - q]
    top = torch.maximum(max_qq, qg.amax(1))
    bottom = torch.maximum(max_qg_top, max_gg)
    col_max = _squared32(
        torch.cat([top, bottom]), torch.empty(n, dtype=torch.float32, device=qg.device)
    )
    _require_finite(col_max)
    chunk_min = torch.cat(
        [torch.cat([min_qq.T, min_qg_side], 1), torch.cat([min_qg_top.T, min_gg.T], 1)]
    )
    thr = torch.topk(chunk_min, K + 1, dim=1, largest=False, sorted=True).values[:, K]
    return thr, col_max, (parts_qq, parts_qg, parts_gg, min_qg_side)


def _candidates(D: _FullDistance, thr: torch.Tensor, parts: tuple) -> tuple[torch.Tensor, ...]:
    """Step 1, chunked search, part b: every entry D[j, i] <= thr[i] as (column i, row j, value).

    Only the parts of chunks whose minimum is <= thr[i] can hold one. Their entries are gathered
    chunk by chunk and, within a chunk, row by row in increasing column order, so that the reads
    stay close together. Hits are taken by flat position with ``index_select``, which is several
    times faster on CPU than indexing with (row, column) pairs."""
    qq, qg, gg = D.q_q, D.q_g, D.g_g
    q, g = D.q, D.g
    dev = qg.device
    parts_qq, parts_qg, parts_gg, min_qg_side = parts
    offs = torch.arange(0, _CHUNK, parts_qq.shape[1], device=dev)
    cand_i, cand_j, cand_d = [], [], []
    for mat, part, r0, c0 in ((qq, parts_qq, 0, 0), (qg, parts_qg, 0, q), (gg, parts_gg, q, q)):
        c, p, i = (part <= thr[c0 : c0 + mat.shape[1]]).nonzero(
            as_tuple=True
        )  # chunk-major, then column
        j = (c * _CHUNK + p)[None, :] + offs[:, None]  # (C / S, pairs) rows of mat
        inside = j < mat.shape[0]
        j.clamp_(max=mat.shape[0] - 1)
        sub = mat.reshape(-1).index_select(0, (j * mat.shape[1] + i).view(-1)).view(j.shape)
        hit = ((sub <= thr[i + c0]) & inside).view(-1).nonzero()[:, 0]  # flat (row of j, pair)
        cand_i.append(i.index_select(0, hit % len(i)) + c0)
        cand_j.append(j.view(-1).index_select(0, hit) + r0)
        cand_d.append(sub.view(-1).index_select(0, hit))
    offs = torch.arange(_CHUNK, device=dev)
    # rows j >= q of columns i < q: D[j, i] = q_g[i, j - q], contiguous runs of q_g's rows
    i, c = (min_qg_side <= thr[:q, None]).nonzero(as_tuple=True)
    j = (c * _CHUNK)[:, None] + offs  # (pairs, C) gallery rows j - q
    inside = j < g
    j.clamp_(max=g - 1)
    sub = qg.reshape(-1).index_select(0, (i[:, None] * g + j).view(-1)).view(j.shape)
    hit = ((sub <= thr[i, None]) & inside).view(-1).nonzero()[:, 0]  # flat (pair, row of j)
    cand_i.append(i.index_select(0, hit // _CHUNK))
    cand_j.append(j.view(-1).index_select(0, hit) + q)
    cand_d.append(sub.view(-1).index_select(0, hit))
    return torch.cat(cand_i), torch.cat(cand_j), torch.cat(cand_d)


def _smallest_candidates(
    ci: torch.Tensor,
    cj: torch.Tensor,
    cm: torch.Tensor,
    n: int,
    K: int,
    thr: torch.Tensor,
    col_max: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 1, chunked search, part c: the K nearest of every column among its candidates (values
    ``cm`` already in M's units), and the columns whose answer is unsure: the K-th candidate is not
    strictly below M(t) (a tie could hide above t) or the column has too many candidates."""
    dev = ci.device
    # pack per column: (n, width) values (inf padding) and row indices
    count = torch.bincount(ci, minlength=n)
    crowded = count > _MAX_CANDIDATES
    if crowded.any():  # rare (mass ties): their candidates are dropped, the columns sorted whole
        keep = (~crowded[ci]).nonzero()[:, 0]
        ci, cj, cm = ci.index_select(0, keep), cj.index_select(0, keep), cm.index_select(0, keep)
    order = torch.argsort(ci, stable=True)
    ci, cj, cm = ci.index_select(0, order), cj.index_select(0, order), cm.index_select(0, order)
    kept = count.masked_fill(crowded, 0)
    width = max(K + 1, int(kept.max()))
    first = (torch.cumsum(kept, 0) - kept).index_select(0, ci)  # column ci's first candidate
    place = ci * width + torch.arange(len(ci), device=dev) - first  # flat (column, position)
    vals = torch.full((n, width), float("inf"), device=dev)
    idx = torch.full((n, width), n, dtype=torch.long, device=dev)
    vals.view(-1).index_copy_(0, place, cm)
    idx.view(-1).index_copy_(0, place, cj)
    rank, kth = _smallest(vals, K, idx)
    bound = _squared32(thr, torch.empty(n, dtype=torch.float32, device=dev)).div_(col_max)
    unsure = ((kth[:, K - 1] >= bound) | crowded).nonzero()[:, 0]
    return rank, unsure


def _sort_whole_columns(
    D: _FullDistance, rank: torch.Tensor, unsure: torch.Tensor, col_max: torch.Tensor, K: int
) -> None:
    """Step 1, chunked search, part d: the unsure columns sorted whole (rows of M), into
    ``rank``."""
    n, dev = D.n, rank.device
    for u in unsure.split(max(1, _BLOCK_ELEMENTS // n)) if len(unsure) else ():
        grid = torch.arange(n, device=dev).expand(len(u), n)
        full = _squared32(
            D.entries(grid, u[:, None].expand(len(u), n)), torch.empty((len(u), n), device=dev)
        )
        rank[u] = _smallest(full.div_(col_max[u, None]), K)[0]


def _reciprocal(nbr: torch.Tensor) -> torch.Tensor:
    """(N, k) bool: nbr[i, m] has i among its own first k neighbours."""
    n, k = nbr.shape
    out = torch.empty_like(nbr, dtype=torch.bool)
    rows = max(1, _BLOCK_ELEMENTS // (k * k))
    for s, e in _blocks(0, n, rows):
        own = torch.arange(s, e, device=nbr.device)[:, None, None]
        out[s:e] = (_rows(nbr, nbr[s:e]) == own).any(-1)
    return out


def _unique_rows(idx: torch.Tensor, sentinel: int) -> torch.Tensor:
    """Sort each row, turn repeats into ``sentinel`` and push them to the end."""
    idx = idx.sort(1).values
    dup = torch.zeros_like(idx, dtype=torch.bool)
    dup[:, 1:] = idx[:, 1:] == idx[:, :-1]
    return idx.masked_fill(dup, sentinel).sort(1).values


def _expanded_sets(rank: torch.Tensor, k1: int) -> torch.Tensor:
    """Step 2: (N, L) expanded k-reciprocal index sets, ascending, padded with N.

    Membership of R_half(c) in R(i) is read from a bitmap of R(i) over a block of rows (memory
    O(rows * N)); only the members of a joining R_half(c) that R(i) lacks are added.
    """
    n = rank.shape[0]
    nbr = rank[:, : min(k1 + 1, n)]
    half = rank[:, : min(int(np.around(k1 / 2.0)) + 1, n)]
    recip, half_recip = _reciprocal(nbr), _reciprocal(half)
    k, kh = nbr.shape[1], half.shape[1]
    r_set = nbr.masked_fill(~recip, n)  # R(i), n where not reciprocal
    parts = []
    cache = _cache_elements(rank)
    rows = max(1, min(n, cache * 8 // (n + 1), cache // (k * kh)))
    member = torch.zeros(
        (rows, n + 1), dtype=torch.bool, device=rank.device
    )  # row r: R(s + r) as a bitmap
    for s, e in _blocks(0, n, rows):
        cand = nbr[s:e]  # candidate c = R(i)[m]
        c_set, c_ok = (
            _rows(half, cand).flatten(1),
            _rows(half_recip, cand).flatten(1),
        )  # R_half(c), (b, k * kh)
        table = member[: e - s]
        table.scatter_(1, r_set[s:e], True)
        found = table.gather(1, c_set) & c_ok  # R_half(c)[m] is in R(i)
        table.scatter_(1, r_set[s:e], False)
        inside = found.view(-1, k, kh).sum(-1)
        size = c_ok.view(-1, k, kh).sum(-1)
        joins = recip[s:e] & (inside.double() > (2.0 / 3) * size.double())
        new = joins[..., None].expand(-1, k, kh).flatten(1) & c_ok & ~found
        width = int(new.sum(1).max()) if len(new) else 0
        place = torch.where(new, new.cumsum(1) - 1, width)  # compact the new members
        extra = torch.full((e - s, width + 1), n, dtype=rank.dtype, device=rank.device)
        extra.scatter_(1, place, c_set)
        parts.append(_unique_rows(torch.cat([r_set[s:e], extra[:, :width]], dim=1), n))
    return _stack_rows(parts, n)


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


def _weights(
    D: _FullDistance | _FeatureDistance, sets: torch.Tensor, col_max: torch.Tensor
) -> torch.Tensor:
    """Step 3: V values exp(-M(i, j)) / sum over the set, 0 on padding;
    M(i, j) = D(j, i)^2 / max. From features, D^2 comes from the neighbour lists of the
    symmetric search where the member is in them (the same matrix product as the caller's
    matrices), else from a dot product (equal to rounding)."""
    n = D.n
    vals = torch.zeros(sets.shape, dtype=torch.float32, device=sets.device)
    known = getattr(D, "known", None)
    width = sets.shape[1] * (1 if known is None else known[0].shape[1])
    rows = max(1, _BLOCK_ELEMENTS // width)
    for s, e in _blocks(0, n, rows):
        idx = sets[s:e]
        ok = idx < n
        own = torch.arange(s, e, device=idx.device)[:, None].expand_as(idx)
        if known is None:
            d = D.entries(idx.clamp(max=n - 1), own)
            d2 = (d * d).float()
        else:  # most set members are in the neighbour lists of step 1: their D^2 is there
            same = idx[:, :, None] == known[0][s:e, None, :]
            d2 = torch.where(same, known[1][s:e, None, :], 0.0).amax(2)
            missing = (ok & ~same.any(2)).nonzero(as_tuple=True)
            d = D.entries(idx[missing], own[missing])
            d2[missing] = (d * d).float()
        m = d2 / col_max[s:e, None]
        w = torch.exp(-m).masked_fill(~ok, 0.0)
        vals[s:e] = w / w.sum(1, keepdim=True)
    return vals


def _query_expansion(sets: torch.Tensor, vals: torch.Tensor, rank: torch.Tensor, k2: int):
    """Step 4: sparse rows V_qe(i) = mean of V over the first k2 neighbours of i."""
    n = sets.shape[0]
    k2 = min(k2, rank.shape[1])
    out_idx, out_val = [], []
    rows = max(1, _cache_elements(sets) // (k2 * sets.shape[1]))
    for s, e in _blocks(0, n, rows):
        nb = rank[s:e, :k2]
        idx = _rows(sets, nb).flatten(1)
        val = _rows(vals, nb).flatten(1)
        idx, order = idx.sort(dim=1, stable=True)
        val = val.gather(1, order)
        start = torch.ones_like(idx, dtype=torch.bool)
        start[:, 1:] = idx[:, 1:] != idx[:, :-1]
        run = start.long().cumsum(1) - 1
        summed = torch.zeros_like(val).scatter_add_(1, run, val)
        uniq = torch.full_like(idx, n).scatter_(1, run, idx)
        uniq = uniq.masked_fill(uniq >= n, n)
        out_idx.append(uniq)
        out_val.append((summed / k2).masked_fill(uniq >= n, 0.0))
    idx = _stack_rows(out_idx, n)
    return idx, torch.cat([v[:, : idx.shape[1]] for v in out_val])


def _jaccard_mix(
    sets: torch.Tensor, vals: torch.Tensor, q: int, m_qg: torch.Tensor, lambda_: float
) -> torch.Tensor:
    """Steps 5 and 6: (q, g) Jaccard distances between the query and gallery rows of the sparse V,
    mixed with the original distances, (1 - lambda) * J + lambda * M[:q, q:], written into ``m_qg``.

    s(i, j) = sum_k min(V(i, k), V(j, k)) runs over the columns k that both rows hold. An inverted
    index lists the gallery entries of every column k in a padded table of width L, so that each
    query entry fetches whole table rows, takes the minima and adds them to its query's row with
    ``index_add_``, a cache-sized block of queries at a time. Entries past the L-th of a column
    (crowded columns) are paired one by one (:func:`_overflow_pairs`). L balances padding against
    overflow.
    """
    n = sets.shape[0]
    g = n - q
    dev = sets.device
    qk, qv, row_of, hits, width, table_row, table_val, spill, spill_ptr, spill_row, spill_v = (
        _inverted_index(sets, vals, q)
    )
    # queries [s, e) own the query entries [first[s], first[e])
    spills = (spill[qk] > 0).nonzero()[:, 0]
    spills_list = spills.tolist()
    per_query = torch.bincount(row_of, minlength=q)
    work = (
        torch.zeros(q, dtype=torch.long, device=dev).index_add_(0, row_of, hits) + per_query * width
    )
    first = [0] + per_query.cumsum(0).tolist()
    cost = work.cumsum(0).tolist()  # work per query, for the blocks
    cache = _cache_elements(sets)
    rows_max = max(1, cache // (g + 1))
    s = 0
    while s < q:
        e = min(
            max(
                s + 1,
                bisect.bisect_right(
                    cost, (cost[s - 1] if s else 0) + _PAIR_BLOCK * cache // _CACHE_ELEMENTS, lo=s
                ),
            ),
            s + rows_max,
            q,
        )
        a, b = first[s], first[e]
        row_start = (row_of[a:b] - s).mul_(g + 1)
        target = _rows(table_row, qk[a:b]).add_(row_start[:, None])
        mins = torch.minimum(_rows(table_val, qk[a:b]), qv[a:b, None])
        s_min = torch.zeros((e - s) * (g + 1), dtype=torch.float32, device=dev)
        s_min.index_add_(0, target.view(-1), mins.view(-1))
        lo, hi = bisect.bisect_left(spills_list, a), bisect.bisect_left(spills_list, b)
        if hi > lo:
            over = spills[lo:hi]
            t, m = _overflow_pairs(
                qk[over], qv[over], row_start[over - a], spill, spill_ptr, spill_row, spill_v
            )
            s_min.index_add_(0, t, m)
        s_min = s_min.view(e - s, g + 1)[:, :g]
        # (1 - lambda) * (1 - s / (2 - s)) + lambda * M
        #   =  lambda * M + 2 (1 - lambda) (1 - s) / (2 - s),
        # in place in m_qg (its pages are already mapped); within a few float32 ulps of the original
        m_qg[s:e].mul_(lambda_).addcdiv_(
            torch.add(2 * (1 - lambda_), s_min, alpha=-2 * (1 - lambda_)), torch.rsub(s_min, 2.0)
        )
        s = e
    return m_qg


def _inverted_index(
    sets: torch.Tensor, vals: torch.Tensor, q: int
) -> tuple[torch.Tensor | int, ...]:
    """Step 5's index: the query entries (column k, value, query row) and, for every column k, the
    gallery entries holding it: the first L in a padded (N, L) table (gallery row, value; padding
    points at a spare column g), the rest in an overflow list (``spill`` per column, from
    ``spill_ptr``). Also how many gallery entries each query entry meets (``hits``) and L."""
    n = sets.shape[0]
    g = n - q
    dev = sets.device
    i32 = torch.int32
    width_v = sets.shape[1]
    at = (sets[q:] < n).view(-1).nonzero()[:, 0]  # gallery entries, row-major
    g_row, g_col, g_v = (at // width_v).to(i32), sets[q:].reshape(-1)[at], vals[q:].reshape(-1)[at]
    order = torch.argsort(g_col, stable=True)  # inverted index: gallery entries by column k
    g_row, g_col, g_v = g_row[order], g_col[order], g_v[order]
    count = torch.bincount(g_col, minlength=n)
    ptr = torch.cumsum(count, 0) - count
    at = (sets[:q] < n).view(-1).nonzero()[:, 0]  # query entries, row-major
    qk, qv, row_of = sets[:q].reshape(-1)[at], vals[:q].reshape(-1)[at], (at // width_v).to(i32)
    hits = count[qk]  # gallery entries each query entry meets
    width = _table_width(hits)
    slot = torch.arange(len(g_col), device=dev) - ptr[g_col]  # place of an entry within its column
    head = (slot < width).nonzero()[:, 0]
    table_row = torch.full(
        (n, width), g, dtype=i32, device=dev
    )  # padding points at a spare column g
    table_val = torch.zeros((n, width), dtype=torch.float32, device=dev)
    place = g_col[head] * width + slot[head]
    table_row.view(-1)[place] = g_row[head]
    table_val.view(-1)[place] = g_v[head]
    spill = (count - width).clamp_(min=0)  # overflow: a second inverted index
    spill_ptr = torch.cumsum(spill, 0) - spill
    tail = slot >= width
    spill_row, spill_v = g_row[tail], g_v[tail]

    return qk, qv, row_of, hits, width, table_row, table_val, spill, spill_ptr, spill_row, spill_v


def _table_width(hits: torch.Tensor) -> int:
    """Width L of the padded inverted index: a multiple of 8 that minimises padded slots plus
    (about three times dearer) overflow pairs, given the number of gallery entries each query
    entry meets."""
    if not len(hits):
        return 1
    hist = torch.bincount(hits).double()  # hist[h]: query entries meeting h
    h = torch.arange(len(hist), dtype=torch.float64, device=hits.device)
    # spilled(L) = sum_{h > L} (h - L) hist[h] = S1(L) - L * S0(L), with tail sums S0, S1 over h > L
    s0 = hist.flip(0).cumsum(0).flip(0)
    s1 = (hist * h).flip(0).cumsum(0).flip(0)
    widths = torch.arange(8, len(hist) + 8, 8, device=hits.device)
    nxt = (widths + 1).clamp(max=len(hist) - 1)
    over = widths + 1 < len(hist)
    spilled = torch.where(over, s1[nxt] - widths * s0[nxt], 0.0)
    return int(widths[torch.argmin(len(hits) * widths + 3 * spilled)])


def _overflow_pairs(qk, qv, row_start, spill, spill_ptr, spill_row, spill_v):
    """(target, min) for every (query entry, overflow gallery entry of the same column) pair, laid
    out by repetition."""
    i32 = torch.int32
    cnt = spill[qk]
    total = int(cnt.sum())
    cnt32 = cnt.to(i32)
    pos = torch.repeat_interleave(
        (spill_ptr[qk] - (torch.cumsum(cnt, 0) - cnt)).to(i32), cnt32, output_size=total
    )
    pos += torch.arange(total, dtype=i32, device=qk.device)
    target = spill_row.index_select(0, pos).add_(
        torch.repeat_interleave(row_start, cnt32, output_size=total)
    )
    mins = torch.minimum(
        spill_v.index_select(0, pos), torch.repeat_interleave(qv, cnt32, output_size=total)
    )
    return target, mins
