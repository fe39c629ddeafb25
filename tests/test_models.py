"""Networks of tsgan.models: shapes, published parameter counts, frozen teacher, weights loading,
gap measures."""

import numpy as np
import pytest
import torch
import torchvision

from tsgan.config import get_config
from tsgan.methods.cyclegan import CycleGAN
from tsgan.models import (
    JointDiscriminator,
    PatchDiscriminator,
    ReIDBackbone,
    ResnetGenerator,
    Teacher,
    build_backbone,
    build_discriminators,
    build_generators,
    linear_cka,
    modality_gap,
)


def count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ---------------------------------------------------------------- backbone


def test_resnet50_paper_shapes_and_last_stride():
    net = ReIDBackbone("resnet50", num_classes=395).eval()
    x = torch.rand(2, 3, 288, 144)
    with torch.no_grad():
        out = net(x)
        assert out["fmap"].shape == (2, 1024, 18, 9)  # FE output: 1/16 of the input
        assert net.LE(out["fmap"]).shape == (2, 2048, 18, 9)  # last stride 1 keeps 1/16
        assert out["V"].shape == out["bn"].shape == (2, 2048) and out["logits"].shape == (2, 395)
        assert torch.equal(net.features(x), out["V"])
    # FE + LE are exactly torchvision's ResNet-50 without its fc; plus BN-neck (2 x 2048) and the
    # classifier
    assert (
        count(net)
        == count(torchvision.models.resnet50()) - (2048 * 1000 + 1000) + 2 * 2048 + 2048 * 395
    )


def test_resnet18_cpu_shapes_strides_and_neck_feature():
    cfg = get_config("cpu")  # ResNet-18 of width 32 at 64x32
    net = build_backbone(cfg.model, num_classes=7).eval()
    x = torch.rand(3, 3, cfg.data.height, cfg.data.width)
    with torch.no_grad():
        out = net(x)
        assert (
            net.fmap_channels == 128
            and out["fmap"].shape == (3, 128, 4, 2)
            and out["V"].shape == (3, 256)
        )
        bn_net = ReIDBackbone("resnet18", 7, neck_feat="bn").eval()
        assert torch.equal(bn_net.features(x), bn_net(x)["bn"])
        s2 = ReIDBackbone("resnet18", 7, last_stride=2).eval()
        assert s2.LE(s2.former(x)).shape[2:] == (2, 1)


def test_backbone_normalises_internally_and_rejects_single_channel():
    net = ReIDBackbone("resnet18", 3).eval()
    x = torch.rand(1, 3, 32, 16)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    with torch.no_grad():
        assert torch.allclose(
            net.former(x), net.FE((x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))
        )
    with pytest.raises(ValueError, match="ir_to_3ch"):
        net(torch.rand(1, 1, 32, 16))
    with pytest.raises(ValueError, match="resnet18"):
        ReIDBackbone("vgg16")


def test_imagenet_weights_only_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="never downloads") as err:
        ReIDBackbone("resnet18", 3, pretrained="imagenet")
    assert "resnet18-f37072fd.pth" in str(err.value)
    reference = torchvision.models.resnet18()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    net = ReIDBackbone("resnet18", 3, pretrained="imagenet")
    assert torch.equal(net.FE[0].weight, reference.conv1.weight)
    assert torch.equal(net.LE[1].bn2.running_var, reference.layer4[1].bn2.running_var)


def test_pretrained_from_a_path_and_clear_errors(tmp_path):
    reference = torchvision.models.resnet18()
    path = tmp_path / "r18.pth"
    torch.save({k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}, path)
    assert torch.equal(
        ReIDBackbone("resnet18", 3, pretrained=str(path)).FE[4][0].conv1.weight,
        reference.layer1[0].conv1.weight,
    )
    with pytest.raises(FileNotFoundError, match="no file"):
        ReIDBackbone("resnet18", 3, pretrained=str(tmp_path / "missing.pth"))
    torch.save(torchvision.models.resnet34().state_dict(), path)
    with pytest.raises(ValueError, match="do not fit"):
        ReIDBackbone("resnet18", 3, pretrained=str(path))


# ---------------------------------------------------------------- teacher


