"""Test protocols: which images are queries and which form the gallery, trial by trial (the
dataset facts are summarised in docs/ARCHITECTURE.md, "Evaluation").

* **SYSU-MM01** (:func:`sysu_protocol`): queries are every IR test image (cam3, cam6) in both
  modes; the gallery takes ``shots`` images per (identity, RGB camera) from cams 1, 2, 4, 5
  (``all``) or 1, 2 (``indoor``); ``ids="val"``: the same protocol on the validation identities
  (exp/val_id.txt, ``data.split=val``). Two draws exist in the literature:

  - ``"seeded"``: the most copied Python baseline. Python's ``random`` seeded with the trial
    number, then for each test id in ascending order and each gallery camera in order that has a
    folder, ``random.choice`` over the sorted file paths (multi-shot: ``random.sample(files, 10)``);
  - ``"official"``: the fixed permutations of the official MATLAB code, ``rand_perm_cam.mat``
    (cell c, entry pid-1 is a 10 x n matrix of 1-based image numbers; trial t takes the first
    ``shots`` numbers of row t), camera by camera, ids ascending within a camera.

* **RegDB** (:func:`regdb_protocol`): the test lists of one trial (1..10); one modality queries
  the other, in either direction; no draw.
* **LLCM** (:func:`llcm_protocol`): all test images of the query modality; the gallery takes one
  image per (identity, camera) of the other modality with Python's ``random`` seeded with the trial
  number (0..9), as the LLCM baseline code does.
"""

from __future__ import annotations

import random
from itertools import groupby
from pathlib import Path

import numpy as np

from .index_files import read_id_line
from .llcm import HINT as LLCM_HINT
from .llcm import list_test_images
from .records import DatasetError, Sample, require_dir
from .regdb import read_regdb
from .sysu import HINT as SYSU_HINT
from .sysu import IR_CAMS, list_images, modality_of_cam, split_ids

SYSU_GALLERY_CAMS = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
SYSU_SHOTS = (1, 10)
DRAWS = ("seeded", "official")
REGDB_DIRECTIONS = ("visible_to_thermal", "thermal_to_visible")
LLCM_DIRECTIONS = ("ir_to_rgb", "rgb_to_ir")
OFFICIAL_SPLIT_URL = "https://github.com/wuancong/SYSU-MM01/tree/master/evaluation/data_split"


def seeded_draw(samples: list[Sample], trial: int, shots: int = 1) -> list[Sample]:
    """Per (pid, cam) group, in the order given: ``random.choice`` (shots=1) or ``random.sample``.

    ``samples`` must be sorted by (pid, cam order, path), as the readers list them; the generator
    is ``random.Random(trial)``, which draws exactly what ``random.seed(trial)`` would. A group
    with fewer than ``shots`` images gives all of them in drawn order (the baseline would crash).
    """
    rng = random.Random(trial)
    drawn: list[Sample] = []
    for _, group in groupby(samples, key=lambda s: (s.pid, s.cam)):
        files = list(group)
        if shots == 1:
            drawn.append(rng.choice(files))
        else:
            drawn.extend(rng.sample(files, min(shots, len(files))))
    return drawn


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def _sysu_ids(root: Path, ids: str) -> list[int]:
    root = require_dir(root, "the SYSU-MM01 root (cam1..cam6/, exp/)", "SYSU-MM01", SYSU_HINT)
    return split_ids(root, ids)


def load_rand_perm_cam(split_file: str | Path) -> list[list[np.ndarray]]:
    """Read ``rand_perm_cam.mat``: 6 cameras, each a list over pid-1 of (10, n) 1-based image
    numbers."""
    path = Path(split_file) if split_file else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"SYSU-MM01 official draw: expected the split file rand_perm_cam.mat at {path}, found "
            f"nothing. It ships with the official evaluation code ({OFFICIAL_SPLIT_URL}); pass its "
            "path as split_file (--split-file on the command line), or use draw='seeded', which "
            "needs no file."
        )
    from scipy.io import loadmat  # deferred on purpose: only the official draw reads .mat files

    content = loadmat(str(path))
    if "rand_perm_cam" not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DatasetError(f"{path}: expected a MATLAB variable 'rand_perm_cam', found {found}")
    cells = np.asarray(content["rand_perm_cam"], dtype=object).ravel()
    if len(cells) != 6:
        raise DatasetError(
            f"{path}: 'rand_perm_cam' should be a 6-cell array (one per camera), found "
            f"{len(cells)} cells"
        )
    return [
        [np.atleast_2d(np.asarray(e)) for e in np.asarray(cell, dtype=object).ravel()]
        for cell in cells
    ]


