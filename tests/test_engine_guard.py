"""Divergence guard: a NaN loss stops training, names the loss and the step, keeps the last good
checkpoint."""

import math

import pytest
import torch
from engine_helpers import random_teacher, tiny_config, tiny_dataset

import tsgan.methods.tsgan as tsgan_model
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.engine.rundir import RunDir
from tsgan.engine.trainer import DivergenceError
from tsgan.training import train_tsgan


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = tiny_config(tiny_dataset(tmp_path))
    teacher = random_teacher(cfg, tmp_path / "teacher.pt")
    real_ts_losses, calls = tsgan_model.ts_losses, []

    def ts_losses_exploding_at_step_5(*args, **kwargs):
        calls.append(1)
        out = real_ts_losses(*args, **kwargs)
        if len(calls) == 5:  # step 5 = epoch 2, batch 2 (3 batches per epoch)
            out = {**out, "cd": out["cd"] * math.inf}
        return out

    monkeypatch.setattr(tsgan_model, "ts_losses", ts_losses_exploding_at_step_5)
    run = RunDir(tmp_path / "run")
    with pytest.raises(
        DivergenceError, match=r"loss 'B_ts_cd' is (inf|nan) at step 5 \(epoch 2, batch 2\)"
    ) as info:
        train_tsgan(cfg, run.path, teacher)
    assert str(run.last) in str(info.value)
    good = load_checkpoint(run.last)
    seconds = good["position"].pop("seconds")
    assert good["position"] == {"epoch": 1, "batch": 0, "step": 3, "totals": {}} and seconds > 0
    assert all(
        torch.isfinite(v).all()
        for net in good["models"].values()
        for v in net.values()
        if v.is_floating_point()
    )
    assert not run.finished
    assert run.read_metrics("diverged")[0]["loss"] == "B_ts_cd"
