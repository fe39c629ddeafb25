"""Every loss of TS-GAN (paper Sec. III), one function per equation.

Symbols: X_R real RGB, X_I real IR, X_I_fake = G_I(X_R) (the paper's X_I'), X_R_fake = G_R(X_I);
``fmap_real`` = FE_S(X_I) and ``fmap_fake`` = FE_S(X_I_fake) are the student's middle-layer feature
maps (the paper's f_map,R), ``fT_*`` the teacher's (FE_T). Images are in GAN space ([-1, 1], IR
single-channel) wherever a discriminator sees them.

Gradient flow follows Algorithm 1, and each adversarial loss enforces its share of it itself:

* :func:`generator_loss` (step 1): discriminators frozen; gradients reach G_I / G_R.
* :func:`reid_gan_loss` (step 3): D_I frozen, images detached; gradients reach the backbone only
  through the feature maps.
* :func:`discriminator_loss`, :func:`discriminator_loss_R` (step 5-6): every input detached;
  gradients reach the discriminator only.

Discriminators return logits; :class:`GANLoss` turns "log D" into a numerically safe loss.
"""

from __future__ import annotations

from typing import get_args

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import GANMode, TSLosses, TSReduction
from .freeze import frozen

TS_WHICH = get_args(TSLosses)
TS_REDUCTIONS = get_args(TSReduction)


def id_loss(logits: torch.Tensor, labels: torch.Tensor, epsilon: float = 0.1) -> torch.Tensor:
    """Label-smoothed identity loss, Eq. (9)-(10), averaged over the batch.

    Target q_n = 1 - (N-1)/N * eps for the true identity and eps/N for the others.
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"id_loss expects logits (B, N) and labels (B,), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    if labels.numel() and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(
            f"labels must lie in [0, {logits.shape[1]}) (classifier size), got "
            f"[{int(labels.min())}, {int(labels.max())}]; relabel with dataset.pid2label"
        )
    return F.cross_entropy(logits, labels, label_smoothing=epsilon)


def pairwise_distances(x: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between the rows of ``x`` (B, D), with a stable gradient at zero."""
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * x @ x.t()
    return d2.clamp_min(1e-12).sqrt()


def batch_hard_triplet(
    features: torch.Tensor, labels: torch.Tensor, margin: float = 0.3
) -> torch.Tensor:
    """Batch-hard triplet loss on V, Eq. (11): per anchor, [m + max D_ap - min D_an]_+, batch mean.

    Of all triplets (a, p, n) with y_a = y_p != y_n, each anchor keeps its hardest one (the
    "batch hard" reading of Eq. (11) used by the BoT baseline the paper builds on).
    """
    if features.dim() != 2 or labels.shape != features.shape[:1]:
        raise ValueError(
            f"batch_hard_triplet expects features (B, D) and labels (B,), got "
            f"{tuple(features.shape)} and {tuple(labels.shape)}"
        )
    same = labels[:, None] == labels[None, :]
    if same.all(dim=1).any():
        raise ValueError(
            "batch_hard_triplet needs at least two identities in the batch (an anchor without "
            "negatives); sample P >= 2 identities per batch"
        )
    dist = pairwise_distances(features)
    hardest_positive = dist.masked_fill(~same, float("-inf")).amax(dim=1)
    hardest_negative = dist.masked_fill(same, float("inf")).amin(dim=1)
    return F.relu(margin + hardest_positive - hardest_negative).mean()


def reid_loss(
    logits: torch.Tensor,
    features: torch.Tensor,
    labels: torch.Tensor,
    gan: torch.Tensor | None = None,
    lambda1: float = 3.0,
    lambda2: float = 1.0,
    lambda3: float = 0.1,
    epsilon: float = 0.1,
    margin: float = 0.3,
) -> dict[str, torch.Tensor]:
    """L_ReID of Eq. (8) = lambda1 * L_ID (Eq. 9-10, on the logits of F) + lambda2 * L_tri (Eq. 11,
    on V) + lambda3 * L_ReID^GAN (Eq. 12, ``gan``: the value of :func:`reid_gan_loss`).

    ``gan`` is None where the term does not exist: the IR teacher, the backbone-only ablation and
    the ordinary discriminator (TS-GAN_OD). Returns ``id``, ``tri`` and ``total``.
    """
    id_ = id_loss(logits, labels, epsilon)
    tri = batch_hard_triplet(features, labels, margin)
    total = lambda1 * id_ + lambda2 * tri
    if gan is not None:
        total = total + lambda3 * gan
    return {"id": id_, "tri": tri, "total": total}


class GANLoss(nn.Module):
    """The adversarial criterion on discriminator logits (any shape, e.g. PatchGAN maps).

    ``"vanilla"``: the log loss as written in the paper, as binary cross-entropy with logits, so
    "maximise log D(x)" becomes ``loss(D(x), True)`` (the non-saturating form for generators).
    ``"lsgan"``: least squares, (D(x) - 1)^2 for real and D(x)^2 for fake (CycleGAN's default).
    """

    MODES = get_args(GANMode)

    def __init__(self, mode: str = "vanilla") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"gan_mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(prediction, target)
        return F.mse_loss(prediction, target)