def _official_gallery(
    root: Path,
    test_ids: list[int],
    cams: tuple[int, ...],
    shots: int,
    trial: int,
    split_file: str | Path,
) -> list[Sample]:
    perm = load_rand_perm_cam(split_file)
    gallery = []
    for cam in cams:
        for pid in test_ids:
            entry = perm[cam - 1][pid - 1] if pid - 1 < len(perm[cam - 1]) else np.zeros((0, 0))
            if entry.size == 0:
                continue  # no image of this identity in this camera
            if entry.shape[0] <= trial:
                raise DatasetError(
                    f"{split_file}: camera {cam}, id {pid} has {entry.shape[0]} trials; trial "
                    f"{trial} requested"
                )
            for number in entry[trial, :shots]:
                path = root / f"cam{cam}" / f"{pid:04d}" / f"{int(number):04d}.jpg"
                if not path.is_file():
                    raise DatasetError(
                        f"SYSU-MM01 official draw: {split_file} names image {int(number)} of id "
                        f"{pid} in cam{cam} (trial {trial}), but {path} does not exist. Is --root "
                        "the SYSU-MM01 root the file belongs to?"
                    )
                gallery.append(Sample(str(path), pid, cam, modality_of_cam(cam)))
    return gallery


def sysu_protocol(
    root: str | Path,
    mode: str = "all",
    shots: int = 1,
    trial: int = 0,
    draw: str = "seeded",
    split_file: str | Path | None = None,
    ids: str = "test",
) -> tuple[list[Sample], list[Sample]]:
    """(queries, gallery) of one SYSU-MM01 trial (0..9); queries are the same for every trial and
    mode. ``ids``: "test" (the published protocol) or "val" (the validation identities, for
    choosing a recipe without looking at the test split; ``data.split``)."""
    _check_choice("mode", mode, SYSU_GALLERY_CAMS)
    _check_choice("shots", shots, SYSU_SHOTS)
    _check_choice("draw", draw, DRAWS)
    if not 0 <= trial <= 9:
        raise ValueError(f"SYSU-MM01 has trials 0..9, got trial={trial}")
    root = Path(root)
    test_ids = _sysu_ids(root, ids)
    queries = list_images(root, test_ids, IR_CAMS)
    if not queries:
        raise DatasetError(
            f"SYSU-MM01: no IR image (cam3/cam6) of the {len(test_ids)} {ids} ids under "
            f"{root}.\n  {SYSU_HINT}"
        )
    cams = SYSU_GALLERY_CAMS[mode]
    if draw == "seeded":
        gallery = seeded_draw(list_images(root, test_ids, cams), trial, shots)
    else:
        gallery = _official_gallery(root, test_ids, cams, shots, trial, split_file)
    return queries, gallery


def regdb_protocol(
    root: str | Path, trial: int = 1, direction: str = "visible_to_thermal"
) -> tuple[list[Sample], list[Sample]]:
    """(queries, gallery) of RegDB trial ``trial`` (1..10): all test images of each modality."""
    _check_choice("direction", direction, REGDB_DIRECTIONS)
    test = read_regdb(root, trial=trial).test
    rgb = [s for s in test if s.modality == "rgb"]
    ir = [s for s in test if s.modality == "ir"]
    return (rgb, ir) if direction == "visible_to_thermal" else (ir, rgb)


def llcm_protocol(
    root: str | Path, trial: int = 0, direction: str = "ir_to_rgb"
) -> tuple[list[Sample], list[Sample]]:
    """(queries, gallery) of LLCM trial ``trial`` (0..9): one seeded gallery image per
    (id, camera)."""
    _check_choice("direction", direction, LLCM_DIRECTIONS)
    root = require_dir(Path(root), "the LLCM root (idx/, test_vis/, test_nir/)", "LLCM", LLCM_HINT)
    test_ids = sorted(read_id_line(root / "idx" / "test_id.txt", "LLCM", LLCM_HINT))
    q_mod, g_mod = ("ir", "rgb") if direction == "ir_to_rgb" else ("rgb", "ir")
    queries = list_test_images(root, q_mod, test_ids)
    gallery = seeded_draw(list_test_images(root, g_mod, test_ids), trial)
    return queries, gallery


__all__ = [
    "sysu_protocol",
    "regdb_protocol",
    "llcm_protocol",
    "seeded_draw",
    "load_rand_perm_cam",
    "SYSU_GALLERY_CAMS",
    "DRAWS",
    "REGDB_DIRECTIONS",
    "LLCM_DIRECTIONS",
]
