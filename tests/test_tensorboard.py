"""train.log=tensorboard: event files with the logged losses and image grids; a clear message
without the extra."""

import sys

import pytest
from engine_helpers import random_teacher, tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.__main__ import main
from tsgan.engine.rundir import RunDir
from tsgan.engine.tensorboard import MissingExtraError
from tsgan.loss_names import loss_panels
from tsgan.methods.tsgan import TSGAN
from tsgan.training import train_teacher, train_tsgan


def test_tsgan_run_writes_scalars_and_image_grids(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config(
        tiny_dataset(tmp_path),
        **{"train.log": "tensorboard", "optim.epochs": 1, "data.batches_per_epoch": 2},
    )
    teacher = random_teacher(cfg, tmp_path / "teacher.pt")
    assert train_tsgan(cfg, tmp_path / "run", teacher=teacher) is not None
    run = RunDir(tmp_path / "run")
    events = EventAccumulator(str(run.path / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    steps = run.read_metrics("step")
    assert len(steps) == 2
    for name in ("G", "B", "D", "B_ts_cd"):
        logged = [(e.step, e.value) for e in events.Scalars(f"step/{name}")]
        assert logged == [(r["step"], pytest.approx(r[name], rel=1e-6)) for r in steps]
        assert events.Scalars(f"epoch/{name}")[0].value == pytest.approx(
            run.read_metrics("epoch")[0][name], rel=1e-6
        )
    assert {"images/real RGB", "images/real IR", "images/fake IR"} <= set(tags["images"])
    image = events.Images("images/fake IR")[0]
    n = cfg.data.P * cfg.data.K  # images per modality in a batch (fewer than the grid's 8)
    assert image.step == 2 and (image.width, image.height) == (n * 16 + (n + 1) * 2, 32 + 2 * 2)
    # the Custom Scalars layout: one chart per panel of TSGAN.loss_names, holding its terms
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.util.tensor_util import make_ndarray

    (config,) = events.Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(make_ndarray(config.tensor_proto).item())
    charts = {
        c.title: list(c.multiline.tag) for category in layout.category for c in category.chart
    }
    assert [category.title for category in layout.category] == ["tsgan losses"]
    panels = dict(loss_panels(TSGAN.loss_names))
    assert charts == {title: [f"step/{k}" for k in keys] for title, keys in panels.items()}
    assert "step/D_I_fake" in charts["discriminators O_D (line 5-7)"]


def test_files_is_the_default_and_writes_no_event_files(tmp_path):
    cfg = tiny_config(
        tiny_dataset(tmp_path), **{"train.teacher_epochs": 1, "data.batches_per_epoch": 1}
    )
    assert cfg.train.log == "files"
    train_teacher(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_without_the_package_the_option_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    cfg = tiny_config(tiny_dataset(tmp_path), **{"train.log": "tensorboard"})
    with pytest.raises(MissingExtraError, match=r'pip install -e "\.\[tensorboard\]"'):
        train_teacher(cfg, tmp_path / "run")
    argv = [
        "train-teacher",
        "--preset",
        "cpu",
        *_overrides(cfg),
        "train.log=tensorboard",
        "--run-dir",
        str(tmp_path / "cli"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the tensorboard package" in err


def test_unknown_log_choice_is_refused(tmp_path):
    root = tiny_dataset(tmp_path)
    with pytest.raises(ValueError, match="train.log must be one of 'files', 'tensorboard'"):
        tiny_config(root, **{"train.log": "visdom"})
