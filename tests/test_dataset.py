"""Image loading, the uint8 cache, ImageDataset / PairDataset and the train / test loaders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import make_sysu_tree
from PIL import Image

from tsgan.config import get_config
from tsgan.data import DatasetError, read_sysu
from tsgan.data.cache import ImageCache
from tsgan.data.dataset import (
    ImageDataset,
    PairDataset,
    build_test_loader,
    build_train_loader,
    load_image,
)
from tsgan.data.transforms import build_transforms

TRAIN, VAL, TEST = [1, 2, 3, 4, 5], [6], [7, 8]


@pytest.fixture
def sysu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TSGAN_RUNS", str(tmp_path / "runs"))
    return read_sysu(
        make_sysu_tree(tmp_path / "sysu", TRAIN, VAL, TEST, images_per_cam=2, missing={(2, 6)})
    )


def plain_cfg(**data):
    """cpu preset at the fake images' own size, without random augmentation."""
    return get_config(
        "cpu",
        {
            "data.height": 16,
            "data.width": 8,
            "data.flip": 0.0,
            "data.pad": 0,
            "data.erasing": 0.0,
            "data.P": 3,
            "data.K": 2,
            "data.batches_per_epoch": 0,
            **{f"data.{k}": v for k, v in data.items()},
        },
    )


