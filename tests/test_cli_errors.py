"""Errors a user can act on: one line on stderr, exit code 2; --debug / TSGAN_DEBUG=1 for the
traceback."""

import argparse

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.__main__ import main
from tsgan.config import get_config, replace
from tsgan.engine.checkpoint import CheckpointError, load_checkpoint
from tsgan.engine.rundir import RunDir


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("error: ")
    return err


def test_unknown_config_field_is_one_line_exit_2(capsys):
    assert main(["train-teacher", "--preset", "cpu", "optim.lrr=1e-3"]) == 2
    line = _one_error_line(capsys)
    assert "unknown config field 'optim.lrr'" in line and not line.startswith('error: "')


def test_bad_value_is_one_line_exit_2(capsys):
    assert main(["train", "--preset", "cpu", "optim.lr=fast"]) == 2
    assert "config field 'optim.lr' expects float, got 'fast'" in _one_error_line(capsys)


def test_missing_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    assert "expected a checkpoint file at" in _one_error_line(capsys)


def test_debug_flag_and_env_show_the_traceback(tmp_path, monkeypatch):
    argv = ["evaluate", "--checkpoint", str(tmp_path / "nope.pt")]
    with pytest.raises(CheckpointError):
        main(["--debug", *argv])
    with pytest.raises(CheckpointError):
        main([*argv, "--debug"])
    monkeypatch.setenv("TSGAN_DEBUG", "1")
    with pytest.raises(CheckpointError):
        main(argv)


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only user errors are shortened: anything else (a bug) propagates unchanged."""
    import tsgan.cli.runs as runs_cli

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runs_cli, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["runs", "list"])


def test_checkpoint_with_other_objects_is_refused_not_called_corrupt(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"args": argparse.Namespace(lr=1.0)}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert (
        "not a tsgan checkpoint (contains objects other than tensors; refused for safety)"
        in message
    )
    assert "argparse.Namespace" in message and "corrupt" not in message
    whole = tmp_path / "ok.pt"
    torch.save({"w": torch.zeros(100)}, whole)
    (tmp_path / "cut.pt").write_bytes(whole.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")


def test_run_folder_accepts_another_out_dir_but_not_another_recipe(tmp_path):
    cfg = get_config("cpu")
    RunDir(tmp_path / "run").create(cfg)
    RunDir(tmp_path / "run").create(replace(cfg, train__out_dir=str(tmp_path / "elsewhere")))
    with pytest.raises(ValueError, match=r"differs in \['optim.lr'\]"):
        RunDir(tmp_path / "run").create(replace(cfg, optim__lr=1.0))


def test_train_out_dir_chooses_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSGAN_RUNS", str(tmp_path / "default_runs"))
    args = _overrides(tiny_config(tiny_dataset(tmp_path)))
    for out in ("A", "B"):
        argv = ["train-teacher", "--preset", "cpu", *args, f"train.out_dir={tmp_path / out}"]
        assert main(argv) == 0, capsys.readouterr().err
        finals = list((tmp_path / out / "cache").glob("teacher-cpu-*/checkpoints/final.pt"))
        assert len(finals) == 1 and str(finals[0]) in capsys.readouterr().out
    assert not (tmp_path / "default_runs").exists()


def test_argparse_errors_are_one_line_naming_the_option(capsys):
    assert main(["train", "--bogus"]) == 2
    line = _one_error_line(capsys)
    assert "unrecognized arguments: --bogus" in line and "python -m tsgan train --help" in line
    assert main(["search", "--k2", "0"]) == 2  # checked before the required options
    assert "argument --k2: must be at least 1, got 0" in _one_error_line(capsys)
    assert main(["evaluate", "--batch-size", "many"]) == 2
    assert "argument --batch-size: expects int, got 'many'" in _one_error_line(capsys)
    with pytest.raises(SystemExit) as done:  # --help still prints and exits 0
        main(["runs", "--help"])
    assert done.value.code == 0 and "list" in capsys.readouterr().out
