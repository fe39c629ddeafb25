"""Each loss of tsgan.losses against an independent formulation, and gradient flow per
Algorithm 1."""

import math

import pytest
import torch
import torch.nn.functional as F

from tsgan import losses as L
from tsgan.config import get_config
from tsgan.freeze import frozen
from tsgan.imaging import from_gan, ir_to_3ch
from tsgan.models import (
    JointDiscriminator,
    PatchDiscriminator,
    ReIDBackbone,
    Teacher,
    build_generators,
)

# ---------------------------------------------------------------- ID loss, Eq. (9)-(10)


def test_id_loss_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 2])
    eps, N = 0.1, 3
    expected = 0.0
    for row, y in zip(logits.tolist(), labels.tolist()):
        z = sum(math.exp(v) for v in row)
        log_p = [v - math.log(z) for v in row]
        q = [1 - (N - 1) / N * eps if n == y else eps / N for n in range(N)]
        expected += -sum(qn * lp for qn, lp in zip(q, log_p))
    assert L.id_loss(logits, labels, eps).item() == pytest.approx(expected / 2, rel=1e-6)


def test_id_loss_rejects_labels_outside_the_classifier():
    with pytest.raises(ValueError, match="pid2label"):
        L.id_loss(torch.zeros(2, 3), torch.tensor([0, 3]))


# ---------------------------------------------------------------- triplet, Eq. (11)


def triplet_by_loop(feats: list[list[float]], labels: list[int], margin: float) -> float:
    """Every triplet (a, p, n) with y_a = y_p != y_n enumerated; each anchor keeps its hardest
    one."""
    total = 0.0
    for a in range(len(feats)):
        worst = 0.0
        for p in range(len(feats)):
            for n in range(len(feats)):
                if labels[p] == labels[a] and labels[n] != labels[a]:
                    d_ap, d_an = math.dist(feats[a], feats[p]), math.dist(feats[a], feats[n])
                    worst = max(worst, margin + d_ap - d_an)
        total += worst
    return total / len(feats)


def test_batch_hard_triplet_matches_loop_over_all_triplets():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(12, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    for margin in (0.3, 5.0):
        got = L.batch_hard_triplet(feats, labels, margin).item()
        assert got == pytest.approx(
            triplet_by_loop(feats.tolist(), labels.tolist(), margin), rel=1e-9
        )


def test_batch_hard_triplet_hand_example_and_zero_when_separated():
    # 1-D features: identity 0 at {0, 1}, identity 1 at {1.5, 4}.
    feats = torch.tensor([[0.0], [1.0], [1.5], [4.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # anchors: 0: [0.3 + 1 - 1.5]_+ = 0; 1: 0.3 + 1 - 0.5 = 0.8; 2: 0.3 + 2.5 - 0.5 = 2.3;
    # 3: 0.3 + 2.5 - 3 = 0
    assert L.batch_hard_triplet(feats, labels, 0.3).item() == pytest.approx(
        (0 + 0.8 + 2.3 + 0) / 4, rel=1e-6
    )
    far = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    assert L.batch_hard_triplet(far, labels, 0.3).item() == 0.0


def test_batch_hard_triplet_needs_two_identities():
    with pytest.raises(ValueError, match="two identities"):
        L.batch_hard_triplet(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))


# ---------------------------------------------------------------- GAN and cycle losses


def test_gan_loss_vanilla_is_log_loss_and_lsgan_is_least_squares():
    x = torch.tensor([[-2.0, 0.0], [1.0, 3.0]])
    sig = [1 / (1 + math.exp(-v)) for v in x.flatten().tolist()]
    assert L.GANLoss("vanilla")(x, True).item() == pytest.approx(
        -sum(math.log(s) for s in sig) / 4, rel=1e-6
    )
    assert L.GANLoss("vanilla")(x, False).item() == pytest.approx(
        -sum(math.log(1 - s) for s in sig) / 4, rel=1e-6
    )
    vals = x.flatten().tolist()
    assert L.GANLoss("lsgan")(x, True).item() == pytest.approx(sum((v - 1) ** 2 for v in vals) / 4)
    assert L.GANLoss("lsgan")(x, False).item() == pytest.approx(sum(v**2 for v in vals) / 4)
    with pytest.raises(ValueError, match="gan_mode"):
        L.GANLoss("wgan")


def test_cycle_loss_is_mean_l1_of_both_cycles():
    X_R, X_R_rec = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    X_I, X_I_rec = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, -1.0], [0.0, 0.0]]]])
    assert L.cycle_loss(X_R, X_R_rec, X_I, X_I_rec).item() == pytest.approx(0.5 + 2 / 4)


