"""Algorithm 1, one step: who gets gradients in each phase, ablation switches, AMP on CPU, the
paper preset."""

import pytest
import torch
from engine_helpers import tiny_step_config

from tsgan.config import get_config
from tsgan.data.noise import random_batch
from tsgan.freeze import frozen
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone


def _model(cfg, num_classes=4):
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, num_classes)
    return TSGAN(cfg, num_classes, torch.device("cpu"), teacher).train()


_cfg = tiny_step_config


def _grads(model, names):
    return {
        n: [None if p.grad is None else p.grad.clone() for p in model.nets[n].parameters()]
        for n in names
    }


def _has_grad(model, name):
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.nets[name].parameters())


def test_each_phase_updates_only_its_networks():
    """Lines 1-2 touch G only, 3-4 the backbone only, 5-7 D only; the teacher never changes."""
    model = _model(_cfg())
    model.set_input(random_batch(2, 2, 32, 16))
    teacher_before = {k: v.clone() for k, v in model.nets["teacher"].state_dict().items()}
    model.forward()
    model.backward_G()
    assert _has_grad(model, "G_I") and _has_grad(model, "G_R")
    assert not any(_has_grad(model, n) for n in ("backbone", "D_I", "D_R", "teacher"))
    model.step("G")
    g_grads = _grads(model, ["G_I", "G_R"])
    model.backward_B()
    assert _has_grad(model, "backbone")
    assert not any(_has_grad(model, n) for n in ("D_I", "D_R", "teacher"))
    assert all(
        torch.equal(a, b) for n in g_grads for a, b in zip(g_grads[n], _grads(model, [n])[n])
    )
    model.step("B")
    b_grads = _grads(model, ["backbone"])["backbone"]
    model.backward_D()
    assert _has_grad(model, "D_I") and _has_grad(model, "D_R")
    assert all(
        a is None and b is None or torch.equal(a, b)
        for a, b in zip(b_grads, _grads(model, ["backbone"])["backbone"])
    )
    for k, v in model.nets["teacher"].state_dict().items():
        assert torch.equal(v, teacher_before[k])
    assert all(not p.requires_grad for p in model.nets["teacher"].parameters())
    assert all(
        p.requires_grad for n in ("G_I", "D_I", "D_R") for p in model.nets[n].parameters()
    )  # unfrozen again


def test_losses_follow_the_equations():
    """L_Backbone = l1*ID + l2*Tri + l3*GAN + L_TS and L_TS = a_c*CD + a_s*(RealIR + FakeIR)
    (Eq. 8, 16)."""
    cfg = _cfg()
    model = _model(cfg)
    model.set_input(random_batch(2, 2, 32, 16))
    L = model.optimize_parameters()
    lc = cfg.loss
    ts = lc.alpha_c * L["B_ts_cd"] + lc.alpha_s * (L["B_ts_real_ir"] + L["B_ts_fake_ir"])
    assert L["B_ts"] == pytest.approx(ts, rel=1e-5)
    assert L["B"] == pytest.approx(
        lc.lambda1 * L["B_id"] + lc.lambda2 * L["B_tri"] + lc.lambda3 * L["B_gan"] + ts, rel=1e-5
    )
    assert L["G"] == pytest.approx(L["G_adv_I"] + L["G_adv_R"] + lc.omega * L["G_cyc"], rel=1e-5)
    assert L["D"] == pytest.approx(
        L["D_I_real"] + L["D_I_fake"] + L["D_R_real"] + L["D_R_fake"], rel=1e-5
    )


