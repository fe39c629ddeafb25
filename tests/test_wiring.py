"""Algorithm 1 wired as the paper says, checked against an independent re-derivation of one step.

Copies of every network are taken before the step; the three losses are then written out again
by hand from the paper's equations on those copies (Eq. 1, 6, 7 for line 1; Eq. 8-16 for line 3;
Eq. 2-5 for lines 5-6), and their gradients (``torch.autograd.grad``) are compared with what each
optimizer finds in ``.grad`` at the moment it steps. Spies on the joint discriminator record which
(image, feature map) pairs it is shown in each line. Mutations each test was checked to catch
(applied by hand, then reverted) are listed in the test docstrings.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from engine_helpers import tiny_step_config

from tsgan.config import get_config
from tsgan.data.noise import random_batch
from tsgan.imaging import from_gan, ir_to_1ch, ir_to_3ch, to_gan
from tsgan.losses import batch_hard_triplet, id_loss
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone

NETS = ("backbone", "G_I", "G_R", "D_I", "D_R")


def _model(cfg, num_classes: int = 4) -> TSGAN:
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, num_classes)
    for m in teacher.modules():  # a trained teacher's BN statistics are not the fresh 0 / 1
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    return TSGAN(cfg, num_classes, torch.device("cpu"), teacher).train()


_tiny = tiny_step_config


def _bce_real(logits: torch.Tensor) -> torch.Tensor:
    """-log D (non-saturating "call it real"), written out: -log sigmoid(l) = softplus(-l)."""
    return F.softplus(-logits).mean()


def _bce_fake(logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - D) = softplus(l)."""
    return F.softplus(logits).mean()


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(
        a, b, rtol=1e-4, atol=1e-5 * (1 + b.abs().max().item())
    )


