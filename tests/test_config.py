"""Config presets, dotted overrides, save/load, digests."""

import dataclasses

import pytest

from tsgan.config import Config, choices, get_config, replace


def test_paper_preset_is_the_recipe_of_section_iv_b():
    cfg = get_config("paper")
    assert (cfg.data.P, cfg.data.K) == (8, 4)  # batch 64 = 8 people x 4 RGB-IR pairs
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.epochs) == (3.5e-4, 5e-4, 120)
    assert (cfg.optim.warmup_epochs, cfg.optim.milestones, cfg.optim.gamma) == (10, (40, 70), 0.3)
    assert (cfg.loss.lambda1, cfg.loss.lambda2, cfg.loss.lambda3) == (3.0, 1.0, 0.1)
    assert (cfg.loss.alpha_c, cfg.loss.alpha_s, cfg.loss.omega, cfg.loss.margin) == (
        0.006,
        0.003,
        10.0,
        0.3,
    )
    assert (cfg.model.arch, cfg.model.last_stride, cfg.model.gen_filters, cfg.model.gen_blocks) == (
        "resnet50",
        1,
        64,
        9,
    )
    assert (cfg.eval.k1, cfg.eval.k2, cfg.eval.lambda_) == (20, 6, 0.3)


def test_overrides_convert_to_the_field_types():
    cfg = get_config(
        "cpu",
        [
            "optim.lr=1e-3",
            "data.P=4",
            "train.use_gan=false",
            "optim.milestones=3,5",
            "model.discriminator=ordinary",
        ],
    )
    assert cfg.optim.lr == 1e-3 and isinstance(cfg.optim.lr, float)
    assert cfg.data.P == 4 and cfg.train.use_gan is False and cfg.optim.milestones == (3, 5)
    assert cfg.model.discriminator == "ordinary"
    assert get_config("cpu", {"data.K": 3}).data.K == 3


@pytest.mark.parametrize(
    "override, match",
    [
        ("optim.lr", "section.field=value"),
        ("optimizer.lr=1", "unknown config section"),
        ("optim.learning_rate=1", "unknown config field"),
        ("data.P=four", "expects int"),
        ("train.use_gan=maybe", "expects bool"),
        ("loss.ts_reduction=median", "ts_reduction.*one of .*channel_sum"),
    ],
)
def test_bad_overrides_say_what_is_wrong(override, match):
    with pytest.raises((KeyError, ValueError), match=match):
        get_config("cpu", [override])


def test_both_presets_reduce_ts_losses_per_position():
    """Eq. 13-15 summed over channels, averaged over positions: one scale at 64x32 and 288x144."""
    for preset in ("paper", "cpu"):
        assert get_config(preset).loss.ts_reduction == "channel_sum"


def test_unknown_preset():
    with pytest.raises(KeyError, match="known"):
        get_config("gpu")


def test_save_load_round_trip_and_digest(tmp_path):
    cfg = get_config("cpu", ["optim.milestones=3,5"])
    cfg.save(tmp_path / "c.json")
    back = Config.load(tmp_path / "c.json")
    assert back.to_dict() == cfg.to_dict() and back.digest() == cfg.digest()
    assert replace(cfg, optim__lr=1.0).digest() != cfg.digest()
    assert replace(cfg, optim__lr=1.0).digest("data") == cfg.digest("data")
    assert cfg.optim.lr != 1.0  # replace copies


def test_cpu_preset_is_small():
    cfg = get_config("cpu")
    assert cfg.model.arch == "resnet18" and cfg.model.pretrained == "" and cfg.data.workers == 0
    assert (
        cfg.data.height * cfg.data.width
        < get_config("paper").data.height * get_config("paper").data.width / 10
    )


# Every field with a few allowed values, written out here (independently of its Literal type).
CHOICES = {
    "data.world": ("v3", "v4"),
    "model.student_init": ("pretrained", "teacher"),
    "model.discriminator": ("joint", "ordinary"),
    "model.neck_feat": ("V", "bn"),
    "model.gen_upsample": ("deconv", "resize"),
    "loss.ts_losses": ("all", "cross", "none"),
    "loss.ts_reduction": ("channel_sum", "sum", "mean"),
    "loss.gan_mode": ("vanilla", "lsgan"),
    "loss.fakes_in_reid": ("joined", "never", "gated"),
    "train.amp": ("off", "bf16", "fp16"),
    "train.log": ("files", "tensorboard"),
    "train.fakes": ("generator", "twins"),
    "eval.mode": ("all", "indoor"),
    "eval.shots": (1, 10),
    "eval.draw": ("seeded", "official"),
}


@pytest.mark.parametrize("key, allowed", CHOICES.items())
def test_enumerated_fields_accept_their_choices_only(key, allowed):
    section, name = key.split(".")
    for value in allowed:
        assert getattr(getattr(get_config("cpu", [f"{key}={value}"]), section), name) == value
    listed = ", ".join(repr(v) for v in allowed)
    with pytest.raises(ValueError, match=f"{key} must be one of {listed}; got 'nope'"):
        get_config("cpu", [f"{key}=nope"])  # from an override
    cfg = get_config("cpu")
    with pytest.raises(ValueError, match=f"{key} must be one of"):
        setattr(getattr(cfg, section), name, "nope")  # from Python
    with pytest.raises(ValueError, match=f"{key} must be one of"):
        type(getattr(cfg, section))(**{name: "nope"})  # at construction


def test_the_choices_are_exactly_the_enumerated_fields():
    found = {
        f"{s}.{f.name}": choices(type(getattr(Config(), s)), f.name)
        for s in ("data", "model", "loss", "optim", "train", "eval")
        for f in dataclasses.fields(getattr(Config(), s))
    }
    assert {k: v for k, v in found.items() if v} == CHOICES
