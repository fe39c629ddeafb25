"""RegDB reader (Nguyen et al., Sensors 2017).

Layout::

    ROOT/Visible/<pid>/*.bmp, ROOT/Thermal/<pid>/*.bmp
    ROOT/idx/{train,test}_{visible,thermal}_<trial>.txt   lines '<relative path> <label>'

Ten trials, each splitting the 412 identities into 206 for training and 206 for testing (one
model per trial). The visible and thermal lists of a split are line-aligned: line i of both shows
the same person. Cameras: visible = 1 (``rgb``), thermal = 2 (``ir``).

Identity: ``pid`` is the folder number (``Visible/285/...`` -> 285), which is the same across
trials. The label column is a 0-based label *within one list*, so it only serves as a fallback
when a folder name is not a number; test labels are then shifted by the number of training
identities, so the two splits never share a ``pid``.
"""

from __future__ import annotations

from pathlib import Path

from .index_files import IndexLine, folder_pid, read_index_file, require_files, require_layout
from .records import CrossModalityDataset, DatasetError, Sample

VISIBLE_CAM = 1
THERMAL_CAM = 2
TRIALS = tuple(range(1, 11))
HINT = (
    "RegDB is distributed by Dongguk University on request (see data/README.md). Point --root at "
    "the folder that holds Visible/, Thermal/ and idx/, or run `python -m tsgan data synth "
    "--layout regdb --out DIR` for the embedded dataset in the same layout."
)


def read_split(root: Path, split: str, trial: int, label_offset: int) -> list[Sample]:
    """Read the line-aligned visible/thermal lists of one split of one trial."""
    lists = {side: root / "idx" / f"{split}_{side}_{trial}.txt" for side in ("visible", "thermal")}
    vis = read_index_file(lists["visible"], "RegDB", HINT)
    th = read_index_file(lists["thermal"], "RegDB", HINT)
    if len(vis) != len(th):
        raise DatasetError(
            f"RegDB: {lists['visible'].name} has {len(vis)} entries but {lists['thermal'].name} "
            f"has {len(th)}; the visible and thermal lists of a split must be line-aligned (same "
            "length, same label per line)."
        )
    for v, t in zip(vis, th):
        if v.label != t.label:
            raise DatasetError(
                f"RegDB: line {v.line} of {lists['visible'].name} has label {v.label} but line "
                f"{t.line} of {lists['thermal'].name} has label {t.label}; the lists must be "
                "line-aligned."
            )
    require_files(root, vis, lists["visible"], "RegDB", HINT)
    require_files(root, th, lists["thermal"], "RegDB", HINT)

    def record(e: IndexLine, cam: int, modality: str) -> Sample:
        pid = folder_pid(e.path)
        return Sample(
            str(root / e.path), pid if pid is not None else e.label + label_offset, cam, modality
        )

    return [record(e, VISIBLE_CAM, "rgb") for e in vis] + [record(e, THERMAL_CAM, "ir") for e in th]


def read_regdb(root: str | Path, trial: int = 1) -> CrossModalityDataset:
    """Read trial ``trial`` (1..10) of a RegDB tree: train and test records of both modalities."""
    root = require_layout(root, ("Visible", "Thermal", "idx"), "RegDB", HINT)
    if trial not in TRIALS:
        raise ValueError(f"RegDB trial must be one of 1..10, got {trial!r}")
    train = read_split(root, "train", trial, label_offset=0)
    train_ids = sorted({s.pid for s in train})
    test = read_split(root, "test", trial, label_offset=len(train_ids))
    test_ids = sorted({s.pid for s in test})
    overlap = set(train_ids) & set(test_ids)
    if overlap:
        raise DatasetError(
            f"RegDB: identities {sorted(overlap)[:10]} appear in both the train and the test lists "
            f"of trial {trial} in {root / 'idx'}; the splits must be disjoint."
        )
    return CrossModalityDataset(
        name="regdb",
        root=root,
        train=train,
        test=test,
        train_ids=train_ids,
        test_ids=test_ids,
        extra={"trial": trial},
    )
