"""Generated images over training, laid out as the paper's Fig. 5 (loss curves: ``tsgan.engine.figures``)."""
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

