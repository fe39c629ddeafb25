"""tsgan export / extract / search on embedded (generated) images and a cpu-preset checkpoint."""

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from tsgan.__main__ import main
from tsgan.config import from_dict, get_config
from tsgan.data.folder import folder_samples, image_files
from tsgan.data.records import DatasetError
from tsgan.deploy import ExportError, read_metadata
from tsgan.engine.checkpoint import CheckpointError, load_backbone, save_checkpoint
from tsgan.eval.features import extract_features
from tsgan.eval.reranking import rerank
from tsgan.eval.search import clamp_rerank_k, search_distances
from tsgan.models import build_backbone

NUM_CLASSES = 6


def cli(*words):
    """``python -m tsgan --debug WORDS...`` in process (paths and numbers as strings): errors
    propagate as exceptions (without --debug, main prints their one line and returns 2)."""
    return main(["--debug", *(str(w) for w in words)])


@pytest.fixture(scope="module")
def images(synthetic_sysu):
    """The shared tiny embedded dataset (SYSU layout: cam*/pid/*.jpg, RGB and grey IR images)."""
    return synthetic_sysu


def _checkpoint(path, neck_feat="V"):
    """The cpu preset's backbone with fixed random weights and non-trivial BN statistics, saved as
    the trainers save it."""
    cfg = get_config("cpu", {"model.neck_feat": neck_feat})
    torch.manual_seed(0)
    net = build_backbone(cfg.model, NUM_CLASSES)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    state = {
        "config": cfg.to_dict(),
        "num_classes": NUM_CLASSES,
        "kind": "tsgan",
        "models": {"backbone": net.state_dict()},
    }
    return save_checkpoint(path, state)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return _checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint.pt")


def _pytorch_features(ckpt_path, samples):
    backbone, cfg = load_backbone(ckpt_path)
    return extract_features(backbone.features, samples, cfg, batch_size=4, progress=False), cfg


def _check_metadata(meta, cfg, feature):
    assert meta["input_height"] == "64" and meta["input_width"] == "32"
    assert meta["output_feature"] == feature and meta["output_dim"] == "256"  # width 32
    assert meta["config_digest"] == cfg.digest() and meta["checkpoint_kind"] == "tsgan"
    assert json.loads(meta["normalisation_mean"]) == [0.485, 0.456, 0.406]
    assert "inside the model" in meta["normalisation"] and "[0, 1]" in meta["input_range"]
    assert from_dict(json.loads(meta["config"])) == cfg
    assert meta["distance"].startswith("euclidean on L2-normalised features")  # eval.feat_norm


def test_onnx_export_gives_the_pytorch_features_at_two_batch_sizes(tmp_path, images):
    import onnxruntime as ort  # in the dev extra, so CI always runs this test

    ckpt_bn = _checkpoint(tmp_path / "bn.pt", neck_feat="bn")  # the BN-neck output, not V
    out = tmp_path / "model.onnx"
    assert cli("export", "--checkpoint", ckpt_bn, "--format", "onnx", "--out", out) == 0
    samples = folder_samples(images)[:7]
    expected, cfg = _pytorch_features(ckpt_bn, samples)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.stack([_test_image(s.path, cfg) for s in samples]).numpy()
    for batch in (x[:2], x[2:7]):  # dynamic batch: 2, then 5
        got = session.run(None, {"images": batch})[0]
        want = expected[:2] if len(batch) == 2 else expected[2:7]
        assert got.shape == tuple(want.shape)
        assert np.abs(got - want.numpy()).max() <= 1e-4
    _check_metadata(read_metadata(out), cfg, "bn")


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_gives_the_pytorch_features(tmp_path, images, ckpt):
    out = tmp_path / "model.pt"
    assert cli("export", "--checkpoint", ckpt, "--format", "torchscript", "--out", out) == 0
    samples = folder_samples(images)[:5]
    expected, cfg = _pytorch_features(ckpt, samples)
    model = torch.jit.load(str(out))
    x = torch.stack([_test_image(s.path, cfg) for s in samples])
    for lo, hi in ((0, 1), (1, 5)):
        assert (model(x[lo:hi]) - expected[lo:hi]).abs().max().item() <= 1e-4
    _check_metadata(read_metadata(out), cfg, "V")
    # the input contract of the metadata (and of the ONNX model) holds at run time too
    for shape in ((2, 1, cfg.data.height, cfg.data.width), (3, cfg.data.height, cfg.data.width)):
        with pytest.raises(torch.jit.Error, match=r"takes \[0, 1\] RGB images \(batch, 3, H, W\)"):
            model(torch.rand(shape))
    assert model(x[:2, :1].repeat(1, 3, 1, 1)).shape == expected[:2].shape  # grey as 3 channels


