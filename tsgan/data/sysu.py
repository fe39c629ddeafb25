"""SYSU-MM01 reader (Wu et al., ICCV 2017).

Layout (also written by ``tsgan.data.synthetic``)::

    ROOT/cam1 .. cam6/<pid:04d>/<img:04d>.jpg
    ROOT/exp/train_id.txt, val_id.txt, test_id.txt   one line of comma-separated ids

RGB cameras 1, 2 (indoor), 4, 5 (outdoor); IR cameras 3 (indoor) and 6 (outdoor). Training uses
train + val identities (395 on the real dataset); the test identities feed the protocols.
:func:`validation_split` (``data.split=val``) holds the val identities out instead: training on
the train ids alone, the protocols scored on the val ids, the test ids never read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .index_files import IMAGE_SUFFIXES, read_id_line, require_layout
from .records import CrossModalityDataset, DatasetError, Sample

RGB_CAMS = (1, 2, 4, 5)
IR_CAMS = (3, 6)
ALL_CAMS = (1, 2, 3, 4, 5, 6)
SPLITS = ("test", "val")  # data.split: the identities scored by the protocols
HINT = (
    "SYSU-MM01 is distributed by its authors on request (see data/README.md). Point --root at the "
    "folder that holds cam1..cam6 and exp/, or run `python -m tsgan data synth --out DIR` for the "
    "embedded dataset in the same layout."
)


def modality_of_cam(cam: int) -> str:
    return "ir" if cam in IR_CAMS else "rgb"


def read_id_file(path: Path) -> list[int]:
    """Parse one of exp/{train,val,test}_id.txt: comma-separated, unpadded integers."""
    return read_id_line(path, "SYSU-MM01", HINT)


def split_ids(root: Path, split: str = "test") -> list[int]:
    """The identities the protocols score (ascending): exp/test_id.txt for ``split="test"``,
    exp/val_id.txt for ``split="val"`` (``data.split``)."""
    if split not in SPLITS:
        raise ValueError(f"data.split must be one of {SPLITS}, got {split!r}")
    ids = sorted(read_id_file(Path(root) / "exp" / f"{split}_id.txt"))
    if not ids:
        raise DatasetError(f"SYSU-MM01: {Path(root) / 'exp' / f'{split}_id.txt'} lists no ids")
    return ids


def list_images(root: Path, pids: list[int], cams: tuple[int, ...] = ALL_CAMS) -> list[Sample]:
    """Every image of ``pids`` in ``cams``, sorted by (pid, cam, path). Missing folders are fine."""
    samples = []
    for pid in sorted(pids):
        for cam in cams:
            folder = root / f"cam{cam}" / f"{pid:04d}"
            if not folder.is_dir():
                continue
            for img in sorted(folder.iterdir()):
                if img.suffix.lower() in IMAGE_SUFFIXES:
                    samples.append(Sample(str(img), pid, cam, modality_of_cam(cam)))
    return samples


def read_sysu(root: str | Path) -> CrossModalityDataset:
    """Read a SYSU-MM01 tree into train (train + val ids) and test records."""
    root = require_layout(root, tuple(f"cam{c}" for c in ALL_CAMS) + ("exp",), "SYSU-MM01", HINT)
    train_ids = read_id_file(root / "exp" / "train_id.txt")
    val_ids = read_id_file(root / "exp" / "val_id.txt")
    test_ids = read_id_file(root / "exp" / "test_id.txt")
    overlap = set(train_ids + val_ids) & set(test_ids)
    if overlap:
        raise DatasetError(
            f"SYSU-MM01: identities {sorted(overlap)[:10]} are listed both for training and "
            f"testing in {root / 'exp'}; the split files must be disjoint."
        )
    train = list_images(root, train_ids + val_ids)
    test = list_images(root, test_ids)
    if not train or not test:
        raise DatasetError(
            f"SYSU-MM01: found {len(train)} training and {len(test)} test images under {root}; "
            f"expected images at cam<c>/<pid:04d>/<img:04d>.jpg for the ids in exp/*.txt.\n  {HINT}"
        )
    return CrossModalityDataset(
        name="sysu",
        root=root,
        train=train,
        test=test,
        train_ids=sorted(train_ids + val_ids),
        val_ids=sorted(val_ids),
        test_ids=sorted(test_ids),
    )


def validation_split(data: CrossModalityDataset) -> CrossModalityDataset:
    """``data`` (read by :func:`read_sysu`) with the val identities held out (``data.split=val``):
    ``train`` keeps the train ids' images, ``test`` becomes the val ids' images (the protocols draw
    from those: :func:`tsgan.data.protocols.sysu_protocol` with ``ids="val"``) and ``test_ids`` the
    val ids. The test ids' images are dropped, so nothing downstream can score on them."""
    val = set(data.val_ids)
    if not val:
        raise DatasetError(
            f"{data.name}: data.split=val needs validation identities (exp/val_id.txt of the "
            "SYSU-MM01 layout, also written for the embedded data); this dataset has none: use "
            "data.split=test"
        )
    train = [s for s in data.train if s.pid not in val]
    held_out = [s for s in data.train if s.pid in val]
    if not train or not held_out:
        raise DatasetError(
            f"{data.name}: data.split=val leaves {len(train)} training and {len(held_out)} "
            f"validation images under {data.root}; both must be non-empty"
        )
    return dataclasses.replace(
        data,
        train=train,
        test=held_out,
        train_ids=sorted(set(data.train_ids) - val),
        test_ids=sorted(val),
        extra={**data.extra, "split": "val"},
    )