def _assert_grads(
    got: list[torch.Tensor | None], params: list[torch.Tensor], loss: torch.Tensor, what: str
):
    """Each parameter's gradient is ``torch.autograd.grad`` of ``loss``, to 1e-4 of the largest
    (biases before an InstanceNorm have a zero gradient up to float32 noise). BoT's fixed BN-neck
    bias has none and is skipped."""
    got = [g for p, g in zip(params, got) if p.requires_grad]
    params = [p for p in params if p.requires_grad]
    want = [
        torch.zeros_like(p) if w is None else w
        for p, w in zip(
            params, torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        )
    ]
    got = [torch.zeros_like(p) if g is None else g for p, g in zip(params, got)]
    atol = 1e-4 * max(w.abs().max().item() for w in want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert torch.allclose(g, w, rtol=1e-3, atol=atol), (
            f"{what}: parameter {i} gradient is not the equation's"
        )


def _run_spied_step(model: TSGAN):
    """One optimize_parameters() with spies: the optimizer order, each optimizer's gradients when
    it steps, and every (image, feature map) pair D_I is shown, tagged with the line it came in."""
    log: list[str] = []
    grads: dict[str, list[torch.Tensor | None]] = {}
    calls: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    for name, opt in model.optimizers.items():

        def step(*a, _name=name, _opt=opt, _step=opt.step, **kw):
            log.append(_name)
            params = [p for group in _opt.param_groups for p in group["params"]]
            grads[_name] = [None if p.grad is None else p.grad.clone() for p in params]
            return _step(*a, **kw)

        opt.step = step
    D_I = model.nets["D_I"]
    forward = D_I.forward

    def spy(x, fmap=None):
        line = {0: 1, 1: 3, 2: 5}[len(log)]
        calls.append((line, x.detach().clone(), fmap.detach().clone()))
        return forward(x, fmap)

    D_I.forward = spy
    model.optimize_parameters()
    return log, grads, calls


@pytest.fixture(scope="module")
def step():
    """One spied step of a tiny TS-GAN_JD, and the networks as they were before it."""
    cfg = _tiny()
    model = _model(cfg)
    batch = random_batch(2, 2, 32, 16)
    before = {n: copy.deepcopy(model.nets[n]) for n in NETS}
    teacher = copy.deepcopy(model.nets["teacher"])
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    model.set_input(batch)
    log, grads, calls = _run_spied_step(model)
    return {
        "cfg": cfg,
        "model": model,
        "batch": batch,
        "before": before,
        "teacher": teacher,
        "teacher_state": teacher_state,
        "log": log,
        "grads": grads,
        "calls": calls,
    }


def _reference(s):
    """Line 1's images and every feature map, recomputed on the pre-step copies (train mode)."""
    b, n = s["batch"], s["before"]
    real_R, real_I = to_gan(b["rgb"]), to_gan(ir_to_1ch(b["ir"]))
    fake_I = n["G_I"](real_R)
    fake_R = n["G_R"](real_I)
    X_I_fake = ir_to_3ch(from_gan(fake_I))
    out = n["backbone"](torch.cat([b["rgb"], b["ir"], X_I_fake.detach()]))  # line 3's one batch
    f_rgb, f_real, f_fake = out["fmap"].chunk(3)
    return {
        "real_R": real_R,
        "real_I": real_I,
        "fake_I": fake_I,
        "fake_R": fake_R,
        "X_I_fake": X_I_fake,
        "out": out,
        "f_rgb": f_rgb,
        "f_real": f_real,
        "f_fake": f_fake,
    }


def test_optimizers_step_in_algorithm_order(step):
    """Lines 2, 4, 7: O_G, then O_B, then O_D, once each.
    Caught: backward_B/step("B") moved before forward/backward_G in optimize_parameters."""
    assert step["log"] == ["G", "B", "D"]


def test_line1_gradient_is_eq7(step):
    """G's gradient at its step = d/dG of -log D_I(X_I', FE_S(X_I')) - log D_R(G_R(X_I)) + w L_cyc,
    FE_S taken before any update and with batch statistics (train mode, the documented choice).
    Caught: a flipped target in Eq. 1 (``gan(D_I(...), False)``); the backbone stepped before G;
    FE_S switched to eval mode (running statistics) for line 1."""
    s, n, cfg = step, step["before"], step["cfg"]
    r = _reference(s)
    fmap = n["backbone"].former(r["X_I_fake"])
    cyc = (n["G_R"](r["fake_I"]) - r["real_R"]).abs().mean() + (
        n["G_I"](r["fake_R"]) - r["real_I"]
    ).abs().mean()
    L_G = (
        _bce_real(n["D_I"](r["fake_I"], fmap))
        + _bce_real(n["D_R"](r["fake_R"]))
        + cfg.loss.omega * cyc
    )
    params = list(n["G_I"].parameters()) + list(n["G_R"].parameters())
    _assert_grads(s["grads"]["G"], params, L_G, "O_G")
    line1 = [(x, f) for line, x, f in s["calls"] if line == 1]
    assert len(line1) == 1 and _close(line1[0][0], r["fake_I"]) and _close(line1[0][1], fmap)


def test_line3_gradient_is_eq8_to_16(step):
    """The backbone's gradient at its step = d/dB of l1 ID + l2 Tri + l3 L_ReID^GAN + L_TS (Eq. 8),
    with CD = |FE_T(X_I') - FE_S(X_R)|^2, RealIR = |FE_T(X_I) - FE_S(X_I)|^2, FakeIR = |FE_T(X_I') -
    FE_S(X_I')|^2 (Eq. 13-15) and Eq. 12 calling every pair of M real.
    Caught: fmaps[0] and fmaps[1] swapped in the ts_losses call; a flipped target in Eq. 12; a wrong
    pair in M (joint_fake_set); the teacher left in train mode."""
    s, n = step, step["before"]
    # the default reading (never): X_I' only in L_TS and L_ReID^GAN; "joined" is
    # test_fakes_in_reid_picks_the_images_of_id_and_triplet's
    assert s["model"].reading == "never"
    L_B = _line3_loss(s, fakes_in_id_tri=False)
    _assert_grads(s["grads"]["B"], list(n["backbone"].parameters()), L_B, "O_B")


def _pair_names(calls, r):
    names = []
    for _, x, f in calls:
        img = (
            "X_I" if _close(x, r["real_I"]) else "X_I'" if _close(x, r["fake_I"].detach()) else "?"
        )
        fm = (
            "f(X_I)"
            if _close(f, r["f_real"].detach())
            else "f(X_I')"
            if _close(f, r["f_fake"].detach())
            else "?"
        )
        names.append((img, fm))
    return sorted(names)


def test_discriminator_sees_the_real_pair_and_set_M(step):
    """Lines 3 and 5-6 show D_I exactly the pairs of Eq. 3 and Eq. 5; D's gradient is Eq. 2-4's
    (real pair called real, every pair of M called fake) plus D_R's mirror.
    Caught: (X_I, f(X_I)) instead of (X_I, f(X_I')) in joint_fake_set; fmap_real/fmap_fake
    swapped in the discriminator_loss call; the backbone stepped before G."""
    s, n = step, step["before"]
    r = _reference(s)
    M = [("X_I", "f(X_I')"), ("X_I'", "f(X_I')"), ("X_I'", "f(X_I)")]
    assert _pair_names([c for c in s["calls"] if c[0] == 3], r) == M
    assert _pair_names([c for c in s["calls"] if c[0] == 5], r) == sorted(M + [("X_I", "f(X_I)")])
    x_real, x_fake = r["real_I"], r["fake_I"].detach()
    f_real, f_fake = r["f_real"].detach(), r["f_fake"].detach()
    D_I, D_R = n["D_I"], n["D_R"]
    L_D = (
        _bce_real(D_I(x_real, f_real))
        + sum(
            _bce_fake(D_I(x, f)) for x, f in [(x_fake, f_fake), (x_fake, f_real), (x_real, f_fake)]
        )
        / 3
        + _bce_real(D_R(r["real_R"]))
        + _bce_fake(D_R(r["fake_R"].detach()))
    )
    _assert_grads(s["grads"]["D"], list(D_I.parameters()) + list(D_R.parameters()), L_D, "O_D")


def test_teacher_gets_no_gradient_and_never_changes(step):
    """FE_T is fixed (Sec. III-C): no optimizer holds its parameters, none has a gradient, its
    parameters and BN statistics are those before the step.
    Caught: teacher parameters added to O_B; Teacher.train() left to switch it to train mode; the
    Teacher's no_grad / requires_grad_(False) removed (ts_losses then refuses the maps)."""
    model = step["model"]
    teacher = model.nets["teacher"]
    held = {
        id(p) for opt in model.optimizers.values() for g in opt.param_groups for p in g["params"]
    }
    assert not any(id(p) in held for p in teacher.parameters())
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(v, step["teacher_state"][k]) for k, v in teacher.state_dict().items())