def pixels(path: str) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"image .*nothing.jpg does not exist"):
        load_image(tmp_path / "nothing.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=r"image .*junk.jpg is corrupt or not an image"):
        load_image(tmp_path / "junk.jpg")
    Image.fromarray(np.full((64, 32, 3), 99, np.uint8)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"cut.jpg is corrupt"):
        load_image(tmp_path / "cut.jpg")
    assert load_image(tmp_path / "full.jpg").mode == "RGB"


def test_image_dataset_items(sysu) -> None:
    ds = ImageDataset(
        sysu.train, build_transforms(plain_cfg().data, False), pid2label=sysu.pid2label
    )
    item = ds[5]
    s = sysu.train[5]
    assert (item["pid"], item["cam"], item["modality"], item["index"]) == (
        s.pid,
        s.cam,
        s.modality,
        5,
    )
    assert item["label"] == sorted(TRAIN + VAL).index(s.pid)
    assert torch.allclose(item["img"], pixels(s.path).float() / 255, atol=1e-6)
    assert ImageDataset(sysu.test, build_transforms(plain_cfg().data, False))[0]["label"] == -1


def test_cache_holds_the_decoded_pixels_and_is_reused(sysu, tmp_path: Path) -> None:
    paths = [s.path for s in sysu.train]
    cache = ImageCache.build(paths, (16, 8), progress=False)
    files = list((tmp_path / "runs" / "cache" / "images").glob("*.npy"))
    assert len(files) == 1 and cache.array.shape == (len(paths), 16, 8, 3)
    for p in paths[::7]:
        assert torch.equal(
            cache[p], pixels(p)
        )  # the fakes are already 16x8: resizing is the identity
    again = ImageCache.build(paths, (16, 8), progress=False)
    assert isinstance(again.array, np.memmap) and list(files[0].parent.glob("*.npy")) == files
    assert ImageCache.build(paths, (8, 4), progress=False).array.shape == (len(paths), 8, 4, 3)
    os.utime(paths[0], ns=(0, 0))  # a changed file gets a new cache
    ImageCache.build(paths, (16, 8), progress=False)
    assert len(list(files[0].parent.glob("*_16x8.npy"))) == 2


def test_cached_and_uncached_items_are_identical(sysu) -> None:
    cfg = plain_cfg(height=12, width=6)
    t = build_transforms(cfg.data, False)
    cache = ImageCache.build([s.path for s in sysu.test], (12, 6), progress=False)
    plain, cached = ImageDataset(sysu.test, t), ImageDataset(sysu.test, t, cache=cache)
    for i in range(len(plain)):
        assert torch.equal(plain[i]["img"], cached[i]["img"])
    with pytest.raises(ValueError, match="the image cache lacks 1 of the"):
        ImageDataset(sysu.train[:1] + sysu.test, t, cache=cache)


def test_pair_dataset_refuses_mixed_identities(sysu) -> None:
    rgb, ir = sysu.subset("train", "rgb"), sysu.subset("train", "ir")
    t = build_transforms(plain_cfg().data, False)
    pairs = PairDataset(rgb, ir, t, t, sysu.pid2label)
    j = next(k for k, s in enumerate(ir) if s.pid == rgb[0].pid)
    assert pairs[(0, j)]["label"] == sysu.pid2label[rgb[0].pid]
    k = next(k for k, s in enumerate(ir) if s.pid != rgb[0].pid)
    with pytest.raises(ValueError, match="mixes identities"):
        pairs[(0, k)]


def identify(batch_images: torch.Tensor, lookup: dict[bytes, int]) -> list[int]:
    """pid of each image by exact pixel match against every dataset image."""
    keys = (batch_images * 255).round().to(torch.uint8)
    return [lookup.get(k.numpy().tobytes(), -1) for k in keys]


@pytest.mark.parametrize("cache", [False, True])
def test_train_loader_batches_pair_train_identities_only(sysu, cache: bool) -> None:
    cfg = plain_cfg(cache=cache)
    lookup = {pixels(s.path).numpy().tobytes(): s.pid for s in sysu.train}
    test_lookup = {pixels(s.path).numpy().tobytes(): s.pid for s in sysu.test}
    loader = build_train_loader(cfg, sysu)
    label2pid = {v: k for k, v in sysu.pid2label.items()}
    assert len(loader) == len(sysu.subset("train", "rgb")) // 6
    for batch in loader:
        assert (
            batch["rgb"].shape == batch["ir"].shape == (6, 3, 16, 8)
            and batch["label"].dtype == torch.long
        )
        pids = [label2pid[int(l)] for l in batch["label"]]
        assert identify(batch["rgb"], lookup) == pids == identify(batch["ir"], lookup)
        assert set(identify(batch["rgb"], test_lookup)) == {-1} and not set(pids) & set(TEST)
        assert (batch["ir"][:, 0] == batch["ir"][:, 1]).all(), "IR images are 3 equal channels"


def test_train_loader_is_reproducible_and_sharded(sysu) -> None:
    cfg = plain_cfg(flip=0.5, pad=2, erasing=0.5)

    def labels(**kw) -> list[list[int]]:
        torch.manual_seed(0)
        return [b["label"].tolist() for b in build_train_loader(cfg, sysu, **kw)]

    def images(**kw) -> torch.Tensor:
        torch.manual_seed(0)
        return torch.cat([b["rgb"] for b in build_train_loader(cfg, sysu, **kw)])

    assert torch.equal(images(), images())
    assert labels(epoch=1) != labels(epoch=0)
    rank0, rank1 = labels(rank=0, world_size=2), labels(rank=1, world_size=2)
    assert len(rank0) == len(rank1) >= 1 and rank0 != rank1


def test_workers_give_the_same_batches(sysu) -> None:
    a = [b["ir"] for b in build_train_loader(plain_cfg(workers=0), sysu)]
    b = [b["ir"] for b in build_train_loader(plain_cfg(workers=1), sysu)]
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and len(a) == len(b)


def test_test_loader_keeps_order(sysu) -> None:
    loader = build_test_loader(sysu.test, plain_cfg(cache=True), batch_size=5)
    batches = list(loader)
    assert torch.cat([b["index"] for b in batches]).tolist() == list(range(len(sysu.test)))
    assert torch.cat([b["pid"] for b in batches]).tolist() == [s.pid for s in sysu.test]
    assert batches[0]["img"].shape == (5, 3, 16, 8)
    assert len(build_test_loader(sysu.test, plain_cfg().data, batch_size=64)) == 1
