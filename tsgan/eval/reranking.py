"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), exact and small (DESIGN section 6).

Same numbers as the widely copied ``re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2,
lambda_value)``, step by step, but with memory O(N * k1 + q * g) instead of several dense
N x N arrays (N = q + g):

1. ``M``: the (N, N) distance matrix D = [[q_q, q_g], [q_g^T, g_g]] squared, each column divided
   by its maximum, transposed (so row i of M is column i of D), in float32 as the original does.
   M is built a block of rows at a time; only each row's ``k1 + 1`` nearest neighbours
   (``initial_rank``) and the query-gallery part (kept for the final mix) are stored.
2. k-reciprocal set R(i): the j in the top ``k1 + 1`` of i that have i in their own top ``k1 + 1``.
   Expansion: for each candidate c in R(i), its half-size set R_half(c) (top ``round(k1 / 2) + 1``)
   joins when more than 2/3 of it lies in R(i).
3. V(i, j) = exp(-M(i, j)) over the expanded set, normalised to sum 1: a sparse row (index and
   value lists).
4. Local query expansion: V(i) <- mean of V over the top ``k2`` of i (when ``k2 != 1``).
5. Jaccard distance from query i to gallery j: 1 - s / (2 - s), s = sum_k min(V(i, k), V(j, k)),
   computed through an inverted index over the gallery rows, a block of queries at a time.
6. final = (1 - lambda) * Jaccard + lambda * M[query, gallery].

Ties: the original orders neighbours with ``np.argsort`` (quicksort, not stable); here equal
distances are ordered by index, as a stable sort would. On distances without exact ties inside
the top ``k1 + 1`` the two agree exactly; otherwise the neighbour sets may differ at the tie.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .metrics import _as_tensor

