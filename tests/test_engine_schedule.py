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
