"""A training command is checked whole before its first step (tsgan.training.validate): config
errors, a bad run folder or teacher stop it with one line and exit 2 before anything trains or any
run folder is made; a teacher file is part of the run's key; a zero-step training is never a
finished run."""

import pytest
import torch
from engine_helpers import random_teacher, tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.__main__ import main
from tsgan.config import check_config, get_config, replace
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.engine.rundir import RunDir
from tsgan.experiments.ablate import ROWS, run_ablation, select_rows
from tsgan.training import (
    cached_run,
    get_or_train_teacher,
    run_inputs,
    run_key,
    same_run,
    training_config,
    validate,
)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The tiny config, its command-line overrides, and an empty run cache in tmp_path/runs."""
    monkeypatch.setenv("TSGAN_RUNS", str(tmp_path / "runs"))
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.epochs": 1})
    return cfg, [*_overrides(cfg), "train.log_every=1"]


def _error(capsys) -> str:
    """The one line a refused command printed (stderr), checked to be one line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def _cached(tmp_path) -> list[str]:
    """Every run folder in the cache (made by anything, finished or not)."""
    cache = tmp_path / "runs" / "cache"
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def _runs_list(capsys) -> str:
    assert main(["runs", "list"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("epochs", [0, -2])
def test_a_teacher_of_no_epochs_is_refused_not_cached_as_finished(tiny, tmp_path, capsys, epochs):
    cfg, args = tiny
    for command in ("train-teacher", "train"):
        assert main([command, "--preset", "cpu", *args, f"train.teacher_epochs={epochs}"]) == 2
        assert f"train.teacher_epochs={epochs} must be at least 1" in _error(capsys)
        assert _cached(tmp_path) == []
    assert "no cached runs" in _runs_list(capsys)


def test_a_zero_step_final_checkpoint_is_not_a_trained_run(tiny):
    """A final.pt without any logged step (what a 0-epoch training once wrote) is trained again."""
    cfg, _ = tiny
    run = cached_run(cfg, "teacher")
    random_teacher(cfg, run.final)
    assert run.finished and not run.trained
    final = get_or_train_teacher(cfg)
    assert final == run.final and run.trained
    assert [r["step"] for r in run.read_metrics("epoch")] == [3]  # 1 epoch of 3 batches


@pytest.mark.parametrize(
    "overrides, named",
    [
        (["optim.epochs=0"], "optim.epochs=0 must be at least 1"),
        # the cpu preset's 4 warm-up epochs with 2 epochs: refused before the teacher trains
        (["optim.epochs=2", "optim.gan_warmup_epochs=4"], "optim.gan_warmup_epochs=4 must be in"),
        (["train.use_gan=false"], "train.use_teacher=true needs train.use_gan=true"),
        (["train.log_every=0"], "train.log_every=0 must be at least 1"),
    ],
)
def test_config_errors_stop_train_before_the_teacher_trains(
    tiny, tmp_path, capsys, overrides, named
):
    _, args = tiny
    assert main(["train", "--preset", "cpu", *args, *overrides]) == 2
    assert named in _error(capsys)
    assert _cached(tmp_path) == []


def test_a_run_dir_of_another_config_is_refused_before_the_teacher_trains(tiny, tmp_path, capsys):
    _, args = tiny
    RunDir(tmp_path / "g").create(get_config("cpu", args))  # an earlier run of these overrides
    argv = ["train", "--preset", "cpu", "--run-dir", str(tmp_path / "g"), *args, "optim.lr=0.5"]
    assert main(argv) == 2
    line = _error(capsys)
    assert "differs in ['optim.lr']" in line and "is 0.001 there, 0.5 here" in line
    assert "another --run-dir" in line
    assert _cached(tmp_path) == []  # no teacher trained


def _two_teachers(cfg, tmp_path):
    torch.manual_seed(1)
    x = random_teacher(cfg, tmp_path / "x.pt")
    torch.manual_seed(2)
    y = random_teacher(cfg, tmp_path / "y.pt")
    return x, y


def test_a_teacher_file_is_part_of_the_run_key(tiny, tmp_path, capsys):
    """Another --teacher trains another run, with that teacher inside (weights compared)."""
    cfg, args = tiny
    x, y = _two_teachers(cfg, tmp_path)
    finals = {}
    for name, teacher in (("x", x), ("y", y)):
        assert main(["train", "--preset", "cpu", *args, "--teacher", str(teacher)]) == 0
        out = capsys.readouterr().out
        (path,) = [w for w in out.split() if w.endswith("final.pt")][:1]
        finals[name] = path
    assert finals["x"] != finals["y"]
    for name, teacher in (("x", x), ("y", y)):
        inside = load_checkpoint(finals[name])["models"]["teacher"]
        given = load_checkpoint(teacher)["models"]["backbone"]
        fe = [k for k in inside if k.startswith("FE.")]
        assert fe and all(torch.equal(inside[k], given[k]) for k in fe), name
    # the cached teacher of the config was never trained: both runs used the files
    assert not any(n.startswith("teacher-") for n in _cached(tmp_path))
    # keys without a teacher file are those of the config alone
    assert run_key(cfg, "tsgan", {}) == run_key(cfg, "tsgan")
    assert run_key(cfg, "tsgan", run_inputs(x)) != run_key(cfg, "tsgan", run_inputs(y))


def test_a_run_dir_trained_with_another_teacher_is_refused(tiny, tmp_path, capsys):
    cfg, args = tiny
    x, y = _two_teachers(cfg, tmp_path)
    run = ["train", "--preset", "cpu", "--run-dir", str(tmp_path / "g"), *args]
    assert main([*run, "--teacher", str(x), "--stop-at-step", "1"]) == 0
    capsys.readouterr()
    assert main([*run, "--teacher", str(y)]) == 2
    line = _error(capsys)
    assert "trained from other inputs (teacher_sha256 is" in line and "another --run-dir" in line
    assert RunDir(tmp_path / "g").steps_done() == 1  # the first run is untouched


def test_a_teacher_of_another_width_is_one_line_naming_the_option(tiny, tmp_path, capsys):
    cfg, args = tiny
    teacher = random_teacher(replace(cfg, model__width=16), tmp_path / "narrow.pt")
    argv = ["train", "--preset", "cpu", "--run-dir", str(tmp_path / "g"), *args]
    assert main([*argv, "--teacher", str(teacher)]) == 2
    line = _error(capsys)
    assert f"--teacher {teacher} does not fit" in line and "model.width=16 there, 32 here" in line
    assert not (tmp_path / "g").exists()
    # a run that needs no teacher refuses one instead of ignoring it
    no_teacher = ["train.use_gan=false", "train.use_teacher=false", "model.student_init=pretrained"]
    assert main([*argv, *no_teacher, "--teacher", str(teacher)]) == 2
    assert "is not used by this run" in _error(capsys)


def test_a_start_that_fails_before_its_first_step_leaves_no_folder(tiny, tmp_path, capsys):
    """A teacher of another dataset (other identities) fails after the run folder is made: the
    folder goes again, and runs list shows nothing."""
    cfg, args = tiny
    teacher = random_teacher(cfg, tmp_path / "other.pt", num_classes=3)
    assert main(["train", "--preset", "cpu", *args, "--teacher", str(teacher)]) == 2
    assert "the teacher was trained on 3 identities, this dataset has 5" in _error(capsys)
    assert _cached(tmp_path) == []
    assert "no cached runs" in _runs_list(capsys)


def test_a_run_folder_that_cannot_be_made_is_refused(tiny, tmp_path, capsys):
    _, args = tiny
    (tmp_path / "afile").write_text("")
    argv = ["train-teacher", "--preset", "cpu", "--run-dir", str(tmp_path / "afile" / "run")]
    assert main([*argv, *args]) == 2
    assert "is a file; choose another --run-dir or train.out_dir" in _error(capsys)


def test_orphan_temporary_checkpoints_are_removed_on_start(tiny, tmp_path, capsys):
    _, args = tiny
    run = RunDir(tmp_path / "t")
    argv = ["train-teacher", "--preset", "cpu", "--run-dir", str(run.path), *args]
    assert main([*argv, "--stop-at-step", "1"]) == 0
    orphans = [run.checkpoints / ".last.pt.k1ll3d.tmp", run.checkpoints / ".final.pt.abc.tmp"]
    for path in orphans:
        path.write_bytes(b"\0" * 100)
    keep = run.checkpoints / "notes.tmp"  # not a name save_checkpoint makes
    keep.write_text("mine")
    capsys.readouterr()
    assert main(argv) == 0
    assert "removed 2 temporary checkpoint file(s)" in capsys.readouterr().err
    assert not any(p.exists() for p in orphans) and keep.is_file() and run.trained


def test_ablate_refuses_an_override_of_a_row_switch(tiny, tmp_path, capsys):
    cfg, args = tiny
    argv = ["ablate", "--preset", "cpu", *args]
    for override in ("train.use_teacher=false", "model.discriminator=ordinary"):
        assert main([*argv, override, "--seeds", "1", "--rows", "jd"]) == 2
        field = override.split("=")[0]
        assert f"{field}=" in (line := _error(capsys)) and f"each row sets {field} itself" in line
    assert _cached(tmp_path) == []


def test_ablate_checks_every_row_before_the_first_trains(tiny, tmp_path, capsys):
    """The Backbone row (no GAN) is valid with 1 epoch and a 1-epoch GAN warm-up; the TS-GAN_JD
    row is not: nothing trains."""
    _, args = tiny
    argv = ["ablate", "--preset", "cpu", *args, "optim.gan_warmup_epochs=1"]
    assert main([*argv, "--seeds", "1", "--rows", "backbone", "jd"]) == 2
    assert "optim.gan_warmup_epochs=1 must be in [0, optim.epochs=1)" in _error(capsys)
    assert _cached(tmp_path) == []


def test_run_ablation_refuses_switches_from_python_too(tiny):
    cfg, _ = tiny
    with pytest.raises(ValueError, match="each row sets train.use_teacher itself"):
        run_ablation(replace(cfg, train__use_teacher=False), select_rows(["jd"]), [0])


def test_check_config_checks_the_teacher_only_when_it_trains():
    cfg = get_config("cpu", ["train.teacher_epochs=0"])
    check_config(cfg, ("tsgan",))  # TS-GAN alone (its teacher given as a file)
    with pytest.raises(ValueError, match="train.teacher_epochs=0"):
        check_config(cfg, ("tsgan", "teacher"))
    with pytest.raises(ValueError, match="train.teacher_epochs=0"):
        check_config(cfg, ("rgb_baseline",))
    with pytest.raises(ValueError, match="unknown training kind"):
        check_config(cfg, ("student",))


def test_every_ablation_row_of_both_presets_validates():
    """The committed rows are trainable configs (what run_ablation checks before training)."""
    for preset in ("cpu", "paper"):
        base = get_config(preset, ["train.device=cpu"])
        for row in ROWS:
            check_config(row.config(base, 0), ("tsgan", "teacher"))
    assert validate(get_config("cpu"), "tsgan").path == cached_run(get_config("cpu"), "tsgan").path


def test_the_trainer_itself_refuses_zero_steps(tiny, tmp_path, monkeypatch):
    """Behind validate, the loop refuses a 0-epoch training too: no final.pt, no folder left."""
    import tsgan.training as runs

    cfg, _ = tiny
    monkeypatch.setattr(runs, "validate", lambda *args, **kwargs: None)
    with pytest.raises(ValueError, match=r"teacher: a training of 0 steps \(0 epochs of 3"):
        runs.train_teacher(replace(cfg, train__teacher_epochs=0), tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_ablate_refuses_zero_seeds_with_one_line(capsys):
    assert main(["ablate", "--preset", "cpu", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1, got 0" in _error(capsys)


def test_a_cached_run_is_matched_by_its_key_not_every_field(tiny):
    """Ablation rows share the seed's teacher, saved with the first row's config; evaluation and
    logging fields do not make another run. A field in the key still refuses, named alone."""
    cfg, _ = tiny
    backbone_row, jd_row = (r.config(cfg, 0) for r in select_rows(["backbone", "jd"]))
    teacher = cached_run(backbone_row, "teacher")
    assert teacher.path == cached_run(jd_row, "teacher").path
    teacher.create(training_config(backbone_row, "teacher"))
    assert validate(jd_row, "tsgan").path == cached_run(jd_row, "tsgan").path
    run = cached_run(jd_row, "tsgan")
    run.create(jd_row)
    other = replace(jd_row, eval__trials=2, train__log_every=7)
    assert validate(other, "tsgan").path == run.path
    with pytest.raises(ValueError, match=r"differs in \['optim.lr'\]: optim.lr is 0.001 there"):
        run.check(replace(other, optim__lr=0.5), {}, same_run("tsgan"))
