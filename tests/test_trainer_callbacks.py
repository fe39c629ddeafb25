"""Trainer callbacks (minGPT's add_callback): what a run does beside training is attached from
outside, at the right moment, on its own clock."""

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset

import tsgan.engine.trainer as trainer_module
from tsgan.data.dataset import build_train_loader
from tsgan.engine.rundir import RunDir
from tsgan.engine.trainer import Trainer
from tsgan.methods.teacher import IRBaseline
from tsgan.training import load_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    cfg = tiny_config(tiny_dataset(tmp_path_factory.mktemp("callbacks")))
    return cfg, load_dataset(cfg)


def _trainer(data, path, epochs=2) -> Trainer:
    cfg, dataset = data
    torch.manual_seed(0)
    model = IRBaseline(cfg, dataset.num_train_ids, torch.device("cpu"))
    loader = build_train_loader(cfg, dataset, 0, 1)
    return Trainer(model, loader, RunDir(path).create(cfg), epochs, dataset.num_train_ids)


def test_callbacks_run_at_their_events_in_order(data, tmp_path):
    trainer = _trainer(data, tmp_path / "run")
    calls = []

    def at_epoch_end(t):
        logged = t.run.read_metrics("epoch")[-1]  # the epoch's record is already in the log
        calls.append(("epoch", t.epoch, t.where["step"], logged["step"]))

    trainer.add_callback("on_epoch_end", at_epoch_end)
    trainer.add_callback("on_epoch_end", lambda t: calls.append(("second", t.epoch)))
    trainer.add_callback("on_fit_end", lambda t: calls.append(("fit", t.epoch, t.step)))
    assert trainer.fit()
    n = trainer.sampler.batches_per_epoch
    assert calls == [
        ("epoch", 0, n, n),
        ("second", 0),
        ("epoch", 1, 2 * n, 2 * n),
        ("second", 1),
        ("fit", 2, 2 * n),
    ]


def test_a_stopped_run_is_not_finished(data, tmp_path):
    trainer = _trainer(data, tmp_path / "run")
    calls = []
    trainer.add_callback("on_epoch_end", lambda t: calls.append("epoch"))
    trainer.add_callback("on_fit_end", lambda t: calls.append("fit"))
    assert not trainer.fit(stop_at_step=2)  # inside the first epoch
    assert calls == []


def test_callback_time_is_not_training_time(data, tmp_path, monkeypatch):
    """A fake clock that only the callback moves: the logged training time stays 0."""
    clock = [0.0]

    class FakeTime:
        @staticmethod
        def perf_counter():
            return clock[0]

    monkeypatch.setattr(trainer_module, "time", FakeTime)
    trainer = _trainer(data, tmp_path / "run")
    trainer.add_callback("on_epoch_end", lambda t: clock.__setitem__(0, clock[0] + 100.0))
    assert trainer.fit()
    assert [r["seconds"] for r in trainer.run.read_metrics("epoch")] == [0.0, 0.0]
    assert trainer.callback_seconds == 200.0


def test_unknown_event_is_refused(data, tmp_path):
    with pytest.raises(ValueError, match="unknown trainer event 'on_step'"):
        _trainer(data, tmp_path / "run").add_callback("on_step", print)
