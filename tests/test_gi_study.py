"""The G_I study (``benchmarks/bench_gi.py``): each variant's overrides reach the CycleGAN stage it
trains, its snapshots are scored on the validation identities' pictures (never trained on), the
scores are :func:`tsgan.eval.twins.twin_error` of the saved generators, and the figure inputs
rebuild the same generators."""

from __future__ import annotations

import json

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from engine_helpers import tiny_config  # noqa: E402

from tsgan.eval.twins import twin_error  # noqa: E402
from tsgan.experiments.gi_study import (  # noqa: E402
    VARIANTS,
    Variant,
    format_study,
    get_variants,
    run_study,
    snapshot_steps,
)
from tsgan.figure_inputs import gi_fakes, load_gi_study  # noqa: E402
from tsgan.figures import fakes_beside_twins, twin_error_against_steps  # noqa: E402
from tsgan.imaging import from_gan, ir_to_1ch, to_gan  # noqa: E402
from tsgan.models import load_generator_I  # noqa: E402
from tsgan.paths import resolve_path  # noqa: E402
from tsgan.training import load_dataset  # noqa: E402


def test_snapshots_variants_and_their_configs():
    assert snapshot_steps(10, 4) == [0, 4, 8, 10]
    assert snapshot_steps(3, 5) == [0, 3]
    with pytest.raises(ValueError, match="every >= 1"):
        snapshot_steps(3, 0)
    with pytest.raises(ValueError, match="unknown G_I variant.*'nope'"):
        get_variants(["resize", "nope"])
    assert [v.key for v in get_variants(None)] == list(VARIANTS)
    from tsgan.config import get_config

    base = get_config("cpu", ["model.discriminator=joint"])
    cfg = VARIANTS["resize-omega3"].config(base)
    assert (cfg.data.split, cfg.model.discriminator) == ("val", "ordinary")
    assert (cfg.model.gen_upsample, cfg.loss.omega) == ("resize", 3.0)
    assert VARIANTS["resize-lsgan"].config(base).loss.gan_mode == "lsgan"
    assert VARIANTS["deconv"].config(base).model.gen_upsample == "deconv"


@pytest.fixture(scope="module")
def study(synthetic_sysu, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    base = tiny_config(synthetic_sysu, **{"train.out_dir": str(out)})
    variants = [
        VARIANTS["deconv"],
        Variant("resize-o3", "resize, omega 3", VARIANTS["resize-omega3"].overrides),
    ]
    return base, run_study(base, variants, steps=3, every=2)


def test_each_snapshot_is_scored_on_validation_pictures_by_its_own_generator(study):
    base, doc = study
    assert [p["step"] for p in doc["variants"][0]["curve"]] == [0, 2, 3]
    val = load_dataset(Variant("x", "x").config(base))
    train_ids = {s.pid for s in val.train}
    pids = {int(p.split("/")[-2]) for p in doc["pictures"]}
    assert pids and pids <= set(val.val_ids) and not pids & train_ids
    from tsgan.engine.checkpoint import load_checkpoint
    from tsgan.engine.rundir import RunDir
    from tsgan.paths import cache_dir

    size = tuple(doc["size"])
    pictures = [resolve_path(p) for p in doc["pictures"]]
    for v, variant in zip(doc["variants"], ("deconv", "resize-o3"), strict=True):
        assert v["key"] == variant
        cfg = Variant(v["key"], v["name"], v["overrides"]).config(base)
        state = load_checkpoint(RunDir(cache_dir(base.train.out_dir) / v["run"]).final)
        assert [s["step"] for s in state["snapshots"]] == [0, 2, 3]
        # G_I trained on the train ids alone: the validation pictures were held out
        saved = json.loads((cache_dir(base.train.out_dir) / v["run"] / "config.json").read_text())
        assert saved["data"]["split"] == "val"
        for snap, point in zip(state["snapshots"], v["curve"], strict=True):
            want = twin_error(load_generator_I(cfg.model, snap["G_I"]), pictures, size)
            assert point["L1"] == pytest.approx(want["L1"], abs=1e-6)
            assert point["SSIM"] == pytest.approx(want["SSIM"], abs=1e-6)
        # training moved G_I: the scores are not those of the initial generator
        assert v["curve"][-1]["L1"] != v["curve"][0]["L1"]
    # the variant's overrides reached its generator: resize up-sampling has no transposed convs
    deconv, resize = (
        load_checkpoint(RunDir(cache_dir(base.train.out_dir) / v["run"]).final)["snapshots"][-1]
        for v in doc["variants"]
    )
    assert {k: t.shape for k, t in deconv["G_I"].items()} != {
        k: t.shape for k, t in resize["G_I"].items()
    }
    assert doc["degraded"][0]["SSIM"] == pytest.approx(1.0) and len(doc["degraded"]) == 5
    assert set(doc["floors"]) == {"grayscale", "channel copy"}
    assert "resize-o3" in format_study(doc) and "grayscale floor" in format_study(doc)


def test_the_figures_redraw_the_studied_generators(study, tmp_path):
    base, doc = study
    path = tmp_path / "gi.json"
    path.write_text(json.dumps(doc))
    loaded = load_gi_study(path)
    X_R, fakes, twins = gi_fakes(loaded, n=2)
    assert X_R.shape[0] == twins.shape[0] == 2 and list(fakes) == ["deconv", "resize-o3"]
    from tsgan.engine.checkpoint import load_checkpoint
    from tsgan.engine.rundir import RunDir
    from tsgan.paths import cache_dir

    v = doc["variants"][1]
    cfg = Variant(v["key"], v["name"], v["overrides"]).config(base)
    state = load_checkpoint(RunDir(cache_dir(base.train.out_dir) / v["run"]).final)
    G_I = load_generator_I(cfg.model, state["snapshots"][-1]["G_I"])
    with torch.no_grad():
        want = ir_to_1ch(from_gan(G_I(to_gan(X_R))))
    assert torch.allclose(fakes["resize-o3"], want)
    assert not torch.allclose(fakes["deconv"], want)
    assert list(gi_fakes(loaded, n=1, keys=["deconv"])[1]) == ["deconv"]
    curves = {v["name"]: v["curve"] for v in doc["variants"]}
    ax = twin_error_against_steps(curves, doc["floors"], doc["degraded"], metric="SSIM")
    assert len(ax.lines) == 2 + 2 + 4
    fakes_beside_twins(X_R, fakes, twins, n=2)
    with pytest.raises(FileNotFoundError, match="bench_gi.py"):
        load_gi_study(tmp_path / "missing.json")