def test_teacher_is_a_frozen_copy_of_FE_in_eval_mode():
    backbone = ReIDBackbone("resnet18", 3)
    teacher = Teacher(backbone).train()
    assert not teacher.training and not any(m.training for m in teacher.modules())
    assert all(not p.requires_grad for p in teacher.parameters())
    x = torch.rand(4, 3, 64, 32, requires_grad=True)
    fmap = teacher(x)
    assert not fmap.requires_grad
    backbone.eval()
    with torch.no_grad():
        assert torch.allclose(fmap, backbone.former(x))
        torch.nn.init.zeros_(backbone.FE[0].weight)  # the teacher holds its own copy
        assert torch.allclose(teacher(x), fmap)
    with pytest.raises(TypeError, match="ReIDBackbone"):
        Teacher(torch.nn.Linear(2, 2))


# ---------------------------------------------------------------- generators and discriminators


def test_generator_matches_cyclegan_parameter_count_and_ranges():
    assert (
        count(ResnetGenerator(3, 3, ngf=64, n_blocks=9)) == 11_378_179
    )  # CycleGAN prints "11.378 M"
    G_I, G_R = build_generators(get_config("cpu").model)
    x = torch.rand(2, 3, 64, 32) * 2 - 1
    ir = G_I(x)
    assert ir.shape == (2, 1, 64, 32) and G_R(ir).shape == (2, 3, 64, 32)
    assert ir.abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 4"):
        G_I(torch.rand(1, 3, 62, 32))
    with pytest.raises(ValueError, match="ir_to_1ch"):
        G_R(x)


def test_resize_upsampling_replaces_the_transposed_convolutions():
    """model.gen_upsample=resize: nearest-neighbour x2 then a 3x3 convolution at each up-sampling
    (same parameter count as CycleGAN's transposed 3x3), and the image shape is kept."""
    for upsample in ("deconv", "resize"):
        cfg = get_config("cpu", [f"model.gen_upsample={upsample}"]).model
        G_I, G_R = build_generators(cfg)
        kinds = {type(m).__name__ for m in G_I.modules()}
        assert ("ConvTranspose2d" in kinds) == (upsample == "deconv")
        assert ("Upsample" in kinds) == (upsample == "resize")
        x = torch.rand(2, 3, 64, 32) * 2 - 1
        assert G_I(x).shape == (2, 1, 64, 32) and G_R(G_I(x)).shape == (2, 3, 64, 32)
    assert count(ResnetGenerator(3, 1, 16, 3, "resize")) == count(ResnetGenerator(3, 1, 16, 3))
    # an up-sampling step of the resize generator is exactly upsample + reflection pad + conv
    G = ResnetGenerator(3, 1, ngf=4, n_blocks=0, upsample="resize")
    up, pad, conv = G.model[10], G.model[11], G.model[12]
    z = torch.rand(1, 16, 4, 2)
    want = torch.nn.functional.conv2d(
        torch.nn.functional.pad(
            z.repeat_interleave(2, 2).repeat_interleave(2, 3), (1,) * 4, "reflect"
        ),
        conv.weight,
        conv.bias,
    )
    assert torch.allclose(conv(pad(up(z))), want)
    with pytest.raises(ValueError, match="'deconv' or 'resize'"):
        ResnetGenerator(3, 1, upsample="bilinear")


