"""Steps 2-6 of k-reciprocal re-ranking (:mod:`tsgan.eval.reranking`), from the neighbour lists.

2. k-reciprocal sets R(i) and their expansion R*(i) (:func:`_reciprocal`, :func:`_expanded_sets`);
3. the weights V(i, j) = exp(-M(i, j)) over R*(i), normalised (:func:`_weights`);
4. local query expansion over the top k2 (:func:`_query_expansion`);
5-6. the Jaccard distance through a padded inverted index of the gallery rows, mixed with M
   (:func:`_jaccard_mix`, :func:`_inverted_index`).
Every working array is O(N * k1) or one block (:mod:`tsgan.eval.reranking_memory`).
"""

from __future__ import annotations

import bisect

import numpy as np
import torch

from .reranking_memory import (
    _BLOCK_ELEMENTS,
    _CACHE_ELEMENTS,
    _PAIR_BLOCK,
    _blocks,
    _cache_elements,
    _rows,
    _stack_rows,
)
from .reranking_search import _FeatureDistance, _FullDistance


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
