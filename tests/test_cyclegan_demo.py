"""The cached CycleGAN demo of notebook 03 (tsgan.experiments.cyclegan_demo): trained once, then
loaded; the snapshots are the generators of a plain training loop at those steps; the key follows
the steps, the snapshots and the config."""

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset

from tsgan.data.dataset import build_train_loader
from tsgan.experiments import cyclegan_demo
from tsgan.experiments.cyclegan_demo import cached_cyclegan, get_or_train_cyclegan
from tsgan.methods.cyclegan import CycleGAN
from tsgan.rng import seed_everything
from tsgan.training import load_dataset


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cyclegan_demo")
    return tiny_config(
        tiny_dataset(tmp), **{"model.discriminator": "ordinary", "train.out_dir": str(tmp)}
    )


def plain_loop(cfg, steps: int) -> CycleGAN:
    """The demo written out: one loader batch per step, epoch after epoch (3 batches each)."""
    loader = build_train_loader(cfg, load_dataset(cfg))
    seed_everything(cfg.train.seed)
    model = CycleGAN(cfg).train()
    done = 0
    for epoch in range(steps):
        loader.batch_sampler.set_epoch(epoch)
        for batch in loader:
            if done == steps:
                return model
            model.set_input(batch)
            model.optimize_parameters()
            done += 1
    return model


def test_trained_once_then_loaded_with_the_plain_loops_weights(cfg, monkeypatch):
    first = get_or_train_cyclegan(cfg, 5, (0, 2, 5))
    assert len(first["history"]) == 5 and {"G_cyc", "D"} <= set(first["history"][0])
    assert [s["step"] for s in first["snapshots"]] == [0, 2, 5]
    assert cached_cyclegan(cfg, 5, (0, 2, 5)).finished

    # step 5 crosses an epoch boundary (3 batches per epoch): the same weights as the plain loop
    reference = plain_loop(cfg, 5)
    for name in ("G_I", "G_R"):
        for k, v in reference.nets[name].state_dict().items():
            assert torch.allclose(first["snapshots"][2][name][k], v, atol=1e-6), (name, k)
    seed_everything(cfg.train.seed)
    fresh = CycleGAN(cfg)  # step 0: the untrained generators of the same seed
    w0, w2 = first["snapshots"][0]["G_I"], first["snapshots"][1]["G_I"]
    assert all(torch.equal(w0[k], v) for k, v in fresh.nets["G_I"].state_dict().items())
    assert any(not torch.equal(w0[k], w2[k]) for k in w0)  # step 2 has trained

    def no_training(*args):
        raise AssertionError("a cached demo must not train again")

    monkeypatch.setattr(cyclegan_demo, "train_cyclegan", no_training)
    again = get_or_train_cyclegan(cfg, 5, (0, 2, 5))
    assert again["history"] == first["history"]
    for k, v in first["snapshots"][2]["G_R"].items():
        assert torch.equal(again["snapshots"][2]["G_R"][k], v)


def test_the_key_follows_steps_snapshots_and_config(cfg):
    path = cached_cyclegan(cfg, 5, (0, 2, 5)).path
    assert cached_cyclegan(cfg, 5, (5, 2, 0)).path == path  # order does not matter
    others = [
        cached_cyclegan(cfg, 6, (0, 2, 5)),
        cached_cyclegan(cfg, 5, (0, 3, 5)),
        cached_cyclegan(
            tiny_config(cfg.data.root, **{"model.discriminator": "ordinary", "optim.gan_lr": 5e-4}),
            5,
            (0, 2, 5),
        ),
    ]
    assert len({path, *(r.path for r in others)}) == 4
    assert path.name.startswith("cyclegan-cpu-")


def test_bad_arguments_say_what_to_set(cfg):
    joint = tiny_config(cfg.data.root, **{"model.discriminator": "joint"})
    with pytest.raises(ValueError, match="model.discriminator=ordinary"):
        get_or_train_cyclegan(joint, 5, (0, 5))
    with pytest.raises(ValueError, match=r"snapshot steps within \[0, steps\]"):
        get_or_train_cyclegan(cfg, 5, (0, 6))
