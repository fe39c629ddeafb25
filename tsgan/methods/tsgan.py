"""TS-GAN's training step, Algorithm 1 of the paper, one method per numbered line.

Names: X_R real RGB, X_I real IR (both [0, 1], 3 channels, as the loader gives them);
``real_R``/``real_I`` the same in GAN space ([-1, 1], IR single-channel); ``fake_I`` = G_I(X_R)
(the paper's X_I'), ``fake_R`` = G_R(X_I), ``rec_R``/``rec_I`` the cycle reconstructions;
``X_I_fake`` = X_I' back in [0, 1], 3 channels, for the ReID networks. FE_S is the student
backbone's former encoder, FE_T the frozen teacher's.

::

    optimize_parameters():
        forward()          1: X_I' = G_I(X_R), and G_R's direction + both cycles
        zero_grad("G")
        backward_G()       1: L_G = L_G^adv + omega * L_cyc (Eq. 1, 6, 7), D_I, D_R frozen
        step("G")          2: O_G updates G_I, G_R
        zero_grad("B")
        backward_B()       3: L_Backbone = L_ReID (Eq. 8-12) + L_TS (Eq. 13-16) on X_R, X_I, X_I'
        step("B")          4: O_B updates the backbone
        zero_grad("D")
        backward_D()       5-6: L_D (Eq. 2-5) on real pairs and the set M, everything detached
        step("D")          7: O_D updates D_I, D_R

The generator and discriminator lines (1-2, 5-7) are :class:`GANPhases`, which the CycleGAN of
notebook 03 (``tsgan.methods.cyclegan``) shares. Frozen networks are called through their plain
modules (``self.nets``); the networks being updated through ``self.train_nets`` (the DDP /
compiled wrappers), so DDP only ever synchronises gradients of the network its optimizer is about
to step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from itertools import chain
from typing import Any

import torch

from ..config import Config, check_tsgan_switches
from ..engine.step_model import StepModel, backbone_optimizer
from ..freeze import frozen
from ..imaging import ir_to_1ch, to_gan, to_image
from ..loss_names import LossName
from ..losses import (
    GANLoss,
    cycle_loss,
    discriminator_loss,
    discriminator_loss_R,
    generator_loss,
    reid_gan_loss,
    reid_loss,
    ts_losses,
)
from ..models import ReIDBackbone, Teacher, build_backbone, build_discriminators, build_generators

# The panels of the loss figure: the optimizer whose step minimises each term (Algorithm 1's
# lines); O_B's eight terms in two panels, L_ReID's (Eq. 8-12) with the total and L_TS's (Eq. 13-16)
O_G, O_B, O_B_TS, O_D = (
    "generators O_G (line 1-2)",
    "backbone O_B (line 3-4): L_ReID, total",
    "backbone O_B (line 3-4): L_TS",
    "discriminators O_D (line 5-7)",
)
# What lines 1 and 5-6 log (backward_G, backward_D), shared by TS-GAN and the CycleGAN
GENERATOR_LOSSES = (
    LossName("G_adv_I", O_G, "L_G^adv of G_I: D_I judges (X_I', f(X_I')) (Eq. 1)"),
    LossName("G_adv_R", O_G, "L_G^adv of G_R: D_R judges G_R(X_I) (Eq. 1, other direction)"),
    LossName("G_cyc", O_G, "L_cyc, both cycles, before its weight omega (Eq. 6)"),
    LossName("G", O_G, "L_G = L_G^adv + omega L_cyc (Eq. 7)", total=True),
)
DISCRIMINATOR_LOSSES = (
    LossName("D_I_real", O_D, "L_D^real of D_I on (X_I, f(X_I)) (Eq. 3)"),
    LossName("D_I_fake", O_D, "L_D^fake of D_I, mean over the set M (Eq. 4-5)"),
    LossName("D_R_real", O_D, "D_R on real X_R (Eq. 3's counterpart)"),
    LossName("D_R_fake", O_D, "D_R on G_R(X_I) (Eq. 4's counterpart)"),
    LossName("D", O_D, "L_D of D_I (Eq. 2) + D_R's", total=True),
)


class GANPhases(StepModel, ABC):
    """The image-generation module's lines of Algorithm 1: G_I, G_R, D_I, D_R, O_G and O_D.

    A subclass says where the joint D_I's feature maps come from: :meth:`generator_fmap` for line 1,
    and ``self.fmap_real`` / ``self.fmap_fake`` (f(X_I), f(X_I')) set before :meth:`backward_D`.
    """

    def add_gan(self, fmap_channels: int) -> None:
        """Build G_I, G_R, D_I, D_R and their Adam optimizers O_G, O_D (CycleGAN's settings)."""
        cfg = self.cfg
        G_I, G_R = build_generators(cfg.model)
        D_I, D_R = build_discriminators(cfg.model, fmap_channels)
        self.G_I, self.G_R = self.add_net("G_I", G_I), self.add_net("G_R", G_R)
        self.D_I, self.D_R = self.add_net("D_I", D_I), self.add_net("D_R", D_R)
        betas = (cfg.optim.gan_beta1, cfg.optim.gan_beta2)
        G_params = chain(G_I.parameters(), G_R.parameters())
        D_params = chain(D_I.parameters(), D_R.parameters())
        self.add_optimizer("G", torch.optim.Adam(G_params, cfg.optim.gan_lr, betas))
        self.add_optimizer("D", torch.optim.Adam(D_params, cfg.optim.gan_lr, betas))
        self.gan = GANLoss(cfg.loss.gan_mode)
        self.fmap_real: torch.Tensor | None = None
        self.fmap_fake: torch.Tensor | None = None
        # line 1's f(X_I') (joint D_I only), keyed by the X_I' and the f it was computed with
        self.fmap_fake_G: tuple[Any, torch.Tensor] | None = None

    def set_input(self, batch: dict[str, Any]) -> None:
        """Algorithm 1 input: P x K pairs (X_R[i], X_I[i]) of identity ``label[i]``."""
        self.X_R, self.X_I, self.labels = batch["rgb"], batch["ir"], batch["label"]
        self.real_R, self.real_I = to_gan(self.X_R), to_gan(ir_to_1ch(self.X_I))

    def forward(self) -> None:
        """Line 1 (forward): X_I' = G_I(X_R), X_R' = G_R(X_I), the cycles G_R(X_I'), G_I(X_R')."""
        G_I, G_R = self.train_nets["G_I"], self.train_nets["G_R"]
        with self.autocast():
            self.fake_I = G_I(self.real_R)
            self.rec_R = G_R(self.fake_I)
            self.fake_R = G_R(self.real_I)
            self.rec_I = G_I(self.fake_R)
        self.X_I_fake = to_image(self.fake_I)

    def fmap_key(self) -> tuple:
        """What line 1's f(X_I') depends on: this X_I' tensor (the object and its in-place
        version) and the versions of the network computing it (an optimizer step changes them);
        compared with :meth:`same_fmap_key`, so a map is reused only while all of them hold."""
        return (self.X_I_fake, self.X_I_fake._version)

    @staticmethod
    def same_fmap_key(a: tuple, b: tuple) -> bool:
        return a[0] is b[0] and a[1:] == b[1:]

    @abstractmethod
    def generator_fmap(self, X_I_fake: torch.Tensor) -> torch.Tensor:
        """f(X_I') for the joint D_I in line 1, computed by a frozen network (gradients reach G)."""

    def backward_G(self) -> None:
        """Line 1 (loss): L_G, Eq. (7); D_I judges (X_I', f(X_I')), f frozen, so only G learns."""
        with self.autocast():
            fmap_fake = self.generator_fmap(self.X_I_fake) if self.D_I.joint else None
            cyc = cycle_loss(self.real_R, self.rec_R, self.real_I, self.rec_I)
            L = generator_loss(
                self.D_I,
                self.D_R,
                self.fake_I,
                fmap_fake,
                self.fake_R,
                cyc,
                self.gan,
                self.cfg.loss.omega,
            )
        self.losses.update(G_adv_I=L["adv_I"], G_adv_R=L["adv_R"], G_cyc=L["cyc"], G=L["total"])
        # TSGAN's warm-up reuses it in line 5 instead of a second forward
        self.fmap_fake_G = None if fmap_fake is None else (self.fmap_key(), fmap_fake.detach())
        self.backward(L["total"])

    def backward_D(self) -> None:
        """Lines 5-6: L_D, Eq. (2)-(5), for D_I on (X_I, f(X_I)) vs M, and D_R on X_R vs G_R(X_I).

        The feature maps are ``self.fmap_real`` and ``self.fmap_fake``, detached by the loss.
        """
        with self.autocast():
            L_I = discriminator_loss(
                self.train_nets["D_I"],
                self.real_I,
                self.fake_I,
                self.fmap_real,
                self.fmap_fake,
                self.gan,
            )
            L_R = discriminator_loss_R(self.train_nets["D_R"], self.real_R, self.fake_R, self.gan)
        total = L_I["total"] + L_R["total"]
        self.losses.update(
            D_I_real=L_I["real"],
            D_I_fake=L_I["fake"],
            D_R_real=L_R["real"],
            D_R_fake=L_R["fake"],
            D=total,
        )
        self.backward(total)


class TSGAN(GANPhases):
    """Student backbone + G_I, G_R, D_I, D_R + frozen FE_T, with the optimizers O_G, O_B, O_D.

    Ablations (paper Table II) from the config: ``train.use_gan`` (False: the backbone alone on
    X_R and X_I), ``train.use_teacher``, ``loss.ts_losses`` (all | cross | none),
    ``model.discriminator`` (joint | ordinary), and where X_I' enters line 3,
    ``loss.fakes_in_reid`` (:meth:`fakes_in_reid`).

    ``gate``: for ``loss.fakes_in_reid=gated``, a function of G_I returning its twin SSIM on the
    validation pictures (:func:`tsgan.eval.twins.twin_gate`); it is called at every epoch end
    until the SSIM reaches ``loss.fakes_gate_ssim``, and the gate's state is part of
    :meth:`state_dict` (exact resume).
    """

    kind = "tsgan"
    loss_names = (
        *GENERATOR_LOSSES,
        LossName("B_gan", O_B, "L_ReID^GAN: the backbone makes D_I call M real (Eq. 12)"),
        LossName("B_id", O_B, "L_ID, label-smoothed cross-entropy (Eq. 9-10)"),
        LossName("B_tri", O_B, "L_Tri, batch-hard triplet on V (Eq. 11)"),
        LossName(
            "B_ts_cd", O_B_TS, "cross-domain TS loss FE_T(X_I') vs FE_S(X_R), unweighted (Eq. 15)"
        ),
        LossName("B_ts_real_ir", O_B_TS, "TS loss on real IR, unweighted (Eq. 13)"),
        LossName("B_ts_fake_ir", O_B_TS, "TS loss on X_I', unweighted (Eq. 14)"),
        LossName(
            "B_ts", O_B_TS, "L_TS = alpha_c cd + alpha_s (real_ir + fake_ir) (Eq. 16)", total=True
        ),
        LossName("B", O_B, "L_Backbone = L_ReID (Eq. 8) + L_TS (Eq. 16)", total=True),
        *DISCRIMINATOR_LOSSES,
        LossName("gate_open", "", "1 once G_I's twin SSIM passed the gate (fakes_in_reid=gated)"),
    )

    def __init__(
        self,
        cfg: Config,
        num_classes: int,
        device: torch.device,
        teacher: ReIDBackbone | None = None,
        gate: Callable[[torch.nn.Module], float] | None = None,
    ):
        super().__init__(cfg, device)
        self.reading = cfg.loss.fakes_in_reid
        if self.reading == "gated" and (gate is None or not cfg.train.use_gan):
            raise ValueError(
                "loss.fakes_in_reid=gated opens on G_I's twin SSIM: it needs train.use_gan=true "
                "and a gate on validation pictures (tsgan.eval.twins.twin_gate; the embedded data "
                "only, where IR twins exist)"
            )
        self.gate = gate
        self.gate_state = {"open": False, "ssim": None, "epoch": None}
        self.use_gan, self.use_teacher = cfg.train.use_gan, cfg.train.use_teacher
        self.twins = cfg.train.fakes == "twins"
        check_tsgan_switches(cfg)
        self.has_fakes = self.use_gan or self.twins
        if (self.use_teacher or cfg.model.student_init == "teacher") and teacher is None:
            raise ValueError(
                "train.use_teacher=true and model.student_init=teacher need the pretrained IR "
                "teacher backbone: pass teacher=load_backbone(get_or_train_teacher(cfg))[0]"
            )
        backbone = build_backbone(cfg.model, num_classes)
        if cfg.model.student_init == "teacher":  # stands in for ImageNet weights (none offline)
            backbone.load_state_dict(teacher.state_dict())
        self.backbone = self.add_net("backbone", backbone)
        self.add_optimizer("B", backbone_optimizer(self.backbone.parameters(), cfg))
        if self.use_teacher:
            self.teacher = self.add_net("teacher", Teacher(teacher))
        if self.use_gan:
            self.add_gan(self.backbone.fmap_channels)

    def fmap_key(self) -> tuple:
        """This X_I' (object and version) and the version of every student parameter."""
        versions = tuple(p._version for p in self.backbone.parameters())
        return (*super().fmap_key(), versions)

    def generator_fmap(self, X_I_fake: torch.Tensor) -> torch.Tensor:
        """FE_S(X_I') with the student frozen: L_G^adv reaches G_I through it, not the backbone.

        ``frozen`` also keeps FE_S's BN running statistics: the fakes are normalised with their
        batch statistics (train mode, like line 3's maps D_I learns from) without being folded in.
        """
        with frozen(self.backbone):
            return self.backbone.former(X_I_fake)

    def set_input(self, batch: dict[str, Any]) -> None:
        """Algorithm 1 input; with ``train.fakes=twins`` X_I' is the batch's true IR twins of X_R
        (``ir_twin``, same flip and crop), standing in for a perfect G_I."""
        super().set_input(batch)
        if self.twins:
            if "ir_twin" not in batch:
                raise ValueError(
                    "train.fakes=twins needs batches with 'ir_twin' (the loader of "
                    "tsgan.data.build_train_loader renders them for the embedded data)"
                )
            self.X_I_fake = batch["ir_twin"]

    def fakes_join(self) -> bool:
        """Whether X_I' enters line 3: with the GAN (or the twins), once
        ``optim.gan_warmup_epochs`` epochs are done (the backbone scheduler's epoch count, restored
        on resume)."""
        warmup = self.cfg.optim.gan_warmup_epochs
        return self.has_fakes and self.schedulers["B"].last_epoch >= warmup

    def fakes_in_reid(self) -> bool:
        """Whether X_I' (once joined) enters L_ID and L_Tri (Eq. 9-11), by ``loss.fakes_in_reid``:
        "joined" always (Algorithm 1 as first implemented here), "never" (the default: X_I'
        feeds L_TS and L_ReID^GAN only), "gated" once G_I's twin SSIM has reached
        ``loss.fakes_gate_ssim``."""
        return self.reading == "joined" or (self.reading == "gated" and self.gate_state["open"])

    def end_epoch(self) -> None:
        """Step the schedulers; with the gate, measure G_I on the validation pictures (eval mode,
        no gradients, no random numbers) until it opens. Once open it stays open."""
        super().end_epoch()
        if self.reading != "gated" or self.gate_state["open"]:
            return
        G_I = self.nets["G_I"]
        mode = G_I.training
        G_I.eval()
        try:
            ssim = float(self.gate(G_I))
        finally:
            G_I.train(mode)
        self.gate_state = {
            "open": ssim >= self.cfg.loss.fakes_gate_ssim,
            "ssim": ssim,
            "epoch": self.schedulers["B"].last_epoch,
        }

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.reading == "gated":
            state["gate"] = dict(self.gate_state)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.reading == "gated":
            self.gate_state = dict(state["gate"])

    def backward_B(self) -> None:
        """Line 3: L_Backbone = L_ReID + L_TS on X_R, X_I and the detached X_I' (Eq. 8-16).

        During the GAN warm-up (:meth:`fakes_join` false) the loss is L_ReID on X_R and X_I alone,
        and f(X_I') for D_I (line 5) comes from the frozen student, as in line 1: it is line 1's
        map, detached, when line 1 ran on this X_I' (same student weights, O_B has not stepped;
        batch statistics; so a second forward would give the same tensor, tested with
        ``torch.equal``), else computed here. An ordinary D_I takes no feature map. Once joined,
        X_I' goes through the backbone with X_R and X_I (one forward pass: the same batch
        statistics in every reading); L_ID and L_Tri average over X_R, X_I and X_I' when
        :meth:`fakes_in_reid`, else over X_R and X_I alone.
        """
        lc = self.cfg.loss
        join = self.fakes_join()
        images = {"X_R": self.X_R, "X_I": self.X_I}
        if join:
            images["X_I_fake"] = self.X_I_fake.detach()
        with self.autocast():
            out = self.train_nets["backbone"](torch.cat(list(images.values())))
            fmaps = dict(zip(images, out["fmap"].chunk(len(images)), strict=True))
            self.fmap_real = fmaps["X_I"]
            self.fmap_fake = fmaps.get("X_I_fake")
            if self.use_gan and not join and self.D_I.joint:
                line1 = self.fmap_fake_G
                if line1 is not None and self.same_fmap_key(line1[0], self.fmap_key()):
                    self.fmap_fake = line1[1]
                else:
                    with torch.no_grad():
                        self.fmap_fake = self.generator_fmap(self.X_I_fake.detach())
            gan = None
            if join and self.use_gan and self.D_I.joint:
                gan = reid_gan_loss(
                    self.D_I, self.real_I, self.fake_I, self.fmap_real, self.fmap_fake, self.gan
                )
                self.losses["B_gan"] = gan
            # L_ID / L_Tri over the first n image sets: X_R, X_I (and X_I' when it enters them)
            n = len(images) if not join or self.fakes_in_reid() else 2
            rows = n * len(self.labels)
            L = reid_loss(
                out["logits"][:rows],
                out["V"][:rows],
                self.labels.repeat(n),
                gan,
                lambda1=lc.lambda1,
                lambda2=lc.lambda2,
                lambda3=lc.lambda3,
                epsilon=lc.label_smooth,
                margin=lc.margin,
            )
            self.losses.update(B_id=L["id"], B_tri=L["tri"])
            total = L["total"]
            if self.use_teacher and join:
                ts = ts_losses(
                    fT_real_ir=self.teacher(self.X_I),
                    fS_real_ir=fmaps["X_I"],
                    fT_fake_ir=self.teacher(images["X_I_fake"]),
                    fS_fake_ir=fmaps["X_I_fake"],
                    fS_rgb=fmaps["X_R"],
                    alpha_c=lc.alpha_c,
                    alpha_s=lc.alpha_s,
                    which=lc.ts_losses,
                    reduction=lc.ts_reduction,
                )
                total = total + ts["total"]
                self.losses.update(
                    B_ts_cd=ts["cd"],
                    B_ts_real_ir=ts["real_ir"],
                    B_ts_fake_ir=ts["fake_ir"],
                    B_ts=ts["total"],
                )
        self.losses["B"] = total
        if self.reading == "gated":
            self.losses["gate_open"] = torch.tensor(float(self.gate_state["open"]))
        self.backward(total)

    def optimize_parameters(self) -> dict[str, float]:
        """One step of Algorithm 1; returns every loss term (floats) for the log."""
        self.losses = {}
        if self.use_gan:
            self.forward()  # 1
            self.zero_grad("G")
            self.backward_G()  # 1
            self.step("G")  # 2
        self.zero_grad("B")
        self.backward_B()  # 3
        self.step("B")  # 4
        if self.use_gan:
            self.zero_grad("D")
            self.backward_D()  # 5, 6
            self.step("D")  # 7
        return self.end_step()

    @torch.no_grad()
    def visuals(self) -> dict[str, torch.Tensor]:
        """The batch's real RGB and IR images and, with the GAN, the generated IR G_I(x_R)."""
        shown = {"real RGB": self.X_R, "real IR": self.X_I}
        if self.twins:
            return {**shown, "IR twin (X_I')": self.X_I_fake}
        return {**shown, "fake IR": self.X_I_fake} if self.use_gan else shown
