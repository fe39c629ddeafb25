"""Optional TensorBoard logging (``train.log=tensorboard``), beside the always-written files.

The run folder stays the record (``metrics.jsonl``, checkpoints, figures): TensorBoard only mirrors
it into ``<run>/tensorboard/`` for people who like to watch curves live
(``tensorboard --logdir runs``). Scalars: every logged record, tagged ``<kind>/<loss>`` (``step/B``,
``epoch/G``, ...); the Custom Scalars tab shows one chart per panel of the step model's declared
``loss_names`` (:mod:`tsgan.loss_names`) with the panel's terms, as the loss figure does. Images,
once per epoch: the step model's :meth:`visuals` as 8-image grids (for TS-GAN the real RGB, real IR
and generated IR of the last batch). The package is an optional extra:
``pip install -e ".[tensorboard]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..loss_names import LossName, loss_panels


class MissingExtraError(ImportError):
    """An option needs an optional package that is not installed; the message names the extra."""


class TensorBoardLog:
    """Writes scalars and image grids of one run to ``<run>/tensorboard/``."""

    def __init__(self, run_path: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingExtraError(
                "train.log=tensorboard needs the tensorboard package: "
                'pip install -e ".[tensorboard]" '
                "(or keep the default train.log=files)"
            ) from None
        self.writer = SummaryWriter(log_dir=str(Path(run_path) / "tensorboard"))

    def scalars(self, record: dict[str, Any]) -> None:
        """Every number of a metrics.jsonl record at its global step, tagged ``<kind>/<name>``."""
        for name, value in record.items():
            if name not in ("kind", "step", "epoch") and isinstance(value, (int, float)):
                self.writer.add_scalar(f"{record['kind']}/{name}", value, record["step"])

    def loss_layout(self, kind: str, names: Sequence[LossName]) -> None:
        """The Custom Scalars layout of a ``kind`` run: one chart per panel of ``names`` (the
        step model's ``loss_names``) holding its terms' ``step/<name>`` curves."""
        charts = {
            title: ["Multiline", [f"step/{k}" for k in keys]] for title, keys in loss_panels(names)
        }
        if charts:
            self.writer.add_custom_scalars({f"{kind} losses": charts})

    def images(self, visuals: dict[str, torch.Tensor], step: int, n: int = 8) -> None:
        """One grid of the first ``n`` images per entry of ``visuals`` ([0, 1], (B, C, H, W))."""
        from torchvision.utils import make_grid

        for name, batch in visuals.items():
            grid = make_grid(batch[:n].detach().float().cpu().clamp(0, 1), nrow=n)
            self.writer.add_image(f"images/{name}", grid, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_log(log: str, run_path: str | Path) -> TensorBoardLog | None:
    """The extra logger for ``train.log`` (None for the default, files only)."""
    return TensorBoardLog(run_path) if log == "tensorboard" else None