_BLOCK_ELEMENTS = 1 << 22   # rows per block so that a (rows, N) float32 block is ~16 MB
_PAIR_BUDGET = 1 << 22      # (query entry, gallery entry) pairs per Jaccard block


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
            left = _squared32(self.q_q[:, start:stop], self.q_q.new_empty((q, stop - start), dtype=torch.float32))
            right = _squared32(self.q_g[start:stop], self.q_g.new_empty((stop - start, self.g), dtype=torch.float32))
            return torch.cat([left.T.contiguous(), right], dim=1)
        cols = self.q_g.new_empty((n, stop - start), dtype=torch.float32)
        _squared32(self.q_g[:, start - q:stop - q], cols[:q])
        _squared32(self.g_g[:, start - q:stop - q], cols[q:])
        return cols.T.contiguous()

    def entries(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """D[rows, cols] for index tensors of equal shape, all < N."""
        q = self.q
        out = torch.empty(rows.shape, dtype=self.q_g.dtype, device=rows.device)
        rq, cq = rows < q, cols < q
        for mask, mat, r, c in (
            (rq & cq, self.q_q, rows, cols),
            (rq & ~cq, self.q_g, rows, cols - q),
            (~rq & cq, self.q_g, cols, rows - q),   # lower-left block is q_g transposed
            (~rq & ~cq, self.g_g, rows - q, cols - q),
        ):
            out[mask] = mat[r[mask], c[mask]]
        return out


def _squared32(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (float32, contiguous) <- x * x computed in x's dtype and rounded to float32 on store."""
    return torch.mul(x, x, out=out)


def _blocks(start: int, stop: int, size: int):
    for s in range(start, stop, size):
        yield s, min(s + size, stop)


def _neighbours(D: _FullDistance, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1: top-K neighbours of every row of M (ties by index), column maxima, and M[:q, q:]."""
    n, q = D.n, D.q
    rank = torch.empty((n, K), dtype=torch.long, device=D.q_g.device)
    col_max = torch.empty(n, dtype=torch.float32, device=D.q_g.device)
    m_qg = torch.empty((q, D.g), dtype=torch.float32, device=D.q_g.device)
    rows = max(1, _BLOCK_ELEMENTS // n)
    for lo, hi in ((0, q), (q, n)):
        for s, e in _blocks(lo, hi, rows):
            m = D.squared_columns_as_rows(s, e)
            mx = m.amax(1, keepdim=True)
            m.div_(mx)                                     # / np.max(axis=0), then transposed
            col_max[s:e] = mx[:, 0]
            if e <= q:
                m_qg[s:e] = m[:, q:]
            vals, idx = torch.topk(m, K, dim=1, largest=False, sorted=True)
            by_index = idx.argsort(1)                      # equal distances -> ascending index
            vals, idx = vals.gather(1, by_index), idx.gather(1, by_index)
            rank[s:e] = idx.gather(1, vals.argsort(dim=1, stable=True))
    return rank, col_max, m_qg


def _reciprocal(nbr: torch.Tensor) -> torch.Tensor:
    """(N, k) bool: nbr[i, m] has i among its own first k neighbours."""
    n, k = nbr.shape
    out = torch.empty_like(nbr, dtype=torch.bool)
    rows = max(1, _BLOCK_ELEMENTS // (k * k))
    for s, e in _blocks(0, n, rows):
        own = torch.arange(s, e, device=nbr.device)[:, None, None]
        out[s:e] = (nbr[nbr[s:e]] == own).any(-1)
    return out


def _unique_rows(idx: torch.Tensor, sentinel: int) -> torch.Tensor:
    """Sort each row, turn repeats into ``sentinel`` and push them to the end."""
    idx = idx.sort(1).values
    dup = torch.zeros_like(idx, dtype=torch.bool)
    dup[:, 1:] = idx[:, 1:] == idx[:, :-1]
    return idx.masked_fill(dup, sentinel).sort(1).values


def _trim(idx: torch.Tensor, sentinel: int) -> torch.Tensor:
    width = int((idx != sentinel).sum(1).max()) if idx.numel() else 0
    return idx[:, :max(width, 1)]


def _expanded_sets(rank: torch.Tensor, k1: int) -> torch.Tensor:
    """Step 2: (N, L) expanded k-reciprocal index sets, ascending, padded with N."""
    n = rank.shape[0]
    nbr = rank[:, :min(k1 + 1, n)]
    half = rank[:, :min(int(np.around(k1 / 2.0)) + 1, n)]
    recip, half_recip = _reciprocal(nbr), _reciprocal(half)
    k, kh = nbr.shape[1], half.shape[1]
    parts = []
    rows = max(1, _BLOCK_ELEMENTS // (k * kh * k))
    for s, e in _blocks(0, n, rows):
        r_set = nbr[s:e].masked_fill(~recip[s:e], -1)            # R(i), -1 where not reciprocal
        cand = nbr[s:e]                                            # candidate c = R(i)[m]
        c_set = half[cand].masked_fill(~half_recip[cand], -2)      # R_half(c), -2 where not reciprocal
        inside = (c_set[..., None] == r_set[:, None, None, :]).any(-1).sum(-1)
        size = half_recip[cand].sum(-1)
        joins = recip[s:e] & (inside.double() > (2.0 / 3) * size.double())
        extra = c_set.masked_fill(~joins[..., None] | (c_set < 0), n).flatten(1)
        own = r_set.masked_fill(r_set < 0, n)
        parts.append(_unique_rows(torch.cat([own, extra], dim=1), n))
    width = max(int((p != n).sum(1).max()) for p in parts)
    return torch.cat([p[:, :width] for p in parts])


def _weights(D: _FullDistance, sets: torch.Tensor, col_max: torch.Tensor) -> torch.Tensor:
    """Step 3: V values exp(-M(i, j)) / sum over the set, 0 on padding; M(i, j) = D(j, i)^2 / max."""
    n = D.n
    vals = torch.zeros(sets.shape, dtype=torch.float32, device=sets.device)
    rows = max(1, _BLOCK_ELEMENTS // sets.shape[1])
    for s, e in _blocks(0, n, rows):
        idx = sets[s:e]
        ok = idx < n
        own = torch.arange(s, e, device=idx.device)[:, None].expand_as(idx)
        d = D.entries(idx.clamp(max=n - 1), own)
        m = (d * d).float() / col_max[s:e, None]
        w = torch.exp(-m).masked_fill(~ok, 0.0)
        vals[s:e] = w / w.sum(1, keepdim=True)
    return vals


def _query_expansion(sets: torch.Tensor, vals: torch.Tensor, rank: torch.Tensor, k2: int):
    """Step 4: sparse rows V_qe(i) = mean of V over the first k2 neighbours of i."""
    n = sets.shape[0]
    k2 = min(k2, rank.shape[1])
    out_idx, out_val = [], []
    rows = max(1, _BLOCK_ELEMENTS // (k2 * sets.shape[1]))
    for s, e in _blocks(0, n, rows):
        nb = rank[s:e, :k2]
        idx = sets[nb].flatten(1)
        val = vals[nb].flatten(1)
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
    width = max(int((u != n).sum(1).max()) for u in out_idx)
    return torch.cat([u[:, :width] for u in out_idx]), torch.cat([v[:, :width] for v in out_val])


def _jaccard(sets: torch.Tensor, vals: torch.Tensor, q: int) -> torch.Tensor:
    """Step 5: (q, g) Jaccard distances between query rows and gallery rows of the sparse V."""
    n = sets.shape[0]
    g = n - q
    dev = sets.device
    g_idx, g_val = sets[q:], vals[q:]
    ok = g_idx < n
    g_row = torch.arange(g, device=dev)[:, None].expand_as(g_idx)[ok]
    g_col, g_v = g_idx[ok], g_val[ok]
    order = torch.argsort(g_col, stable=True)                    # inverted index: gallery entries by column k
    g_row, g_col, g_v = g_row[order], g_col[order], g_v[order]
    count = torch.bincount(g_col, minlength=n)
    ptr = torch.cumsum(count, 0) - count
    q_idx, q_val = sets[:q], vals[:q]
    q_ok = q_idx < n
    pairs = torch.where(q_ok, count[q_idx.clamp(max=n - 1)], torch.zeros_like(q_idx)).sum(1)
    jac = torch.empty((q, g), dtype=torch.float32, device=dev)
    s = 0
    while s < q:
        e = s + max(1, int((pairs[s:].cumsum(0) <= _PAIR_BUDGET).sum()))
        ok_b = q_ok[s:e]
        qk, qv = q_idx[s:e][ok_b], q_val[s:e][ok_b]
        row_start = (torch.arange(e - s, device=dev) * g)[:, None].expand(e - s, q_idx.shape[1])[ok_b]
        cnt = count[qk]
        total = int(cnt.sum())
        # every (query entry, gallery entry sharing its column k) pair, built by repetition (no scatter)
        pos = torch.arange(total, device=dev) + torch.repeat_interleave(ptr[qk] - (torch.cumsum(cnt, 0) - cnt), cnt, output_size=total)
        target = torch.repeat_interleave(row_start, cnt, output_size=total) + g_row.index_select(0, pos)
        mins = torch.minimum(torch.repeat_interleave(qv, cnt, output_size=total), g_v.index_select(0, pos))
        s_min = torch.zeros((e - s) * g, dtype=torch.float32, device=dev).index_add_(0, target, mins).view(e - s, g)
        jac[s:e] = 1 - s_min / (2.0 - s_min)
        s = e
    return jac


def neighbourhoods(dist: Any, k1: int = 20) -> dict[str, list[list[int]]]:
    """Steps 1-2 on one full (N, N) distance matrix, for inspection: for every point its top ``k1 + 1``
    neighbours, its k-reciprocal set R(i) and the expanded set R*(i) (as index lists)."""
    d = _as_tensor(dist, "dist")
    if d.dim() != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"dist must be a square (N, N) distance matrix, got shape {tuple(d.shape)}")
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


def rerank(q_g: Any, q_q: Any, g_g: Any, k1: int = 20, k2: int = 6, lambda_: float = 0.3) -> Any:
    """Re-ranked (q, g) distances from Euclidean q-g, q-q and g-g distance matrices.

    Numpy in -> numpy out, tensor in -> tensor out on the same device, in the input's dtype
    (the computation itself is float32, like the original's).
    """
    if k1 < 1 or k2 < 1 or not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"need k1 >= 1, k2 >= 1 and 0 <= lambda_ <= 1; got k1={k1}, k2={k2}, lambda_={lambda_}")
    is_numpy = not isinstance(q_g, torch.Tensor)
    qg = _as_tensor(q_g, "q_g")
    qq, gg = _as_tensor(q_q, "q_q", qg.device), _as_tensor(g_g, "g_g", qg.device)
    if qg.dim() != 2 or qq.shape != (qg.shape[0],) * 2 or gg.shape != (qg.shape[1],) * 2:
        raise ValueError(
            f"expected q_g (q, g), q_q (q, q) and g_g (g, g); got {tuple(qg.shape)}, {tuple(qq.shape)}, {tuple(gg.shape)}"
        )
    out_dtype = qg.dtype
    work = torch.promote_types(torch.promote_types(qg.dtype, qq.dtype), gg.dtype)
    if not work.is_floating_point:
        work = torch.float64
    D = _FullDistance(qg.to(work), qq.to(work), gg.to(work))
    q = D.q
    K = min(max(k1 + 1, k2), D.n)
    rank, col_max, m_qg = _neighbours(D, K)
    sets = _expanded_sets(rank, k1)
    vals = _weights(D, sets, col_max)
    if k2 != 1:
        sets, vals = _query_expansion(sets, vals, rank, k2)
    final = _jaccard(sets, vals, q).mul_(1 - lambda_).add_(m_qg.mul_(lambda_))
    final = final.to(out_dtype if out_dtype.is_floating_point else torch.float32)
    return final.cpu().numpy() if is_numpy else final
