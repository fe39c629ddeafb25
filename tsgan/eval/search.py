"""Features and ranked lists for your own images: what ``tsgan extract`` and ``tsgan search`` run.

Features are the test features of ``tsgan evaluate`` (``backbone.features`` through
:func:`tsgan.eval.features.extract_features`, test transforms of the checkpoint's config), so a
search here ranks exactly as the evaluation does: Euclidean distances, on L2-normalised features
when the run's ``eval.feat_norm`` is set, optionally k-reciprocal re-ranking
(:func:`tsgan.eval.reranking.rerank`). ``tsgan extract`` saves the features as the network gives
them, and says whether the run normalises them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import torch

from ..config import Config
from ..data.folder import folder_samples
from ..data.records import Sample
from .features import extract_features
from .metrics import euclidean_distance, stable_argsort
from .reranking import rerank

CSV_HEADER = ("query", "rank", "gallery", "distance")


def folder_features(
    backbone: torch.nn.Module,
    cfg: Config,
    path: str | Path,
    batch_size: int = 64,
    flip: bool = False,
    progress: bool = False,
) -> tuple[torch.Tensor, list[Sample]]:
    """(N, D) test features (on the CPU) of the images under ``path`` (a folder or one file)."""
    samples = folder_samples(path)
    feats = extract_features(
        backbone.features, samples, cfg, batch_size, flip=flip, progress=progress
    )
    return feats.cpu(), samples


def save_features(
    out: str | Path,
    feats: torch.Tensor,
    samples: Sequence[Sample],
    root: str | Path,
    info: dict[str, str],
) -> Path:
    """``torch.save`` a dict loadable with ``weights_only=True``: features (N, D) float32, paths
    relative to ``root`` (row order), the resolved root, and ``info`` (feature name, ...)."""
    root = Path(root).resolve()
    base = root if root.is_dir() else root.parent
    paths = [Path(s.path).resolve().relative_to(base).as_posix() for s in samples]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"features": feats.float().contiguous(), "paths": paths, "root": str(base), **info}, out
    )
    return out


def clamp_rerank_k(k1: int, k2: int, num_gallery: int) -> tuple[int, int]:
    """k1, k2 no larger than half the gallery (at least 1; k2 <= k1).

    With k1 near the gallery size every image is in every k-reciprocal set, the Jaccard term is the
    same for all pairs and re-ranking does nothing; half the gallery keeps the sets selective.
    """
    k1 = max(1, min(k1, num_gallery // 2))
    return k1, max(1, min(k2, k1))


def search_distances(
    query: torch.Tensor,
    gallery: torch.Tensor,
    feat_norm: bool,
    rerank_k: tuple[int, int, float] | None = None,
) -> torch.Tensor:
    """(q, g) Euclidean distances, or re-ranked ones with ``rerank_k = (k1, k2, lambda)``; with
    ``feat_norm`` the features are L2-normalised first (``eval.feat_norm``, as in evaluate)."""
    if feat_norm:
        query, gallery = (
            torch.nn.functional.normalize(query, dim=1),
            torch.nn.functional.normalize(gallery, dim=1),
        )
    q_g = euclidean_distance(query, gallery)
    if rerank_k is None:
        return q_g
    k1, k2, lambda_ = rerank_k
    return rerank(
        q_g, euclidean_distance(query, query), euclidean_distance(gallery, gallery), k1, k2, lambda_
    )


def top_matches(dist: torch.Tensor, top: int) -> torch.Tensor:
    """(q, min(top, g)) gallery indices, nearest first (ties in gallery order)."""
    if top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    return stable_argsort(dist.cpu())[:, :top]


def write_ranking_csv(
    path: str | Path,
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    dist: torch.Tensor,
    order: torch.Tensor,
) -> Path:
    """One row per (query, rank): query path, rank (1-based), gallery path, distance."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for qi, row in enumerate(order.tolist()):
            for rank, gi in enumerate(row, start=1):
                writer.writerow(
                    (queries[qi].path, rank, gallery[gi].path, f"{float(dist[qi, gi]):.6f}")
                )
    return path
