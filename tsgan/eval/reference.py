"""Readable references: the evaluation loop and the dense k-reciprocal re-ranking as the field
writes them.

They follow the code the field copies (the ``eval_sysu`` / ``eval_regdb`` loops of the common
cross-modality baseline and ``re_ranking`` of Zhong et al., CVPR 2017, as distributed in
``re_ranking_ranklist.py`` by most ReID code bases): numpy, dense arrays, one query or one row at a
time, the same dtypes and operations as the original (float32 from the squared distances on).
They are written independently of the fast versions (:func:`tsgan.eval.evaluate_rank`,
:func:`tsgan.eval.rerank`, :func:`tsgan.eval.rerank_features`): the tests compare the fast versions
against them, the benchmarks time them, and notebook 06 uses them to explain the fast ones.
Use them to read the algorithms; they are too slow and too memory-hungry for real galleries
(the dense re-ranking holds several (N, N) arrays, N = queries + gallery).
"""

from __future__ import annotations

import numpy as np


def evaluate_loop(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    protocol: str = "sysu",
    max_rank: int = 20,
) -> tuple[np.ndarray, float, float, int]:
    """One query at a time: sort (stable), remove by the camera rule, CMC (deduplicated unless
    regdb), AP, INP. Returns (CMC, mAP, mINP, number of valid queries); queries with no true match
    are skipped."""
    all_cmc, all_ap, all_inp = [], [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        pids, cams = g_pids[order], g_cams[order]
        if protocol == "sysu":
            keep = ~((q_cams[i] == 3) & (cams == 2))
        elif protocol == "llcm":
            keep = ~((pids == q_pids[i]) & (cams == q_cams[i]))
        else:
            keep = np.ones(len(order), dtype=bool)
        pids = pids[keep]
        matches = (pids == q_pids[i]).astype(np.int64)
        if not matches.any():
            continue
        if protocol == "regdb":
            ranked_ids = pids
        else:  # each identity once, at its first position
            ranked_ids = pids[np.sort(np.unique(pids, return_index=True)[1])]
        first = int(np.argmax(ranked_ids == q_pids[i]))
        all_cmc.append([1.0 if first < k else 0.0 for k in range(1, max_rank + 1)])
        hits = matches.cumsum()
        ranks = np.arange(1, len(matches) + 1)
        all_ap.append(float((hits / ranks * matches).sum() / matches.sum()))
        last = int(np.nonzero(matches)[0].max()) + 1
        all_inp.append(matches.sum() / last)
    return np.mean(all_cmc, axis=0), float(np.mean(all_ap)), float(np.mean(all_inp)), len(all_ap)


def re_ranking(
    q_g_dist: np.ndarray,
    q_q_dist: np.ndarray,
    g_g_dist: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    kind: str = "quicksort",
) -> np.ndarray:
    """The widely copied dense re-ranking (Zhong et al. 2017, distance-matrix version), step by
    step.

    ``kind`` is the sort of ``initial_rank``: the original's ``np.argsort`` default (quicksort,
    not stable) or ``"stable"``. Under exact ties (duplicated images) the unstable sort orders the
    tied neighbours differently from one CPU to another (numpy picks a vectorised sort where the
    CPU has AVX-512), so the original's output is only defined for tie-free inputs; with
    ``kind="stable"`` ties go in index order, as in :func:`tsgan.eval.rerank`.

    1. M: all distances D = [[q_q, q_g], [q_g^T, g_g]] squared (cast to float32), each column
       divided by its maximum, transposed; ``initial_rank``: every row of M argsorted.
    2. R(i): the j in the top k1 + 1 of i that have i in their own top k1 + 1 (k-reciprocal).
       Expansion: a candidate c in R(i) adds its half-size set R_half(c) (top round(k1 / 2) + 1)
       when more than 2/3 of it lies in R(i).
    3. V(i, j) = exp(-M(i, j)) over the expanded set, normalised to sum 1.
    4. Local query expansion: V(i) <- mean of V over the top k2 of i (k2 = 1: none).
    5. Jaccard distance 1 - s / (2 - s), s(i, j) = sum_k min(V(i, k), V(j, k)), via an inverted
       index.
    6. final = (1 - lambda) * Jaccard + lambda * M, cut to the (q, g) block.
    """
    original_dist = np.concatenate(
        [
            np.concatenate([q_q_dist, q_g_dist], axis=1),
            np.concatenate([q_g_dist.T, g_g_dist], axis=1),
        ],
        axis=0,
    )
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1.0 * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist, kind=kind).astype(np.int32)
    query_num = q_g_dist.shape[0]
    all_num = original_dist.shape[0]
    half = int(np.around(k1 / 2.0))
    for i in range(all_num):
        forward = initial_rank[i, : k1 + 1]
        backward = initial_rank[forward, : k1 + 1]
        k_reciprocal_index = forward[np.where(backward == i)[0]]
        expansion = k_reciprocal_index
        for candidate in k_reciprocal_index:
            c_forward = initial_rank[candidate, : half + 1]
            c_backward = initial_rank[c_forward, : half + 1]
            c_reciprocal = c_forward[np.where(c_backward == candidate)[0]]
            if len(np.intersect1d(c_reciprocal, k_reciprocal_index)) > 2.0 / 3 * len(c_reciprocal):
                expansion = np.append(expansion, c_reciprocal)
        expansion = np.unique(expansion)
        weight = np.exp(-original_dist[i, expansion])
        V[i, expansion] = 1.0 * weight / np.sum(weight)
    original_dist = original_dist[:query_num]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    inv_index = [np.where(V[:, i] != 0)[0] for i in range(all_num)]
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, all_num], dtype=np.float32)
        nonzero = np.where(V[i, :] != 0)[0]
        for k in nonzero:
            rows = inv_index[k]
            temp_min[0, rows] = temp_min[0, rows] + np.minimum(V[i, k], V[rows, k])
        jaccard_dist[i] = 1 - temp_min / (2.0 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense Euclidean distances in float64 (numpy)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0))
