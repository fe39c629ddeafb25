"""The embedded dataset: determinism, layout, counts, IR format, coverage, splits, calibration, CLI,
NIR vs thermal physics, IR twins."""

from __future__ import annotations

import colorsys
import dataclasses
import hashlib
import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tsgan.__main__ import main
from tsgan.data import (
    DatasetError,
    get_dataset,
    ir_twin,
    read_regdb,
    read_sysu,
)
from tsgan.data.pixel_stats import pixel_features
from tsgan.data.synthetic import (
    JPEG_QUALITY,
    MARKER,
    SYSU_DEFAULTS,
    TWIN_CAMS,
    drawing,
    ensure_synthetic,
    generate,
    generator,
    identity,
    options_for,
    picture,
    plan_sysu,
    twin_picture,
    world,
)
from tsgan.data.synthetic.attributes import _colour, sample_identity
from tsgan.data.synthetic.drawing import draw_pose, render
from tsgan.data.synthetic.nir import dye_nir, hsv
from tsgan.experiments.calibration import SETTINGS, baseline_retrieval

SMALL = {"num_ids": 16, "min_images": 1, "max_images": 2, "height": 64, "width": 32}


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha1 of the bytes, for every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


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
    """More identities change nothing about the pictures of the first ones (keyed by pid, cam,
    index)."""
    bigger = generate(tmp_path / "bigger", seed=3, progress=False, **{**SMALL, "num_ids": 20})
    a, b = tree_digest(small), tree_digest(bigger)
    jpgs = [k for k in a if k.endswith(".jpg")]
    assert jpgs and all(a[k] == b[k] for k in jpgs)
    # ... and a picture rendered on its own, JPEG-encoded, is exactly the stored file.
    first = Path(jpgs[-1])
    cam, pid, idx = int(first.parts[0][3:]), int(first.parts[1]), int(first.stem)
    buf = io.BytesIO()
    Image.fromarray(picture(3, pid, cam, idx, SMALL["height"], SMALL["width"])).save(
        buf, "JPEG", quality=JPEG_QUALITY
    )
    assert buf.getvalue() == (small / first).read_bytes()


def test_layout_and_counts_match_the_plan_and_the_sysu_reader(small):
    plan = plan_sysu(3, **SMALL)
    assert sorted(p.name for p in small.iterdir()) == sorted(
        [f"cam{c}" for c in range(1, 7)] + ["exp", MARKER]
    )
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
    assert (
        data.train_ids == sorted(plan.train_ids + plan.val_ids) and data.test_ids == plan.test_ids
    )


def test_ir_images_are_three_channel_grayscale_jpegs_and_rgb_ones_are_coloured(small):
    for path in sorted(small.glob("cam[36]/*/*.jpg"))[:10]:
        img = Image.open(path)
        assert img.format == "JPEG" and img.mode == "RGB"
        px = np.asarray(img, dtype=int)
        assert (
            np.abs(px[..., 0] - px[..., 1]).max() <= 1
            and np.abs(px[..., 1] - px[..., 2]).max() <= 1
        )
    px = np.stack(
        [np.asarray(Image.open(p), dtype=int) for p in sorted(small.glob("cam1/*/*.jpg"))[:10]]
    )
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
    assert (
        sum(len(c) < 6 for c in cams_of.values()) > len(cams_of) // 2
    )  # not everyone in every camera
    assert all(
        SYSU_DEFAULTS["min_images"] <= n <= SYSU_DEFAULTS["max_images"]
        for n in plan.counts.values()
    )


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


def test_processes_asking_for_one_tree_at_once_generate_it_once(tmp_path, monkeypatch):
    """Two first uses at once (two ablation processes on a fresh clone): before the tree lock both
    generated, and the second replaced the tree while the first was reading it (a missing-picture
    error). Flock locks of two open() calls exclude each other in one process too, so threads
    stand in for processes. Caught: the lock removed; the marker not re-read under the lock."""
    import threading
    import time

    import tsgan.data.synthetic.generator as gen

    calls, real = [], gen.generate

    def slow_generate(*args, **kw):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # the other thread arrives while this one generates
        return real(*args, **kw)

    monkeypatch.setattr(gen, "generate", slow_generate)
    root, errors = tmp_path / "s", []

    def use():
        try:
            got = gen.ensure_synthetic(root, seed=1, progress=False, **SMALL)
            assert (got / "cam1").is_dir()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(calls) == 1
    assert (tmp_path / ".s.lock").is_file()


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
    root = generate(
        tmp_path / "regdb",
        seed=0,
        layout="regdb",
        progress=False,
        num_ids=8,
        images_per_id=3,
        trials=2,
        height=64,
        width=32,
    )
    assert sorted(p.name for p in (root / "idx").iterdir()) == sorted(
        f"{s}_{m}_{t}.txt"
        for s in ("train", "test")
        for m in ("visible", "thermal")
        for t in (1, 2)
    )
    vis = (root / "idx" / "train_visible_1.txt").read_text().split("\n")[:-1]
    th = (root / "idx" / "train_thermal_1.txt").read_text().split("\n")[:-1]
    assert len(vis) == len(th) == 4 * 3
    for v, t in zip(vis, th):  # line-aligned: same person, same label
        (vp, vl), (tp, tl) = v.split(), t.split()
        assert vl == tl and vp.split("/")[1] == tp.split("/")[1] and vp.endswith(".bmp")
        assert (root / vp).is_file() and (root / tp).is_file()
    data = read_regdb(root, trial=2)
    assert len(set(data.train_ids)) == 4 and not set(data.train_ids) & set(data.test_ids)
    assert len(data.train) == len(data.test) == 2 * 4 * 3


