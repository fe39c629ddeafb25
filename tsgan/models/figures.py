"""Figures of the networks' behaviour: translations over training (paper Fig. 5), loss curves, gap bars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from ..imaging import from_gan, ir_to_3ch

TRANSLATION_COLUMNS = (("real_R", "real RGB"), ("fake_I", "fake IR"), ("real_I", "real IR"), ("fake_R", "fake RGB"))


def _image(x: torch.Tensor):
    """One GAN-space image (C, H, W) as an (H, W, 3) array in [0, 1]."""
    return ir_to_3ch(from_gan(x.detach().float().cpu())[None])[0].permute(1, 2, 0).numpy()


def plot_translations(snapshots: list[tuple[int, dict[str, torch.Tensor]]], n: int = 4):
    """Rows: training steps; per row ``n`` samples of real RGB | fake IR | real IR | fake RGB (Fig. 5)."""
    cols = len(TRANSLATION_COLUMNS) * n
    fig, axes = plt.subplots(len(snapshots), cols, figsize=(0.75 * cols, 1.6 * len(snapshots)), squeeze=False)
    for r, (step, views) in enumerate(snapshots):
        for k, (key, title) in enumerate(TRANSLATION_COLUMNS):
            for i in range(n):
                ax = axes[r, k * n + i]
                ax.imshow(_image(views[key][i]))
                ax.set_xticks([]), ax.set_yticks([])
                if r == 0 and i == 0:
                    ax.set_title(title, fontsize=9, loc="left")
        axes[r, 0].set_ylabel(f"step {step}", fontsize=9)
    fig.tight_layout(pad=0.2)
    return fig


def plot_losses(history: list[dict[str, float]], keys: list[str] | None = None, smooth: int = 5, ax=None):
    """Loss curves from a list of per-step loss dicts, with a running mean over ``smooth`` steps."""
    ax = ax or plt.subplots(figsize=(7, 3))[1]
    for key in keys or list(history[0]):
        values = torch.tensor([h[key] for h in history])
        k = max(1, min(smooth, len(values)))
        running = values.unfold(0, k, 1).mean(1)
        ax.plot(range(k, len(values) + 1), running.numpy(), label=key)
    ax.set_xlabel("step"), ax.set_ylabel("loss"), ax.legend(fontsize=8, ncol=3)
    return ax


def plot_gap(measures: dict[str, dict[str, float]]):
    """Grouped bars: for each measure (e.g. modality gap, CKA), one bar per model state (e.g. before/after)."""
    names = list(measures)
    states = list(measures[names[0]])
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3), squeeze=False)
    for a, name in zip(axes.flat, names):
        values = [measures[name][s] for s in states]
        a.bar(states, values, color=[f"C{i}" for i in range(len(states))])
        a.set_title(name, fontsize=10)
        a.tick_params(axis="x", labelsize=8, rotation=15)
        for i, v in enumerate(values):
            a.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    return fig
