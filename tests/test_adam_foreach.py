"""Every optimizer of a training step takes torch's multi-tensor Adam (``foreach=True``), and on CPU
that trains the same weights bit for bit as torch's default one-tensor-at-a-time loop: the speed-up
changes no result (the teacher's O_B; Algorithm 1's O_G, O_B and O_D)."""

import pytest
import torch
from engine_helpers import tiny_step_config

from tsgan.engine import step_model
from tsgan.methods.teacher import IRBaseline
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone


def _batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {
        "rgb": torch.rand(4, 3, 32, 16, generator=g),
        "ir": torch.rand(4, 1, 32, 16, generator=g).expand(-1, 3, -1, -1),
        "label": torch.tensor([0, 0, 1, 1]),
    }


def _trained(kind):
    """A fresh model of ``kind`` after three steps on fixed batches, and its weights before."""
    cfg = tiny_step_config()
    torch.manual_seed(0)
    if kind == "teacher":
        model = IRBaseline(cfg, 4, torch.device("cpu"))
    else:
        model = TSGAN(cfg, 4, torch.device("cpu"), build_backbone(cfg.model, 4))
    model.train()
    before = {k: v.clone() for k, v in _state(model).items()}
    for seed in range(3):
        model.set_input(_batch(seed))
        model.optimize_parameters()
    return model, before


def _state(model):
    nets = {f"{n}.{k}": v for n, net in model.nets.items() for k, v in net.state_dict().items()}
    moments = {
        f"{n}.{i}.{k}": v
        for n, opt in model.optimizers.items()
        for i, s in opt.state_dict()["state"].items()
        for k, v in s.items()
    }
    return {**nets, **moments}


@pytest.mark.parametrize("kind", ["teacher", "tsgan"])
def test_multi_tensor_adam_trains_the_same_weights_as_the_default_loop(monkeypatch, kind):
    fast, before = _trained(kind)
    assert set(fast.optimizers) == ({"B"} if kind == "teacher" else {"G", "B", "D"})
    for opt in fast.optimizers.values():
        assert all(group["foreach"] is True for group in opt.param_groups)
    torch_default = torch.optim.Adam
    monkeypatch.setattr(
        step_model.torch.optim,
        "Adam",
        lambda *a, foreach=None, **kw: torch_default(*a, foreach=False, **kw),
    )
    slow, _ = _trained(kind)
    assert all(g["foreach"] is False for o in slow.optimizers.values() for g in o.param_groups)
    a, b = _state(fast), _state(slow)
    assert a.keys() == b.keys() and len(a) > 0
    changed = [k for k in a if not torch.equal(a[k], b[k])]
    assert not changed, f"{len(changed)} tensors differ, e.g. {changed[:3]}"
    # the steps did train: every optimizer's networks moved away from their first weights
    for name in fast.nets:
        moved = [k for k in before if k.startswith(f"{name}.") and not torch.equal(before[k], a[k])]
        assert moved or name == "teacher", name  # the teacher is frozen in Algorithm 1
