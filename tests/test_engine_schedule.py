"""The learning-rate schedule against the paper's text (Sec. IV-B): warm-up 10 epochs from lr/10,
x0.3 at 40 and 70."""

import pytest
import torch

from tsgan.config import get_config
from tsgan.engine.checkpoint import load_checkpoint, save_checkpoint
from tsgan.engine.schedule import build_scheduler, lr_factor

LR = 3.5e-4
# epoch (0-based) -> learning rate, written out by hand from the paper's description
PAPER = {
    0: LR / 10,
    1: 2 * LR / 10,
    4: 5 * LR / 10,
    9: LR,
    10: LR,
    39: LR,
    40: LR * 0.3,
    69: LR * 0.3,
    70: LR * 0.09,
    119: LR * 0.09,
}


def _lrs(epochs, cfg, opt=None, sched=None):
    """The learning rate of each epoch, for ``opt`` and ``sched`` (default: a fresh optimizer and
    the scheduler ``cfg`` builds)."""
    if opt is None:
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
        sched = build_scheduler(opt, cfg.optim)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_paper_schedule_values():
    lrs = _lrs(120, get_config("paper"))
    for epoch, expected in PAPER.items():
        assert lrs[epoch] == pytest.approx(expected, rel=1e-12), epoch
    assert lrs[:10] == sorted(lrs[:10]) and len(set(lrs[:10])) == 10  # strictly linear increase
    assert lr_factor(5, 0, (), 0.3) == 1.0  # no warm-up


def test_scheduler_state_survives_a_checkpoint(tmp_path):
    cfg = get_config("paper")
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
    sched = build_scheduler(opt, cfg.optim)
    for _ in range(41):
        opt.step()
        sched.step()
    save_checkpoint(tmp_path / "s.pt", {"sched": sched.state_dict(), "opt": opt.state_dict()})
    state = load_checkpoint(tmp_path / "s.pt")
    opt2 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
    sched2 = build_scheduler(opt2, cfg.optim)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    assert opt2.param_groups[0]["lr"] == pytest.approx(LR * 0.3, rel=1e-12)  # epoch 41
    for _ in range(41, 70):
        opt2.step()
        sched2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(PAPER[70], rel=1e-12)


def _lr_per_epoch(model, epochs):
    return _lrs(epochs, model.cfg, model.optimizers["B"], model.schedulers["B"])


def test_the_teacher_decays_at_its_own_milestones():
    """IR teacher and RGB baseline follow train.teacher_milestones, TS-GAN optim.milestones."""
    from tsgan.methods.teacher import IRBaseline, RGBBaseline
    from tsgan.methods.tsgan import TSGAN

    overrides = {
        "optim.warmup_epochs": 0,
        "optim.milestones": (3,),
        "train.teacher_milestones": (1,),
        "train.use_gan": False,
        "train.use_teacher": False,
        "model.student_init": "pretrained",
        "model.width": 8,
    }
    cfg = get_config("cpu", overrides)
    lr = cfg.optim.lr
    cpu = torch.device("cpu")
    for kind in (IRBaseline, RGBBaseline):
        assert _lr_per_epoch(kind(cfg, 4, cpu), 4) == pytest.approx(
            [lr, lr * 0.3, lr * 0.3, lr * 0.3]
        )
    student = TSGAN(cfg, 4, cpu)
    assert _lr_per_epoch(student, 4) == pytest.approx([lr, lr, lr, lr * 0.3])


# BoT's linear warm-up (optim.warmup_factor = f > 0), written out by hand for f = 0.01 over the
# paper's 10 epochs: lr * (0.01 + 0.99 * e / 10)
BOT = {
    0: LR * 0.01,
    1: LR * 0.109,
    5: LR * 0.505,
    9: LR * 0.901,
    10: LR,
    40: LR * 0.3,
    70: LR * 0.09,
}


def test_bot_warmup_values():
    cfg = get_config("paper", {"optim.warmup_factor": 0.01})
    lrs = _lrs(120, cfg)
    for epoch, expected in BOT.items():
        assert lrs[epoch] == pytest.approx(expected, rel=1e-12), epoch
    assert lrs[:11] == sorted(lrs[:11]) and len(set(lrs[:11])) == 11


def test_a_one_epoch_warmup_starts_below_lr_only_with_a_factor():
    """warmup_epochs=1 (the cpu preset's value) is no warm-up under the default formula, whose
    first epoch is lr * 1/1; with a factor its first epoch is at lr * f."""
    legacy = get_config("cpu")
    assert legacy.optim.warmup_epochs == 1 and legacy.optim.warmup_factor == 0
    lr = legacy.optim.lr
    # the cpu preset's schedule, by hand: lr for 10 epochs, then x0.3 (milestone 10)
    assert _lrs(12, legacy) == pytest.approx([lr] * 10 + [lr * 0.3] * 2, rel=1e-12)
    warm = get_config("cpu", {"optim.warmup_factor": 0.1})
    assert _lrs(12, warm) == pytest.approx([lr * 0.1] + [lr] * 9 + [lr * 0.3] * 2, rel=1e-12)
    three = get_config("cpu", {"optim.warmup_factor": 0.25, "optim.warmup_epochs": 3})
    assert _lrs(4, three) == pytest.approx([lr * 0.25, lr * 0.5, lr * 0.75, lr], rel=1e-12)


@pytest.mark.parametrize("factor", [-0.1, 1.0, 2.0])
def test_a_factor_outside_0_1_is_refused(factor):
    cfg = get_config("cpu", {"optim.warmup_factor": factor})
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
    with pytest.raises(ValueError, match=r"optim.warmup_factor must be in \[0, 1\)"):
        build_scheduler(opt, cfg.optim)


def test_the_factor_keys_teacher_and_student_only_when_set():
    from tsgan.training import run_key

    for preset in ("cpu", "paper"):
        base = get_config(preset)
        same = get_config(preset, {"optim.warmup_factor": 0.0})
        warm = get_config(preset, {"optim.warmup_factor": 0.01})
        for kind in ("teacher", "tsgan"):
            assert run_key(same, kind) == run_key(base, kind)
            assert run_key(warm, kind) != run_key(base, kind)


def test_models_train_with_the_factor():
    """The step models' optimizers follow the factor (the teacher's and TS-GAN's O_B alike)."""
    from tsgan.methods.teacher import IRBaseline
    from tsgan.methods.tsgan import TSGAN

    overrides = {
        "optim.warmup_epochs": 2,
        "optim.warmup_factor": 0.2,
        "optim.milestones": (3,),
        "train.teacher_milestones": (3,),
        "train.use_gan": False,
        "train.use_teacher": False,
        "model.student_init": "pretrained",
        "model.width": 8,
    }
    cfg = get_config("cpu", overrides)
    lr, cpu = cfg.optim.lr, torch.device("cpu")
    expected = [lr * 0.2, lr * 0.6, lr, lr * 0.3]
    assert _lr_per_epoch(IRBaseline(cfg, 4, cpu), 4) == pytest.approx(expected, rel=1e-12)
    assert _lr_per_epoch(TSGAN(cfg, 4, cpu), 4) == pytest.approx(expected, rel=1e-12)
