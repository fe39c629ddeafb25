"""Progress modes: a bar on a terminal, one line per training epoch in notebooks and logs."""

import io
import sys

import pytest
from engine_helpers import tiny_config, tiny_dataset

from tsgan import progress
from tsgan.engine.rundir import RunDir
from tsgan.training import train_teacher


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture(autouse=True)
def reset_mode(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    yield
    progress.set_progress(None)


@pytest.mark.parametrize("tty, expected", [(True, "bar"), (False, "lines")])
def test_auto_is_bar_on_a_terminal_else_lines(monkeypatch, tty, expected):
    monkeypatch.setattr(sys, "stderr", Stream(tty))
    assert progress.progress_mode() == expected


def test_environment_and_set_progress(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Stream(True))
    monkeypatch.setenv(progress.ENV, "off")
    assert progress.progress_mode() == "off"
    progress.set_progress("lines")  # the call wins over the environment
    assert progress.progress_mode() == "lines"
    with pytest.raises(ValueError, match="one of"):
        progress.set_progress("quiet")
    progress.set_progress(None)
    monkeypatch.setenv(progress.ENV, "loud")
    with pytest.raises(ValueError, match="TSGAN_PROGRESS"):
        progress.progress_mode()


@pytest.mark.parametrize("mode", ["bar", "lines", "off"])
def test_bar_draws_only_in_bar_mode_and_summary_only_in_lines_mode(capsys, mode):
    progress.set_progress(mode)
    assert list(progress.bar(range(3), desc="items")) == [0, 1, 2]  # iterates in every mode
    progress.summary("epoch 1/1: done")
    progress.summary("rank 1: not shown", enabled=False)
    out, err = capsys.readouterr()
    assert ("items" in err) == (mode == "bar")
    assert out == ("epoch 1/1: done\n" if mode == "lines" else "")


def test_training_prints_one_line_per_epoch(tmp_path, capsys):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"train.teacher_epochs": 2})
    progress.set_progress("lines")
    train_teacher(cfg, tmp_path / "run")
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["teacher 1/2", "teacher 2/2"], out
    epochs = RunDir(tmp_path / "run").read_metrics("epoch")
    # the line quotes the epoch means that metrics.jsonl logs
    assert f"{epochs[-1]['reid']:.3g}" in lines[-1]
    assert err == ""
