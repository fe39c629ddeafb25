"""Single-modality evaluation of a backbone, paper Table III: IR -> IR and RGB -> RGB.

The paper tests its IR-trained teacher on "the single modality part of SYSU-MM01" without a
protocol; ours mirrors the cross-modality one: queries are every test image of the modality; per
trial the gallery holds one seeded random image per (identity, camera) of the same modality; a
gallery image from the query's own camera and identity is removed (the usual single-modality rule,
also LLCM's), so each query must be found in another camera. Metrics are averaged over trials.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch

from ..config import Config
from ..data import CrossModalityDataset, Sample
from .features import extract_features
from .metrics import euclidean_distance, evaluate_rank
from .report import summarize


def single_modality_trial(
    samples: Sequence[Sample], modality: str, trial: int
) -> tuple[list[Sample], list[Sample]]:
    """(queries, gallery) of one trial: all images of ``modality``; one seeded image per (pid,
    cam)."""
    queries = sorted(s for s in samples if s.modality == modality)
    if not queries:
        raise ValueError(
            f"no test images of modality {modality!r}; "
            "expected 'rgb' or 'ir' images in the test split"
        )
    groups: dict[tuple[int, int], list[Sample]] = defaultdict(list)
    for s in queries:
        groups[(s.pid, s.cam)].append(s)
    rng = random.Random(trial)
    return queries, [rng.choice(groups[k]) for k in sorted(groups)]


def evaluate_single_modality(
    feature_fn: Callable[[torch.Tensor], torch.Tensor],
    cfg: Config,
    dataset: CrossModalityDataset,
    modality: str,
) -> dict[str, float]:
    """Mean R1/R5/R10/R20/mAP/mINP over ``cfg.eval.trials`` trials of ``modality`` -> ``modality``
    retrieval."""
    queries, _ = single_modality_trial(dataset.test, modality, 0)
    feats = extract_features(
        feature_fn, queries, cfg, cfg.eval.batch_size, flip=cfg.eval.flip, progress=False
    )
    if cfg.eval.feat_norm:
        feats = torch.nn.functional.normalize(feats, dim=1)
    row = {s.path: i for i, s in enumerate(queries)}
    q_pids, q_cams = (torch.tensor([getattr(s, a) for s in queries]) for a in ("pid", "cam"))
    results = []
    for trial in range(cfg.eval.trials):
        _, gallery = single_modality_trial(dataset.test, modality, trial)
        g = torch.tensor([row[s.path] for s in gallery])
        dist = euclidean_distance(feats, feats[g])
        results.append(
            summarize(evaluate_rank(dist, q_pids, q_pids[g], q_cams, q_cams[g], protocol="llcm"))
        )
    return {k: sum(r[k] for r in results) / len(results) for k in results[0]}