def test_generator_step_leaves_backbone_statistics_untouched():
    """Line 1 runs FE_S on fakes alone; its batch norms must not fold that batch into their running
    statistics (cpu preset's ResNet-18; every buffer, num_batches_tracked included). Line 3 does
    update them (the student's own step). Caught: the old line 1 (plain train-mode FE_S)."""
    model = _model(get_config("cpu", {"model.gen_filters": 4, "model.gen_blocks": 1}))
    model.set_input(random_batch(2, 2, 64, 32))
    buffers = {k: v.clone() for k, v in model.backbone.named_buffers()}
    model.forward()
    model.backward_G()
    model.step("G")
    changed = [k for k, v in model.backbone.named_buffers() if not torch.equal(v, buffers[k])]
    assert changed == []
    model.backward_B()
    assert sum(not torch.equal(v, buffers[k]) for k, v in model.backbone.named_buffers()) > 0


# ---- where X_I' enters L_ID / L_Tri (loss.fakes_in_reid) -----------------------------------------


def _spied_reading(reading: str, gate=None):
    """One spied step of a tiny TS-GAN_JD with ``loss.fakes_in_reid=reading`` (and its gate)."""
    cfg = _tiny(**{"loss.fakes_in_reid": reading})
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 4)
    model = TSGAN(cfg, 4, torch.device("cpu"), teacher, gate).train()
    s = {"cfg": cfg, "model": model, "batch": random_batch(2, 2, 32, 16)}
    s["before"] = {n: copy.deepcopy(model.nets[n]) for n in NETS}
    s["teacher"] = copy.deepcopy(model.nets["teacher"])
    return s


