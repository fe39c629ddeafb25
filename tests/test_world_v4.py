"""The v4 embedded world (SYSU-MM01's camera structure) as an option: per-camera view mixes, about
0.5 IR pictures per RGB picture of an identity, a configurable number of training identities, IR
twins that keep the RGB picture's pose, its own root, and config fields that key its runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tsgan.config import check_config, get_config
from tsgan.data import DatasetError, ir_twin, read_sysu
from tsgan.data.check import check_dataset
from tsgan.data.synthetic import (
    MARKER,
    SYSU_DEFAULTS,
    V4_VIEWS,
    WORLDS,
    ensure_synthetic,
    generate,
    generator,
    options_for,
    picture,
    picture_views,
    plan_sysu,
    twin_picture,
    world,
    world_options,
)
from tsgan.data.synthetic.attributes import VIEWS
from tsgan.data.synthetic.drawing import draw_pose
from tsgan.data.sysu import IR_CAMS, RGB_CAMS
from tsgan.eval.twins import load_twins
from tsgan.experiments.calibration import TWIN_SETTING, Probe, calibrate, twin_features
from tsgan.training import load_dataset, run_key

V4 = {"world": "v4", "train_ids": 10, "test_ids": 4, "min_images": 1, "max_images": 2}
V4_SMALL = {**V4, "height": 64, "width": 32}


def tree_digest(root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def v4_tree(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("v4") / "sysu_v4", seed=2, progress=False, **V4_SMALL)


def test_the_config_literal_lists_the_generators_worlds():
    from typing import get_args

    from tsgan.config import World

    assert get_args(World) == WORLDS == ("v3", "v4")


@pytest.mark.parametrize("train_ids, split", [(200, (150, 50, 96)), (395, (296, 99, 96))])
def test_v4_splits_are_sysu_like(train_ids, split):
    """395 training identities give SYSU-MM01's split exactly: 296 train, 99 val, 96 test."""
    plan = plan_sysu(0, world="v4", train_ids=train_ids)
    assert (len(plan.train_ids), len(plan.val_ids), len(plan.test_ids)) == split
    assert sorted(plan.train_ids + plan.val_ids + plan.test_ids) == list(range(1, train_ids + 97))


def test_v4_plan_has_half_as_many_ir_as_rgb_pictures_per_identity():
    """Recount per identity: IR pictures = max(1, round(0.5 x RGB pictures)), each identity in at
    least one RGB and one IR camera, RGB counts within min..max per camera; v3 has more IR."""
    opts = options_for("sysu", world="v4")
    plan = plan_sysu(0, world="v4")
    per_id: dict[int, dict[str, int]] = {}
    for (pid, cam), n in plan.counts.items():
        assert n >= 1
        kind = "rgb" if cam in RGB_CAMS else "ir"
        if kind == "rgb":
            assert opts["min_images"] <= n <= opts["max_images"]
        per_id.setdefault(pid, {"rgb": 0, "ir": 0})[kind] += n
    assert len(per_id) == opts["train_ids"] + opts["test_ids"]
    for counts in per_id.values():
        assert counts["rgb"] >= 1 and counts["ir"] == max(1, round(0.5 * counts["rgb"]))
    rgb = sum(c["rgb"] for c in per_id.values())
    ir = sum(c["ir"] for c in per_id.values())
    assert 0.47 < ir / rgb < 0.53
    v3 = plan_sysu(0)
    v3_ir = sum(n for (_, cam), n in v3.counts.items() if cam in IR_CAMS)
    v3_rgb = sum(n for (_, cam), n in v3.counts.items() if cam in RGB_CAMS)
    assert v3_ir / v3_rgb > 0.58


def test_v4_cameras_have_their_fixed_view_mix_and_v3_backgrounds():
    v3, v4 = world(0, 64, 32), world(0, 64, 32, name="v4")
    for cam in RGB_CAMS + IR_CAMS:
        np.testing.assert_array_equal(v4[cam][0].view_p, V4_VIEWS[cam])
        np.testing.assert_array_equal(v4[cam][1], v3[cam][1])  # each camera films its own place
        assert v4[cam][0].gain == v3[cam][0].gain
        assert not np.allclose(v3[cam][0].view_p, V4_VIEWS[cam])
    for cam, p in V4_VIEWS.items():
        assert abs(sum(p) - 1) < 1e-12
        front, back, _ = p
        assert (front > 0.6 > back) if cam in RGB_CAMS else (back > 0.6 > front)


