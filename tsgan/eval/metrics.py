"""Ranking metrics of cross-modality ReID: CMC, mAP and mINP under the SYSU-MM01, RegDB and LLCM
rules.

For each query the gallery is sorted by distance (a stable sort: ties keep gallery order), then
the protocol's camera rule removes some gallery items:

* ``sysu``: for a query from cam3, **every** cam2 gallery image is removed, whatever its identity
  (cam2 and cam3 film the same room); nothing else is removed;
* ``regdb``: nothing is removed;
* ``llcm``: gallery images of the query's identity taken by the query's camera are removed.

On what is left:

* **CMC** at rank k: the share of queries whose identity is among the first k. For ``sysu`` and
  ``llcm`` each gallery identity counts once, at its best rank (the identity-deduplicated CMC of
  the authors' released code and of the common Python baseline); ``regdb`` uses the plain CMC.
* **AP**: mean over the true matches of (true matches so far / rank); **mAP** its mean.
* **INP**: (number of true matches) / (rank of the last true match); **mINP** its mean
  (Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook").

Queries with no true match left are skipped; ``num_valid`` counts the others. Everything is
vectorised in torch over blocks of queries, on the device of ``distmat`` when it is a tensor; no
row is sorted unless it holds a tie with a true match (see :func:`_block_metrics`). Under
``sysu`` the cam3 queries and the others are two groups, each with one gallery, so the camera
rule is applied once per group (:func:`_query_groups`); on the CPU the kernels run on one thread
(:mod:`tsgan.threads`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..threads import limit_threads, threads_for

PROTOCOLS = ("sysu", "regdb", "llcm")
SYSU_IR_INDOOR_CAM = 3  # queries from this IR camera ...
SYSU_RGB_INDOOR_CAM = 2  # ... never see this RGB camera, which films the same room
_BLOCK_ELEMENTS = 1 << 22  # query rows per block so that one (rows, gallery) int64 array is ~32 MB


def _as_tensor(x: Any, name: str, device: torch.device | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}: {err}"
            ) from None
    return t.to(device) if device is not None else t


def _check_inputs(distmat: torch.Tensor, q_pids, g_pids, q_cams, g_cams) -> None:
    if distmat.dim() != 2:
        raise ValueError(
            f"distmat must be 2-D (num_query, num_gallery), got shape {tuple(distmat.shape)}"
        )
    nq, ng = distmat.shape
    if nq == 0 or ng == 0:
        raise ValueError(
            f"distmat is empty (shape {tuple(distmat.shape)}); "
            "need at least one query and one gallery item"
        )
    for name, arr, n in (
        ("q_pids", q_pids, nq),
        ("q_cams", q_cams, nq),
        ("g_pids", g_pids, ng),
        ("g_cams", g_cams, ng),
    ):
        if arr.dim() != 1 or arr.shape[0] != n:
            side = "rows (queries)" if name.startswith("q") else "columns (gallery)"
            raise ValueError(
                f"{name} must be 1-D with one entry per distmat {side}: "
                f"expected {n}, got shape {tuple(arr.shape)}"
            )
    if torch.isnan(distmat.sum()) and torch.isnan(distmat).any():  # one cheap pass first
        raise ValueError(
            "distmat contains NaN; check the features "
            "(a NaN feature makes every distance to it NaN)"
        )


def keep_mask(
    protocol: str,
    q_pids: torch.Tensor,
    q_cams: torch.Tensor,
    gp_sorted: torch.Tensor,
    gc_sorted: torch.Tensor,
) -> torch.Tensor:
    """(queries, gallery) bool: which ranked gallery items the protocol's camera rule keeps."""
    if protocol == "sysu":
        return ~((q_cams[:, None] == SYSU_IR_INDOOR_CAM) & (gc_sorted == SYSU_RGB_INDOOR_CAM))
    if protocol == "llcm":
        return ~((gp_sorted == q_pids[:, None]) & (gc_sorted == q_cams[:, None]))
    return torch.ones_like(gc_sorted, dtype=torch.bool)