def test_cli_synth_twice_gives_identical_trees_and_summary_prints_counts(tmp_path, capsys):
    args = [
        "data",
        "synth",
        "--seed",
        "0",
        "--num-ids",
        "10",
        "--min-images",
        "1",
        "--max-images",
        "1",
        "--height",
        "32",
        "--width",
        "16",
        "--quiet",
    ]
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
            gallery = [
                j
                for j, g in enumerate(data.test)
                if g.cam in g_cams and not (q.cam == 3 and g.cam == 2)
            ]
            if not any(data.test[j].pid == q.pid for j in gallery):
                continue
            nearest = min(gallery, key=lambda j: float(np.sum((feats[i] - feats[j]) ** 2)))
            hits.append(data.test[nearest].pid == q.pid)
        assert res[name]["queries"] == len(hits)
        assert res[name]["R1"] == pytest.approx(np.mean(hits))


def test_calibration_within_modality_is_easy_and_cross_modality_hard(tmp_path):
    """Like SYSU-MM01 (paper Table III vs Table II): a pixel baseline matches people within one
    modality far better than chance, but across modalities hardly at all."""
    root = generate(
        tmp_path / "cal",
        seed=0,
        progress=False,
        num_ids=60,
        min_images=2,
        max_images=2,
        test_frac=0.4,
        height=64,
        width=32,
    )
    res = baseline_retrieval(read_sysu(root))
    cross = res["IR->RGB"]["R1"]
    assert res["RGB->RGB"]["R1"] > max(3 * cross, 5 * res["RGB->RGB"]["chance"])
    assert res["IR->IR"]["R1"] > max(2 * cross, 3 * res["IR->IR"]["chance"])
    assert cross < 3 * res["IR->RGB"]["chance"]


def test_thermal_follows_the_fabric_nir_follows_the_dye_and_shape_shows_in_both_modalities():
    """Same fabric, other colour: the thermal picture (RegDB's physics) is unchanged, the RGB and
    the NIR ones (SYSU-MM01's physics) are not. Another cut (a coat instead of a tucked-in top)
    changes every picture."""
    thermal, nir = world(0, 64, 32, (1, 3), ir_physics="thermal"), world(0, 64, 32, (3,))
    ident = identity(0, 7)
    other_colour = dataclasses.replace(
        ident, top=1 - ident.top, top2=1 - ident.top2, bottom=1 - ident.bottom
    )
    other_cut = dataclasses.replace(ident, top_length=0.3 if ident.top_length < 0.15 else 0.0)

    def shot(who, cams: dict, cam: int) -> np.ndarray:
        camera, background = cams[cam]
        pose = draw_pose(np.random.default_rng(1), who, thermal[1][0].view_p, 64, 32)
        return render(who, camera, background, pose, np.random.default_rng(2)).astype(int)

    assert np.array_equal(shot(ident, thermal, 3), shot(other_colour, thermal, 3))
    assert np.abs(shot(ident, thermal, 1) - shot(other_colour, thermal, 1)).mean() > 5
    assert np.abs(shot(ident, nir, 3) - shot(other_colour, nir, 3)).mean() > 2
    for cams, cam in ((thermal, 1), (thermal, 3), (nir, 3)):
        assert np.abs(shot(ident, cams, cam) - shot(other_cut, cams, cam)).mean() > 1


def test_vectorised_hsv_agrees_with_colorsys():
    rgb = np.random.default_rng(0).random((200, 3)).astype(np.float32)
    rgb[:20] = rgb[:20, :1]  # greys: hue and saturation 0
    expected = np.array([colorsys.rgb_to_hsv(*c) for c in rgb])
    assert np.allclose(np.stack(hsv(rgb), axis=1), expected, atol=1e-5)


