"""Evaluation figures: ranked lists with green/red borders (paper Fig. 4), CMC curves, neighbourhoods."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..data.dataset import load_image
from ..data.records import Sample
from ..data.transforms import resize
from .metrics import keep_mask, stable_argsort

GREEN, RED = (0.1, 0.7, 0.2), (0.85, 0.1, 0.1)


def _bordered(img: torch.Tensor, colour: tuple[float, float, float] | None, width: int) -> np.ndarray:
    """(3, H, W) [0, 1] tensor -> (H + 2w, W + 2w, 3) array framed in ``colour`` (white when None)."""
    arr = img.permute(1, 2, 0).numpy()
    out = np.ones((arr.shape[0] + 2 * width, arr.shape[1] + 2 * width, 3), dtype=np.float32)
    out[:] = colour if colour is not None else (1.0, 1.0, 1.0)
    out[width:-width, width:-width] = arr
    return out


def ranked_lists(queries: Sequence[Sample], gallery: Sequence[Sample], distmat: np.ndarray | torch.Tensor,
                 rows: Sequence[int], topk: int = 10, protocol: str = "sysu", size: tuple[int, int] = (128, 64),
                 border: int = 4) -> Figure:
    """Paper Fig. 4: each row a query and its top-``topk`` gallery images after the protocol's camera
    rule, framed green when they show the query's identity and red otherwise."""
    dist = torch.as_tensor(np.asarray(distmat))
    q_pids = torch.tensor([queries[i].pid for i in rows])
    q_cams = torch.tensor([queries[i].cam for i in rows])
    order = stable_argsort(dist[list(rows)])
    g_pids, g_cams = torch.tensor([s.pid for s in gallery]), torch.tensor([s.cam for s in gallery])
    keep = keep_mask(protocol, q_pids, q_cams, g_pids[order], g_cams[order])
    grid = []
    for r, qi in enumerate(rows):
        ranked = order[r][keep[r]][:topk].tolist()
        q, hits = queries[qi], [gallery[j] for j in ranked]
        grid.append([(q.path, None, f"query\nid {q.pid} c{q.cam}")] + [
            (g.path, GREEN if g.pid == q.pid else RED, f"{k + 1}\nid {g.pid} c{g.cam}") for k, g in enumerate(hits)
        ])
    return image_rows(grid, size, border)


def image_rows(rows: Sequence[Sequence[tuple[str, tuple[float, float, float] | None, str]]],
               size: tuple[int, int] = (128, 64), border: int = 4) -> Figure:
    """A grid of images, one row per list of (path, frame colour or None, title): the layout of
    paper Fig. 4, shared by :func:`ranked_lists` and ``tsgan search`` (unlabelled images)."""
    cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(0.85 * cols, 1.75 * len(rows)), squeeze=False)
    for r, items in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c < len(items):
                path, colour, title = items[c]
                ax.imshow(_bordered(resize(load_image(path), size).float() / 255, colour, border))
                ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return fig


def cmc_curves(curves: Mapping[str, np.ndarray], ax: Axes | None = None, title: str = "") -> Axes:
    """CMC curves (rank 1..len) in percent, one line per label."""
    ax = plt.subplots(figsize=(5, 3.5))[1] if ax is None else ax
    for label, cmc in curves.items():
        ranks = np.arange(1, len(cmc) + 1)
        ax.plot(ranks, 100 * np.asarray(cmc), marker="o", markersize=3, label=label)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def neighbourhood(points: np.ndarray, labels: Sequence[int], centre: int, knn: Sequence[int],
                  reciprocal: Sequence[int], expanded: Sequence[int], ax: Axes | None = None) -> Axes:
    """A 2-D picture of one point's k nearest neighbours, its k-reciprocal set and the expanded set."""
    ax = plt.subplots(figsize=(5, 4))[1] if ax is None else ax
    pts = np.asarray(points)
    ax.scatter(pts[:, 0], pts[:, 1], c=np.asarray(labels), cmap="tab10", s=25, alpha=0.35)
    groups = (("k nearest", knn, "o", 160, "0.5"), ("k-reciprocal", reciprocal, "s", 90, "k"),
              ("expanded", sorted(set(expanded) - set(reciprocal)), "D", 90, "tab:red"))
    for label, idx, marker, size, colour in groups:
        idx = [i for i in idx if i != centre]
        ax.scatter(pts[idx, 0], pts[idx, 1], s=size, facecolors="none", edgecolors=colour, marker=marker, label=label)
    ax.scatter(*pts[centre], marker="*", s=250, c="gold", edgecolors="k", label="probe", zorder=3)
    ax.legend(fontsize=8, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