# ---------------------------------------------------------------- the set M, Eq. (2)-(5)


class RecordingD(torch.nn.Module):
    """A joint 'discriminator' that logs the (image, map) pairs it judges and scores them by
    name."""

    joint = True

    def __init__(self, scores: dict[tuple[str, str], float], names: dict[int, str]) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))
        self.scores, self.names, self.seen = scores, names, []

    def forward(self, x, fmap=None):
        key = (self.names[x.data_ptr()], self.names[fmap.data_ptr()])
        self.seen.append(key)
        return self.w * torch.tensor([[self.scores[key]]])


def test_joint_fake_set_is_eq5_by_hand():
    X_I, X_I_fake, f_real, f_fake = (torch.full((1,), float(v)) for v in range(4))
    M = L.joint_fake_set(X_I, X_I_fake, f_real, f_fake)
    assert [(x is X_I_fake, f is f_fake) for x, f in M][0] == (True, True)
    assert M[1][0] is X_I_fake and M[1][1] is f_real
    assert M[2][0] is X_I and M[2][1] is f_fake
    assert len(M) == 3  # the real pair (X_I, f(X_I)) is not in M


def test_discriminator_loss_scores_real_pair_and_mean_over_M():
    X_I, X_I_fake, f_real, f_fake = (torch.randn(1, 1) for _ in range(4))
    names = {
        X_I.data_ptr(): "X_I",
        X_I_fake.data_ptr(): "X_I'",
        f_real.data_ptr(): "f(X_I)",
        f_fake.data_ptr(): "f(X_I')",
    }
    scores = {
        ("X_I", "f(X_I)"): 2.0,
        ("X_I'", "f(X_I')"): -1.0,
        ("X_I'", "f(X_I)"): 0.5,
        ("X_I", "f(X_I')"): 1.5,
    }
    D = RecordingD(scores, names)
    out = L.discriminator_loss(D, X_I, X_I_fake, f_real, f_fake, L.GANLoss("vanilla"))
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    real = -math.log(sig(2.0))  # Eq. (3): log D on the real pair
    fake = (
        -(math.log(1 - sig(-1.0)) + math.log(1 - sig(0.5)) + math.log(1 - sig(1.5))) / 3
    )  # Eq. (4) over M
    assert out["real"].item() == pytest.approx(real, rel=1e-6)
    assert out["fake"].item() == pytest.approx(fake, rel=1e-6)
    assert out["total"].item() == pytest.approx(real + fake, rel=1e-6)
    assert sorted(D.seen) == sorted(scores)  # exactly the real pair and the three pairs of M


def test_ordinary_discriminator_sees_only_images_and_no_eq12():
    D = PatchDiscriminator(1, ndf=4, n_layers=1)
    X_I, X_I_fake = torch.rand(2, 1, 16, 8) * 2 - 1, torch.rand(2, 1, 16, 8) * 2 - 1
    gan = L.GANLoss("lsgan")
    out = L.discriminator_loss(D, X_I, X_I_fake, None, None, gan)
    assert out["fake"].item() == pytest.approx(gan(D(X_I_fake), False).item())
    with pytest.raises(ValueError, match="joint discriminator"):
        L.reid_gan_loss(D, X_I, X_I_fake, torch.zeros(1), torch.zeros(1), gan)


# ---------------------------------------------------------------- TS losses, Eq. (13)-(16)


def test_ts_losses_match_hand_sums_and_switches():
    g = torch.Generator().manual_seed(1)
    fT_r, fS_r, fT_f, fS_f, fS_rgb = (
        torch.randn(2, 3, 2, 1, generator=g, dtype=torch.float64) for _ in range(5)
    )

    def sq(a, b):
        return sum((x - y) ** 2 for x, y in zip(a.flatten().tolist(), b.flatten().tolist()))

    # mean over 2*3*2*1 elements; per image, then batch mean; per position (3 channels), mean of 2*2
    for reduction, div in (("mean", 12), ("sum", 2), ("channel_sum", 4)):
        out = L.ts_losses(
            fT_r, fS_r, fT_f, fS_f, fS_rgb, alpha_c=0.6, alpha_s=0.3, reduction=reduction
        )
        real, fake, cd = sq(fT_r, fS_r) / div, sq(fT_f, fS_f) / div, sq(fT_f, fS_rgb) / div
        assert out["real_ir"].item() == pytest.approx(real)
        assert out["fake_ir"].item() == pytest.approx(fake)
        assert out["cd"].item() == pytest.approx(cd)
        assert out["total"].item() == pytest.approx(0.6 * cd + 0.3 * (real + fake))
    cross = L.ts_losses(fT_r, fS_r, fT_f, fS_f, fS_rgb, 0.6, 0.3, which="cross")
    assert cross["total"].item() == pytest.approx(0.6 * cross["cd"].item())
    assert L.ts_losses(fT_r, fS_r, fT_f, fS_f, fS_rgb, which="none")["total"].item() == 0.0


