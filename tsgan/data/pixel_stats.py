"""Pixel statistics of a dataset: resized images, grey-level histograms (the modality gap in
pixels) and the flattened pixel features of the training-free retrieval baseline.

The retrieval scores of those features (they need the evaluator, which imports this package)
are computed by :func:`tsgan.experiments.calibration.baseline_retrieval`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL.Image import BILINEAR

from .images import load_image
from .records import Sample


def load_resized(samples: Sequence[Sample], size: tuple[int, int]) -> np.ndarray:
    """(N, H, W, 3) float32 in [0, 1]: the images of ``samples`` resized (bilinear) to ``size``
    (H, W)."""
    h, w = size
    return np.stack(
        [
            np.asarray(load_image(s.path).resize((w, h), BILINEAR), dtype=np.float32) / 255
            for s in samples
        ]
    )


def intensity_histogram(
    samples: Sequence[Sample], bins: int = 32, size: tuple[int, int] = (64, 32)
) -> np.ndarray:
    """Pixel counts per grey level over all images of ``samples`` (grey = mean of the 3
    channels)."""
    grey = load_resized(samples, size).mean(axis=3)
    return np.histogram(grey, bins=bins, range=(0.0, 1.0))[0]


def pixel_features(samples: Sequence[Sample], size: tuple[int, int] = (32, 16)) -> np.ndarray:
    """(N, 3*H*W) float32: each image resized to ``size`` (H, W), flattened, centred,
    L2-normalised."""
    x = load_resized(samples, size).reshape(len(samples), -1)
    x -= x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
