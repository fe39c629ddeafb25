"""The embedded dataset: procedurally rendered pedestrians in the SYSU-MM01 (or RegDB) layout.

Licence-gated datasets cannot be downloaded here, so everything that runs by default reads this
one, through the very same reader, sampler and protocol code as the real data::

    generate("data/synthetic_sysu", seed=0)          # cam1..cam6/<pid:04d>/<img:04d>.jpg, exp/*.txt
    generate("data/synthetic_regdb", layout="regdb") # Visible/, Thermal/, idx/*.txt
    get_dataset("synthetic", "data/synthetic_sysu")  # generated on first use, then read

Each layout has its own IR physics, as the real datasets do. SYSU-MM01's IR cameras (3 and 6)
are near-infrared cameras with an active illuminator: the grey level of a garment is its
reflectance at ~850 nm, a fixed non-trivial function of its dye (``nir``: many dyes are
NIR-transparent, so dark clothes can look bright; carbon black stays dark) plus a fibre term and a
per-identity jitter, seen under centre-bright illumination with gain, noise and blur
(``drawing.expose``). RegDB's camera is thermal: the grey level follows the fabric's
temperature, not its colour (``attributes.FABRICS``). Shape (proportions, hair, the cut of
sleeves, top and bottom, bags) and pattern geometry show in every modality.

IR twins: :func:`ir_twin` renders, for any generated RGB picture, the same person, pose,
viewpoint and background scene as the dataset's IR camera at that place would record it (cam3 for
the indoor cams 1 and 2, cam6 for the outdoor cams 4 and 5). They are ground truth for *measuring*
an RGB -> IR generator (``tsgan.eval.twins``), never a training signal: training stays unpaired.

Version 3 (NIR physics) replaces version 2 (thermal everywhere); its calibration is measured by
``benchmarks/bench_calibration.py`` (results in ``benchmarks/results/calibration.json``). Same
seed, same bytes: every picture is drawn from its own random stream keyed by (seed, pid, cam,
index), so nothing depends on the order of generation.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ...paths import resolve_path
from ...progress import bar
from ..records import CrossModalityDataset, DatasetError, Sample
from ..sysu import ALL_CAMS, IR_CAMS, RGB_CAMS, read_sysu
from .attributes import Camera, Identity, sample_camera, sample_identity
from .drawing import draw_pose, render, render_background

GENERATOR_VERSION = 3
MARKER = "synthetic.json"
JPEG_QUALITY = 92
OUTDOOR_CAMS = (4, 5, 6)
SYSU_DEFAULTS = {
    "num_ids": 200,
    "height": 128,
    "width": 64,
    "min_images": 3,
    "max_images": 6,
    "val_frac": 0.2,
    "test_frac": 0.25,
}
REGDB_DEFAULTS = {"num_ids": 100, "height": 128, "width": 64, "images_per_id": 10, "trials": 10}
WORKERS = 2  # processes rendering a SYSU-layout tree (the bytes do not depend on it) ...
PARALLEL_FROM = 200  # ... from this many (pid, cam) folders on (starting processes costs seconds)
REGDB_CAMS = (1, 3)  # the visible and thermal camera of the RegDB dual-camera rig
# Tags that keep the random streams of different purposes apart.
_IDENTITY, _CAMERA, _IMAGE, _COVERAGE, _SPLIT, _TRIAL, _POSE, _TWIN = range(1, 9)
TWIN_CAMS = {1: 3, 2: 3, 4: 6, 5: 6}  # RGB camera -> the IR camera filming the same kind of place


def _rng(*key: int) -> np.random.Generator:
    """A random stream keyed by a tuple of non-negative ints (fixed length: keys never collide)."""
    return np.random.default_rng([*key, *([0] * (5 - len(key)))])


def options_for(layout: str, **size_options: int | float) -> dict:
    """The full option set of ``layout`` with ``size_options`` applied; unknown names are an
    error."""
    defaults = {"sysu": SYSU_DEFAULTS, "regdb": REGDB_DEFAULTS}.get(layout)
    if defaults is None:
        raise ValueError(f"layout must be 'sysu' or 'regdb', got {layout!r}")
    unknown = sorted(set(size_options) - set(defaults))
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown} for layout {layout!r}; known: {sorted(defaults)}"
        )
    opts = {**defaults, **size_options}
    if layout == "sysu":
        if not 1 <= opts["min_images"] <= opts["max_images"]:
            raise ValueError(
                f"need 1 <= min_images <= max_images, got {opts['min_images']}, "
                f"{opts['max_images']}"
            )
        n_test, n_val = _split_sizes(opts)
        if opts["num_ids"] - n_test - n_val < 2 or n_test < 2:
            raise ValueError(
                f"num_ids={opts['num_ids']} leaves too few train/test identities; use at least 8"
            )
    elif opts["num_ids"] < 4 or opts["images_per_id"] < 1 or opts["trials"] < 1:
        raise ValueError(
            f"RegDB layout needs num_ids >= 4, images_per_id >= 1, trials >= 1; got {opts}"
        )
    return opts


def _split_sizes(opts: dict) -> tuple[int, int]:
    n = opts["num_ids"]
    return round(n * opts["test_frac"]), round(n * opts["val_frac"])


@dataclass
class SysuPlan:
    """What a SYSU-layout tree holds: identity splits and the number of pictures per (pid, cam)."""

    train_ids: list[int]
    val_ids: list[int]
    test_ids: list[int]
    counts: dict[tuple[int, int], int]


def plan_sysu(seed: int = 0, **size_options: int | float) -> SysuPlan:
    """Identity splits (shuffled like SYSU-MM01's) and camera coverage: every identity has at least
    one RGB and one IR camera, but not every identity is seen by every camera."""
    opts = options_for("sysu", **size_options)
    pids = np.arange(1, opts["num_ids"] + 1)
    perm = _rng(_SPLIT, seed).permutation(pids)
    n_test, n_val = _split_sizes(opts)
    test, val, train = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    counts = {}
    for pid in pids:
        rng = _rng(_COVERAGE, seed, int(pid))
        cams = []
        for group, p in ((RGB_CAMS, 0.6), (IR_CAMS, 0.75)):
            seen = [c for c in group if rng.random() < p]
            cams += seen or [group[rng.integers(len(group))]]
        for cam in sorted(cams):
            counts[int(pid), cam] = int(rng.integers(opts["min_images"], opts["max_images"] + 1))
    return SysuPlan(sorted(map(int, train)), sorted(map(int, val)), sorted(map(int, test)), counts)


def world(
    seed: int, height: int, width: int, cams: tuple[int, ...] = ALL_CAMS, ir_physics: str = "nir"
) -> dict[int, tuple[Camera, np.ndarray]]:
    """The cameras of the synthetic world and their backgrounds, keyed by camera number; the IR
    cameras (3, 6) record ``ir_physics`` ("nir" in the SYSU layout, "thermal" in RegDB's)."""
    out = {}
    for cam in cams:
        rng = _rng(_CAMERA, seed, cam)
        physics = ir_physics if cam in IR_CAMS else "rgb"
        camera = sample_camera(rng, cam, physics, outdoor=cam in OUTDOOR_CAMS)
        out[cam] = (camera, render_background(rng, camera, height, width))
    return out


def identity(seed: int, pid: int) -> Identity:
    return sample_identity(_rng(_IDENTITY, seed, pid), pid)


def picture(
    seed: int,
    pid: int,
    cam: int,
    index: int,
    height: int = 128,
    width: int = 64,
    cameras: dict | None = None,
) -> np.ndarray:
    """Picture ``index`` of identity ``pid`` by camera ``cam``: (H, W, 3) uint8, independent of
    any other."""
    camera, background = (cameras or world(seed, height, width, (cam,)))[cam]
    rng = _rng(_IMAGE, seed, pid, cam, index)
    ident = identity(seed, pid)
    return render(
        ident, camera, background, draw_pose(rng, ident, camera.view_p, height, width), rng
    )


def twin_picture(
    seed: int,
    pid: int,
    cam: int,
    index: int,
    height: int = 128,
    width: int = 64,
    physics: str = "nir",
) -> np.ndarray:
    """The IR twin of :func:`picture` ``(seed, pid, cam, index)`` of an RGB camera: the same
    person, pose, viewpoint, occluder and background scene, recorded by the IR camera of that
    place (:data:`TWIN_CAMS`) with ``physics`` ("nir": SYSU-MM01's; "thermal": RegDB's)."""
    if cam not in TWIN_CAMS:
        raise ValueError(
            f"an IR twin is rendered for an RGB camera {sorted(TWIN_CAMS)}, got cam {cam}"
        )
    cameras = world(seed, height, width, (cam, TWIN_CAMS[cam]), ir_physics=physics)
    (rgb_cam, background), ir_cam = cameras[cam], cameras[TWIN_CAMS[cam]][0]
    ident = identity(seed, pid)
    pose = draw_pose(_rng(_IMAGE, seed, pid, cam, index), ident, rgb_cam.view_p, height, width)
    return render(ident, ir_cam, background, pose, _rng(_TWIN, seed, pid, cam, index))


def ir_twin(sample: Sample | str | Path, physics: str = "nir") -> np.ndarray:
    """The IR twin (H, W, 3) uint8 of a generated RGB picture of a SYSU-layout synthetic tree,
    given as a :class:`Sample` or a path ``<root>/camC/<pid>/<index>.jpg``; seed and size are read
    from the tree's marker. Ground truth for measuring G_I, never a training signal."""
    path = Path(sample.path if isinstance(sample, Sample) else sample)
    marker_path = path.parents[2] / MARKER if len(path.parents) > 2 else Path(MARKER)
    if not marker_path.is_file():
        raise DatasetError(
            f"ir_twin: {path} is not a picture of a synthetic tree (no {marker_path}); "
            "pass a Sample or path read from data made by tsgan.data.synthetic.generate"
        )
    marker = json.loads(marker_path.read_text())
    if marker["layout"] != "sysu" or marker["generator"] != GENERATOR_VERSION:
        raise DatasetError(
            f"ir_twin: {marker_path.parent} is layout {marker['layout']!r}, generator "
            f"{marker['generator']}; twins need a SYSU-layout tree of generator "
            f"{GENERATOR_VERSION} (in RegDB's layout the Thermal picture is the twin)"
        )
    opts = marker["options"]
    return twin_picture(
        marker["seed"],
        int(path.parent.name),
        int(path.parent.parent.name[3:]),
        int(path.stem),
        opts["height"],
        opts["width"],
        physics,
    )


def generate(
    out: str | Path,
    seed: int = 0,
    layout: str = "sysu",
    progress: bool = True,
    **size_options: int | float,
) -> Path:
    """Write the embedded dataset to ``out`` (byte-identical for the same seed and options); return
    it.

    ``out`` must be missing, empty, or an earlier synthetic tree (it is replaced). The tree is built
    in a sibling temporary folder and moved into place, so a crash never leaves half a dataset.
    """
    out = resolve_path(out)
    opts = options_for(layout, **size_options)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise DatasetError(
            f"synthetic: refusing to write into {out}: it holds files but no {MARKER}, so it is "
            "not a synthetic tree made by this generator. Choose an empty or new folder with --out."
        )
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        (_write_sysu if layout == "sysu" else _write_regdb)(tmp, seed, opts, progress)
        marker = {"generator": GENERATOR_VERSION, "seed": seed, "layout": layout, "options": opts}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _save(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        Image.fromarray(img).save(
            path, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False
        )
    else:
        Image.fromarray(img).save(path, "BMP")


def _write_folder(job: tuple[Path, int, int, int, int, int, int]) -> int:
    """Render and save the ``n`` pictures of one (pid, cam) folder; return ``n``."""
    root, seed, pid, cam, n, h, w = job
    cameras = world(seed, h, w, (cam,))
    for i in range(1, n + 1):
        _save(
            picture(seed, pid, cam, i, h, w, cameras),
            root / f"cam{cam}" / f"{pid:04d}" / f"{i:04d}.jpg",
        )
    return n


def _write_sysu(root: Path, seed: int, opts: dict, progress: bool) -> None:
    """Folders are rendered by up to :data:`WORKERS` processes (from :data:`PARALLEL_FROM` folders
    on): every picture has its own random stream, so the bytes do not depend on the workers."""
    plan = plan_sysu(seed, **opts)
    h, w = opts["height"], opts["width"]
    for cam in ALL_CAMS:
        (root / f"cam{cam}").mkdir()
    jobs = [(root, seed, pid, cam, n, h, w) for (pid, cam), n in plan.counts.items()]
    folders = bar(
        total=len(jobs),
        desc="rendering SYSU-layout data",
        unit="folder",
        enabled=progress,
        leave=False,
    )
    workers = min(WORKERS, os.cpu_count() or 1) if len(jobs) >= PARALLEL_FROM else 1
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_folder, jobs, chunksize=8):
                folders.update()
    else:
        for job in jobs:
            _write_folder(job)
            folders.update()
    folders.close()
    (root / "exp").mkdir()
    for name, ids in (("train", plan.train_ids), ("val", plan.val_ids), ("test", plan.test_ids)):
        (root / "exp" / f"{name}_id.txt").write_text(",".join(map(str, ids)) + "\n")


def _write_regdb(root: Path, seed: int, opts: dict, progress: bool) -> None:
    """RegDB: a dual-camera rig, so the visible and thermal picture k of a person share one pose."""
    h, w = opts["height"], opts["width"]
    cameras = world(seed, h, w, REGDB_CAMS, ir_physics="thermal")
    files: dict[tuple[int, str], list[str]] = {}
    serial = 0
    for pid in bar(
        range(1, opts["num_ids"] + 1),
        desc="rendering RegDB-layout data",
        unit="id",
        enabled=progress,
        leave=False,
    ):
        ident = identity(seed, pid)
        sex = "female" if ident.long_hair or ident.bottom_kind == "skirt" else "male"
        for k in range(opts["images_per_id"]):
            serial += 1
            pose = draw_pose(
                _rng(_POSE, seed, pid, k), ident, cameras[REGDB_CAMS[0]][0].view_p, h, w
            )
            for cam, side, letter in (
                (REGDB_CAMS[0], "Visible", "v"),
                (REGDB_CAMS[1], "Thermal", "t"),
            ):
                camera, background = cameras[cam]
                img = render(ident, camera, background, pose, _rng(_IMAGE, seed, pid, cam, k))
                rel = f"{side}/{pid}/{sex}_{pose['view']}_{letter}_{serial:05d}_{pid}.bmp"
                _save(img, root / rel)
                files.setdefault((pid, side), []).append(rel)
    (root / "idx").mkdir()
    for trial in range(1, opts["trials"] + 1):
        perm = _rng(_TRIAL, seed, trial).permutation(np.arange(1, opts["num_ids"] + 1))
        half = len(perm) // 2
        for split, ids in (("train", sorted(perm[:half])), ("test", sorted(perm[half:]))):
            for side in ("Visible", "Thermal"):
                lines = [
                    f"{rel} {label}"
                    for label, pid in enumerate(ids)
                    for rel in files[int(pid), side]
                ]
                (root / "idx" / f"{split}_{side.lower()}_{trial}.txt").write_text(
                    "\n".join(lines) + "\n"
                )


def ensure_synthetic(
    root: str | Path = "data/synthetic_sysu",
    seed: int = 0,
    layout: str = "sysu",
    progress: bool = True,
    **size_options: int | float,
) -> Path:
    """Return ``root``, generating it first when missing or made with other parameters/generator."""
    root = resolve_path(root)
    wanted = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "layout": layout,
        "options": options_for(layout, **size_options),
    }
    marker = root / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == wanted:
                return root
        except json.JSONDecodeError:
            pass
    return generate(root, seed, layout, progress, **size_options)


def read_synthetic(
    root: str | Path = "data/synthetic_sysu", seed: int = 0, **size_options: int | float
) -> CrossModalityDataset:
    """The embedded SYSU-layout dataset (generated on first use), read by the SYSU-MM01 reader."""
    root = ensure_synthetic(root, seed, "sysu", **size_options)
    data = read_sysu(root)
    return dataclasses.replace(data, name="synthetic", extra={**data.extra, "seed": seed})


__all__ = [
    "generate",
    "ensure_synthetic",
    "read_synthetic",
    "plan_sysu",
    "SysuPlan",
    "picture",
    "identity",
    "world",
    "options_for",
    "ir_twin",
    "twin_picture",
    "TWIN_CAMS",
    "SYSU_DEFAULTS",
    "REGDB_DEFAULTS",
    "GENERATOR_VERSION",
]
