"""One definition of a run: the config's field metadata alone says what a field is to a run.

A copy of the config gains one field of each kind (changes results, only says where files go,
the teacher's, keyed unless it holds its old value, an ablation switch, a budget field), and every
consumer must follow without being told: the run key (``tsgan.training.run_key``), the resume
check of a run folder (``RunDir.check``), the ablation's rows and switch check, and its budget
check. ``loss.fakes_in_reid``'s default was flipped from "joined" to "never" after the keys were
pinned: the keys of runs that set the old value stayed, the runs that take the new default got
keys of their own (the ones runs that set "never" had before).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tsgan.config import (
    BUDGET,
    NOT_RESULT,
    TEACHER,
    Config,
    TrainConfig,
    budget_fields,
    from_dict,
    get_config,
    keyed_unless,
    replace,
    run_fields,
    switch,
    switches,
)
from tsgan.engine.rundir import RunDir
from tsgan.experiments.ablate import Row, budget, check_budgets, check_switches, select_rows
from tsgan.training import run_key, same_run

PINNED = json.loads((Path(__file__).parent / "data" / "run_keys.json").read_text())


@dataclass
class TrainPlus(TrainConfig):
    new_result: int = 0
    new_where: int = field(default=0, metadata=NOT_RESULT)
    new_teacher: int = field(default=0, metadata=TEACHER)
    new_switch: bool = field(default=False, metadata=switch(False))
    new_budget: int = field(default=1, metadata=BUDGET)


@dataclass
class ConfigPlus(Config):
    train: TrainPlus = field(default_factory=TrainPlus)


@dataclass
class TrainKeyed(TrainConfig):
    new_keyed: str = field(default="old", metadata=keyed_unless("old"))


@dataclass
class ConfigKeyed(Config):
    train: TrainKeyed = field(default_factory=TrainKeyed)


# Keys before loss.fakes_in_reid's default became "never" (tests/data/run_keys.json as first
# written): the runs that set "joined" must still find them.
BEFORE_FLIP = {
    "cpu tsgan": "883809d2d6",  # TS-GAN_JD of the cpu preset, X_I' in L_ID / L_Tri
    "cpu row jd seed 1": "99daf01df0",
    "cpu row od seed 0": "ec5c5e5ff7",
    "cpu row jd-xi-ts seed 0": "ff67ff777f",  # the row that set "never" before the flip
    "cpu row jd-xi-ts seed 1": "bf4d885d5b",
}


def copy_of(cls: type[Config], preset: str = "cpu", **overrides) -> Config:
    """The preset built on ``cls``: ``cls``'s defaults with the fields the preset sets (as its
    function would set them on that class), then ``overrides``."""
    preset_values, defaults = get_config(preset).to_dict(), Config().to_dict()
    changed = {
        section: {k: v for k, v in values.items() if v != defaults[section][k]}
        for section, values in preset_values.items()
        if section != "name"
    }
    return replace(from_dict({"name": preset, **changed}, cls), **overrides)


def keys(cfg: Config) -> dict[str, str]:
    return {kind: run_key(cfg, kind) for kind in ("teacher", "tsgan")}


def test_run_key_follows_the_metadata():
    cfg = copy_of(ConfigPlus)
    assert type(cfg) is ConfigPlus and type(replace(cfg)) is ConfigPlus
    base = keys(cfg)
    result = keys(replace(cfg, train__new_result=1))
    assert result["tsgan"] != base["tsgan"] and result["teacher"] == base["teacher"]
    assert keys(replace(cfg, train__new_where=1)) == base
    teacher = keys(replace(cfg, train__new_teacher=1))
    assert teacher["teacher"] != base["teacher"] and teacher["tsgan"] != base["tsgan"]


def test_a_keyed_unless_field_keeps_the_keys_of_runs_made_before_it():
    old = copy_of(ConfigKeyed)
    assert keys(old) == {"teacher": PINNED["cpu teacher"], "tsgan": PINNED["cpu tsgan"]}
    new = keys(replace(old, train__new_keyed="new"))
    assert new["tsgan"] != PINNED["cpu tsgan"]


def test_flipping_a_default_moved_only_the_runs_that_take_it():
    cfg = get_config("cpu")
    assert cfg.loss.fakes_in_reid == "never"
    # runs that set the old value keep their keys (and so their cached runs and results)
    joined = replace(cfg, loss__fakes_in_reid="joined")
    assert run_key(joined, "tsgan") == BEFORE_FLIP["cpu tsgan"]
    assert run_key(replace(joined, train__seed=1), "tsgan") == BEFORE_FLIP["cpu row jd seed 1"]
    # a row is a switch set: TS-GAN_OD now takes "never"; stating "joined" finds its old run
    (od,) = select_rows(["od"])
    assert run_key(od.config(cfg, 0), "tsgan") != BEFORE_FLIP["cpu row od seed 0"]
    od_joined = Row("od-joined", "OD, joined", {**od.switches, "loss.fakes_in_reid": "joined"})
    assert run_key(od_joined.config(cfg, 0), "tsgan") == BEFORE_FLIP["cpu row od seed 0"]
    (xi_joined,) = select_rows(["jd-xi-joined"])
    assert run_key(xi_joined.config(cfg, 0), "tsgan") == BEFORE_FLIP["cpu tsgan"]
    # the new default's runs are the runs that set "never" before the flip: their own key
    for seed in (0, 1):
        (jd,) = select_rows(["jd"])
        assert (
            run_key(jd.config(cfg, seed), "tsgan") == BEFORE_FLIP[f"cpu row jd-xi-ts seed {seed}"]
        )
    assert run_key(cfg, "tsgan") == PINNED["cpu tsgan"] != BEFORE_FLIP["cpu tsgan"]
    # rows without X_I' keep the key they always had
    for seed in (0, 1):
        (bb,) = select_rows(["backbone"])
        name = f"cpu row backbone seed {seed}"
        assert run_key(bb.config(cfg, seed), "tsgan") == PINNED[name], name
    # the base config of the ablation takes the new default without being refused
    check_switches(cfg)


def test_resume_check_follows_the_metadata(tmp_path):
    cfg = copy_of(ConfigPlus)
    for same in (None, same_run("tsgan")):
        run = RunDir(tmp_path / f"run-{same is None}").create(cfg, same=same)
        run.check(replace(cfg, train__new_where=5, train__device="cpu"), same=same)
        run.check(replace(cfg, eval__trials=3, name="other"), same=same)
        with pytest.raises(ValueError, match=r"train\.new_result is 0 there, 1 here"):
            run.check(replace(cfg, train__new_result=1), same=same)
    assert "train.new_result" in run_fields(cfg) and "train.new_where" not in run_fields(cfg)
    assert not any(k.startswith("eval.") for k in run_fields(cfg))


def test_ablation_switches_and_budget_follow_the_metadata():
    cfg = copy_of(ConfigPlus)
    assert switches(cfg)["train.new_switch"] is False
    row = Row("new", "New switch", {"train.new_switch": True})
    on = row.config(cfg, 0)
    assert type(on) is ConfigPlus and on.train.new_switch is True and on.train.seed == 0
    (jd,) = select_rows(["jd"])
    assert jd.config(replace(cfg, train__new_switch=False), 1).train.new_switch is False
    with pytest.raises(ValueError, match=r"train\.new_switch=True cannot be set"):
        check_switches(replace(cfg, train__new_switch=True))
    with pytest.raises(KeyError, match="not ablation switches"):
        Row("bad", "Bad", {"train.new_result": 1}).config(cfg, 0)
    assert "train.new_budget" in budget_fields(cfg) and budget(cfg)["train.new_budget"] == 1
    check_budgets({"a": cfg, "b": replace(cfg, train__new_result=3)})
    with pytest.raises(ValueError, match="equal budgets"):
        check_budgets({"a": cfg, "b": replace(cfg, train__new_budget=2)})


def test_the_real_config_declares_what_the_ablation_used_to_list():
    """The switches and budget fields of today's config (written out here, independently)."""
    cfg = get_config("cpu")
    assert switches(cfg) == {
        "train.use_gan": True,
        "train.use_teacher": True,
        "model.discriminator": "joint",
        "loss.ts_losses": "all",
        "data.channel_aug": False,
        "data.grayscale": False,
        "train.fakes": "generator",
        "loss.fakes_in_reid": "never",
        "train.twin_degrade": 0,
    }
    assert sorted(budget_fields(cfg)) == sorted(
        [
            "optim.epochs",
            "data.batches_per_epoch",
            "data.P",
            "data.K",
            "train.teacher_epochs",
            "optim.warmup_epochs",
            "optim.milestones",
            "train.teacher_milestones",
            "train.teacher_K",
        ]
    )
