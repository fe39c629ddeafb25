"""Small plotting helpers shared by the notebooks: image grids, histograms, bar charts.

Every helper draws on a matplotlib ``ax`` (a new figure when ``ax`` is None) and returns it, so a
notebook can compose figures and end the line with ``;``. Images follow the project convention:
float tensors in [0, 1], (3, H, W) or (N, 3, H, W); numpy uint8 (H, W, 3) arrays are accepted too.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torchvision.utils import make_grid

Image = torch.Tensor | np.ndarray


def as_chw(img: Image) -> torch.Tensor:
    """One image as a float (3, H, W) tensor in [0, 1]: accepts [0, 1] tensors (1 or 3 channels,
    CHW) and uint8 or float numpy arrays (HW or HWC)."""
    if isinstance(img, np.ndarray):
        arr = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
        t = torch.from_numpy(arr[..., None] if arr.ndim == 2 else arr).permute(2, 0, 1)
    else:
        t = img.detach().float().cpu()
    if t.dim() != 3 or t.shape[0] not in (1, 3):
        raise ValueError(f"expected an image (3, H, W) / (1, H, W) tensor or (H, W[, 3]) array, got shape {tuple(t.shape)}")
    return t.expand(3, -1, -1).clamp(0, 1)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def show_images(images: Sequence[Image] | torch.Tensor, nrow: int, titles: Sequence[str] | None = None,
                ax: Axes | None = None, pad: int = 2) -> Axes:
    """A grid of images, ``nrow`` per row (torchvision's ``make_grid`` convention), optional titles."""
    imgs = [as_chw(im) for im in images]
    if not imgs:
        raise ValueError("show_images got no images")
    if len({tuple(im.shape) for im in imgs}) > 1:
        raise ValueError(f"all images must have one size, got {sorted({tuple(im.shape) for im in imgs})}")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"got {len(titles)} titles for {len(imgs)} images")
    grid = make_grid(torch.stack(imgs), nrow=nrow, padding=pad, pad_value=1.0)
    _, h, w = imgs[0].shape
    ncols = min(nrow, len(imgs))
    rows = (len(imgs) + nrow - 1) // nrow
    ax = _axes(ax, (1.6 * ncols * w / h + 0.3, 1.75 * rows + 0.3))
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.axis("off")
    for i, title in enumerate(titles or []):
        r, c = divmod(i, nrow)
        ax.text(pad + c * (w + pad) + w / 2, r * (h + pad) + pad - 1, title, ha="center", va="bottom", fontsize=7)
    return ax


def histograms(hists: Mapping[str, np.ndarray], ax: Axes | None = None, xlabel: str = "intensity",
               title: str = "") -> Axes:
    """Overlayed normalised histograms (each a vector of bin counts over [0, 1]), one per label."""
    ax = _axes(ax, (5, 3))
    for label, h in hists.items():
        h = np.asarray(h, dtype=float)
        edges = np.linspace(0, 1, len(h) + 1)
        ax.stairs(h / max(h.sum(), 1e-12), edges, label=label, fill=True, alpha=0.45)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of pixels")
    ax.set_title(title)
    ax.legend()
    return ax


def bar_chart(values: Mapping[str, float], ax: Axes | None = None, ylabel: str = "", title: str = "",
              reference: Mapping[str, float] | None = None, reference_label: str = "") -> Axes:
    """Bars of ``values``; optional ``reference`` values for the same keys drawn as black ticks."""
    ax = _axes(ax, (5, 3))
    names = list(values)
    x = np.arange(len(names))
    bars = ax.bar(x, [values[n] for n in names], color="tab:blue", alpha=0.8)
    ax.bar_label(bars, fmt="%.3g", fontsize=8)
    if reference is not None:
        ax.scatter(x, [reference[n] for n in names], marker="_", s=600, color="black", label=reference_label, zorder=3)
        ax.legend()
    ax.set_xticks(x, names)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def grouped_bars(values: Mapping[str, Mapping[str, float]], errors: Mapping[str, Mapping[str, float]] | None = None,
                 ax: Axes | None = None, ylabel: str = "", title: str = "") -> Axes:
    """Grouped bars: one group per outer key of ``values``, one bar per inner key (same inner keys in
    every group); optional ``errors`` (same shape) as error bars, NaN/missing for none."""
    groups = list(values)
    if not groups:
        raise ValueError("grouped_bars got no groups")
    series = list(values[groups[0]])
    ragged = [g for g in groups if list(values[g]) != series]
    if ragged:
        raise ValueError(f"every group must have the bars {series}; groups {ragged} differ")
    ax = _axes(ax, (max(5.0, 0.9 * len(groups) * len(series) / 2 + 1), 3.2))
    x = np.arange(len(groups))
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        err = None if errors is None else [errors.get(g, {}).get(s, np.nan) for g in groups]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [values[g][s] for g in groups], width, yerr=err,
               capsize=3, label=s, alpha=0.85)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
