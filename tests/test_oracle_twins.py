"""The oracle row (``train.fakes=twins``): X_I' is the true IR twin of X_R under X_R's own flip and
crop, line 3 uses it exactly where it would use G_I(X_R), and runs without it keep their keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from engine_helpers import tiny_step_config
from fakes import make_sysu_tree
from PIL import Image

from tsgan.config import get_config
from tsgan.data import DatasetError, ir_twin, read_sysu
from tsgan.data.dataset import PairDataset, build_train_loader, render_twins
from tsgan.data.transforms import build_transforms, resize
from tsgan.experiments.ablate import select_rows
from tsgan.losses import ts_losses
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone
from tsgan.training import run_key

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth(synthetic_sysu):
    return read_sysu(synthetic_sysu)


def _twin_cfg(**more):
    return get_config(
        "cpu",
        {
            "data.height": 32,
            "data.width": 16,
            "data.pad": 4,
            "data.flip": 0.5,
            "data.P": 2,
            "data.K": 2,
            "data.cache": False,
            "train.use_gan": False,
            "train.fakes": "twins",
            **more,
        },
    )


def test_each_twin_takes_the_flip_and_crop_of_its_rgb_image():
    """A twin identical to its RGB picture must come out identical: the same random draws. The IR
    image's draws (and so every run without twins) stay as they were."""
    g = torch.Generator().manual_seed(0)
    pics = [torch.randint(0, 256, (3, 32, 16), dtype=torch.uint8, generator=g) for _ in range(4)]
    irs = [torch.randint(0, 256, (3, 32, 16), dtype=torch.uint8, generator=g) for _ in range(4)]

    class S:  # the two fields PairDataset reads
        def __init__(self, pid, path):
            self.pid, self.path = pid, path

    rgb = [S(i, f"r{i}") for i in range(4)]
    ir = [S(i, f"i{i}") for i in range(4)]
    cache = {f"r{i}": p for i, p in enumerate(pics)} | {f"i{i}": p for i, p in enumerate(irs)}

    class Cache(dict):
        def missing(self, paths):
            return [p for p in paths if p not in self]

    d = _twin_cfg().data
    t_rgb, t_ir = build_transforms(d, True, "rgb"), build_transforms(d, True, "ir")
    with_twins = PairDataset(rgb, ir, t_rgb, t_ir, {i: i for i in range(4)}, Cache(cache), pics)
    without = PairDataset(rgb, ir, t_rgb, t_ir, {i: i for i in range(4)}, Cache(cache))
    torch.manual_seed(5)
    a = [with_twins[(i, i)] for i in range(4) for _ in range(5)]
    torch.manual_seed(5)
    b = [without[(i, i)] for i in range(4) for _ in range(5)]
    assert all(torch.equal(x["ir_twin"], x["rgb"]) for x in a)
    # the flips and crops really vary, so equality above is not the identity transform's
    assert len({x["rgb"].numpy().tobytes() for x in a[:5]}) > 1
    assert all(
        torch.equal(x["rgb"], y["rgb"]) and torch.equal(x["ir"], y["ir"]) for x, y in zip(a, b)
    )
    assert "ir_twin" not in b[0]
    with pytest.raises(ValueError, match="one IR twin per RGB sample"):
        PairDataset(rgb, ir, t_rgb, t_ir, {i: i for i in range(4)}, Cache(cache), pics[:3])


def test_the_loader_renders_the_twins_of_the_rgb_pictures(synth):
    cfg = _twin_cfg(**{"data.root": str(synth.root), "data.flip": 0.0, "data.pad": 0})
    batch = next(iter(build_train_loader(cfg, synth)))
    rgb_samples = synth.subset("train", "rgb")
    twins = render_twins(rgb_samples, (32, 16))
    want = {t.numpy().tobytes() for t in twins}
    got = (batch["ir_twin"] * 255).round().to(torch.uint8)
    assert all(g.numpy().tobytes() in want for g in got)
    # twin i is the IR twin of RGB sample i, resized like the image cache
    for i in (0, len(rgb_samples) - 1):
        want_i = resize(torch.from_numpy(ir_twin(rgb_samples[i])).permute(2, 0, 1), (32, 16))
        assert torch.equal(twins[i], want_i)
    # and the loader pairs each RGB row with its own twin: a twin's grey silhouette sits where the
    # RGB picture's person is (flip and crop are off here), so both pick the same sample index
    rgb_u8 = (batch["rgb"] * 255).round().to(torch.uint8)
    cache = [resize(Image.open(s.path).convert("RGB"), (32, 16)) for s in rgb_samples]
    for r, t in zip(rgb_u8, got, strict=True):
        i = next(k for k, c in enumerate(cache) if torch.equal(c, r))
        assert torch.equal(twins[i], t)
    plain = build_train_loader(_twin_cfg(**{"train.fakes": "generator"}), synth)
    assert "ir_twin" not in next(iter(plain))


