"""LLCM reader (Zhang & Wang, CVPR 2023: low-light cross-modality ReID).

Layout::

    ROOT/idx/train_vis.txt, ROOT/idx/train_nir.txt   lines '<relative path> <label>'
    ROOT/idx/test_id.txt                              one line of comma-separated ids
    ROOT/test_vis/cam<c>/<pid:04d>/*                  visible test images (cams 1..9)
    ROOT/test_nir/cam<c>/<pid:04d>/*                  near-infrared test images

Training images are listed by the index files (``vis/0001/0001_c01_s185535_f7010_vis.jpg 0``).
``pid`` is the parent folder number (the label column only when the folder is not a number) and
the camera comes from the ``_c<NN>_`` part of the file name or a ``cam<c>`` folder. Test cameras
come from the ``cam<c>`` folder names.
"""

from __future__ import annotations

import re
from pathlib import Path

from .index_files import (
    IMAGE_SUFFIXES,
    IndexLine,
    folder_pid,
    read_id_line,
    read_index_file,
    require_files,
    require_layout,
)
from .records import CrossModalityDataset, DatasetError, Sample, require_dir

HINT = (
    "LLCM is distributed by its authors after signing an agreement (see data/README.md). Point "
    "--root at the folder that holds idx/, test_vis/ and test_nir/."
)
MODALITY_DIRS = {"rgb": "vis", "ir": "nir"}
_CAM_IN_NAME = re.compile(r"_c(\d+)_")
_CAM_DIR = re.compile(r"^cam(\d+)$")


def camera_of(rel_path: str, index_path: Path, line: int) -> int:
    """Camera number from ``..._c<NN>_...`` in the file name or a ``cam<c>`` folder in the path."""
    match = _CAM_IN_NAME.search(Path(rel_path).name)
    if match:
        return int(match.group(1))
    for part in Path(rel_path).parts:
        if _CAM_DIR.match(part):
            return int(_CAM_DIR.match(part).group(1))
    raise DatasetError(
        f"LLCM: cannot tell the camera of {rel_path} ({index_path} line {line}); expected a file "
        "name like '0001_c01_s185535_f7010_vis.jpg' or a 'cam<c>' folder in the path."
    )


def read_train_list(root: Path, modality: str) -> list[Sample]:
    index_path = root / "idx" / f"train_{MODALITY_DIRS[modality]}.txt"
    entries = read_index_file(index_path, "LLCM", HINT)
    require_files(root, entries, index_path, "LLCM", HINT)

    def record(e: IndexLine) -> Sample:
        pid = folder_pid(e.path)
        return Sample(
            str(root / e.path),
            e.label if pid is None else pid,
            camera_of(e.path, index_path, e.line),
            modality,
        )

    return [record(e) for e in entries]


def list_test_images(root: Path, modality: str, pids: list[int]) -> list[Sample]:
    """Every image of ``pids`` under ``test_<vis|nir>/cam<c>/<pid:04d>/``, sorted by
    (pid, cam, path)."""
    base = require_dir(
        root / f"test_{MODALITY_DIRS[modality]}",
        "the LLCM test images (cam<c>/<pid:04d>/*)",
        "LLCM",
        HINT,
    )
    cams = sorted(
        int(_CAM_DIR.match(d.name).group(1))
        for d in base.iterdir()
        if d.is_dir() and _CAM_DIR.match(d.name)
    )
    if not cams:
        raise DatasetError(
            f"LLCM: {base} holds no cam<c> folders; found "
            f"{sorted(p.name for p in base.iterdir())[:12]}.\n  {HINT}"
        )
    samples = []
    for pid in sorted(pids):
        for cam in cams:
            folder = base / f"cam{cam}" / f"{pid:04d}"
            if folder.is_dir():
                samples += [
                    Sample(str(img), pid, cam, modality)
                    for img in sorted(folder.iterdir())
                    if img.suffix.lower() in IMAGE_SUFFIXES
                ]
    return samples


def read_llcm(root: str | Path) -> CrossModalityDataset:
    """Read an LLCM tree: training records from the index files, test records from the test
    folders."""
    root = require_layout(root, ("idx", "test_vis", "test_nir"), "LLCM", HINT)
    train = read_train_list(root, "rgb") + read_train_list(root, "ir")
    train_ids = sorted({s.pid for s in train})
    test_ids = sorted(read_id_line(root / "idx" / "test_id.txt", "LLCM", HINT))
    overlap = set(train_ids) & set(test_ids)
    if overlap:
        raise DatasetError(
            f"LLCM: identities {sorted(overlap)[:10]} are both in the training lists and in "
            f"idx/test_id.txt under {root}; the splits must be disjoint."
        )
    test = list_test_images(root, "rgb", test_ids) + list_test_images(root, "ir", test_ids)
    if not test:
        raise DatasetError(
            f"LLCM: found no test images for the {len(test_ids)} ids of idx/test_id.txt; expected "
            f"them at test_vis/cam<c>/<pid:04d>/* and test_nir/cam<c>/<pid:04d>/* under {root}.\n  "
            f"{HINT}"
        )
    return CrossModalityDataset(
        name="llcm", root=root, train=train, test=test, train_ids=train_ids, test_ids=test_ids
    )
