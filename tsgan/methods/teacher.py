"""The IR Teacher's pretraining (paper Sec. III-C): a BoT baseline trained on IR images only,
and its RGB twin (Table III's other row).

"We pretrain a baseline model using Resnet50 on the IR images of SYSU-MM01 training set by the
triplet loss and identification classification loss. After pretraining, we fix its weights."
The training batches are the cross-modality sampler's (P identities x K pairs); this model uses
their IR half, so the teacher sees P x K IR images of P identities per step, as BoT would.
Only FE_T (stem + layer1..3) of the result is used later (``tsgan.models.Teacher``).

Table III of the paper has two rows, a model trained on IR and one trained on RGB, each tested
within its modality. :class:`RGBBaseline` is the second: the same recipe on the RGB half of each
batch. It is not used by TS-GAN; ``BASELINES`` maps a modality to its class.
"""

from __future__ import annotations

from typing import Any

import torch

from ..config import Config
from ..engine.step_model import StepModel, backbone_optimizer
from ..loss_names import LossName
from ..losses import reid_loss
from ..models import build_backbone


class IRBaseline(StepModel):
    """IR-only BoT: L_ReID of Eq. (8) without its GAN term (ID + triplet), one optimizer ``B``."""

    kind = "teacher"
    modality = "ir"  # the half of each (RGB, IR) batch the backbone trains on
    loss_names = (
        LossName("id", "backbone (BoT)", "L_ID, label-smoothed cross-entropy (Eq. 9-10)"),
        LossName("tri", "backbone (BoT)", "L_Tri, batch-hard triplet on V (Eq. 11)"),
        LossName(
            "reid", "backbone (BoT)", "lambda1 L_ID + lambda2 L_Tri (Eq. 8, no GAN term)", True
        ),
    )

    def __init__(self, cfg: Config, num_classes: int, device: torch.device):
        super().__init__(cfg, device)
        self.backbone = self.add_net("backbone", build_backbone(cfg.model, num_classes))
        self.add_optimizer("B", backbone_optimizer(self.backbone.parameters(), cfg))

    def milestones(self) -> tuple[int, ...]:
        """The pretraining's own decay epochs, ``train.teacher_milestones``: its length
        (``train.teacher_epochs``) is not TS-GAN's."""
        return self.cfg.train.teacher_milestones

    def set_input(self, batch: dict[str, Any]) -> None:
        self.X, self.labels = batch[self.modality], batch["label"]

    def optimize_parameters(self) -> dict[str, float]:
        lc = self.cfg.loss
        with self.autocast():
            out = self.train_nets["backbone"](self.X)
            L = reid_loss(
                out["logits"],
                out["V"],
                self.labels,
                lambda1=lc.lambda1,
                lambda2=lc.lambda2,
                epsilon=lc.label_smooth,
                margin=lc.margin,
            )
        self.losses = {"id": L["id"], "tri": L["tri"], "reid": L["total"]}
        self.zero_grad("B")
        self.backward(L["total"])
        self.step("B")
        return self.end_step()


class RGBBaseline(IRBaseline):
    """The same BoT recipe trained on RGB images only: Table III's RGB row (not a teacher)."""

    kind = "rgb_baseline"
    modality = "rgb"


BASELINES: dict[str, type[IRBaseline]] = {"ir": IRBaseline, "rgb": RGBBaseline}