def stable_argsort(dist: torch.Tensor) -> torch.Tensor:
    """Row-wise argsort, equal distances in gallery order (what a stable sort gives).

    On the CPU numpy's quicksort is several times faster than a stable sort. float32 distances
    (where equal values are common) are sorted by one unique int64 key, the order-preserving
    integer image of the float in the high 32 bits and the gallery index in the low ones; for
    other dtypes only the rows that hold equal values are sorted again, stably.
    """
    if dist.device.type != "cpu":
        return torch.sort(dist, dim=1, stable=True).indices
    d = np.ascontiguousarray(dist.numpy())
    if d.dtype == np.float32:
        bits = d.view(np.int32).astype(np.int64)
        key = np.where(bits < 0, -(2**31) - bits, bits)  # monotone in the float value
        key = (key << 32) | np.arange(d.shape[1], dtype=np.int64)
        return torch.from_numpy(np.argsort(key, axis=1))
    order = np.argsort(d, axis=1)
    values = np.take_along_axis(d, order, axis=1)
    tied = np.flatnonzero((values[:, 1:] == values[:, :-1]).any(axis=1))
    if len(tied):
        order[tied] = np.argsort(d[tied], axis=1, kind="stable")
    return torch.from_numpy(order)


def _sorted_values(x: torch.Tensor) -> torch.Tensor:
    """Each row's values in increasing order (no indices): numpy's vectorised sort on the CPU,
    several times faster than an argsort; torch's elsewhere. Row-major either way: numpy keeps a
    transposed input's column-major order, and ``torch.searchsorted`` warns on (and copies) a
    non-contiguous table."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.ascontiguousarray(np.sort(x.numpy(), axis=1)))
    return torch.sort(x, dim=1).values


def _block_metrics(
    dist: torch.Tensor,
    qp: torch.Tensor,
    qc: torch.Tensor,
    qlab: torch.Tensor,
    g_pids: torch.Tensor,
    g_cams: torch.Tensor,
    g_lab: torch.Tensor,
    n_ids: int,
    protocol: str,
    removal: bool = True,
) -> tuple[torch.Tensor, ...]:
    """Per-query (valid, 0-based CMC rank, AP, INP) for one block of queries, without an argsort.

    The metrics need only the rank of each true match among the kept items: one plus the number
    of kept items closer than it. So each row's kept distances are sorted as plain values (removed
    items become +inf), the few true-match distances are sorted too, and ``searchsorted`` counts
    the kept items below each true match. The CMC of ``sysu`` / ``llcm`` counts the identities of
    the kept items closer than the first true match. Rows where a kept item ties with a true match
    are scored by the full stable sort instead (:func:`_block_metrics_sorted`), so that ties keep
    gallery order exactly as there. With ``removal=False`` the caller has already removed what the
    protocol's camera rule removes (every item is kept): no mask is built and the true matches
    are read from the gallery's list of columns per identity, not found in a (rows, gallery) pass.
    """
    b, ng = dist.shape
    dev = dist.device
    if removal:
        keep = keep_mask(protocol, qp, qc, g_pids[None, :], g_cams[None, :]).expand(b, ng)
        match = (g_lab.int()[None, :] == qlab.int()[:, None]) & keep
        row, col = match.nonzero(as_tuple=True)  # true matches, row by row
    else:
        keep = None
        row, col = _match_pairs(qlab, g_lab, n_ids)
    num_rel = torch.bincount(row, minlength=b)
    width = max(1, int(num_rel.max()) if b else 1)
    slot = torch.arange(len(row), device=dev) - (torch.cumsum(num_rel, 0) - num_rel)[row]
    match_d = dist.new_full((b, width), float("inf"))
    match_d.view(-1)[row * width + slot] = dist.reshape(-1).index_select(0, row * ng + col)
    match_d = _sorted_values(match_d)
    kept = _sorted_values(dist if keep is None else dist.masked_fill(~keep, float("inf")))
    closer = torch.searchsorted(kept, match_d)  # kept items strictly closer
    real = torch.arange(width, device=dev) < num_rel[:, None]
    # the match itself sits at kept[closer]; a tie puts another kept item of equal value after it
    after = kept.gather(1, (closer + 1).clamp(max=ng - 1))
    tied_rows = (real & (closer + 1 < ng) & (after == match_d)).any(1)
    rank = (closer + 1).double()  # 1-based rank of the k-th match
    k = torch.arange(1, width + 1, device=dev, dtype=torch.float64)
    ap = torch.where(real, k / rank, 0.0).sum(1) / num_rel.clamp(min=1)
    inp = num_rel / rank.gather(1, (num_rel - 1).clamp(min=0)[:, None])[:, 0]
    if protocol == "regdb":
        cmc_rank = closer[:, 0]
    else:  # identities before the first match, in the rows where anything comes before it
        late = (closer[:, 0] > 0).nonzero()[:, 0]
        closer_than_first = dist[late] < match_d[late, :1]
        if keep is not None:
            closer_than_first &= keep[late]
        r, c = closer_than_first.nonzero(as_tuple=True)
        ids = n_ids + (keep is None)  # without a mask, removed items have identity n_ids
        seen = torch.zeros(len(late) * ids, dtype=torch.bool, device=dev)
        seen[r * ids + g_lab[c]] = True
        cmc_rank = torch.zeros(b, dtype=torch.long, device=dev)
        cmc_rank[late] = seen.view(len(late), ids)[:, :n_ids].sum(1)
    valid = num_rel > 0
    if tied_rows.any():
        rows = tied_rows.nonzero()[:, 0]
        exact = _block_metrics_sorted(
            dist[rows],
            qp[rows],
            qc[rows],
            qlab[rows],
            g_pids,
            g_cams,
            g_lab,
            n_ids,
            protocol,
            removal,
        )
        for out, value in zip((valid, cmc_rank, ap, inp), exact):
            out[rows] = value.to(out.dtype)
    return valid, cmc_rank, ap, inp


def _match_pairs(
    qlab: torch.Tensor, g_lab: torch.Tensor, n_ids: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) of every true match, row by row and by column within a row: each query row
    repeats its identity's gallery columns (a query label of -1 has none)."""
    by_id = torch.argsort(g_lab, stable=True)  # gallery columns grouped by identity, in order
    count = torch.bincount(g_lab, minlength=n_ids + 1)
    start = torch.cumsum(count, 0) - count
    has = qlab >= 0
    per_row = torch.where(has, count[qlab.clamp(min=0)], 0)
    row = torch.repeat_interleave(torch.arange(len(qlab), device=qlab.device), per_row)
    first = torch.cumsum(per_row, 0) - per_row
    slot = torch.arange(len(row), device=qlab.device) - first[row]
    return row, by_id[start[qlab[row]] + slot]


