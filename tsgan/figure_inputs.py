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
* :func:`load_gi_study` and :func:`gi_fakes`: the G_I study of ``benchmarks/bench_gi.py`` (twin
  error against steps per variant) and each variant's last G_I applied to validation pictures, for
  :func:`tsgan.figures.twin_error_against_steps` and :func:`tsgan.figures.fakes_beside_twins`
  (notebook 03).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .config import DataConfig, from_dict, replace
from .data.dataset import ImageDataset, load_image
from .data.records import CrossModalityDataset, Sample
from .data.synthetic import WORLDS, picture_views, world_options
from .data.transforms import build_transforms, resize
from .engine.checkpoint import load_checkpoint
from .engine.rundir import RunDir
from .eval.metrics import keep_mask, stable_argsort
from .eval.twins import load_twins
from .figures import GREEN, RED, framed_rows, loss_groups, plot_losses
from .imaging import from_gan, ir_to_1ch, to_gan
from .loss_names import LossName
from .models import load_generator_I
from .paths import cache_dir, resolve_path


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
    step model's ``loss_names`` (the panels, :func:`tsgan.figures.plot_losses`): up to three
    panels in a row, more in rows of two."""
    records = run.read_metrics()
    step = next((r for r in records if r.get("kind") == "step"), {})
    n = max(len(loss_groups(list(step), names)), 1)
    cols = n if n <= 3 else 2
    rows = -(-n // cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    plot_losses(records, axes[:n], names)
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


def load_gi_study(path: str | Path = "benchmarks/results/gi_study_cpu.json") -> dict[str, Any]:
    """The document ``benchmarks/bench_gi.py`` wrote (relative paths from the repository root)."""
    path = resolve_path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no G_I study at {path}: run python benchmarks/bench_gi.py (its --out) first"
        )
    return json.loads(path.read_text())


@torch.no_grad()
def gi_fakes(
    doc: Mapping[str, Any], n: int = 6, keys: Sequence[str] | None = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """(X_R, {variant name: its last G_I's fake IR}, true IR twins), each (n, 1 or 3, H, W) in
    [0, 1], on the first ``n`` validation pictures of the study ``doc`` at its training size; the
    G_I weights are the last snapshot of each variant's cached CycleGAN run (the run cache of the
    study's config, ``train.out_dir``)."""
    base = from_dict(doc["config"])
    X_R, twins = load_twins([resolve_path(p) for p in doc["pictures"][:n]], tuple(doc["size"]))
    fakes = {}
    for v in doc["variants"]:
        if keys is not None and v["key"] not in keys:
            continue
        cfg = replace(base, **{k.replace(".", "__"): x for k, x in v["overrides"].items()})
        state = load_checkpoint(RunDir(cache_dir(base.train.out_dir) / v["run"]).final)
        G_I = load_generator_I(cfg.model, state["snapshots"][-1]["G_I"])
        fakes[v["key"]] = ir_to_1ch(from_gan(G_I(to_gan(X_R))))
    return X_R, fakes, twins
