"""Figures of a training run: the loss curves of every logged term."""
from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from .rundir import RunDir

# Loss terms grouped by the Algorithm 1 step that minimises them.
STEP_PREFIXES = (("G", "generators O_G (line 1-2)"), ("B", "backbone O_B (line 3-4)"), ("D", "discriminators O_D (line 5-7)"))


def loss_groups(keys: list[str]) -> list[tuple[str, list[str]]]:
    """Logged loss names grouped by optimizer (G*, B*, D*); anything else (the teacher's) in one group."""
    keys = [k for k in keys if not k.startswith("lr_") and k not in ("kind", "step", "epoch")]
    groups = [(title, [k for k in keys if k == p or k.startswith(p + "_")]) for p, title in STEP_PREFIXES]
    groups = [(t, ks) for t, ks in groups if ks]
    rest = [k for k in keys if not any(k in ks for _, ks in groups)]
    return groups + ([("losses", rest)] if rest else [])


def plot_losses(records: list[dict], axes=None):
    """One panel per optimizer with every loss term against the training step (log scale)."""
    steps = [r for r in records if r.get("kind") == "step"]
    if not steps:
        raise ValueError("no step records to plot: the run logged none (train for at least train.log_every steps)")
    groups = loss_groups(list(steps[-1]))
    if axes is None:
        import matplotlib.pyplot as plt

        axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.2), squeeze=False)[1][0]
    x = [r["step"] for r in steps]
    for ax, (title, keys) in zip(axes, groups):
        for k in keys:
            y = [v if isinstance(v := r.get(k), (int, float)) and v > 0 else math.nan for r in steps]
            ax.plot(x, y, label=k, lw=2.2 if k in ("G", "B", "D") else 1.0)
        ax.set(yscale="log", xlabel="step", title=title)
        ax.legend(fontsize=7, ncol=2)
    return axes


def save_loss_figure(run: RunDir) -> Path:
    """Write ``figures/losses.png`` of a run folder (no display, no pyplot state)."""
    records = run.read_metrics()
    n = len(loss_groups(list(next((r for r in records if r.get("kind") == "step"), {}))))
    fig = Figure(figsize=(4.5 * max(n, 1), 3.2))
    plot_losses(records, fig.subplots(1, max(n, 1), squeeze=False)[0])
    fig.tight_layout()
    run.figures.mkdir(parents=True, exist_ok=True)
    out = run.figures / "losses.png"
    fig.savefig(out, dpi=110)
    return out


def plot_generated(X_R, X_I_fake, X_I, ax=None, n: int = 8):
    """Paper Fig. 5: real RGB images (top), their fake IR G_I(X_R) (middle), real IR of the same people (bottom)."""
    from ..viz import show_images

    n = min(n, len(X_R))
    images = list(X_R[:n]) + list(X_I_fake[:n]) + list(X_I[:n])
    titles = ["X_R"] * n + ["G_I(X_R)"] * n + ["X_I"] * n
    return show_images(images, nrow=n, titles=titles, ax=ax)


def example_pairs(dataset, data_cfg, n: int = 8, split: str = "test"):
    """(X_R, X_I): the first RGB and the first IR image of ``n`` identities of ``split``, test transforms, [0, 1]."""
    import torch

    from ..data.dataset import ImageDataset
    from ..data.transforms import build_transforms

    samples = dataset.subset(split)
    first = {}
    for s in samples:
        first.setdefault((s.pid, s.modality), s)
    pids = sorted({pid for pid, m in first if m == "rgb"} & {pid for pid, m in first if m == "ir"})[:n]
    transform = build_transforms(data_cfg, False)
    load = lambda m: torch.stack([ImageDataset([first[(p, m)]], transform)[0]["img"] for p in pids])  # noqa: E731
    return load("rgb"), load("ir")
