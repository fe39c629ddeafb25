"""The X_I' gate of loss.fakes_in_reid=gated on the embedded data: G_I's twin SSIM on the
validation identities' pictures, and a gated run that stops and resumes exactly."""

from __future__ import annotations

import random

import pytest
import torch
from engine_helpers import random_teacher, tiny_config

from tsgan.data import read_sysu
from tsgan.data.synthetic import generate
from tsgan.data.sysu import validation_split
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.engine.rundir import RunDir
from tsgan.eval.twins import gate_pictures, grayscale, load_twins, twin_error, twin_gate
from tsgan.imaging import to_gan
from tsgan.training import train_tsgan


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return generate(
        tmp_path_factory.mktemp("gate") / "sysu",
        seed=3,
        progress=False,
        num_ids=16,
        min_images=2,
        max_images=2,
        height=32,
        width=16,
    )


def test_gate_pictures_are_the_first_rgb_picture_of_each_val_id(tree):
    full = read_sysu(tree)
    held_out = validation_split(full)
    pictures = gate_pictures(full)
    assert [s.pid for s in pictures] == sorted(full.val_ids) and len(full.val_ids) >= 2
    assert all(s.modality == "rgb" for s in pictures)
    for s in pictures:  # the first in list order: lowest RGB camera, lowest picture number
        mine = [x for x in full.train if x.pid == s.pid and x.modality == "rgb"]
        assert s == mine[0]
    assert gate_pictures(held_out) == pictures  # the same pictures under data.split=val
    assert not {s.pid for s in pictures} & set(full.test_ids)


def test_twin_gate_is_the_twin_ssim_of_g_i(tree):
    samples = gate_pictures(read_sysu(tree))
    gate = twin_gate(samples, (32, 16))
    assert gate(grayscale) == pytest.approx(twin_error(grayscale, samples, (32, 16))["SSIM"])
    assert gate(grayscale) < 0.99
    _, twins = load_twins(samples, (32, 16))
    assert gate(lambda x: to_gan(twins[: len(x)])) > 0.9999  # an oracle G_I opens any gate


@pytest.fixture(scope="module")
def gated_run(tree, tmp_path_factory):
    """A tiny gated TS-GAN (3 epochs of 3 steps) whose gate opens at the first epoch end."""
    tmp = tmp_path_factory.mktemp("gated")
    cfg = tiny_config(
        tree,
        **{
            "loss.fakes_in_reid": "gated",
            "loss.fakes_gate_ssim": -1.0,  # SSIM >= -1 always: opens at the end of epoch 1
            "optim.epochs": 3,
            "optim.milestones": (2,),
        },
    )
    num_classes = len(read_sysu(tree).train_ids)
    teacher = random_teacher(cfg, tmp / "teacher.pt", num_classes)
    full = load_checkpoint(train_tsgan(cfg, tmp / "full", teacher))
    return cfg, teacher, tmp, full


def test_a_gated_run_logs_the_gate_and_saves_it(gated_run):
    cfg, _, tmp, _ = gated_run
    epochs = RunDir(tmp / "full").read_metrics("epoch")
    assert [e["gate_open"] for e in epochs] == [0.0, 1.0, 1.0]
    state = load_checkpoint(RunDir(tmp / "full").last)["gate"]
    assert state["open"] is True and state["epoch"] == 1 and -1 <= state["ssim"] <= 1


@pytest.mark.parametrize("stop_at", [2, 5])  # before the gate opens, after it opened
def test_a_gated_run_resumes_exactly(gated_run, stop_at):
    cfg, teacher, tmp, full = gated_run
    run = tmp / f"stopped{stop_at}"
    assert train_tsgan(cfg, run, teacher, stop_at_step=stop_at) is None
    torch.manual_seed(1234)
    random.seed(99)
    resumed = load_checkpoint(train_tsgan(cfg, run, teacher))
    for net, state in full["models"].items():
        for k, v in state.items():
            assert torch.equal(v, resumed["models"][net][k]), f"{net}.{k} after step {stop_at}"
    assert resumed.get("gate") is None  # the exported final holds the networks alone
    assert (
        load_checkpoint(RunDir(run).last)["gate"]
        == load_checkpoint(RunDir(tmp / "full").last)["gate"]
    )