def _test_image(path, cfg):
    """The preprocessing the metadata describes, written out: RGB, resize to H x W, uint8 / 255."""
    with Image.open(path) as img:
        arr = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1)
    return F.resize(arr, [cfg.data.height, cfg.data.width], antialias=True).float() / 255


def test_export_errors_are_one_line(tmp_path, ckpt, monkeypatch):
    import tsgan.deploy

    def export(checkpoint, fmt, out):
        return cli("export", "--checkpoint", checkpoint, "--format", fmt, "--out", out)

    with pytest.raises(CheckpointError, match="found nothing"):
        export(tmp_path / "none.pt", "torchscript", tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"--out .* is a folder; give a file name") as err:
        export(ckpt, "torchscript", tmp_path)
    assert "\n" not in str(err.value)
    onnx_out = tmp_path / "m.onnx"
    monkeypatch.setattr(tsgan.deploy, "_importable", lambda name: name != "onnxscript")
    with pytest.raises(ExportError, match=r'onnxscript: pip install -e "\.\[export\]"') as err:
        export(ckpt, "onnx", onnx_out)
    assert "\n" not in str(err.value) and not onnx_out.exists()
    monkeypatch.setattr(torch, "__version__", "2.4.1")
    with pytest.raises(ExportError, match=r"needs torch >= 2\.6 .* found 2\.4\.1; .* torchscript"):
        export(ckpt, "onnx", onnx_out)


def test_folder_reader_is_recursive_sorted_and_checks_its_input(tmp_path, images):
    files = image_files(images)
    assert files == sorted(images.rglob("*.jpg")) and len(files) > 8
    assert image_files(files[3]) == [files[3]]
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    for bad, message in (
        (tmp_path / "missing", "found nothing"),
        (tmp_path / "empty", "found no images"),
        (tmp_path / "empty" / "notes.txt", "not an image file"),
    ):
        with pytest.raises(DatasetError, match=message) as err:
            image_files(bad)
        assert "\n" not in str(err.value)


def test_extract_writes_features_and_paths_in_order(tmp_path, images, ckpt):
    out = tmp_path / "feats.pt"
    assert (
        cli("extract", "--checkpoint", ckpt, "--images", images, "--out", out, "--device", "cpu")
        == 0
    )
    saved = torch.load(out, weights_only=True)
    samples = folder_samples(images)
    assert saved["paths"] == [p.relative_to(images).as_posix() for p in image_files(images)]
    assert saved["root"] == str(images.resolve()) and saved["feature"] == "V"
    assert saved["flip"] is False and saved["feat_norm"] is True  # the run's eval settings
    expected, _ = _pytorch_features(ckpt, samples)
    assert saved["features"].dtype == torch.float32
    assert saved["features"].shape == (len(samples), 256)  # the cpu preset's V
    assert torch.allclose(saved["features"], expected, atol=1e-5)
    # rows follow paths: the 4th row is the feature of the 4th path alone
    one, _ = _pytorch_features(ckpt, [samples[3]])
    assert torch.allclose(saved["features"][3], one[0], atol=1e-5)


def _gallery_with_copy(tmp_path, images, query):
    """A gallery (with a subfolder) of every third other image plus a byte copy of ``query``."""
    gallery = tmp_path / "gallery"
    (gallery / "nested").mkdir(parents=True)
    for i, f in enumerate(image_files(images)[::3]):
        if f != query:
            shutil.copy(f, gallery / "nested" / f"g{i:02d}.jpg")
    shutil.copy(query, gallery / "zz_copy.jpg")
    return gallery


