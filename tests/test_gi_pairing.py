"""The G_I study of whole TS-GAN runs (``benchmarks/bench_gi.py --tsgan``): each variant states its
discriminator and scales the base's fields, each (variant, seed) is one cached TS-GAN run on the
validation split, the score is the twin error of that run's G_I (not G_R, not another run's) on the
validation pictures, a second call trains nothing, and the paired differences are the records'."""

from __future__ import annotations

import importlib.util
import json

import pytest
from engine_helpers import tiny_config

from tsgan.config import get_config, replace
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.eval.twins import gate_pictures, twin_error
from tsgan.experiments.gi_pairing import (
    VARIANTS,
    format_pairing_study,
    get_variants,
    pairing_pairs,
    run_pairing_study,
)
from tsgan.models import load_generator_I
from tsgan.paths import REPO_ROOT
from tsgan.training import cached_run, load_dataset, run_key


def test_each_variant_states_its_discriminator_and_scales_the_base():
    # a base that is ordinary with an unusual lambda3: the variants must not inherit either
    base = get_config(
        "cpu", {"model.discriminator": "ordinary", "loss.lambda3": 0.3, "data.split": "test"}
    )
    cfg = {k: v.config(base, 4) for k, v in VARIANTS.items()}
    assert all(c.data.split == "val" and c.train.seed == 4 for c in cfg.values())
    assert cfg["od"].model.discriminator == "ordinary"
    for k in ("jd", "jd-l3x10", "jd-disc2x", "jd-deep"):
        assert cfg[k].model.discriminator == "joint", k
    assert cfg["jd"].loss.lambda3 == 0.3 and cfg["od"].loss.lambda3 == 0.3
    assert cfg["jd-l3x10"].loss.lambda3 == pytest.approx(3.0)
    assert cfg["jd-disc2x"].model.disc_filters == 2 * base.model.disc_filters
    assert isinstance(cfg["jd-disc2x"].model.disc_filters, int)
    assert cfg["jd-deep"].model.disc_layers == base.model.disc_layers + 1
    for k, c in cfg.items():  # each variant changes only what it names
        if k != "jd-disc2x":
            assert c.model.disc_filters == base.model.disc_filters, k
        if k != "jd-deep":
            assert c.model.disc_layers == base.model.disc_layers, k
        if k != "jd-l3x10":
            assert c.loss.lambda3 == 0.3, k
    assert len({run_key(c, "tsgan") for c in cfg.values()}) == len(cfg)
    # on the preset, jd is the preset itself on the val split: the validation runs' key
    preset = get_config("cpu")
    assert run_key(VARIANTS["jd"].config(preset, 0), "tsgan") == run_key(
        replace(preset, data__split="val", train__seed=0), "tsgan"
    )
    assert [v.key for v in get_variants(["jd-l3x10", "od"])] == ["jd-l3x10", "od"]
    with pytest.raises(ValueError, match="unknown TS-GAN G_I variant.*'nope'"):
        get_variants(["jd", "nope"])
    assert pairing_pairs(["jd", "od", "jd-l3x10"]) == [("jd", "od"), ("jd-l3x10", "jd")]


