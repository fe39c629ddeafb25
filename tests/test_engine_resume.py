"""Exact resume: a run stopped after N steps and resumed ends with the weights of an
uninterrupted run."""

import random

import pytest
import torch
from engine_helpers import random_teacher, tiny_config, tiny_dataset

from tsgan.engine.checkpoint import load_checkpoint
from tsgan.engine.rundir import RunDir
from tsgan.training import train_teacher, train_tsgan


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    cfg = tiny_config(tiny_dataset(tmp))
    teacher = random_teacher(cfg, tmp / "teacher.pt")
    full = train_tsgan(cfg, tmp / "full", teacher)
    return cfg, teacher, tmp, load_checkpoint(full)


def _scramble_rng():
    """What a fresh process would have: other RNG states than the ones the stopped run ended
    with."""
    torch.manual_seed(1234)
    random.seed(99)


@pytest.mark.parametrize("stop_at", [2, 3, 4])  # mid-epoch, at the epoch boundary, mid second epoch
def test_stopped_and_resumed_equals_uninterrupted(setup, stop_at):
    cfg, teacher, tmp, full = setup
    run = tmp / f"stopped{stop_at}"
    assert train_tsgan(cfg, run, teacher, stop_at_step=stop_at) is None
    assert load_checkpoint(RunDir(run).last)["position"]["step"] == stop_at
    _scramble_rng()
    resumed = load_checkpoint(train_tsgan(cfg, run, teacher))
    assert set(resumed["models"]) == {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"}
    for net, state in full["models"].items():
        for k, v in state.items():
            assert torch.equal(v, resumed["models"][net][k]), (
                f"{net}.{k} differs after resuming at step {stop_at}"
            )
    steps_full = [r for r in RunDir(tmp / "full").read_metrics() if r["kind"] == "step"]
    steps_resumed = [r for r in RunDir(run).read_metrics() if r["kind"] == "step"]
    assert steps_resumed == steps_full  # the log is continued, not duplicated
    # the epoch records match but for the training clock (``seconds``: wall time, never equal)
    untimed = lambda records: [{k: v for k, v in r.items() if k != "seconds"} for r in records]  # noqa: E731
    assert untimed(RunDir(run).read_metrics("epoch")) == untimed(
        RunDir(tmp / "full").read_metrics("epoch")
    )


def test_teacher_resume_and_config_mismatch(tmp_path):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"train.teacher_epochs": 2})
    full = load_checkpoint(train_teacher(cfg, tmp_path / "a"))
    assert train_teacher(cfg, tmp_path / "b", stop_at_step=4) is None
    _scramble_rng()
    resumed = load_checkpoint(train_teacher(cfg, tmp_path / "b"))
    assert all(
        torch.equal(v, resumed["models"]["backbone"][k])
        for k, v in full["models"]["backbone"].items()
    )
    other = tiny_config(tmp_path / "sysu", **{"train.teacher_epochs": 2, "optim.lr": 1.0})
    with pytest.raises(ValueError, match="another config"):
        train_teacher(other, tmp_path / "b")
