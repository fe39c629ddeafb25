"""What the figures draw, loaded: dataset images, a run folder's log, ranked gallery images.

:mod:`tsgan.figures` only plots what it is given; the functions here read the package's data
(datasets, run folders, distance matrices) and hand the plots numbers and tensors:

* :func:`example_pairs`: the RGB and IR images of a few identities (paper Fig. 5, notebooks 03-05);
* :func:`save_loss_figure`: ``figures/losses.png`` of a run folder from its ``metrics.jsonl``
  (written by the orchestration after each training, :mod:`tsgan.training`);
* :func:`ranked_lists` (paper Fig. 4) and :func:`image_rows` (``tsgan search``): images by path,
  framed by :func:`tsgan.figures.framed_rows`;
* :func:`view_splits`: the front / back / side split per camera of the embedded worlds (v3, v4),
  drawn by :func:`tsgan.figures.view_split_bars` (notebook 01).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from .config import DataConfig
from .data.dataset import ImageDataset, load_image
from .data.records import CrossModalityDataset, Sample
from .data.synthetic import WORLDS, picture_views, world_options
from .data.transforms import build_transforms, resize
from .engine.rundir import RunDir
from .eval.metrics import keep_mask, stable_argsort
from .figures import GREEN, RED, framed_rows, loss_groups, plot_losses
from .loss_names import LossName


def example_pairs(
    dataset: CrossModalityDataset, data_cfg: DataConfig, n: int = 8, split: str = "test"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(X_R, X_I): the first RGB and the first IR image of ``n`` identities of ``split``, with the
    test transforms, in [0, 1]."""
    transform = build_transforms(data_cfg, False)
    return tuple(
        torch.stack([ImageDataset([s], transform)[0]["img"] for s in samples])
        for samples in dataset.first_pairs(n, split)
    )


def save_loss_figure(run: RunDir, names: Sequence[LossName] | None = None) -> Path:
    """Write ``figures/losses.png`` of a run folder (no display, no pyplot state); ``names``: the
    step model's ``loss_names`` (the panels, :func:`tsgan.figures.plot_losses`)."""
    records = run.read_metrics()
    step = next((r for r in records if r.get("kind") == "step"), {})
    n = len(loss_groups(list(step), names))
    fig = Figure(figsize=(4.5 * max(n, 1), 3.2))
    plot_losses(records, fig.subplots(1, max(n, 1), squeeze=False)[0], names)
    fig.tight_layout()
    run.figures.mkdir(parents=True, exist_ok=True)
    out = run.figures / "losses.png"
    fig.savefig(out, dpi=110)
    return out


def ranked_lists(
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    distmat: np.ndarray | torch.Tensor,
    rows: Sequence[int],
    topk: int = 10,
    protocol: str = "sysu",
    size: tuple[int, int] = (128, 64),
    border: int = 4,
) -> Figure:
    """Paper Fig. 4: each row a query and its top-``topk`` gallery images after the protocol's
    camera rule, framed green when they show the query's identity and red otherwise."""
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
        grid.append(
            [(q.path, None, f"query\nid {q.pid} c{q.cam}")]
            + [
                (g.path, GREEN if g.pid == q.pid else RED, f"{k + 1}\nid {g.pid} c{g.cam}")
                for k, g in enumerate(hits)
            ]
        )
    return image_rows(grid, size, border)


def image_rows(
    rows: Sequence[Sequence[tuple[str, tuple[float, float, float] | None, str]]],
    size: tuple[int, int] = (128, 64),
    border: int = 4,
) -> Figure:
    """A grid of images, one row per list of (path, frame colour or None, title), each resized to
    ``size``: :func:`ranked_lists` and ``tsgan search`` (unlabelled images)."""
    return framed_rows(
        [
            [
                (resize(load_image(path), size).float() / 255, colour, title)
                for path, colour, title in r
            ]
            for r in rows
        ],
        border,
    )


def view_splits(seed: int = 0, worlds: Sequence[str] = WORLDS) -> dict[str, dict[int, np.ndarray]]:
    """World -> camera -> fractions of front / back / side views among the pictures of the
    embedded tree of ``seed`` in that world's default size (what ``data/synthetic_sysu`` and
    ``data/synthetic_sysu_v4`` hold), counted from the drawn poses without rendering."""
    return {w: picture_views(seed, **world_options(w)) for w in worlds}