def _poly(x: np.ndarray, degree: int) -> np.ndarray:
    """All monomials of the columns of ``x`` up to ``degree`` (with the constant)."""
    cols = [np.ones(len(x))] + [
        np.prod(x[:, c], axis=1)
        for d in range(1, degree + 1)
        for c in itertools.combinations_with_replacement(range(x.shape[1]), d)
    ]
    return np.stack(cols, axis=1)


def _held_out_r2(features: np.ndarray, target: np.ndarray, n_fit: int) -> float:
    """R^2 on the rows after ``n_fit`` of a least-squares fit on the first ``n_fit`` rows."""
    w = np.linalg.lstsq(features[:n_fit], target[:n_fit], rcond=None)[0]
    err = target[n_fit:] - features[n_fit:] @ w
    return 1 - err.var() / target[n_fit:].var()


def test_nir_is_a_learnable_function_of_the_dye_but_not_of_luminance_and_thermal_is_neither():
    """A tiny regressor (least squares on degree-5 monomials) learns NIR from the RGB colour of
    held-out clothing dyes; luminance alone does not get close; the same regressor learns nothing
    of the thermal level, which follows the fabric, not the colour."""
    rng = np.random.default_rng(0)
    rgb = np.stack([_colour(rng) for _ in range(1500)])
    nir = dye_nir(rgb)
    luma = (rgb @ np.array([0.299, 0.587, 0.114]))[:, None]
    r2_rgb, r2_luma = (
        _held_out_r2(_poly(rgb, 5), nir, 1000),
        _held_out_r2(_poly(luma, 5), nir, 1000),
    )
    assert r2_rgb > 0.88 and r2_luma < 0.7 and r2_rgb - r2_luma > 0.2
    people = [sample_identity(np.random.default_rng([1, 0, pid]), pid) for pid in range(1500)]
    tops = np.stack([p.top for p in people])
    assert _held_out_r2(_poly(tops, 5), np.array([p.top_t for p in people]), 1000) < 0.1
    assert _held_out_r2(_poly(tops, 5), dye_nir(tops), 1000) > 0.88


def test_nir_dyes_dark_clothes_can_be_bright_and_carbon_black_stays_dark():
    dark_red, black, white = np.array([0.3, 0.03, 0.03]), np.full(3, 0.08), np.full(3, 0.92)
    assert dye_nir(dark_red) > 0.6 > 0.25 > dye_nir(black)
    assert dye_nir(white) > 0.75


def test_ir_twin_is_the_rendering_of_the_same_scene_by_the_ir_camera(small):
    """ir_twin of a stored picture = twin_picture of its key (deterministic); twins exist for RGB
    pictures only, of a SYSU-layout tree."""
    path = sorted(small.glob("cam4/*/*.jpg"))[0]
    pid, index = int(path.parent.name), int(path.stem)
    twin = ir_twin(path)
    assert np.array_equal(twin, twin_picture(3, pid, 4, index, SMALL["height"], SMALL["width"]))
    assert np.array_equal(twin, ir_twin(path))
    assert twin.shape == (SMALL["height"], SMALL["width"], 3) and np.array_equal(
        twin[..., 0], twin[..., 2]
    )
    assert not np.array_equal(
        twin, twin_picture(3, pid, 4, index, SMALL["height"], SMALL["width"], "thermal")
    )
    with pytest.raises(ValueError, match="RGB camera"):
        ir_twin(sorted(small.glob("cam3/*/*.jpg"))[0])
    with pytest.raises(DatasetError, match="synthetic tree"):
        ir_twin("/nonexistent/cam1/0001/0001.jpg")


@pytest.mark.parametrize("cam", sorted(TWIN_CAMS))
def test_ir_twin_has_the_silhouette_of_the_rgb_picture(monkeypatch, cam):
    """Where the person (and any occluder) is, both the picture and its twin differ from the same
    render without the person; elsewhere neither does (blur aside): the same silhouette."""
    key = (0, 11, cam, 2, 64, 32)
    shots = picture(*key), twin_picture(*key)
    monkeypatch.setattr(drawing, "draw_person", lambda *args: None)
    empty = picture(*key), twin_picture(*key)
    rgb_mask, ir_mask = (np.abs(a.astype(int) - b).max(axis=2) > 4 for a, b in zip(shots, empty))
    assert rgb_mask.sum() > 100
    assert (rgb_mask & ir_mask).sum() / (rgb_mask | ir_mask).sum() > 0.7


def test_generation_bytes_do_not_depend_on_the_number_of_workers(small, tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "PARALLEL_FROM", 0)
    monkeypatch.setattr(generator, "WORKERS", 2)
    parallel = generate(tmp_path / "parallel", seed=3, progress=False, **SMALL)
    assert tree_digest(parallel) == tree_digest(small)