def test_data_without_twins_is_refused_in_one_line(tmp_path):
    """SYSU-MM01 (here a fake tree in its layout) has no IR twins: the oracle rows say so."""
    real = read_sysu(make_sysu_tree(tmp_path / "sysu", [1, 2], [3], [4, 5], images_per_cam=1))
    cfg = _twin_cfg(**{"data.root": str(real.root)})
    with pytest.raises(DatasetError, match="train.fakes=twins needs the embedded SYSU-layout data"):
        build_train_loader(cfg, real)


def _tiny_oracle(teacher_on: bool = True) -> tuple[TSGAN, dict]:
    cfg = tiny_step_config(
        **{
            "train.device": "cpu",
            "train.use_gan": False,
            "train.use_teacher": teacher_on,
            "train.fakes": "twins",
        }
    )
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 3)
    model = TSGAN(cfg, 3, torch.device("cpu"), teacher).train()
    g = torch.Generator().manual_seed(1)
    ir = torch.rand(6, 1, 32, 16, generator=g).expand(-1, 3, -1, -1).contiguous()
    twin = torch.rand(6, 1, 32, 16, generator=g).expand(-1, 3, -1, -1).contiguous()
    batch = {
        "rgb": torch.rand(6, 3, 32, 16, generator=g),
        "ir": ir,
        "ir_twin": twin,
        "label": torch.tensor([0, 0, 1, 1, 2, 2]),
    }
    return model, batch


def test_line3_takes_the_twins_as_x_i_prime():
    """B_ts_fake_ir (Eq. 15) must be the teacher-student distance on the twins, recomputed here
    from the two networks; it would differ if X_I or X_R stood in for X_I'."""
    model, batch = _tiny_oracle()
    model.set_input(batch)
    student = build_backbone(model.cfg.model, 3)
    student.load_state_dict(model.backbone.state_dict())
    teacher = model.teacher
    model.zero_grad("B")
    model.backward_B()
    images = torch.cat([batch["rgb"], batch["ir"], batch["ir_twin"]])
    fm = student(images)["fmap"].chunk(3)
    with torch.no_grad():
        want = ts_losses(
            fT_real_ir=teacher(batch["ir"]),
            fS_real_ir=fm[1],
            fT_fake_ir=teacher(batch["ir_twin"]),
            fS_fake_ir=fm[2],
            fS_rgb=fm[0],
            alpha_c=model.cfg.loss.alpha_c,
            alpha_s=model.cfg.loss.alpha_s,
            reduction=model.cfg.loss.ts_reduction,
        )
    for k in ("fake_ir", "real_ir", "cd"):
        assert torch.allclose(model.losses[f"B_ts_{k}"], want[k], rtol=1e-4), k
    assert not hasattr(model, "G_I") and "fake IR" not in model.visuals()
    assert torch.equal(model.visuals()["IR twin (X_I')"], batch["ir_twin"])


def test_the_oracle_needs_twins_and_no_gan():
    model, batch = _tiny_oracle(teacher_on=False)
    with pytest.raises(ValueError, match="ir_twin"):
        model.set_input({k: v for k, v in batch.items() if k != "ir_twin"})
    cfg = tiny_step_config(**{"train.device": "cpu", "train.fakes": "twins"})
    with pytest.raises(ValueError, match="train.use_gan=false"):
        TSGAN(cfg, 3, torch.device("cpu"), build_backbone(cfg.model, 3))
    with pytest.raises(ValueError, match="one of"):
        get_config("cpu", ["train.fakes=real"])


def test_the_field_keys_only_the_runs_that_set_it():
    """The committed grid was trained before train.fakes existed: its run keys must still be the
    keys of its rows, while the oracle row gets its own key and shares the seed's teacher."""
    results = json.loads((REPO / "results" / "ablation_cpu.json").read_text())
    base = get_config("cpu")
    rows = {r.key: r for r in select_rows()}
    for rec in results["records"]:
        if rec["row"] in ("jd", "backbone"):
            cfg = rows[rec["row"]].config(base, rec["seed"])
            assert run_key(cfg, "tsgan") == rec["run_key"], rec["row"]
    oracle = get_config("cpu", ["train.use_gan=false", "train.fakes=twins"])
    no_twins = get_config("cpu", ["train.use_gan=false"])
    assert run_key(oracle, "tsgan") != run_key(no_twins, "tsgan")
    assert run_key(oracle, "teacher") == run_key(base, "teacher")
