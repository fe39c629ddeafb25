"""Commands train-teacher and train, checkpoints they leave, the cache keys of runs."""

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset

from tsgan.__main__ import main
from tsgan.config import get_config, replace
from tsgan.engine.checkpoint import CheckpointError, load_backbone, load_generators
from tsgan.engine.rundir import RunDir
from tsgan.training import run_key


def _overrides(cfg):
    """The tiny config as command-line overrides (what a user would type)."""
    d = cfg.to_dict()
    keys = [
        "data.dataset",
        "data.root",
        "data.height",
        "data.width",
        "data.pad",
        "data.P",
        "data.K",
        "data.batches_per_epoch",
        "data.cache",
        "model.gen_filters",
        "model.gen_blocks",
        "model.disc_filters",
        "model.disc_layers",
        "optim.epochs",
        "optim.warmup_epochs",
        "optim.gan_warmup_epochs",
        "train.teacher_epochs",
        "train.device",
    ]
    return [f"{k}={d[k.split('.')[0]][k.split('.')[1]]}" for k in keys] + ["optim.milestones=1"]


def test_train_teacher_then_train(tmp_path, capsys):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.epochs": 1})
    args = _overrides(cfg)
    assert main(["train-teacher", "--preset", "cpu", "--run-dir", str(tmp_path / "t"), *args]) == 0
    teacher = RunDir(tmp_path / "t").final
    assert "teacher trained" in capsys.readouterr().out and teacher.is_file()
    backbone, saved = load_backbone(teacher)
    assert not backbone.training and saved.data.root == cfg.data.root
    assert backbone.features(torch.rand(2, 3, 32, 16)).shape == (2, backbone.feat_dim)
    with pytest.raises(CheckpointError, match="no generators"):
        load_generators(teacher)

    assert (
        main(
            [
                "train",
                "--preset",
                "cpu",
                "--run-dir",
                str(tmp_path / "g"),
                "--teacher",
                str(teacher),
                *args,
            ]
        )
        == 0
    )
    assert "python -m tsgan evaluate --checkpoint" in capsys.readouterr().out
    G_I, G_R = load_generators(RunDir(tmp_path / "g").final)
    assert G_I(torch.zeros(1, 3, 32, 16)).shape == (1, 1, 32, 16)
    run = RunDir(tmp_path / "g")
    assert (run.figures / "losses.png").is_file() and run.config_path.is_file()
    assert {"G", "B", "D", "B_ts_cd", "lr_B"} <= set(run.read_metrics("epoch")[0])


def test_run_keys_follow_what_changes_the_result():
    cfg = get_config("cpu")
    ablation = replace(cfg, model__discriminator="ordinary")
    assert run_key(ablation, "teacher") == run_key(cfg, "teacher")  # ablations share one teacher
    assert run_key(ablation, "tsgan") != run_key(cfg, "tsgan")
    assert run_key(replace(cfg, train__log_every=1), "tsgan") == run_key(cfg, "tsgan")
    assert run_key(replace(cfg, train__teacher_epochs=1), "tsgan") != run_key(
        cfg, "tsgan"
    )  # via the teacher


def test_a_second_process_waits_for_the_run_instead_of_training_it(tmp_path):
    """Two notebooks asking for the same cached run at once: the second blocks on the lock, then
    loads."""
    import fcntl
    import threading

    from tsgan.training import run_lock

    run = RunDir(tmp_path / "run")
    order = []
    with run_lock(run):

        def second():
            with open(run.path / ".lock", "w") as f:
                fcntl.flock(f, fcntl.LOCK_EX)  # what another process's run_lock does
                order.append("second")

        t = threading.Thread(target=second)
        t.start()
        t.join(0.3)
        order.append("first done")
    t.join(5)
    assert order == ["first done", "second"]


def test_cached_runs_are_keyed_by_the_embedded_data_version(monkeypatch):
    """Regenerated embedded data (a new generator version) must not reuse runs trained on the old
    data."""
    from tsgan import training as runs
    from tsgan.config import get_config

    cfg = get_config("cpu")
    real = get_config("cpu", ["data.dataset=sysu", "data.root=/data/SYSU-MM01"])
    before = {kind: runs.run_key(cfg, kind) for kind in ("teacher", "tsgan")}
    real_before = runs.run_key(real, "teacher")
    monkeypatch.setattr(runs, "GENERATOR_VERSION", runs.GENERATOR_VERSION + 1)
    after = {kind: runs.run_key(cfg, kind) for kind in ("teacher", "tsgan")}
    assert all(before[k] != after[k] for k in before)
    assert (
        runs.run_key(real, "teacher") == real_before
    )  # real datasets do not depend on the generator


def test_every_command_is_the_cli_module_of_its_name():
    """``python -m tsgan <name>`` runs ``tsgan.cli.<name>`` (dashes as underscores), nothing
    else."""
    import importlib

    from tsgan.__main__ import COMMANDS

    for name, (module_name, _) in COMMANDS.items():
        assert module_name == f"tsgan.cli.{name.replace('-', '_')}"
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run)


def test_help_lists_every_command_with_its_description_on_one_line():
    """``python -m tsgan --help`` in an 80-column terminal: each command on one line with its
    description, in the table's order; a command with subcommands names each of them (the
    description of ``assignments`` once said 'build' only, though it also grades)."""
    import importlib
    import os
    import re
    import subprocess
    import sys

    from tsgan.__main__ import COMMANDS, CommandParser

    env = {**os.environ, "COLUMNS": "80"}
    out = subprocess.run(
        [sys.executable, "-m", "tsgan", "--help"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    listed = [
        m.groups()
        for line in out.stdout.splitlines()
        if (m := re.fullmatch(r"    (\S+) +(\S.*)", line))
    ]
    assert listed == [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
    assert max(map(len, out.stdout.splitlines())) <= 80
    for name, (module_name, help_text) in COMMANDS.items():
        parser = CommandParser(prog=f"python -m tsgan {name}")
        importlib.import_module(module_name).add_arguments(parser)
        # subcommands: argparse's, or a positional choice of verbs (assignments build | grade)
        verbs = [a for a in parser._actions if not a.option_strings and a.choices]
        for subcommand in (c for a in verbs for c in a.choices):
            assert subcommand in help_text, (name, subcommand)
        assert name not in ("data", "runs", "assignments") or verbs, name
