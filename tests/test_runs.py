"""Cached-run keys (tsgan.training.run_key, built on Config.digest): exactly the fields that
change a run's result change its key, checked field by field against lists written out here."""

import dataclasses
import hashlib
import json

import pytest

from tsgan.config import Config, choices, from_dict, get_config, set_field
from tsgan.training import run_key

# Written out independently of the NOT_RESULT / TEACHER marks in tsgan/config.py.
NOT_RESULT = {
    "train.device",
    "train.log_every",
    "train.log",
    "train.ckpt_every",
    "train.out_dir",
    "train.compile",
    "train.probe_images",
    "train.probe_eval",
}
# Data fields that act on RGB images only: never in the teacher's key, in the TS-GAN key only away
# from False, the value runs had before they existed (the keys cached then stay valid).
RGB_ONLY = {"data.grayscale", "data.channel_aug"}
# added after runs were cached: left out of every key while they hold the value every run had
# before (not "the default": a default may change later, old runs keep this value)
KEYED_UNLESS = {
    "train.fakes": "generator",
    "model.gen_upsample": "deconv",
    "data.split": "test",
    "data.world": "v3",
    "data.synth_train_ids": 0,
    "loss.fakes_in_reid": "joined",
    "loss.fakes_gate_ssim": 0.6,
    "optim.warmup_factor": 0.0,
    "data.grayscale": False,
    "data.channel_aug": False,
    "train.twin_degrade": 0,
}
TEACHER = {
    "model.arch",
    "model.pretrained",
    "model.last_stride",
    "model.width",
    "loss.lambda1",
    "loss.lambda2",
    "loss.label_smooth",
    "loss.margin",
    "optim.lr",
    "optim.weight_decay",
    "optim.warmup_epochs",
    "optim.warmup_factor",
    "optim.gamma",
    "train.seed",
    "train.amp",
    "train.channels_last",
    "train.teacher_epochs",
    "train.teacher_milestones",
    "train.teacher_K",
}
SECTIONS = ("data", "model", "loss", "optim", "train", "eval")


def every_field() -> list[str]:
    return [f"{s}.{f.name}" for s in SECTIONS for f in dataclasses.fields(getattr(Config(), s))]


def changed(cfg: Config, key: str) -> Config:
    """A copy of ``cfg`` with ``key`` set to another valid value."""
    section, name = key.split(".")
    value = getattr(getattr(cfg, section), name)
    allowed = choices(type(getattr(cfg, section)), name)
    if allowed:
        new = next(c for c in allowed if c != value)
    elif isinstance(value, bool):
        new = not value
    elif isinstance(value, int | float):
        new = value * 2 + 1
    elif isinstance(value, tuple):
        new = value + (99,)
    else:
        new = value + "x"
    out = from_dict(cfg.to_dict())
    set_field(out, key, new)
    return out


@pytest.mark.parametrize("key", every_field())
def test_each_field_changes_the_keys_it_should(key):
    cfg = get_config("cpu")
    new = changed(cfg, key)
    section = key.split(".")[0]
    in_tsgan = section != "eval" and key not in NOT_RESULT
    in_teacher = (section == "data" and key not in RGB_ONLY) or key in TEACHER
    assert (run_key(new, "tsgan") != run_key(cfg, "tsgan")) == (in_tsgan or in_teacher), key
    assert (run_key(new, "teacher") != run_key(cfg, "teacher")) == in_teacher, key
    # the RGB baseline sees RGB images: the RGB-only fields change its key
    in_rgb = in_teacher or key in RGB_ONLY
    assert (run_key(new, "rgb_baseline") != run_key(cfg, "rgb_baseline")) == in_rgb, key


def _reference_key(cfg: Config, kind: str, version: int) -> str:
    """The run key as the run cache computed it before Config.digest did (keys must not move)."""
    d = cfg.to_dict()
    for k, old in KEYED_UNLESS.items():  # fields added later: absent while they hold ``old``
        s, f = k.split(".")
        if d[s][f] == old or (kind == "teacher" and k in RGB_ONLY):
            del d[s][f]
    if kind == "teacher":
        key = {"data": d["data"]}
        for k in sorted(TEACHER):
            s, f = k.split(".")
            if f in d[s]:  # not a KEYED_UNLESS field at its old value
                key.setdefault(s, {})[f] = d[s][f]
    else:
        key = {
            s: {f: v for f, v in d[s].items() if f"{s}.{f}" not in NOT_RESULT}
            for s in ("data", "model", "loss", "optim", "train")
        }
        if cfg.train.use_teacher or cfg.model.student_init == "teacher":
            key["teacher"] = _reference_key(cfg, "teacher", version)
    if cfg.data.dataset == "synthetic":
        key["synthetic_version"] = version
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]


@pytest.mark.parametrize(
    "preset, overrides",
    [
        ("cpu", []),
        ("paper", []),
        ("cpu", ["model.discriminator=ordinary", "loss.ts_losses=cross"]),
        (
            "cpu",
            ["train.use_gan=false", "train.use_teacher=false", "model.student_init=pretrained"],
        ),
        ("paper", ["data.dataset=sysu", "data.root=/data/SYSU-MM01", "train.amp=bf16"]),
        ("cpu", ["train.use_gan=false", "train.fakes=twins", "model.gen_upsample=resize"]),
        ("cpu", ["data.split=val", "loss.fakes_in_reid=gated", "optim.warmup_factor=0.1"]),
        ("cpu", ["train.use_gan=false", "train.fakes=twins", "train.twin_degrade=2"]),
    ],
)
def test_keys_are_those_of_the_earlier_recipe(preset, overrides):
    """Existing runs/cache folders stay valid: the keys did not change with the move to digest."""
    from tsgan.data.synthetic import GENERATOR_VERSION

    cfg = get_config(preset, overrides)
    for kind in ("teacher", "tsgan"):
        assert run_key(cfg, kind) == _reference_key(cfg, kind, GENERATOR_VERSION)


def test_unknown_kind():
    with pytest.raises(ValueError, match="'teacher', 'rgb_baseline', 'tsgan'"):
        run_key(get_config("cpu"), "student")


@pytest.mark.parametrize("preset", ["cpu", "paper"])
def test_the_rgb_baseline_has_its_own_key(preset):
    """Table III's RGB row is keyed like the teacher plus its modality: never the teacher's run."""
    cfg = get_config(preset)
    assert run_key(cfg, "rgb_baseline") not in (run_key(cfg, "teacher"), run_key(cfg, "tsgan"))


@pytest.mark.parametrize("modality", ["ir", "rgb"])
def test_the_teacher_trains_on_its_own_batch(monkeypatch, tmp_path, modality):
    """train.teacher_K sets the pairs per identity of the pretraining's batches, not TS-GAN's."""
    import tsgan.training as runs

    seen = {}

    def fake_train(cfg, run_dir, make_model, epochs, desc, stop_at_step, **kwargs):
        seen.update(K=cfg.data.K, P=cfg.data.P, epochs=epochs, kind=make_model.kind)

    monkeypatch.setattr(runs, "_train", fake_train)
    cfg = get_config("cpu", {"data.K": 2, "train.teacher_K": 3, "train.teacher_epochs": 5})
    runs.train_teacher(cfg, tmp_path, modality=modality)
    assert seen == {"K": 3, "P": cfg.data.P, "epochs": 5, "kind": runs.baseline(modality).kind}
    assert cfg.data.K == 2  # the caller's config (TS-GAN's batch) is untouched