def cycle_loss(
    X_R: torch.Tensor, X_R_rec: torch.Tensor, X_I: torch.Tensor, X_I_rec: torch.Tensor
) -> torch.Tensor:
    """Cycle consistency, Eq. (6): E|G_R(G_I(X_R)) - X_R| + E|G_I(G_R(X_I)) - X_I| (mean L1
    each)."""
    for name, a, b in (("X_R", X_R, X_R_rec), ("X_I", X_I, X_I_rec)):
        if a.shape != b.shape:
            raise ValueError(
                f"cycle_loss: {name} {tuple(a.shape)} and its reconstruction "
                f"{tuple(b.shape)} differ"
            )
    return F.l1_loss(X_R_rec, X_R) + F.l1_loss(X_I_rec, X_I)


def joint_fake_set(
    X_I: torch.Tensor, X_I_fake: torch.Tensor, fmap_real: torch.Tensor, fmap_fake: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The set M of Eq. (5): (X_I', f(X_I')), (X_I', f(X_I)), (X_I, f(X_I')).

    Every pair that contains something generated is "fake" to the joint discriminator: a fake image
    with its own map, a fake image with the real image's map and a real image with the fake's map.
    """
    return [(X_I_fake, fmap_fake), (X_I_fake, fmap_real), (X_I, fmap_fake)]


def fake_set(
    D_I: nn.Module,
    X_I: torch.Tensor,
    X_I_fake: torch.Tensor,
    fmap_real: torch.Tensor | None,
    fmap_fake: torch.Tensor | None,
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """M of Eq. (5) for a joint D_I; just the fake images for the ordinary one (TS-GAN_OD)."""
    if getattr(D_I, "joint", False):
        return joint_fake_set(X_I, X_I_fake, fmap_real, fmap_fake)
    return [(X_I_fake, None)]


def _mean(losses: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(losses).mean()


def generator_loss(
    D_I: nn.Module,
    D_R: nn.Module,
    X_I_fake: torch.Tensor,
    fmap_fake: torch.Tensor | None,
    X_R_fake: torch.Tensor,
    cyc: torch.Tensor,
    gan: GANLoss,
    omega: float = 10.0,
) -> dict[str, torch.Tensor]:
    """L_G of Eq. (7) = L_G^adv (Eq. 1, both directions) + omega * L_cyc (Eq. 6); Algorithm 1
    step 1.

    Eq. (1) is used in its standard non-saturating form: G_I maximises log D_I(X_I', f(X_I')) by
    minimising ``gan(D_I(X_I', f(X_I')), real)``; G_R likewise against D_R (the paper omits it
    "for conciseness"). D_I and D_R are frozen here, so gradients reach only what produced
    ``X_I_fake``, ``X_R_fake`` and ``cyc`` (the generators, and the backbone if ``fmap_fake`` was
    computed with it unfrozen: compute it under ``frozen(backbone)``).
    Returns ``adv_I``, ``adv_R``, ``cyc`` and ``total``.
    """
    with frozen(D_I, D_R):
        adv_I = gan(D_I(X_I_fake, fmap_fake), True)
        adv_R = gan(D_R(X_R_fake), True)
    return {"adv_I": adv_I, "adv_R": adv_R, "cyc": cyc, "total": adv_I + adv_R + omega * cyc}


def reid_gan_loss(
    D_I: nn.Module,
    X_I: torch.Tensor,
    X_I_fake: torch.Tensor,
    fmap_real: torch.Tensor,
    fmap_fake: torch.Tensor,
    gan: GANLoss,
) -> torch.Tensor:
    """L_ReID^GAN of Eq. (12): the backbone makes D_I call every pair of M (Eq. 5) real; step 3.

    D_I is frozen and the images are detached here, so gradients reach the backbone only, through
    ``fmap_real`` = FE_S(X_I) and ``fmap_fake`` = FE_S(X_I_fake). ``fmap_fake`` must be computed
    from ``X_I_fake.detach()`` (Algorithm 1: the backbone step does not update the generator).
    The ordinary D_I never sees feature maps, so TS-GAN_OD has no such term: calling this with it
    is an error (check ``D_I.joint``).
    """
    if not getattr(D_I, "joint", False):
        raise ValueError(
            "reid_gan_loss (Eq. 12) needs the joint discriminator: the ordinary D_I ignores "
            "feature maps, so the backbone cannot fool it; skip the term when D_I.joint is False"
        )
    M = joint_fake_set(X_I.detach(), X_I_fake.detach(), fmap_real, fmap_fake)
    with frozen(D_I):
        return _mean([gan(D_I(x, f), True) for x, f in M])


def discriminator_loss(
    D_I: nn.Module,
    X_I: torch.Tensor,
    X_I_fake: torch.Tensor,
    fmap_real: torch.Tensor | None,
    fmap_fake: torch.Tensor | None,
    gan: GANLoss,
) -> dict[str, torch.Tensor]:
    """L_D of Eq. (2) = L_D^real (Eq. 3, the pair (X_I, f(X_I))) + L_D^fake (Eq. 4, mean over M,
    Eq. 5).

    Every input is detached here (Algorithm 1 step 5-6 updates D_I only). For the ordinary D_I the
    real term sees X_I and the fake term X_I' alone. Returns ``real``, ``fake`` and ``total``.
    """
    X_I, X_I_fake, fmap_real, fmap_fake = (
        None if t is None else t.detach() for t in (X_I, X_I_fake, fmap_real, fmap_fake)
    )
    real = gan(D_I(X_I, fmap_real), True)
    fake = _mean(
        [gan(D_I(x, f), False) for x, f in fake_set(D_I, X_I, X_I_fake, fmap_real, fmap_fake)]
    )
    return {"real": real, "fake": fake, "total": real + fake}


def discriminator_loss_R(
    D_R: nn.Module, X_R: torch.Tensor, X_R_fake: torch.Tensor, gan: GANLoss
) -> dict[str, torch.Tensor]:
    """D_R's counterpart of Eq. (2)-(4) (omitted in the paper): real X_R against G_R(X_I),
    detached."""
    real = gan(D_R(X_R.detach()), True)
    fake = gan(D_R(X_R_fake.detach()), False)
    return {"real": real, "fake": fake, "total": real + fake}


def feature_mse(
    teacher: torch.Tensor, student: torch.Tensor, reduction: str = "channel_sum"
) -> torch.Tensor:
    """||f_T - f_S||_2^2 between (B, C, H, W) feature maps, reduced as ``reduction`` says.

    ``"channel_sum"``: the squared distance between the C-dimensional feature vectors at each
    position, averaged over positions and images; does not grow with the input resolution.
    ``"sum"``: over each image's C*H*W elements (the literal squared norm), then the batch mean;
    grows with H*W (81x from the cpu preset's 4x2 grid to the paper's 18x9).
    ``"mean"``: over all elements (PyTorch's MSE), i.e. ``"channel_sum"`` / C.
    """
    if teacher.shape != student.shape:
        raise ValueError(
            f"teacher and student feature maps differ: {tuple(teacher.shape)} vs "
            f"{tuple(student.shape)}; "
            "teacher and student must share the architecture and the input size"
        )
    if reduction not in TS_REDUCTIONS:
        raise ValueError(f"ts_reduction must be one of {TS_REDUCTIONS}, got {reduction!r}")
    sq = (teacher - student).pow(2)
    if reduction == "channel_sum":
        return sq.sum(1).mean()
    return sq.mean() if reduction == "mean" else sq.flatten(1).sum(1).mean()


def ts_losses(
    fT_real_ir: torch.Tensor,
    fS_real_ir: torch.Tensor,
    fT_fake_ir: torch.Tensor,
    fS_fake_ir: torch.Tensor,
    fS_rgb: torch.Tensor,
    alpha_c: float = 0.006,
    alpha_s: float = 0.003,
    which: str = "all",
    reduction: str = "channel_sum",
) -> dict[str, torch.Tensor]:
    """The teacher-student losses, Eq. (13)-(16), on FE outputs (layer-3 feature maps).

    ``real_ir`` (Eq. 13) = ||FE_T(X_I) - FE_S(X_I)||^2, ``fake_ir`` (Eq. 14) = ||FE_T(X_I') -
    FE_S(X_I')||^2, ``cd`` (Eq. 15, cross-domain) = ||FE_T(X_I') - FE_S(X_R)||^2 and ``total``
    (Eq. 16) = alpha_c * cd + alpha_s * (real_ir + fake_ir). ``which="cross"`` keeps only the
    cross-domain term in ``total`` (TS-GAN^singleTS), ``"none"`` none of them (the three terms are
    still returned for logging). The teacher maps must carry no gradient (``tsgan.models.Teacher``
    guarantees it); FE_S(X_I') must come from the detached fakes.
    """
    if which not in TS_WHICH:
        raise ValueError(f"ts_losses must be one of {TS_WHICH}, got {which!r}")
    for name, t in (("fT_real_ir", fT_real_ir), ("fT_fake_ir", fT_fake_ir)):
        if t.requires_grad:
            raise ValueError(
                f"{name} requires grad: the teacher is fixed (Sec. III-C); compute it with "
                "tsgan.models.Teacher or under torch.no_grad()"
            )
    terms = {
        "real_ir": feature_mse(fT_real_ir, fS_real_ir, reduction),
        "fake_ir": feature_mse(fT_fake_ir, fS_fake_ir, reduction),
        "cd": feature_mse(fT_fake_ir, fS_rgb, reduction),
    }
    same = alpha_s * (terms["real_ir"] + terms["fake_ir"])
    cross = alpha_c * terms["cd"]
    total = {"all": cross + same, "cross": cross, "none": torch.zeros_like(cross)}[which]
    return {**terms, "total": total}
