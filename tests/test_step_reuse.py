"""Algorithm 1's GAN warm-up reuses line 1's f(X_I') in line 5 instead of a second forward: the
same weights bit for bit as computing it again, and never a stale map."""

import pytest
import torch
from engine_helpers import tiny_step_config

from tsgan.freeze import frozen
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone


def _batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {
        "rgb": torch.rand(4, 3, 32, 16, generator=g),
        "ir": torch.rand(4, 1, 32, 16, generator=g).expand(-1, 3, -1, -1),
        "label": torch.tensor([0, 0, 1, 1]),
    }


def _warm_up_model(**overrides):
    cfg = tiny_step_config(**{"optim.gan_warmup_epochs": 1, **overrides})
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 4)
    return TSGAN(cfg, 4, torch.device("cpu"), teacher).train()


def _count_fmaps(model):
    calls = []
    plain = model.generator_fmap

    def counted(x):
        calls.append(x)
        return plain(x)

    model.generator_fmap = counted
    return calls


def _state(model):
    return {f"{k}.{p}": t for k, n in model.nets.items() for p, t in n.state_dict().items()}


def test_warm_up_steps_equal_those_that_compute_the_map_again():
    reused, again = _warm_up_model(), _warm_up_model()
    again.same_fmap_key = lambda a, b: False  # the computation before the reuse
    calls = {"reused": _count_fmaps(reused), "again": _count_fmaps(again)}
    for seed in range(3):
        losses = [m.set_input(_batch(seed)) or m.optimize_parameters() for m in (reused, again)]
        assert losses[0] == losses[1]
    assert (len(calls["reused"]), len(calls["again"])) == (3, 6)  # one forward per step saved
    a, b = _state(reused), _state(again)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "not bit-identical"


def test_line_5_gets_the_frozen_student_map_of_this_step_s_fakes():
    model = _warm_up_model()
    model.set_input(_batch(0))
    model.forward()
    model.zero_grad("G")
    model.backward_G()
    model.step("G")
    model.zero_grad("B")
    model.backward_B()
    with frozen(model.backbone), torch.no_grad():
        expected = model.backbone.former(model.X_I_fake)
    assert torch.equal(model.fmap_fake, expected)
    assert not model.fmap_fake.requires_grad
    assert not torch.equal(model.fmap_fake, model.fmap_real)


@pytest.mark.parametrize("between", ["new fakes", "student stepped"])
def test_a_stale_line_1_map_is_never_reused(between):
    model = _warm_up_model()
    model.set_input(_batch(0))
    model.forward()
    model.zero_grad("G")
    model.backward_G()
    if between == "new fakes":  # line 1 again without its loss: other X_I'
        model.set_input(_batch(1))
        model.forward()
    else:  # the student changed after line 1
        model.zero_grad("B")
        model.backward_B()
        model.step("B")
    calls = _count_fmaps(model)
    model.zero_grad("B")
    model.backward_B()
    assert len(calls) == 1  # computed again
    with frozen(model.backbone), torch.no_grad():
        expected = model.backbone.former(model.X_I_fake)
    assert torch.equal(model.fmap_fake, expected)


def test_an_ordinary_discriminator_gets_no_map_in_the_warm_up():
    model = _warm_up_model(**{"model.discriminator": "ordinary"})
    calls = _count_fmaps(model)
    model.set_input(_batch(0))
    losses = model.optimize_parameters()
    assert calls == [] and model.fmap_fake is None
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