@pytest.mark.parametrize("cam", [1, 3, 4, 6])
def test_v4_pictures_draw_views_with_their_cameras_mix(monkeypatch, cam):
    """The views of 300 v4 pictures of a camera (recorded as rendered) follow V4_VIEWS."""
    seen = []

    def spy(rng, ident, view_p, height, width):
        pose = draw_pose(rng, ident, view_p, height, width)
        seen.append(pose["view"])
        return pose

    monkeypatch.setattr(generator, "draw_pose", spy)
    monkeypatch.setattr(generator, "render", lambda *args: None)
    cameras = world(0, 32, 16, (cam,), name="v4")
    for pid in range(1, 101):
        for index in range(1, 4):
            picture(0, pid, cam, index, 32, 16, cameras)
    freq = [seen.count(v) / len(seen) for v in VIEWS]
    np.testing.assert_allclose(freq, V4_VIEWS[cam], atol=0.08)


def test_v4_twin_keeps_the_pose_of_its_rgb_picture(monkeypatch):
    """The twin of a v4 picture is drawn in the very pose of the picture (the v4 view mix of the
    RGB camera, not the v3 one, nor the IR camera's)."""
    poses = []
    monkeypatch.setattr(generator, "render", lambda ident, cam, bg, pose, rng: poses.append(pose))
    for index in range(1, 25):
        picture(0, 9, 4, index, 32, 16, world_name="v4")
        twin_picture(0, 9, 4, index, 32, 16, world_name="v4")
    pairs = list(zip(poses[::2], poses[1::2]))
    assert all(repr(a) == repr(b) for a, b in pairs)  # dicts of numbers and small arrays
    views = [a["view"] for a, _ in pairs]
    assert views.count("front") > 12  # cam 4 sees fronts in v4


def test_v4_tree_marker_twins_and_data_check(v4_tree):
    marker = json.loads((v4_tree / MARKER).read_text())
    assert marker["generator"] == 3 and marker["options"]["world"] == "v4"
    data = read_sysu(v4_tree)
    assert len(data.train_ids) == 10 and len(data.test_ids) == 4
    rgb = [s for s in data.train + data.test if s.modality == "rgb"]
    other_world = 0
    for sample in rgb:
        cam, index = int(Path(sample.path).parent.parent.name[3:]), int(Path(sample.path).stem)
        expected = twin_picture(2, sample.pid, cam, index, 64, 32, world_name="v4")
        np.testing.assert_array_equal(ir_twin(sample), expected)
        other_world += not np.array_equal(expected, twin_picture(2, sample.pid, cam, index, 64, 32))
    assert other_world > 0  # some v3 twins differ (another view): the test tells the worlds apart
    rows = check_dataset("sysu", v4_tree)
    assert rows and all(r.status == "ok" for r in rows), [r for r in rows if r.status != "ok"]


def test_v3_marker_has_no_world_entry(tmp_path):
    root = generate(tmp_path / "v3", seed=0, progress=False, num_ids=8, min_images=1, max_images=1)
    marker = json.loads((root / MARKER).read_text())
    assert set(marker) == {"generator", "seed", "layout", "options"}
    assert set(marker["options"]) == set(SYSU_DEFAULTS)
    assert options_for("sysu", world="v3") == options_for("sysu") == SYSU_DEFAULTS


def test_a_root_of_one_world_is_never_replaced_by_the_other(tmp_path, v4_tree):
    v3 = generate(tmp_path / "v3", seed=2, progress=False, num_ids=8, min_images=1, max_images=1)
    before = tree_digest(v3), tree_digest(v4_tree)
    with pytest.raises(DatasetError, match="holds the v3 world.*sysu_v4|v3_v4"):
        ensure_synthetic(v3, seed=2, progress=False, **V4_SMALL)
    with pytest.raises(DatasetError, match="holds the v4 world"):
        ensure_synthetic(v4_tree, seed=2, progress=False, num_ids=8)
    assert (tree_digest(v3), tree_digest(v4_tree)) == before
    assert ensure_synthetic(v4_tree, seed=2, progress=False, **V4_SMALL) == v4_tree


def test_bad_v4_options_say_what_is_wrong():
    with pytest.raises(ValueError, match="world must be one of"):
        options_for("sysu", world="v5")
    with pytest.raises(TypeError, match="num_ids"):
        options_for("sysu", world="v4", num_ids=100)
    with pytest.raises(TypeError, match="train_ids"):
        options_for("sysu", train_ids=100)
    with pytest.raises(ValueError, match="ir_per_rgb"):
        options_for("sysu", world="v4", ir_per_rgb=0)
    with pytest.raises(ValueError, match="too few"):
        options_for("sysu", world="v4", train_ids=1)
    with pytest.raises(ValueError, match="option of the v4 world"):
        world_options("v3", 300)
    assert world_options() == {} and world_options("v4") == {"world": "v4"}
    assert world_options("v4", 300) == {"world": "v4", "train_ids": 300}


