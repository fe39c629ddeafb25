"""Tiny fake dataset trees in the real layouts of SYSU-MM01, RegDB and LLCM (docs/ARCHITECTURE.md).

Images are real, very small files (JPEG, or BMP for RegDB) whose colour encodes (pid, cam, image)
so that two different images never decode to the same pixels. IR images are 3-channel grayscale,
as in the real datasets. Every builder returns the root it wrote.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SYSU_IR_CAMS = (3, 6)


def fake_image(path: Path, key: str, size: tuple[int, int], gray: bool) -> None:
    """Write a (height, width) image whose pixels are a deterministic function of ``key``."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    h, w = size
    base = rng.integers(0, 256, size=3)
    noise = rng.integers(-20, 21, size=(h, w, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    if gray:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def make_sysu_tree(
    root: Path,
    train_ids: list[int],
    val_ids: list[int],
    test_ids: list[int],
    images_per_cam: int = 2,
    missing: set[tuple[int, int]] | tuple = (),
    size: tuple[int, int] = (16, 8),
) -> Path:
    """``cam1..cam6/<pid:04d>/<img:04d>.jpg`` plus ``exp/{train,val,test}_id.txt``.

    ``missing`` holds (pid, cam) pairs that get no folder; ``size`` is (height, width).
    """
    root = Path(root)
    missing = set(missing)
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True, exist_ok=True)
        for pid in sorted(train_ids + val_ids + test_ids):
            if (pid, cam) in missing:
                continue
            for img in range(1, images_per_cam + 1):
                path = root / f"cam{cam}" / f"{pid:04d}" / f"{img:04d}.jpg"
                fake_image(path, f"sysu/{pid}/{cam}/{img}", size, gray=cam in SYSU_IR_CAMS)
    (root / "exp").mkdir(exist_ok=True)
    for name, ids in (("train", train_ids), ("val", val_ids), ("test", test_ids)):
        (root / "exp" / f"{name}_id.txt").write_text(",".join(str(i) for i in ids))
    return root


def regdb_split(ids: list[int], trial: int) -> tuple[list[int], list[int]]:
    """The (train, test) identities of a fake RegDB trial: a seeded half/half split of ``ids``."""
    perm = np.random.default_rng(trial).permutation(sorted(ids))
    half = len(perm) // 2
    return sorted(int(i) for i in perm[:half]), sorted(int(i) for i in perm[half:])


def make_regdb_tree(
    root: Path,
    ids: list[int],
    images_per_id: int = 2,
    trials: tuple[int, ...] = (1,),
    size: tuple[int, int] = (16, 8),
) -> Path:
    """``Visible/<pid>/*.bmp``, ``Thermal/<pid>/*.bmp`` and line-aligned
    ``idx/{train,test}_{visible,thermal}_<t>.txt``.

    Each trial splits ``ids`` half/half with :func:`regdb_split`; list lines are
    ``<relative path> <label>`` with a 0-based label per list, as in the real idx files.
    """
    root = Path(root)
    files: dict[tuple[int, str], list[str]] = {}
    for n, pid in enumerate(sorted(ids)):
        for side, letter in (("Visible", "v"), ("Thermal", "t")):
            names = []
            for k in range(images_per_id):
                rel = f"{side}/{pid}/male_front_{letter}_{n * images_per_id + k:05d}_{pid}.bmp"
                fake_image(root / rel, f"regdb/{rel}", size, gray=side == "Thermal")
                names.append(rel)
            files[pid, side] = names
    (root / "idx").mkdir(exist_ok=True)
    for trial in trials:
        for split, split_ids in zip(("train", "test"), regdb_split(ids, trial)):
            for side, tag in (("Visible", "visible"), ("Thermal", "thermal")):
                lines = [
                    f"{rel} {label}"
                    for label, pid in enumerate(split_ids)
                    for rel in files[pid, side]
                ]
                (root / "idx" / f"{split}_{tag}_{trial}.txt").write_text("\n".join(lines) + "\n")
    return root


def make_llcm_tree(
    root: Path,
    train_ids: list[int],
    test_ids: list[int],
    vis_cams: tuple[int, ...] = (1, 2),
    nir_cams: tuple[int, ...] = (1, 2),
    images_per_cam: int = 2,
    size: tuple[int, int] = (16, 8),
) -> Path:
    """LLCM: training images under ``vis/`` and ``nir/`` listed in ``idx/train_{vis,nir}.txt``;
    test images at ``test_{vis,nir}/cam<c>/<pid:04d>/``; ``idx/test_id.txt`` one comma-separated
    line.

    File names follow the real ``<pid:04d>_c<cam:02d>_s<seq>_f<frame>_<vis|nir>.jpg`` pattern.
    """
    root = Path(root)
    lists: dict[str, list[str]] = {"vis": [], "nir": []}
    for label, pid in enumerate(sorted(train_ids)):
        for mod, cams in (("vis", vis_cams), ("nir", nir_cams)):
            for cam in cams:
                for f in range(images_per_cam):
                    rel = f"{mod}/{pid:04d}/{pid:04d}_c{cam:02d}_s100000_f{f:04d}_{mod}.jpg"
                    fake_image(root / rel, f"llcm/{rel}", size, gray=mod == "nir")
                    lists[mod].append(f"{rel} {label}")
    for pid in sorted(test_ids):
        for mod, cams in (("vis", vis_cams), ("nir", nir_cams)):
            for cam in cams:
                for f in range(images_per_cam):
                    rel = (
                        f"test_{mod}/cam{cam}/{pid:04d}/"
                        f"{pid:04d}_c{cam:02d}_s200000_f{f:04d}_{mod}.jpg"
                    )
                    fake_image(root / rel, f"llcm/{rel}", size, gray=mod == "nir")
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for mod in ("vis", "nir"):
        (root / "idx" / f"train_{mod}.txt").write_text("\n".join(lists[mod]) + "\n")
    (root / "idx" / "test_id.txt").write_text(",".join(str(i) for i in test_ids) + "\n")
    return root