def _block_metrics_sorted(
    dist: torch.Tensor,
    qp: torch.Tensor,
    qc: torch.Tensor,
    qlab: torch.Tensor,
    g_pids: torch.Tensor,
    g_cams: torch.Tensor,
    g_lab: torch.Tensor,
    n_ids: int,
    protocol: str,
    removal: bool = True,
) -> tuple[torch.Tensor, ...]:
    """Per-query (valid, 0-based CMC rank, AP, INP) for one block of queries, from a full stable
    sort of every row: the fallback of :func:`_block_metrics` for rows with tied distances."""
    b, ng = dist.shape
    dev = dist.device
    order = stable_argsort(dist)
    lab, gc = g_lab[order], g_cams[order]
    if removal:
        keep = keep_mask(protocol, qp, qc, g_pids[order] if protocol == "llcm" else lab, gc)
    else:  # the caller gave removed items identity n_ids
        keep = lab < n_ids
    match = (lab == qlab[:, None]) & keep
    rank = keep.cumsum(1, dtype=torch.int32)  # 1-based rank among kept items, read where kept
    row, col = match.nonzero(as_tuple=True)  # the true matches, row-major = by rank
    num_rel = torch.bincount(row, minlength=b)
    valid = num_rel > 0
    r = rank[row, col].double()
    hits = torch.arange(1, len(row) + 1, device=dev) - (torch.cumsum(num_rel, 0) - num_rel)[row]
    ap = torch.zeros(b, dtype=torch.float64, device=dev).index_add_(
        0, row, hits / r
    ) / num_rel.clamp(min=1)
    last = torch.zeros(b, dtype=torch.float64, device=dev).scatter_reduce_(0, row, r, reduce="amax")
    inp = num_rel / last.clamp(min=1)
    if protocol == "regdb":
        first = torch.full((b,), float(ng + 1), dtype=torch.float64, device=dev).scatter_reduce_(
            0, row, r, reduce="amin"
        )
        cmc_rank = (first - 1).long()
    else:
        pos = torch.arange(ng, device=dev, dtype=torch.int32).expand(b, ng).masked_fill(~keep, ng)
        first_pos = torch.full((b, n_ids + 1), ng, dtype=torch.int32, device=dev)
        first_pos = first_pos.scatter_reduce_(1, lab, pos, reduce="amin")[:, :n_ids]
        true_first = first_pos.gather(1, qlab.clamp(min=0)[:, None])
        cmc_rank = (first_pos < true_first).sum(1)
    return valid, cmc_rank, ap, inp


