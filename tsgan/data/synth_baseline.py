"""How hard is a dataset? Within- vs cross-modality retrieval with a training-free pixel baseline,
and the modality gap in pixel statistics (grey-level histograms).

The real SYSU-MM01 is easy within one modality (paper Table III: R1 98-99 %) and hard across
modalities (Table II: R1 41 % for the same backbone). The embedded dataset is calibrated to show
the same gap; this module measures it with features anyone can compute without training: the test
images shrunk to ``size``, each flattened, centred and L2-normalised (so a global brightness or
gain change does not matter), compared by Euclidean distance and scored with the project's
evaluator (:func:`tsgan.eval.evaluate_rank`, all gallery images, i.e. multi-shot style).

Settings (query cameras -> gallery cameras, never the same camera on both sides):

* ``RGB->RGB``: cams 1, 4 -> cams 2, 5 (one indoor and one outdoor camera on each side);
* ``IR->IR``: cam 3 -> cam 6;
* ``IR->RGB``: cams 3, 6 -> cams 1, 2, 4, 5, with the SYSU-MM01 cam3/cam2 rule.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL.Image import BILINEAR

from ..eval import euclidean_distance, evaluate_rank
from .images import load_image
from .records import CrossModalityDataset, Sample

SETTINGS = {
    "RGB->RGB": ((1, 4), (2, 5), "regdb"),
    "IR->IR": ((3,), (6,), "regdb"),
    "IR->RGB": ((3, 6), (1, 2, 4, 5), "sysu"),
}


def load_resized(samples: Sequence[Sample], size: tuple[int, int]) -> np.ndarray:
    """(N, H, W, 3) float32 in [0, 1]: the images of ``samples`` resized (bilinear) to ``size`` (H, W)."""
    h, w = size
    return np.stack([np.asarray(load_image(s.path).resize((w, h), BILINEAR), dtype=np.float32) / 255
                     for s in samples])


def intensity_histogram(samples: Sequence[Sample], bins: int = 32, size: tuple[int, int] = (64, 32)) -> np.ndarray:
    """Pixel counts per grey level over all images of ``samples`` (grey = mean of the 3 channels)."""
    grey = load_resized(samples, size).mean(axis=3)
    return np.histogram(grey, bins=bins, range=(0.0, 1.0))[0]


def pixel_features(samples: Sequence[Sample], size: tuple[int, int] = (32, 16)) -> np.ndarray:
    """(N, 3*H*W) float32: each image resized to ``size`` (H, W), flattened, centred, L2-normalised."""
    x = load_resized(samples, size).reshape(len(samples), -1)
    x -= x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def baseline_retrieval(data: CrossModalityDataset, size: tuple[int, int] = (32, 16)) -> dict[str, dict[str, float]]:
    """R1, mAP, number of queries and chance R1 (one over the number of gallery identities, since
    the CMC ranks identities) for each setting of :data:`SETTINGS` on the test split."""
    samples = data.test
    feats = torch.from_numpy(pixel_features(samples, size))
    pids = np.array([s.pid for s in samples])
    cams = np.array([s.cam for s in samples])
    out = {}
    for name, (q_cams, g_cams, protocol) in SETTINGS.items():
        q, g = np.isin(cams, q_cams), np.isin(cams, g_cams)
        if not q.any() or not g.any():
            raise ValueError(f"{name}: the test split of {data.name} has no images in cameras {q_cams} or {g_cams}")
        res = evaluate_rank(euclidean_distance(feats[q], feats[g]), pids[q], pids[g], cams[q], cams[g],
                            protocol=protocol, max_rank=1)
        out[name] = {"R1": float(res["cmc"][0]), "mAP": res["mAP"], "queries": res["num_valid"],
                     "chance": 1 / len(np.unique(pids[g]))}
    return out
