"""The IR Teacher's pretraining (paper Sec. III-C): a BoT baseline trained on IR images only.

"We pretrain a baseline model using Resnet50 on the IR images of SYSU-MM01 training set by the
triplet loss and identification classification loss. After pretraining, we fix its weights."
The training batches are the cross-modality sampler's (P identities x K pairs); this model uses
their IR half, so the teacher sees P x K IR images of P identities per step, as BoT would.
Only FE_T (stem + layer1..3) of the result is used later (``tsgan.models.Teacher``).
"""
from __future__ import annotations

from typing import Any

import torch

from ..config import Config, LossConfig
from ..losses import batch_hard_triplet, id_loss
from ..models import build_backbone
from .stepmodel import StepModel


def bot_losses(out: dict[str, torch.Tensor], labels: torch.Tensor, loss_cfg: LossConfig) -> dict[str, torch.Tensor]:
    """The first two terms of L_ReID, Eq. (8): lambda1 * ID (Eq. 9-10) on F, lambda2 * triplet (Eq. 11) on V."""
    id_ = id_loss(out["logits"], labels, loss_cfg.label_smooth)
    tri = batch_hard_triplet(out["V"], labels, loss_cfg.margin)
    return {"id": id_, "tri": tri, "reid": loss_cfg.lambda1 * id_ + loss_cfg.lambda2 * tri}


def backbone_optimizer(params, cfg: Config) -> torch.optim.Adam:
    """Adam, lr 3.5e-4, weight decay 5e-4 on weights and biases alike (paper Sec. IV-B)."""
    return torch.optim.Adam([p for p in params if p.requires_grad], lr=cfg.optim.lr,
                            weight_decay=cfg.optim.weight_decay)


class IRBaseline(StepModel):
    """IR-only BoT (ID + triplet): one network, one optimizer ``B``."""

    kind = "teacher"

    def __init__(self, cfg: Config, num_classes: int, device: torch.device):
        super().__init__(cfg, device)
        self.backbone = self.add_net("backbone", build_backbone(cfg.model, num_classes))
        self.add_optimizer("B", backbone_optimizer(self.backbone.parameters(), cfg))

    def set_input(self, batch: dict[str, Any]) -> None:
        self.X_I, self.labels = batch["ir"], batch["label"]

    def optimize_parameters(self) -> dict[str, float]:
        with self.autocast():
            out = self.train_nets["backbone"](self.X_I)
            self.losses = bot_losses(out, self.labels, self.cfg.loss)
        self.backward(self.losses["reid"], "B")
        self.step("B")
        return self.end_step()