def _query_groups(protocol: str, q_cams: torch.Tensor, g_cams: torch.Tensor):
    """(query rows or None for all, gallery items removed for all of them or None, removal) per
    group of queries that see the same gallery: under ``sysu`` the cam3 queries see the gallery
    without cam2 and the others all of it, under ``regdb`` every query sees all of it, so the
    removal is done once per group (``removal=False``: the removed items become +inf with an
    identity of their own); ``llcm`` removes per query and identity (``removal=True``: a mask per
    row)."""
    if protocol == "llcm":
        return [(None, None, True)]
    if protocol == "regdb":
        return [(None, None, False)]
    indoor = q_cams == SYSU_IR_INDOOR_CAM
    if not bool(indoor.any()):
        return [(None, None, False)]
    return [
        (indoor.nonzero()[:, 0], g_cams == SYSU_RGB_INDOOR_CAM, False),
        ((~indoor).nonzero()[:, 0], None, False),
    ]


def evaluate_rank(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_cams: Any,
    g_cams: Any,
    protocol: str = "sysu",
    max_rank: int = 20,
) -> dict[str, Any]:
    """CMC (numpy array of length ``max_rank``), mAP, mINP (floats in [0, 1]) and ``num_valid``.

    ``distmat`` is (num_query, num_gallery), smaller = more similar; numpy arrays or torch
    tensors (any device). Galleries with fewer identities than ``max_rank`` are fine: the CMC
    stays at its last value beyond the number of identities.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    dist = _as_tensor(distmat, "distmat")
    dev = dist.device
    qp, gp, qc, gc = (
        _as_tensor(a, n, dev).long()
        for a, n in ((q_pids, "q_pids"), (g_pids, "g_pids"), (q_cams, "q_cams"), (g_cams, "g_cams"))
    )
    _check_inputs(dist, qp, gp, qc, gc)
    with limit_threads(1):  # sorts and gathers on a few MB: one thread (tsgan.threads)
        ids, g_lab = torch.unique(gp, return_inverse=True)
        pos = torch.searchsorted(ids, qp).clamp(max=len(ids) - 1)
        q_lab = torch.where(ids[pos] == qp, pos, torch.full_like(pos, -1))
        nq = dist.shape[0]
        valid = torch.zeros(nq, dtype=torch.bool, device=dev)
        cmc_rank = torch.zeros(nq, dtype=torch.long, device=dev)
        ap = torch.zeros(nq, dtype=torch.float64, device=dev)
        inp = torch.zeros(nq, dtype=torch.float64, device=dev)
        for q_rows, g_gone, removal in _query_groups(protocol, qc, gc):
            d = dist if q_rows is None else dist.index_select(0, q_rows)
            gl_ = g_lab
            if g_gone is not None:  # removed for the whole group: +inf, and an identity of its own
                fill = d.masked_fill if q_rows is None else d.masked_fill_  # never the input
                d = fill(g_gone, float("inf"))
                gl_ = g_lab.masked_fill(g_gone, len(ids))
            if d.shape[0] == 0:
                continue
            rows = max(1, _BLOCK_ELEMENTS // d.shape[1])
            qs = (qp, qc, q_lab) if q_rows is None else (t[q_rows] for t in (qp, qc, q_lab))
            qp_, qc_, ql_ = qs
            parts = [
                _block_metrics(
                    d[s : s + rows],
                    qp_[s : s + rows],
                    qc_[s : s + rows],
                    ql_[s : s + rows],
                    gp,
                    gc,
                    gl_,
                    len(ids),
                    protocol,
                    removal,
                )
                for s in range(0, d.shape[0], rows)
            ]
            where = slice(None) if q_rows is None else q_rows
            for out, part in zip((valid, cmc_rank, ap, inp), zip(*parts)):
                out[where] = torch.cat(part).to(out.dtype)
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise ValueError(
            f"no query has a true match in the gallery under the {protocol!r} rule "
            f"({dist.shape[0]} queries, {len(ids)} gallery identities); "
            "check that queries and gallery share identities and that the "
            "pids and cams are passed in the right order"
        )
    ranks = cmc_rank[valid]
    cmc = (ranks[:, None] < torch.arange(1, max_rank + 1, device=dev)[None, :]).double().mean(0)
    return {
        "cmc": cmc.cpu().numpy(),
        "mAP": float(ap[valid].mean()),
        "mINP": float(inp[valid].mean()),
        "num_valid": num_valid,
    }


def euclidean_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(m, d), (n, d) -> (m, n) Euclidean distances, computed in the inputs' dtype and device
    (on the caller's CPU threads when the product is large, else on one: tsgan.threads)."""
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            "expected features (m, d) and (n, d) with the same d, "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    m, n = len(x), len(y)
    with limit_threads(threads_for(flop=m * n * x.shape[1], elements=m * n)):
        d = (x @ y.T).mul_(-2.0)  # in place: one (m, n) array at any time
        d.add_((x * x).sum(1, keepdim=True)).add_((y * y).sum(1)[None, :])
        return d.clamp_(min=0).sqrt_()