def test_world_fields_key_runs_only_when_set():
    base = get_config("cpu")
    same = get_config("cpu", ["data.world=v3"])
    v4 = get_config("cpu", ["data.world=v4", "data.root=data/synthetic_sysu_v4"])
    v4_root_only = get_config("cpu", ["data.root=data/synthetic_sysu_v4"])
    v4_300 = get_config(
        "cpu", ["data.world=v4", "data.root=data/synthetic_sysu_v4", "data.synth_train_ids=300"]
    )
    for kind in ("teacher", "tsgan"):
        assert run_key(same, kind) == run_key(base, kind)
        keys = {run_key(c, kind) for c in (base, v4, v4_root_only, v4_300)}
        assert len(keys) == 4


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["data.world=v5"], "data.world must be one of"),
        (["data.synth_train_ids=300"], "use it with data.world=v4"),
        (["data.world=v4", "data.root=x", "data.synth_train_ids=3"], "must be 0"),
        (["data.world=v4", "data.root=x", "data.dataset=sysu"], "leave data.world at v3"),
        (["data.world=v4"], "data.root=data/synthetic_sysu_v4"),
    ],
)
def test_config_refuses_world_fields_that_cannot_apply(overrides, message):
    with pytest.raises(ValueError, match=message):
        check_config(get_config("cpu", overrides))


def test_load_dataset_asks_for_the_configured_world(monkeypatch):
    asked = {}

    def fake(name, root, **kwargs):
        asked.update(name=name, root=root, **kwargs)
        raise StopIteration

    monkeypatch.setattr("tsgan.training.get_dataset", fake)
    for overrides, want in (
        ([], {"seed": 0}),
        (["data.world=v4"], {"seed": 0, "world": "v4"}),
        (
            ["data.world=v4", "data.synth_train_ids=300"],
            {"seed": 0, "world": "v4", "train_ids": 300},
        ),
    ):
        asked.clear()
        with pytest.raises(StopIteration):
            load_dataset(get_config("cpu", overrides))
        assert {k: v for k, v in asked.items() if k not in ("name", "root")} == want


def test_probe_twin_gallery_scores_the_twins_in_place_of_the_rgb_pictures(v4_tree):
    data = read_sysu(v4_tree)
    rgb = [s for s in data.test if s.modality == "rgb"]
    torch.manual_seed(0)
    model = Probe(4, width=4).eval()
    feats = twin_features(model, rgb, (32, 16))
    grey = load_twins(rgb, (32, 16))[1].expand(-1, 3, -1, -1)
    with torch.no_grad():
        want = model(grey)[0] + model(grey.flip(3))[0]
    want = torch.nn.functional.normalize(want, dim=1)
    assert set(feats) == {s.path for s in rgb}
    torch.testing.assert_close(torch.stack([feats[s.path] for s in rgb]), want)
    res = calibrate(data, 0, {"epochs": 1, "width": 4, "batch_size": 8}, twins=True)
    assert set(res) == {"RGB->RGB", "IR->IR", "IR->RGB", TWIN_SETTING}
    assert all(0 <= r["R1"] <= 1 for r in res.values())
    assert res[TWIN_SETTING]["chance"] == res["IR->RGB"]["chance"]


@pytest.mark.parametrize("options", [{"world": "v4", **V4}, {"num_ids": 12, "max_images": 3}])
def test_picture_views_count_the_views_the_pictures_are_drawn_in(monkeypatch, options):
    """picture_views (no rendering) = the views of every picture of the plan, recorded while
    :func:`picture` renders them."""
    fractions = picture_views(1, **options)
    opts = options_for("sysu", **options)
    seen: dict[int, list[str]] = {}
    monkeypatch.setattr(
        generator, "render", lambda ident, cam, bg, pose, rng: seen[cam.cam].append(pose["view"])
    )
    cameras = world(1, 32, 16, name=opts.get("world", "v3"))
    for (pid, cam), n in plan_sysu(1, **opts).counts.items():
        seen.setdefault(cam, [])
        for index in range(1, n + 1):
            picture(1, pid, cam, index, 32, 16, cameras)
    assert set(fractions) == set(seen)
    for cam, views in seen.items():
        np.testing.assert_allclose(fractions[cam], [views.count(v) / len(views) for v in VIEWS])


def test_cli_synth_writes_a_v4_tree_and_refuses_v4_options_without_it(tmp_path, capsys):
    from tsgan.__main__ import main

    args = ["data", "synth", "--seed", "4", "--quiet", "--height", "32", "--width", "16"]
    sizes = ["--train-ids", "8", "--test-ids", "2", "--max-images", "1", "--min-images", "1"]
    assert main([*args, "--out", str(tmp_path / "v4"), "--world", "v4", *sizes]) == 0
    assert json.loads((tmp_path / "v4" / MARKER).read_text())["options"]["train_ids"] == 8
    assert len(read_sysu(tmp_path / "v4").test_ids) == 2
    assert main([*args, "--out", str(tmp_path / "v3"), *sizes]) == 2
    assert "train_ids" in capsys.readouterr().err and not (tmp_path / "v3").exists()