@pytest.mark.parametrize("rerank", [False, True])
def test_search_ranks_the_query_copy_first(tmp_path, images, ckpt, rerank, capsys):
    files = image_files(images)
    query = files[4]
    gallery = _gallery_with_copy(tmp_path, images, query)
    n_gallery = len(image_files(gallery))
    out = tmp_path / "out" / "ranked.png"
    args = ["--checkpoint", ckpt, "--query", query, "--gallery", gallery, "--top", 5, "--out", out]
    assert cli("search", *args, *(["--rerank"] if rerank else [])) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and out.stat().st_size > 0
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 5 and [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["gallery"] == str(gallery / "zz_copy.jpg") and rows[0]["query"] == str(query)
    distances = [float(r["distance"]) for r in rows]
    assert distances == sorted(distances)
    if rerank:
        k1, k2 = clamp_rerank_k(20, 6, n_gallery)
        assert f"k1={k1}, k2={k2}" in printed and "re-ranked" in printed
    else:
        # the copy's distance is 0 up to float32 rounding of |x|^2 + |y|^2 - 2 x.y
        assert distances[0] < 1e-2 * distances[1]


def test_search_with_a_query_folder_writes_top_rows_per_query(tmp_path, images, ckpt):
    queries = tmp_path / "queries"
    queries.mkdir()
    for i, f in enumerate(image_files(images)[:3]):
        shutil.copy(f, queries / f"q{i}.jpg")
    out = tmp_path / "ranked.png"
    args = ["--checkpoint", ckpt, "--query", queries, "--gallery", images, "--top", 4, "--out", out]
    assert cli("search", *args) == 0
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 3 * 4 and len({r["query"] for r in rows}) == 3


def test_search_distances_normalise_like_evaluate_and_rerank_on_request():
    q, g = torch.tensor([[3.0, 4.0]]), torch.tensor([[6.0, 8.0], [1.0, 0.0], [0.0, 2.0]])
    plain = search_distances(q, g, feat_norm=False)
    assert torch.allclose(plain, torch.tensor([[5.0, 20**0.5, 13**0.5]]))
    unit = search_distances(q, g, feat_norm=True)  # [0.6, 0.8] against unit vectors
    assert torch.allclose(unit, torch.tensor([[0.0, 0.8**0.5, 0.4**0.5]]), atol=1e-6)
    reranked = search_distances(q, g, feat_norm=False, rerank_k=(1, 1, 0.3))
    qq, gg = torch.cdist(q, q), torch.cdist(g, g)
    assert torch.allclose(reranked, rerank(plain, qq, gg, k1=1, k2=1, lambda_=0.3), atol=1e-6)
    assert not torch.allclose(reranked, plain)


def test_rerank_k_clamped_to_half_the_gallery():
    assert clamp_rerank_k(20, 6, 1000) == (20, 6)
    assert clamp_rerank_k(20, 6, 12) == (6, 6)
    assert clamp_rerank_k(20, 6, 7) == (3, 3)
    assert clamp_rerank_k(20, 6, 1) == (1, 1)


def test_extract_and_search_bad_inputs(tmp_path, images, ckpt):
    (tmp_path / "empty").mkdir()
    not_ckpt = tmp_path / "notes.pt"
    not_ckpt.write_text("not a checkpoint")
    out = ["--out", tmp_path / "x.pt"]
    with pytest.raises(DatasetError, match="found nothing"):
        cli("extract", "--checkpoint", ckpt, "--images", tmp_path / "missing", *out)
    with pytest.raises(DatasetError, match="found no images"):
        cli(
            "search",
            "--checkpoint",
            ckpt,
            "--query",
            images,
            "--gallery",
            tmp_path / "empty",
            "--out",
            tmp_path / "r.png",
        )
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        cli("extract", "--checkpoint", not_ckpt, "--images", images, *out)
    feats = tmp_path / "feats.pt"  # a torch file, but features, not a checkpoint
    torch.save({"features": torch.zeros(1, 2)}, feats)
    with pytest.raises(CheckpointError, match="has no 'config' entry") as err:
        cli("extract", "--checkpoint", feats, "--images", images, *out)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="at least 1"):
        cli(
            "search",
            "--checkpoint",
            ckpt,
            "--query",
            images,
            "--gallery",
            images,
            "--top",
            0,
            "--out",
            tmp_path / "r.png",
        )
