"""Step 1 of k-reciprocal re-ranking (:mod:`tsgan.eval.reranking`): the nearest neighbours.

For every row of M (column of the (N, N) distance matrix D squared, divided by its maximum) its
``K`` nearest neighbours (ties by index), the column maxima of D^2 (the original's normaliser) and
M[query, gallery], without building D: :class:`_FullDistance` reads D from the caller's three
matrices, :class:`_FeatureDistance` computes it from features, rounded as the caller's matrices
are. The searches: :func:`_neighbours_dense` (a block of rows of M at a time),
:func:`_neighbours_chunked` (chunk minima bound the candidates, no transposes; large inputs),
:func:`_neighbours_blocks` (from features, a block of columns at a time) and
:func:`_neighbours_symmetric` (from features, each dot product once). All give the same answer.
"""

from __future__ import annotations

import torch

from ..threads import limit_threads, threads_for
from .reranking_memory import (
    _BLOCK_ELEMENTS,
    _blocks,
    _cache_elements,
    _even_blocks,
    _rows,
)

_CHUNK = 32  # rows of D per chunk in the chunked neighbour search (a power of two)
_SUB = 4  # interleaved parts of a chunk, each checked on its own
_MAX_CANDIDATES = 1024  # columns with more candidates than this (mass ties) are sorted whole
_SLACK = 8  # neighbours kept beyond K per column in the symmetric search (ties after division)


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