def test_patch_discriminator_matches_cyclegan_parameter_count():
    D = PatchDiscriminator(3, ndf=64, n_layers=3)
    assert count(D) == 2_764_737  # CycleGAN's 70x70 PatchGAN, "2.765 M"
    assert D(torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize(
    "size,grid", [((288, 144), (18, 9)), ((256, 128), (16, 8)), ((64, 32), (4, 2))]
)
def test_joint_discriminator_scores_on_the_feature_map_grid(size, grid):
    D = JointDiscriminator(1, fmap_channels=32, ndf=8, n_layers=2)
    x, fmap = torch.rand(2, 1, *size), torch.rand(2, 32, *grid)
    out = D(x, fmap)
    assert out.shape == (2, 1, *grid)
    assert not torch.allclose(out, D(x, torch.rand(2, 32, *grid)))  # the feature map matters
    with pytest.raises(ValueError, match="feature map"):
        D(x)


def test_build_discriminators_honours_the_config():
    cfg = get_config("cpu")
    D_I, D_R = build_discriminators(cfg.model, fmap_channels=256)
    assert isinstance(D_I, JointDiscriminator) and D_I.joint and D_R.in_channels == 3
    cfg.model.discriminator = "ordinary"
    D_I, _ = build_discriminators(cfg.model, 256)
    assert isinstance(D_I, PatchDiscriminator) and not D_I.joint
    x = torch.rand(2, 1, 64, 32)
    assert torch.equal(D_I(x), D_I(x, torch.rand(2, 256, 4, 2)))  # the ordinary one ignores fmaps
    with pytest.raises(ValueError, match="'joint', 'ordinary'"):  # refused where it is set
        cfg.model.discriminator = "both"


# ---------------------------------------------------------------- modality-gap measures


def test_modality_gap_matches_per_channel_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 2, 2)), rng.normal(1.0, 2.0, size=(4, 3, 2, 2))
    terms = []
    for c in range(3):
        xa, xb = a[:, c].ravel(), b[:, c].ravel()
        terms.append((xa.mean() - xb.mean()) ** 2 / ((xa.var() + xb.var()) / 2 + 1e-8))
    expected = float(np.sqrt(np.mean(terms)))
    assert modality_gap(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(
        expected, rel=1e-9
    )
    scale = torch.tensor([1.0, 10.0, 0.1]).view(1, 3, 1, 1).double()
    assert modality_gap(torch.from_numpy(a) * scale, torch.from_numpy(b) * scale) == pytest.approx(
        expected, rel=1e-6
    )


def test_linear_cka_matches_hsic_with_centering_matrix():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    n = 8
    H = np.eye(n) - np.ones((n, n)) / n

    def hsic(K, Lm):
        return np.trace(K @ H @ Lm @ H)

    K, Lm = X @ X.T, Y @ Y.T
    expected = hsic(K, Lm) / np.sqrt(hsic(K, K) * hsic(Lm, Lm))
    assert linear_cka(torch.from_numpy(X), torch.from_numpy(Y)) == pytest.approx(expected, rel=1e-9)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert linear_cka(torch.from_numpy(X), torch.from_numpy(3 * X @ Q + 1)) == pytest.approx(1.0)


# ---------------------------------------------------------------- the CycleGAN module alone


def test_cyclegan_step_updates_generators_and_discriminators_only():
    torch.manual_seed(0)
    cfg = get_config("cpu", ["model.gen_blocks=1"])
    teacher = Teacher(ReIDBackbone("resnet18", 3))
    before = [p.clone() for p in teacher.parameters()]
    gan = CycleGAN(cfg, fmap_net=teacher)
    assert gan.D_I.joint
    G0, D0 = gan.G_I.model[1].weight.clone(), gan.D_I.joint_layers[0].weight.clone()
    ir = torch.rand(4, 1, 64, 32).expand(-1, 3, -1, -1)
    gan.set_input({"rgb": torch.rand(4, 3, 64, 32), "ir": ir, "label": torch.arange(4)})
    losses = gan.optimize_parameters()
    assert set(losses) == {
        "G_adv_I",
        "G_adv_R",
        "G_cyc",
        "G",
        "D_I_real",
        "D_I_fake",
        "D_R_real",
        "D_R_fake",
        "D",
    }
    assert list(gan.optimizers) == ["G", "D"]
    assert not torch.equal(G0, gan.G_I.model[1].weight) and not torch.equal(
        D0, gan.D_I.joint_layers[0].weight
    )
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters()))
    with pytest.raises(ValueError, match="fmap_net"):
        CycleGAN(cfg)


def test_narrow_resnet18_has_scaled_stages_and_the_same_split():
    """model.width=w: stages of w, 2w, 4w, 8w channels; f_map and V follow; ~1/4 of the work at
    w=32 (a quarter of the weights of every 3x3 conv)."""
    full, narrow = ReIDBackbone("resnet18", 5), ReIDBackbone("resnet18", 5, width=32)
    out = narrow(torch.rand(2, 3, 64, 32))
    assert out["fmap"].shape == (2, 128, 4, 2) and out["V"].shape == (2, 256)
    assert (narrow.fmap_channels, narrow.feat_dim) == (128, 256)
    assert [narrow.FE[i][0].conv1.out_channels for i in (4, 5, 6)] == [32, 64, 128]
    assert narrow.LE[0].conv1.stride == (1, 1)  # last stride 1 still applies
    ratio = sum(p.numel() for p in narrow.LE.parameters()) / sum(
        p.numel() for p in full.LE.parameters()
    )
    assert ratio == pytest.approx(0.25, rel=0.01)


def test_narrow_width_refuses_bottleneck_archs_and_pretrained_weights():
    with pytest.raises(ValueError, match="needs a BasicBlock ResNet"):
        ReIDBackbone("resnet50", 5, width=32)
    with pytest.raises(ValueError, match="has no pretrained weights"):
        ReIDBackbone("resnet18", 5, width=32, pretrained="imagenet")