def _line3_loss(s, fakes_in_id_tri: bool) -> torch.Tensor:
    """Eq. 8 recomputed on the pre-step copies; L_ID and L_Tri over X_R, X_I and, when
    ``fakes_in_id_tri``, X_I' (rows of the one line-3 batch)."""
    n, lc = s["before"], s["cfg"].loss
    r = _reference(s)
    out, labels = r["out"], s["batch"]["label"]
    k = 3 if fakes_in_id_tri else 2
    rows = k * len(labels)
    with torch.no_grad():
        T = s["teacher"].eval()
        fT_real, fT_fake = T.FE(T.normalize(s["batch"]["ir"])), T.FE(T.normalize(r["X_I_fake"]))

    def sq(a, b):  # loss.ts_reduction=channel_sum: sum over channels, mean over the rest
        return ((a - b) ** 2).sum(1).mean()

    ts = lc.alpha_c * sq(fT_fake, r["f_rgb"]) + lc.alpha_s * (
        sq(fT_real, r["f_real"]) + sq(fT_fake, r["f_fake"])
    )
    x_real, x_fake = r["real_I"], r["fake_I"].detach()
    M = [(x_fake, r["f_fake"]), (x_fake, r["f_real"]), (x_real, r["f_fake"])]
    gan = sum(_bce_real(n["D_I"](x, f)) for x, f in M) / 3
    return (
        lc.lambda1 * id_loss(out["logits"][:rows], labels.repeat(k), lc.label_smooth)
        + lc.lambda2 * batch_hard_triplet(out["V"][:rows], labels.repeat(k), lc.margin)
        + lc.lambda3 * gan
        + ts
    )


@pytest.mark.parametrize(
    ("reading", "gate_ssim", "fakes_in_id_tri"),
    [
        ("joined", None, True),  # (a) Algorithm 1 as implemented
        ("never", None, False),  # (b) X_I' in L_TS and L_ReID^GAN only
        ("gated", 0.1, False),  # (c) before G_I passes the gate: as (b)
        ("gated", 0.9, True),  # (c) after: as (a)
    ],
)
def test_fakes_in_reid_picks_the_images_of_id_and_triplet(reading, gate_ssim, fakes_in_id_tri):
    """The backbone's gradient is Eq. 8 with L_ID / L_Tri over exactly the reading's images (and
    L_TS, L_ReID^GAN on X_I' in every reading); the other reading's loss gives another gradient.
    Caught: "joined" and "never" swapped in TSGAN.fakes_in_reid; the slice taken over X_R and X_I'
    (rows of the wrong chunk); the gate ignored, or not latched."""
    gate = None if gate_ssim is None else (lambda G_I: gate_ssim)
    s = _spied_reading(reading, gate)
    model = s["model"]
    if reading == "gated":
        model.end_epoch()  # the gate is measured at epoch ends (threshold 0.6)
        assert model.gate_state["open"] is (gate_ssim >= 0.6)
        assert model.gate_state["ssim"] == gate_ssim
        s["before"] = {n: copy.deepcopy(model.nets[n]) for n in NETS}
    model.set_input(s["batch"])
    _, grads, _ = _run_spied_step(model)
    params = list(s["before"]["backbone"].parameters())
    _assert_grads(grads["B"], params, _line3_loss(s, fakes_in_id_tri), "O_B")
    with pytest.raises(AssertionError):  # the two readings differ on this batch
        _assert_grads(grads["B"], params, _line3_loss(s, not fakes_in_id_tri), "O_B")


def test_the_gate_latches_and_survives_a_checkpoint():
    """Measured at each epoch end until it opens, then never again; its state rides in
    state_dict, so a resumed run continues with the same reading (and does not re-measure)."""
    values = iter([0.2, 0.7, 0.1])
    calls = []

    def gate(G_I):
        calls.append(G_I.training)
        return next(values)

    s = _spied_reading("gated", gate)
    model = s["model"]
    model.end_epoch()
    assert not model.fakes_in_reid() and model.gate_state["epoch"] == 1
    model.end_epoch()
    assert model.fakes_in_reid() and model.gate_state == {"open": True, "ssim": 0.7, "epoch": 2}
    model.end_epoch()  # latched: no third measurement
    assert calls == [False, False] and model.nets["G_I"].training  # eval inside, train after
    state = copy.deepcopy(model.state_dict())
    resumed = _spied_reading("gated", lambda G_I: pytest.fail("a resumed open gate re-measured"))
    resumed["model"].load_state_dict(state)
    assert resumed["model"].gate_state == model.gate_state and resumed["model"].fakes_in_reid()
    resumed["model"].end_epoch()


def test_the_gate_needs_a_measure_and_a_gan():
    with pytest.raises(ValueError, match="fakes_in_reid=gated"):
        _spied_reading("gated", None)
    cfg = _tiny(
        **{"loss.fakes_in_reid": "gated", "train.use_gan": False, "train.use_teacher": False}
    )
    with pytest.raises(ValueError, match="fakes_in_reid=gated"):
        TSGAN(cfg, 4, torch.device("cpu"), None, lambda G_I: 1.0)