@pytest.mark.parametrize(
    "overrides, absent, nets",
    [
        (
            {"train.use_gan": False, "train.use_teacher": False},
            {"G", "D", "B_gan", "B_ts"},
            {"backbone"},
        ),
        (
            {"model.discriminator": "ordinary"},
            {"B_gan"},
            {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"},
        ),
        ({"loss.ts_losses": "cross"}, set(), {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"}),
        ({"train.use_teacher": False}, {"B_ts"}, {"backbone", "G_I", "G_R", "D_I", "D_R"}),
    ],
)
def test_ablation_switches(overrides, absent, nets):
    cfg = _cfg(**overrides)
    model = _model(cfg)
    model.set_input(random_batch(2, 2, 32, 16))
    L = model.optimize_parameters()
    assert not absent & set(L) and set(model.nets) == nets
    if overrides.get("loss.ts_losses") == "cross":
        assert L["B_ts"] == pytest.approx(cfg.loss.alpha_c * L["B_ts_cd"], rel=1e-5)


def test_teacher_without_gan_is_refused():
    with pytest.raises(ValueError, match="use_gan"):
        _model(_cfg(**{"train.use_gan": False}))


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_step_on_cpu(amp):
    model = _model(_cfg(**{"train.amp": amp}))
    before = {
        n: [p.clone() for p in model.nets[n].parameters()] for n in ("backbone", "G_I", "D_I")
    }
    model.set_input(random_batch(2, 2, 32, 16))
    L = model.optimize_parameters()
    assert all(torch.isfinite(torch.tensor(v)) for v in L.values())
    assert model.scaler.is_enabled() == (amp == "fp16")
    skipped = (
        amp == "fp16" and model.scaler.get_scale() < 2.0**16
    )  # fp16 overflow: GradScaler skips the step
    for n, ps in before.items():
        updated = any(not torch.equal(a, b) for a, b in zip(ps, model.nets[n].parameters()))
        assert updated or skipped, f"{n} not updated under {amp}"


def test_paper_preset_step_at_full_resolution():
    """ResNet-50, 288x144, 64-filter 9-block generators, joint D: one Algorithm 1 step on a CPU."""
    cfg = get_config("paper", {"model.pretrained": ""})
    assert (cfg.data.height, cfg.data.width, cfg.model.gen_filters, cfg.model.gen_blocks) == (
        288,
        144,
        64,
        9,
    )
    model = _model(cfg, num_classes=395)
    assert model.backbone.fmap_channels == 1024
    model.set_input(random_batch(2, 1, 288, 144))
    L = model.optimize_parameters()
    assert all(torch.isfinite(torch.tensor(v)) for v in L.values()), L


def test_student_starts_from_the_teacher_or_from_scratch():
    torch.manual_seed(0)
    cfg = _cfg()
    teacher = build_backbone(cfg.model, 4)
    for init, same in (("teacher", True), ("pretrained", False)):
        model = TSGAN(_cfg(**{"model.student_init": init}), 4, torch.device("cpu"), teacher)
        equal = all(
            torch.equal(a, b)
            for a, b in zip(model.backbone.state_dict().values(), teacher.state_dict().values())
        )
        assert equal == same
    with pytest.raises(ValueError, match="student_init"):
        TSGAN(_cfg(**{"model.student_init": "imagenet"}), 4, torch.device("cpu"), teacher)


def test_compiled_step_matches_eager():
    """train.compile=true wraps the updating networks in torch.compile (inductor, which needs a C++
    compiler on CPU): the first Algorithm 1 step gives the eager losses to float32 rounding, and
    later steps reuse the graphs."""
    eager = _model(_cfg())
    eager.set_input(random_batch(2, 2, 32, 16))
    expected = eager.optimize_parameters()
    model = _model(_cfg(**{"train.compile": True}))
    assert all(type(net).__name__ == "OptimizedModule" for net in model.train_nets.values())
    model.set_input(random_batch(2, 2, 32, 16))
    got = model.optimize_parameters()
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k] == pytest.approx(expected[k], rel=1e-5, abs=1e-5), k
    before = [p.clone() for p in model.nets["backbone"].parameters()]
    model.set_input(random_batch(2, 2, 32, 16, seed=1))
    assert all(torch.isfinite(torch.tensor(v)) for v in model.optimize_parameters().values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.nets["backbone"].parameters()))


def _backbone_grads(model):
    return [p.grad.clone() for p in model.nets["backbone"].parameters() if p.grad is not None]


# only O_B stepped before end_epoch steps every scheduler: torch warns about O_G and O_D
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_gan_warmup_trains_the_backbone_as_the_backbone_row_then_lets_fakes_join():
    """During optim.gan_warmup_epochs line 3 is the Backbone row's loss (same gradient, no TS or
    L_ReID^GAN term) while D_I still gets f(X_I'); after them X_I' joins (the paper's line 3)."""
    cfg = _cfg(**{"optim.gan_warmup_epochs": 1})
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 4)
    warm = TSGAN(cfg, 4, torch.device("cpu"), teacher).train()
    plain_cfg = _cfg(**{"train.use_gan": False, "train.use_teacher": False})
    plain = TSGAN(plain_cfg, 4, torch.device("cpu"), teacher).train()
    batch = random_batch(2, 2, 32, 16)
    for m in (warm, plain):
        m.set_input(batch)
    warm.forward()
    buffers = {k: v.clone() for k, v in warm.nets["backbone"].state_dict().items()}
    warm.backward_B()
    plain.backward_B()
    assert {"B_ts", "B_gan"}.isdisjoint(warm.losses)
    assert all(
        torch.allclose(a, b, atol=1e-6)
        for a, b in zip(_backbone_grads(warm), _backbone_grads(plain), strict=True)
    )
    with frozen(warm.backbone), torch.no_grad():  # D_I's f(X_I'): the frozen student's map
        expected = warm.backbone.former(warm.X_I_fake)
    assert torch.allclose(warm.fmap_fake, expected, atol=1e-6)
    running = [k for k in buffers if "running" in k]
    after = warm.nets["backbone"].state_dict()
    # only the real batch's forward moves BN statistics, exactly as in the Backbone row
    plain_after = plain.nets["backbone"].state_dict()
    assert all(torch.allclose(after[k], plain_after[k], atol=1e-6) for k in running)
    warm.step("B")
    warm.end_epoch()  # one epoch done: the fakes join
    warm.zero_grad("B")
    warm.backward_B()
    assert {"B_ts", "B_gan"} <= set(warm.losses)
    assert warm.fmap_fake.requires_grad


def test_gan_warmup_must_leave_epochs_for_the_fakes():
    cfg = _cfg(**{"optim.gan_warmup_epochs": 8, "optim.epochs": 8})
    with pytest.raises(ValueError, match="gan_warmup_epochs=8 must be in"):
        _model(cfg)