def test_ts_losses_default_reduction_is_the_presets():
    """Called without ``reduction`` (notebooks, exercises), the TS losses are what training uses."""
    from tsgan.config import PRESETS, get_config

    assert {get_config(p).loss.ts_reduction for p in PRESETS} == {"channel_sum"}
    g = torch.Generator().manual_seed(2)
    maps = [torch.randn(2, 3, 2, 2, generator=g, dtype=torch.float64) for _ in range(5)]
    default = L.ts_losses(*maps, 0.6, 0.3)
    for reduction in L.TS_REDUCTIONS:
        given = L.ts_losses(*maps, 0.6, 0.3, reduction=reduction)
        same = all(torch.equal(default[k], given[k]) for k in default)
        assert same == (reduction == "channel_sum"), reduction
    assert torch.equal(L.feature_mse(maps[0], maps[1]), default["real_ir"])


def test_channel_sum_keeps_the_ts_scale_across_resolutions():
    """The same content at the cpu preset's 4x2 grid and the paper's 18x9 grid (nearest upsampling):
    ``channel_sum`` gives the same size of loss within 2x; ``sum`` grows with the positions."""
    g = torch.Generator().manual_seed(0)
    fT, fS = (torch.randn(2, 8, 4, 2, generator=g, dtype=torch.float64) for _ in range(2))
    up = [F.interpolate(f, size=(18, 9), mode="nearest") for f in (fT, fS)]
    small, large = L.feature_mse(fT, fS, "channel_sum"), L.feature_mse(*up, "channel_sum")
    assert 0.5 < (large / small).item() < 2.0
    assert (L.feature_mse(*up, "sum") / L.feature_mse(fT, fS, "sum")).item() > 20  # 81x positions
    # by hand: 1 image, 2 channels, 2 positions: 1^2 + 2^2 at the first, 3^2 + 0^2 at the second
    t = torch.tensor([[[[1.0, 3.0]], [[2.0, 0.0]]]])
    assert L.feature_mse(t, torch.zeros_like(t), "channel_sum").item() == pytest.approx((5 + 9) / 2)


def test_ts_losses_refuse_teacher_maps_with_gradient():
    f = torch.zeros(1, 2, 1, 1)
    with pytest.raises(ValueError, match="teacher is fixed"):
        L.ts_losses(f.clone().requires_grad_(), f, f, f, f)
    with pytest.raises(ValueError, match="which|ts_losses"):
        L.ts_losses(f, f, f, f, f, which="some")


# ---------------------------------------------------------------- gradient flow, Algorithm 1


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    cfg = get_config("cpu")
    backbone = ReIDBackbone("resnet18", num_classes=4)
    G_I, G_R = build_generators(cfg.model)
    D_I = JointDiscriminator(1, backbone.fmap_channels, ndf=8, n_layers=1)
    D_R = PatchDiscriminator(3, ndf=8, n_layers=1)
    return {
        "B": backbone,
        "G_I": G_I,
        "G_R": G_R,
        "D_I": D_I,
        "D_R": D_R,
        "T": Teacher(ReIDBackbone("resnet18", num_classes=4)),
    }


def grads(net: torch.nn.Module) -> set[bool]:
    """For each parameter that may learn: does it hold a non-zero gradient?"""
    return {
        p.grad is not None and bool(p.grad.abs().sum() > 0)
        for p in net.parameters()
        if p.requires_grad
    }


def zero(nets):
    for n in nets.values():
        n.zero_grad(set_to_none=True)


def batch():
    g = torch.Generator().manual_seed(2)
    return torch.rand(4, 3, 64, 32, generator=g) * 2 - 1, torch.rand(
        4, 1, 64, 32, generator=g
    ) * 2 - 1


def reid(x_gan):
    """GAN space -> what the ReID networks take ([0, 1], 3 channels)."""
    return from_gan(ir_to_3ch(x_gan))