@pytest.fixture(scope="module")
def study(synthetic_sysu, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    base = tiny_config(synthetic_sysu, **{"train.out_dir": str(out), "eval.trials": 2})
    variants = get_variants(["od", "jd"])
    return base, variants, run_pairing_study(base, variants, [0], progress=False)


def test_each_record_scores_its_own_runs_G_I_on_the_validation_pictures(study):
    base, variants, doc = study
    assert [(r["row"], r["seed"]) for r in doc["records"]] == [("od", 0), ("jd", 0)]
    val = load_dataset(replace(base, data__split="val"))
    pictures = gate_pictures(val)
    pids = {int(p.split("/")[-2]) for p in doc["pictures"]}
    assert pids == set(val.val_ids) and not pids & {s.pid for s in val.train}
    size = (base.data.height, base.data.width)
    scores = []
    for v, r in zip(variants, doc["records"], strict=True):
        cfg = v.config(base, 0)
        run = cached_run(cfg, "tsgan")
        assert r["run"] == run.path.name and run.finished
        state = load_checkpoint(run.final)
        assert state["config"]["model"]["discriminator"] == v.discriminator
        assert state["config"]["data"]["split"] == "val"
        # independently: this run's saved G_I (RGB -> IR), rebuilt and scored on the pictures
        want = twin_error(load_generator_I(cfg.model, state["models"]["G_I"]), pictures, size)
        assert r["twin_L1"] == pytest.approx(want["L1"], abs=1e-6)
        assert r["twin_SSIM"] == pytest.approx(want["SSIM"], abs=1e-6)
        assert 0 <= r["R1"] <= 100 and r["train_seconds"] is not None
        assert [p["epoch"] for p in r["curve"]] == list(range(1, base.optim.epochs + 1))
        scores.append((r["twin_L1"], r["twin_SSIM"]))
    assert scores[0] != scores[1]  # two runs, two generators
    assert set(doc["floors"]) == {"grayscale", "channel copy"} and len(doc["degraded"]) == 5


def test_the_joint_run_trained_L_ReID_GAN_and_the_ordinary_one_did_not(study):
    base, variants, doc = study
    logged = {}
    for v in variants:
        steps = cached_run(v.config(base, 0), "tsgan").read_metrics("step")
        logged[v.key] = any("B_gan" in s for s in steps)
    assert logged == {"od": False, "jd": True}


def test_jd_minus_od_is_the_records_difference(study):
    _, _, doc = study
    by = {r["row"]: r for r in doc["records"]}
    pairs = {(p["a"], p["b"], p["metric"]): p for p in doc["paired"]}
    assert set(pairs) == {("jd", "od", m) for m in ("twin_L1", "twin_SSIM", "R1", "mAP")}
    for m in ("twin_L1", "twin_SSIM", "R1", "mAP"):
        assert pairs["jd", "od", m]["diffs"] == [by["jd"][m] - by["od"][m]]
    table = format_pairing_study(doc)
    assert "jd - od" in table and "grayscale floor" in table and "directions, not evidence" in table


def test_a_second_call_trains_nothing(study, monkeypatch):
    base, variants, doc = study
    import tsgan.training as training

    def refuse(*args, **kwargs):
        pytest.fail("a cached study trained again")

    monkeypatch.setattr(training, "train_tsgan", refuse)
    monkeypatch.setattr(training, "train_teacher", refuse)
    again = run_pairing_study(base, variants, [0], progress=False)
    keep = ("row", "seed", "run", "twin_L1", "twin_SSIM", "R1", "mAP", "curve")
    assert [{k: r[k] for k in keep} for r in again["records"]] == [
        {k: r[k] for k in keep} for r in doc["records"]
    ]


def _overrides(cfg):
    """``cfg`` as dotted overrides of the cpu preset (the fields that differ)."""
    plain, mine = get_config("cpu").to_dict(), cfg.to_dict()
    return {
        f"{section}.{k}": ",".join(map(str, v)) if isinstance(v, list) else v
        for section, values in mine.items()
        if section != "name"
        for k, v in values.items()
        if plain[section][k] != v
    }


def _bench_gi():
    spec = importlib.util.spec_from_file_location("bench_gi", REPO_ROOT / "benchmarks/bench_gi.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_command_prints_and_writes_the_study(study, tmp_path, capsys):
    base, _, doc = study
    out = tmp_path / "jd.json"
    args = ["--tsgan", "od", "jd", "--seeds", "1", "--cached-only", "--out", str(out)]
    args += [f"{k}={v}" for k, v in _overrides(base).items()]
    assert _bench_gi().main(args) == 0
    saved = json.loads(out.read_text())
    assert saved["format"] == "tsgan-gi-pairing/1" and saved["git"]
    assert [r["twin_SSIM"] for r in saved["records"]] == [r["twin_SSIM"] for r in doc["records"]]
    assert "jd - od" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tsgan", "jd", "nope"], "unknown TS-GAN G_I variant"),
        (["--tsgan", "jd", "--variants", "resize"], "two studies"),
        (["--tsgan", "jd", "--seeds", "0"], "--seeds must be at least 1"),
        (["--seeds", "2"], "belong to --tsgan"),
        (["--cached-only"], "belong to --tsgan"),
    ],
)
def test_user_mistakes_exit_2_before_anything_trains(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        _bench_gi().main([*args, "--out", "-"])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
