"""The embedded dataset: determinism, layout, counts, IR format, coverage, splits, calibration, CLI."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tsgan.__main__ import main
from tsgan.data import DatasetError, get_dataset, read_regdb, read_sysu
from tsgan.data.synth_baseline import SETTINGS, baseline_retrieval, pixel_features
from tsgan.data.synth_render import draw_pose, render
from tsgan.data.synthetic import (
    JPEG_QUALITY, MARKER, SYSU_DEFAULTS, ensure_synthetic, generate, identity, options_for, picture, plan_sysu,
    world,
)

SMALL = {"num_ids": 16, "min_images": 1, "max_images": 2, "height": 64, "width": 32}


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha1 of the bytes, for every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "sysu", seed=3, progress=False, **SMALL)


def test_same_seed_gives_byte_identical_trees_and_another_seed_does_not(small, tmp_path):
    again = generate(tmp_path / "again", seed=3, progress=False, **SMALL)
    other = generate(tmp_path / "other", seed=4, progress=False, **SMALL)
    assert tree_digest(small) == tree_digest(again)
    d_small, d_other = tree_digest(small), tree_digest(other)
    shared = set(d_small) & set(d_other) - {MARKER}
    assert shared and all(d_small[k] != d_other[k] for k in shared if k.endswith(".jpg"))


def test_pictures_do_not_depend_on_generation_order(small, tmp_path):
    """More identities change nothing about the pictures of the first ones (keyed by pid, cam, index)."""
    bigger = generate(tmp_path / "bigger", seed=3, progress=False, **{**SMALL, "num_ids": 20})
    a, b = tree_digest(small), tree_digest(bigger)
    jpgs = [k for k in a if k.endswith(".jpg")]
    assert jpgs and all(a[k] == b[k] for k in jpgs)
    # ... and a picture rendered on its own, JPEG-encoded, is exactly the stored file.
    first = Path(jpgs[-1])
    cam, pid, idx = int(first.parts[0][3:]), int(first.parts[1]), int(first.stem)
    buf = io.BytesIO()
    Image.fromarray(picture(3, pid, cam, idx, SMALL["height"], SMALL["width"])).save(buf, "JPEG", quality=JPEG_QUALITY)
    assert buf.getvalue() == (small / first).read_bytes()


def test_layout_and_counts_match_the_plan_and_the_sysu_reader(small):
    plan = plan_sysu(3, **SMALL)
    assert sorted(p.name for p in small.iterdir()) == sorted([f"cam{c}" for c in range(1, 7)] + ["exp", MARKER])
    for name, ids in (("train", plan.train_ids), ("val", plan.val_ids), ("test", plan.test_ids)):
        assert (small / "exp" / f"{name}_id.txt").read_text().strip() == ",".join(map(str, ids))
    on_disk = {}
    for path in small.glob("cam*/*/*.jpg"):
        key = (int(path.parent.name), int(path.parent.parent.name[3:]))
        on_disk[key] = on_disk.get(key, 0) + 1
        assert path.name == f"{int(path.stem):04d}.jpg" and path.parent.name == f"{key[0]:04d}"
    assert on_disk == plan.counts
    data = read_sysu(small)
    read = {}
    for s in data.train + data.test:
        read[s.pid, s.cam] = read.get((s.pid, s.cam), 0) + 1
        assert s.modality == ("ir" if s.cam in (3, 6) else "rgb")
    assert read == plan.counts
    assert data.train_ids == sorted(plan.train_ids + plan.val_ids) and data.test_ids == plan.test_ids


def test_ir_images_are_three_channel_grayscale_jpegs_and_rgb_ones_are_coloured(small):
    for path in sorted(small.glob("cam[36]/*/*.jpg"))[:10]:
        img = Image.open(path)
        assert img.format == "JPEG" and img.mode == "RGB"
        px = np.asarray(img, dtype=int)
        assert np.abs(px[..., 0] - px[..., 1]).max() <= 1 and np.abs(px[..., 1] - px[..., 2]).max() <= 1
    px = np.stack([np.asarray(Image.open(p), dtype=int) for p in sorted(small.glob("cam1/*/*.jpg"))[:10]])
    assert np.abs(px[..., 0] - px[..., 2]).mean() > 5


def test_default_plan_splits_and_coverage_are_like_sysu():
    plan = plan_sysu(0)
    train, val, test = set(plan.train_ids), set(plan.val_ids), set(plan.test_ids)
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(range(1, SYSU_DEFAULTS["num_ids"] + 1))
    assert len(test) >= 48 and 0.5 <= len(train) / SYSU_DEFAULTS["num_ids"] <= 0.7
    cams_of = {}
    for pid, cam in plan.counts:
        cams_of.setdefault(pid, set()).add(cam)
    assert all(cams & {3, 6} and cams & {1, 2, 4, 5} for cams in cams_of.values())
    assert sum(len(c) < 6 for c in cams_of.values()) > len(cams_of) // 2   # not everyone in every camera
    assert all(SYSU_DEFAULTS["min_images"] <= n <= SYSU_DEFAULTS["max_images"] for n in plan.counts.values())


def test_ensure_generates_once_regenerates_when_stale_and_protects_foreign_folders(tmp_path):
    root = ensure_synthetic(tmp_path / "s", seed=1, progress=False, **SMALL)
    stamp = (root / MARKER).stat().st_mtime_ns
    assert ensure_synthetic(root, seed=1, progress=False, **SMALL) == root
    assert (root / MARKER).stat().st_mtime_ns == stamp
    ensure_synthetic(root, seed=2, progress=False, **SMALL)
    assert json.loads((root / MARKER).read_text())["seed"] == 2
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="refusing"):
        ensure_synthetic(foreign, progress=False, **SMALL)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_registry_reads_the_synthetic_dataset_under_its_own_name(tmp_path):
    data = get_dataset("synthetic", tmp_path / "reg", seed=5, progress=False, **SMALL)
    assert data.name == "synthetic" and data.train and data.test
    assert {s.modality for s in data.train} == {"rgb", "ir"}


def test_bad_options_say_what_is_known():
    with pytest.raises(TypeError, match="known"):
        options_for("sysu", images_per_id=3)
    with pytest.raises(ValueError, match="layout"):
        options_for("market")
    with pytest.raises(ValueError, match="min_images"):
        options_for("sysu", min_images=3, max_images=2)


def test_regdb_layout_is_read_by_the_regdb_reader(tmp_path):
    root = generate(tmp_path / "regdb", seed=0, layout="regdb", progress=False,
                    num_ids=8, images_per_id=3, trials=2, height=64, width=32)
    assert sorted(p.name for p in (root / "idx").iterdir()) == sorted(
        f"{s}_{m}_{t}.txt" for s in ("train", "test") for m in ("visible", "thermal") for t in (1, 2))
    vis = (root / "idx" / "train_visible_1.txt").read_text().split("\n")[:-1]
    th = (root / "idx" / "train_thermal_1.txt").read_text().split("\n")[:-1]
    assert len(vis) == len(th) == 4 * 3
    for v, t in zip(vis, th):   # line-aligned: same person, same label
        (vp, vl), (tp, tl) = v.split(), t.split()
        assert vl == tl and vp.split("/")[1] == tp.split("/")[1] and vp.endswith(".bmp")
        assert (root / vp).is_file() and (root / tp).is_file()
    data = read_regdb(root, trial=2)
    assert len(set(data.train_ids)) == 4 and not set(data.train_ids) & set(data.test_ids)
    assert len(data.train) == len(data.test) == 2 * 4 * 3


def test_cli_synth_twice_gives_identical_trees_and_summary_prints_counts(tmp_path, capsys):
    args = ["data", "synth", "--seed", "0", "--num-ids", "10", "--min-images", "1", "--max-images", "1",
            "--height", "32", "--width", "16", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    n_images = len(list((tmp_path / "a").glob("cam*/*/*.jpg")))
    assert f"wrote {n_images} images" in capsys.readouterr().out
    assert main(["data", "summary", "--dataset", "sysu", "--root", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    data = read_sysu(tmp_path / "a")
    assert f"train  {data.num_train_ids:>5}" in out and "cam" in out
    assert main(args[:2] + ["--out", str(tmp_path / "c"), "--images-per-id", "2", "--quiet"]) == 2
    assert "known" in capsys.readouterr().err


def test_baseline_r1_agrees_with_a_plain_nearest_neighbour_loop(small):
    data = read_sysu(small)
    res = baseline_retrieval(data)
    feats = pixel_features(data.test)
    for name, (q_cams, g_cams, _) in SETTINGS.items():
        hits = []
        for i, q in enumerate(data.test):
            if q.cam not in q_cams:
                continue
            gallery = [j for j, g in enumerate(data.test) if g.cam in g_cams and not (q.cam == 3 and g.cam == 2)]
            if not any(data.test[j].pid == q.pid for j in gallery):
                continue
            nearest = min(gallery, key=lambda j: float(np.sum((feats[i] - feats[j]) ** 2)))
            hits.append(data.test[nearest].pid == q.pid)
        assert res[name]["queries"] == len(hits)
        assert res[name]["R1"] == pytest.approx(np.mean(hits))


def test_calibration_within_modality_is_easy_and_cross_modality_hard(tmp_path):
    """Like SYSU-MM01 (paper Table III vs Table II): a pixel baseline matches people within one
    modality far better than chance, but across modalities hardly at all."""
    root = generate(tmp_path / "cal", seed=0, progress=False, num_ids=60, min_images=2, max_images=2,
                    test_frac=0.4, height=64, width=32)
    res = baseline_retrieval(read_sysu(root))
    cross = res["IR->RGB"]["R1"]
    assert res["RGB->RGB"]["R1"] > max(3 * cross, 5 * res["RGB->RGB"]["chance"])
    assert res["IR->IR"]["R1"] > max(2 * cross, 3 * res["IR->IR"]["chance"])
    assert cross < 3 * res["IR->RGB"]["chance"]


def test_ir_follows_the_fabric_not_the_colour_and_shape_shows_in_both_modalities():
    """Same fabric, other colour: the IR picture is unchanged, the RGB one is not. Another cut
    (a coat instead of a tucked-in top) changes both pictures."""
    cams = world(0, 64, 32, (1, 3))
    ident = identity(0, 7)
    other_colour = dataclasses.replace(ident, top=1 - ident.top, top2=1 - ident.top2, bottom=1 - ident.bottom)
    other_cut = dataclasses.replace(ident, top_length=0.3 if ident.top_length < 0.15 else 0.0)

    def shot(who, cam: int) -> np.ndarray:
        camera, background = cams[cam]
        pose = draw_pose(np.random.default_rng(1), who, camera.view_p, 64, 32)
        return render(who, camera, background, pose, np.random.default_rng(2)).astype(int)

    assert np.array_equal(shot(ident, 3), shot(other_colour, 3))
    assert np.abs(shot(ident, 1) - shot(other_colour, 1)).mean() > 5
    for cam in (1, 3):
        assert np.abs(shot(ident, cam) - shot(other_cut, cam)).mean() > 1
