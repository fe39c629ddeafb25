"""Tiny configs and a tiny SYSU-layout tree for the engine tests (seconds per run on a CPU).

The shared embedded trees are fixtures of ``conftest.py``; these are plain functions because tests
call them with overrides, at module level and inside their own helpers."""

from __future__ import annotations

from pathlib import Path

from fakes import make_sysu_tree

from tsgan.checks import exercise_config
from tsgan.config import Config, get_config
from tsgan.engine.checkpoint import save_checkpoint
from tsgan.models import build_backbone

TRAIN_IDS, VAL_IDS, TEST_IDS = [1, 2, 3, 4], [5], [6, 7]


# The cpu preset at 32x16 with the smallest generators and discriminators: one Algorithm 1 step in
# a fraction of a second (no dataset needed); the exercises' model, one definition for both.
tiny_step_config = exercise_config


def tiny_config(root: Path, **overrides) -> Config:
    """The cpu preset shrunk to 32x16 images, 2 identities x 2 pairs, 3 batches per epoch, 2
    epochs."""
    base = {
        "data.dataset": "sysu",
        "data.root": str(root),
        "data.height": 32,
        "data.width": 16,
        "data.pad": 2,
        "data.P": 2,
        "data.K": 2,
        "data.batches_per_epoch": 3,
        "data.cache": False,
        "data.workers": 0,
        "model.gen_filters": 4,
        "model.gen_blocks": 1,
        "model.disc_filters": 4,
        "model.disc_layers": 1,
        "optim.epochs": 2,
        "optim.gan_warmup_epochs": 0,  # the paper's line 3 from the first step
        "optim.warmup_epochs": 1,
        "optim.milestones": (1,),
        "train.teacher_epochs": 1,
        "train.log_every": 1,
        "train.device": "cpu",
    }
    base.update(overrides)
    return get_config("cpu", base)


def tiny_dataset(tmp: Path) -> Path:
    return make_sysu_tree(
        tmp / "sysu", TRAIN_IDS, VAL_IDS, TEST_IDS, images_per_cam=2, size=(32, 16)
    )


def random_teacher(cfg: Config, path: Path, num_classes: int = len(TRAIN_IDS + VAL_IDS)) -> Path:
    """A teacher checkpoint with random weights (what train_teacher writes, without the
    training); ``num_classes``: the training identities of the data (the tiny tree's by
    default)."""
    net = build_backbone(cfg.model, num_classes)
    return save_checkpoint(
        path,
        {
            "config": cfg.to_dict(),
            "num_classes": num_classes,
            "kind": "teacher",
            "models": {"backbone": net.state_dict()},
        },
    )
