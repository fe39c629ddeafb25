"""Test-time feature extraction: batched, no gradients, optional flip averaging, CPU or GPU."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..config import Config, DataConfig
from ..data.dataset import build_test_loader
from ..data.records import Sample
from ..progress import bar

FeatureFn = Callable[[torch.Tensor], torch.Tensor]


def _module_of(feature_fn: FeatureFn) -> torch.nn.Module | None:
    owner = getattr(feature_fn, "__self__", feature_fn)
    return owner if isinstance(owner, torch.nn.Module) else None


def _default_device(module: torch.nn.Module | None) -> torch.device:
    if module is not None:
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


@torch.no_grad()
def extract_features(
    feature_fn: FeatureFn,
    samples: Sequence[Sample],
    data_cfg: Config | DataConfig,
    batch_size: int = 128,
    flip: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
    twins: bool = False,
) -> torch.Tensor:
    """(N, D) float32 features of ``samples`` in their order, on ``device``.

    ``feature_fn`` maps a [0, 1] image batch (B, 3, H, W) to features (B, D), e.g.
    ``backbone.features``. When it belongs to an ``nn.Module`` the module runs in eval mode (its
    previous mode is restored) and ``device`` defaults to the module's. ``flip=True`` averages the
    features of each image and its horizontal mirror. ``twins=True`` (generated RGB samples of
    the embedded data) extracts the features of each sample's true IR twin instead of its picture
    (:func:`tsgan.data.dataset.build_test_loader`).
    """
    if len(samples) == 0:
        raise ValueError(
            "extract_features got no samples; expected a non-empty list of Sample records"
        )
    module = _module_of(feature_fn)
    device = torch.device(device) if device is not None else _default_device(module)
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        loader = build_test_loader(samples, data_cfg, batch_size, twins=twins)
        feats = []
        what = "IR twins" if twins else "images"
        for batch in bar(
            loader, desc=f"features ({len(samples)} {what})", leave=False, enabled=progress
        ):
            x = batch["img"].to(device, non_blocking=True)
            f = feature_fn(x)
            if flip:
                f = (f + feature_fn(torch.flip(x, dims=[3]))) / 2
            if f.dim() != 2 or f.shape[0] != x.shape[0]:
                raise ValueError(
                    f"feature_fn must return (batch, dim) features; got shape {tuple(f.shape)} "
                    f"for a batch of {x.shape[0]}"
                )
            feats.append(f.float())
        return torch.cat(feats)
    finally:
        if module is not None:
            module.train(was_training)


def handcrafted_features(x: torch.Tensor, grid: tuple[int, int] = (8, 4)) -> torch.Tensor:
    """Colour-free gradient-energy features of a [0, 1] batch (B, 3, H, W) -> (B, 2 * cells).

    Mean absolute horizontal and vertical intensity gradients over a ``grid`` of cells: no
    training, no colour (so RGB and IR images are comparable at all). The notebooks use them as a
    stand-in for a ReID network when no trained model is cached.
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) image batch, got shape {tuple(x.shape)}")
    gray = x.mean(1, keepdim=True)
    dx = (gray[..., :, 1:] - gray[..., :, :-1]).abs()
    dy = (gray[..., 1:, :] - gray[..., :-1, :]).abs()
    pool = torch.nn.functional.adaptive_avg_pool2d
    return torch.cat([pool(dx, grid).flatten(1), pool(dy, grid).flatten(1)], dim=1)