def test_step1_generator_loss_updates_only_generators(nets):
    zero(nets)
    X_R, X_I = batch()
    B, G_I, G_R = nets["B"], nets["G_I"], nets["G_R"]
    X_I_fake, X_R_fake = G_I(X_R), G_R(X_I)
    cyc = L.cycle_loss(X_R, G_R(X_I_fake), X_I, G_I(X_R_fake))
    with frozen(B):
        fmap_fake = B.former(reid(X_I_fake))
    out = L.generator_loss(
        nets["D_I"], nets["D_R"], X_I_fake, fmap_fake, X_R_fake, cyc, L.GANLoss(), omega=10.0
    )
    assert out["total"].item() == pytest.approx((out["adv_I"] + out["adv_R"] + 10 * cyc).item())
    out["total"].backward()
    assert grads(G_I) == {True} and grads(G_R) == {True}
    for name in ("D_I", "D_R", "B"):
        assert grads(nets[name]) == {False}, name
    assert not nets[
        "B"
    ].bnneck.bias.requires_grad  # frozen() restored the fixed BN-neck bias as it was


def test_step3_reid_gan_and_ts_losses_update_only_the_backbone(nets):
    zero(nets)
    X_R, X_I = batch()
    B, T = nets["B"], nets["T"]
    X_I_fake = nets["G_I"](X_R).detach()  # Algorithm 1 step 3: fakes detached
    fmap_rgb, fmap_real, fmap_fake = (
        B.former(reid(X_R)),
        B.former(reid(X_I)),
        B.former(reid(X_I_fake)),
    )
    loss = L.reid_gan_loss(nets["D_I"], X_I, X_I_fake, fmap_real, fmap_fake, L.GANLoss())
    ts = L.ts_losses(T(reid(X_I)), fmap_real, T(reid(X_I_fake)), fmap_fake, fmap_rgb)
    (loss + ts["total"]).backward()
    assert grads(B.FE) == {True}
    for name in ("D_I", "G_I", "G_R", "D_R", "T"):
        assert grads(nets[name]) <= {False}, name
    assert all(p.requires_grad for p in nets["D_I"].parameters())  # unfrozen again afterwards


def test_reid_gan_loss_alone_reaches_backbone_through_feature_maps_only(nets):
    zero(nets)
    X_R, X_I = batch()
    B = nets["B"]
    X_I_fake = nets["G_I"](X_R)  # not detached by the caller: the loss detaches the images itself
    fmap_real, fmap_fake = B.former(reid(X_I)), B.former(reid(X_I_fake.detach()))
    L.reid_gan_loss(nets["D_I"], X_I, X_I_fake, fmap_real, fmap_fake, L.GANLoss("lsgan")).backward()
    assert grads(B.FE) == {True}
    assert grads(nets["G_I"]) == {False} and grads(nets["D_I"]) == {False}


def test_step5_discriminator_losses_update_only_discriminators(nets):
    zero(nets)
    X_R, X_I = batch()
    B, G_I, G_R = nets["B"], nets["G_I"], nets["G_R"]
    X_I_fake, X_R_fake = G_I(X_R), G_R(X_I)  # not detached by the caller
    fmap_real, fmap_fake = B.former(reid(X_I)), B.former(reid(X_I_fake))
    gan = L.GANLoss()
    d_i = L.discriminator_loss(nets["D_I"], X_I, X_I_fake, fmap_real, fmap_fake, gan)
    d_r = L.discriminator_loss_R(nets["D_R"], X_R, X_R_fake, gan)
    (d_i["total"] + d_r["total"]).backward()
    assert grads(nets["D_I"]) == {True} and grads(nets["D_R"]) == {True}
    for name in ("B", "G_I", "G_R"):
        assert grads(nets[name]) == {False}, name


def test_reid_loss_is_eq8_weighted_sum():
    """L_ReID = l1 * ID + l2 * Tri + l3 * L_ReID^GAN (Eq. 8), with distinct weights so a swap
    shows."""
    g = torch.Generator().manual_seed(3)
    logits, feats = torch.randn(6, 4, generator=g), torch.randn(6, 5, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    gan = torch.tensor(0.7)
    ce = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.2)
    tri = L.batch_hard_triplet(feats, labels, 0.5)
    out = L.reid_loss(
        logits, feats, labels, gan, lambda1=2.0, lambda2=5.0, lambda3=11.0, epsilon=0.2, margin=0.5
    )
    assert out["id"] == pytest.approx(float(ce)) and out["tri"] == pytest.approx(float(tri))
    assert out["total"] == pytest.approx(2.0 * float(ce) + 5.0 * float(tri) + 11.0 * 0.7)
    plain = L.reid_loss(
        logits, feats, labels, None, lambda1=2.0, lambda2=5.0, lambda3=11.0, epsilon=0.2, margin=0.5
    )
    assert plain["total"] == pytest.approx(2.0 * float(ce) + 5.0 * float(tri))  # no GAN term
