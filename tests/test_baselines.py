"""Table III's two rows: the IR teacher and its RGB twin, the same recipe on one modality each."""

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset

from tsgan.data.dataset import build_train_loader
from tsgan.engine.checkpoint import load_checkpoint
from tsgan.training import baseline, get_or_train_teacher, load_dataset, run_key


@pytest.mark.parametrize("modality, other", [("ir", "rgb"), ("rgb", "ir")])
def test_each_baseline_trains_on_its_modality_only(tmp_path, modality, other):
    cfg = tiny_config(tiny_dataset(tmp_path))
    data = load_dataset(cfg)
    model = baseline(modality)(cfg, data.num_train_ids, torch.device("cpu"))
    seen = []
    model.nets["backbone"].register_forward_pre_hook(lambda m, a: seen.append(a[0].clone()))
    for batch in build_train_loader(cfg, data):
        assert not torch.equal(batch[modality], batch[other])  # the test can tell them apart
        model.set_input(batch)
        model.optimize_parameters()
        assert len(seen) == 1 and torch.equal(seen.pop(), batch[modality])


def test_rgb_baseline_run_is_cached_apart_from_the_teacher(tmp_path):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"train.out_dir": str(tmp_path / "runs")})
    rgb = get_or_train_teacher(cfg, modality="rgb")
    assert rgb.parent.parent.name == f"rgb_baseline-cpu-{run_key(cfg, 'rgb_baseline')}"
    assert load_checkpoint(rgb)["kind"] == "rgb_baseline"
    written = rgb.stat().st_mtime_ns
    assert get_or_train_teacher(cfg, modality="rgb") == rgb
    assert rgb.stat().st_mtime_ns == written  # found in the cache, not retrained
    assert not list((tmp_path / "runs" / "cache").glob("teacher-*"))  # the IR teacher is apart
    with pytest.raises(ValueError, match=r"modality must be one of \['ir', 'rgb'\]"):
        get_or_train_teacher(cfg, modality="depth")
