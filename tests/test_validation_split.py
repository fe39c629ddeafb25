"""data.split=val: training on the train ids alone, the SYSU-MM01 protocol on the val ids, the
test ids never read (checked against an independently written draw and by spying on every
image the evaluation opens)."""

import os
import random

import pytest
from fakes import make_regdb_tree, make_sysu_tree
from PIL import Image

from tsgan.config import get_config
from tsgan.data import read_sysu
from tsgan.data.protocols import sysu_protocol
from tsgan.data.records import DatasetError
from tsgan.data.sysu import IR_CAMS, RGB_CAMS, validation_split
from tsgan.eval.report import evaluate_model, protocol_trials
from tsgan.training import load_dataset, run_key

TRAIN, VAL, TEST = [1, 2, 5], [3, 7], [4, 9, 11]
MISSING = {(3, 2), (7, 4), (7, 6)}  # val ids without some cameras: the camera rule must hold


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_sysu_tree(
        tmp_path_factory.mktemp("sysu"), TRAIN, VAL, TEST, images_per_cam=3, missing=MISSING
    )


def cfg_for(root, split="val", **extra):
    """A small config on ``root``; ``split=None`` leaves data.split unset."""
    return get_config(
        "cpu",
        {
            "data.dataset": "sysu",
            "data.root": str(root),
            **({} if split is None else {"data.split": split}),
            "data.height": 16,
            "data.width": 8,
            "data.cache": False,
            "train.device": "cpu",
            **extra,
        },
    )


def val_gallery_by_hand(root, mode, trial):
    """The common Python baseline's gallery draw, pointed at exp/val_id.txt: strings, os.listdir,
    the global random module."""
    random.seed(trial)
    cameras = ["cam1", "cam2", "cam4", "cam5"] if mode == "all" else ["cam1", "cam2"]
    with open(os.path.join(root, "exp/val_id.txt")) as f:
        ids = ["%04d" % int(y) for y in f.read().split(",")]  # noqa: UP031
    files = []
    for pid in sorted(ids):
        for cam in cameras:
            img_dir = os.path.join(root, cam, pid)
            if os.path.isdir(img_dir):
                files.append(random.choice(sorted(img_dir + "/" + i for i in os.listdir(img_dir))))
    return files


def test_the_training_split_holds_the_val_ids_out(tree):
    full = read_sysu(tree)
    assert {s.pid for s in full.train} == set(TRAIN + VAL)  # the published practice: train + val
    data = validation_split(full)
    assert {s.pid for s in data.train} == set(TRAIN) and data.train_ids == TRAIN
    assert {s.pid for s in data.test} == set(VAL) and data.test_ids == VAL
    assert data.num_train_ids == len(TRAIN)
    assert data.pid2label == {1: 0, 2: 1, 5: 2}
    # every image of a val id moved to the scored side, none of the test ids is left anywhere
    assert sorted(data.test) == sorted(s for s in full.train if s.pid in VAL)
    assert not {s.pid for s in data.train + data.test} & set(TEST)
    # the engine's loader applies it only when asked
    assert load_dataset(cfg_for(tree)).train == data.train
    assert load_dataset(cfg_for(tree, "test")).train == full.train


@pytest.mark.parametrize("mode", ["all", "indoor"])
def test_the_val_protocol_is_sysu_on_the_val_ids(tree, mode):
    for trial in range(10):
        queries, gallery = sysu_protocol(tree, mode=mode, trial=trial, ids="val")
        assert {s.pid for s in queries} == set(VAL)
        assert {s.cam for s in queries} <= set(IR_CAMS)
        assert len(queries) == sum(3 for p in VAL for c in IR_CAMS if (p, c) not in MISSING)
        cams = RGB_CAMS if mode == "all" else (1, 2)
        assert {s.cam for s in gallery} <= set(cams)
        assert [os.path.normpath(s.path) for s in gallery] == [
            os.path.normpath(p) for p in val_gallery_by_hand(str(tree), mode, trial)
        ]
    test_queries, _ = sysu_protocol(tree, mode=mode, ids="test")
    assert {s.pid for s in test_queries} == set(TEST)  # the default is untouched


def test_protocol_trials_follow_data_split(tree):
    val_trials = protocol_trials(cfg_for(tree, "val"))
    test_trials = protocol_trials(cfg_for(tree, "test"))
    assert len(val_trials) == len(test_trials) == 10
    for t in val_trials:
        assert {s.pid for s in t["queries"] + t["gallery"]} <= set(VAL)
        assert t["ids"] == "val"
    for t in test_trials:
        assert {s.pid for s in t["queries"] + t["gallery"]} <= set(TEST)


def test_validation_never_opens_a_test_image(tree, monkeypatch):
    """Spy on every image file opened while scoring: with data.split=val none is of a test id,
    and every val query is scored."""
    opened = []
    real = Image.open

    def spy(path, *args, **kwargs):
        opened.append(int(os.path.basename(os.path.dirname(path))))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    cfg = cfg_for(tree, "val", **{"eval.trials": 2})
    report = evaluate_model(lambda x: x.flatten(1)[:, :16], cfg, progress=False)
    assert opened and set(opened) <= set(VAL), sorted(set(opened))
    assert report["split"] == "val"
    assert report["results"][0]["num_query"] == sum(
        3 for p in VAL for c in IR_CAMS if (p, c) not in MISSING
    )


def test_the_split_is_keyed_for_teacher_and_student_but_not_by_default(tree):
    base = cfg_for(tree, "test")
    val = cfg_for(tree, "val")
    for kind in ("teacher", "tsgan"):
        assert run_key(val, kind) != run_key(base, kind)  # a train+val teacher is never reused
    for kind in ("teacher", "tsgan"):  # the default leaves every existing key as it was
        assert run_key(base, kind) == run_key(cfg_for(tree, None), kind)


def test_datasets_without_val_ids_refuse_the_val_split(tmp_path):
    root = make_regdb_tree(tmp_path / "regdb", ids=list(range(1, 9)))
    cfg = get_config("cpu", {"data.dataset": "regdb", "data.root": str(root), "data.split": "val"})
    with pytest.raises(DatasetError, match="data.split=val needs validation identities"):
        load_dataset(cfg)
    with pytest.raises(ValueError, match="data.split='val' needs validation identities"):
        protocol_trials(cfg)
    with pytest.raises(ValueError, match="data.split must be one of"):
        load_dataset(get_config("cpu", {"data.root": str(root), "data.split": "dev"}))
