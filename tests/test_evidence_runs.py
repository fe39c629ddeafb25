"""Mechanism probes in real (tiny) runs: what they measure, that they change nothing, the
training clock, and the time-to-accuracy line of benchmarks/bench_train.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from engine_helpers import random_teacher, tiny_config

from tsgan.config import replace
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.engine.rundir import RunDir
from tsgan.eval.twins import twin_error
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone
from tsgan.probes import EpochProbes, probe_floors
from tsgan.training import load_dataset, train_tsgan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def twin_cfg(synthetic_sysu):
    """The tiny engine config on the shared embedded tree (SYSU layout, with IR twins)."""
    return tiny_config(synthetic_sysu, **{"train.probe_images": 4})


def test_probes_measure_g_i_and_the_gap_and_leave_the_model_as_it_was(twin_cfg):
    data = load_dataset(twin_cfg)
    probes = EpochProbes(twin_cfg, data)
    torch.manual_seed(0)
    n = data.num_train_ids
    model = TSGAN(twin_cfg, n, torch.device("cpu"), build_backbone(twin_cfg.model, n)).train()
    before = {
        k: {p: t.clone() for p, t in net.state_dict().items()} for k, net in model.nets.items()
    }
    rng = torch.get_rng_state()
    modes = {k: net.training for k, net in model.nets.items()}  # the frozen teacher stays in eval
    values = probes(model)
    assert set(values) == {"gap_fmap", "gap_feat", "twin_L1", "twin_SSIM"}
    assert modes["backbone"] and modes == {k: net.training for k, net in model.nets.items()}
    assert torch.equal(torch.get_rng_state(), rng)
    for k, net in model.nets.items():  # BN running statistics included
        assert all(torch.equal(t, before[k][p]) for p, t in net.state_dict().items()), k
    # the twin error is G_I's on the probe identities' RGB pictures, at the training size
    rgb = data.first_pairs(4, "train")[0]
    G_I = model.nets["G_I"].eval()
    want = twin_error(G_I, rgb, (twin_cfg.data.height, twin_cfg.data.width))
    assert values["twin_L1"] == pytest.approx(want["L1"], rel=1e-5)
    assert values["twin_SSIM"] == pytest.approx(want["SSIM"], rel=1e-5)
    assert set(probe_floors(twin_cfg, data)) == {"grayscale", "channel copy"}
    backbone_only = replace(twin_cfg, train__use_gan=False, train__use_teacher=False)
    model = TSGAN(backbone_only, n, torch.device("cpu"), build_backbone(twin_cfg.model, n))
    assert set(EpochProbes(backbone_only, data)(model)) == {"gap_fmap", "gap_feat"}


def test_a_run_with_probes_ends_with_the_weights_of_one_without(twin_cfg, tmp_path):
    n_ids = load_dataset(twin_cfg).num_train_ids  # the student starts from the teacher's weights
    teacher = random_teacher(twin_cfg, tmp_path / "teacher.pt", n_ids)
    final = {}
    for n in (0, 4):
        cfg = replace(twin_cfg, train__probe_images=n)
        final[n] = load_checkpoint(train_tsgan(cfg, tmp_path / f"run{n}", teacher))["models"]
        log = RunDir(tmp_path / f"run{n}")
        probes, epochs = log.read_metrics("probe"), log.read_metrics("epoch")
        assert len(probes) == (2 if n else 0)
        assert [e["epoch"] for e in epochs] == [1, 2] and 0 < epochs[0]["seconds"]
        assert epochs[0]["seconds"] < epochs[1]["seconds"]
        if n:
            assert [(p["epoch"], p["step"]) for p in probes] == [(1, 3), (2, 6)]
            assert {"twin_L1", "gap_fmap", "seconds"} <= set(probes[0])
    for net, state in final[0].items():
        assert all(torch.equal(t, final[4][net][p]) for p, t in state.items()), net


def _bench():
    spec = importlib.util.spec_from_file_location("bench_train", REPO / "benchmarks/bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_to_accuracy_line_from_per_epoch_evaluations(twin_cfg, tmp_path, monkeypatch):
    bench = _bench()
    cfg = replace(twin_cfg, train__out_dir=str(tmp_path / "bench"), eval__trials=2)
    line = bench.time_to_accuracy_line(cfg, 0.0)
    assert "min of TS-GAN training (epoch 1 of 2, R1 " in line
    assert "min of teacher pretraining" in line
    run = next((tmp_path / "bench" / "cache").glob("tsgan-*"))
    probes = RunDir(run).read_metrics("probe")
    assert [p["epoch"] for p in probes] == [1, 2] and all(0 <= p["R1"] <= 100 for p in probes)

    def refuse(*args, **kwargs):
        raise AssertionError("the cached run was trained again")

    monkeypatch.setattr("tsgan.training.train_tsgan", refuse)
    best = max(p["R1"] for p in probes)
    assert "not reached in 2 epochs" in bench.time_to_accuracy_line(cfg, best + 1)


def test_the_ordinary_d_i_makes_g_i_blind_to_the_ts_losses(twin_cfg, tmp_path):
    """Why notebook 07's TS-GAN_OD^singleTS twin-error curve lies on TS-GAN_OD's: with the
    ordinary D_I, lines 1-2 (G) and 5-7 (D) never read the backbone, so the TS losses of line 3
    change the student alone and G_I ends bit for bit the same; with the joint D_I, f(X_I') and
    f(X_I) carry the student into G_I's and D_I's losses, and the rows part."""
    teacher = random_teacher(
        twin_cfg, tmp_path / "teacher.pt", load_dataset(twin_cfg).num_train_ids
    )
    final, probes = {}, {}
    for disc in ("ordinary", "joint"):
        for ts in ("all", "cross"):  # TS-GAN_{OD,JD} and their singleTS rows
            cfg = replace(twin_cfg, model__discriminator=disc, loss__ts_losses=ts)
            run = tmp_path / f"{disc}-{ts}"
            final[disc, ts] = load_checkpoint(train_tsgan(cfg, run, teacher))["models"]
            probes[disc, ts] = RunDir(run).read_metrics("probe")

    def same(disc, net):
        a, b = final[disc, "all"][net], final[disc, "cross"][net]
        return all(torch.equal(t, b[k]) for k, t in a.items())

    def twin(disc, ts):
        return [(p["twin_L1"], p["twin_SSIM"]) for p in probes[disc, ts]]

    assert all(same("ordinary", net) for net in ("G_I", "G_R", "D_I", "D_R"))
    assert (
        twin("ordinary", "all") == twin("ordinary", "cross") and len(twin("ordinary", "all")) == 2
    )
    assert not same("ordinary", "backbone")  # the TS losses did change the student
    assert not same("joint", "G_I") and twin("joint", "all") != twin("joint", "cross")
