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

Two worlds share this renderer (the SYSU-layout option ``world``). ``"v3"``, the default: every
camera prefers a random mix of front / back / side views and IR pictures are plentiful (about 0.6
per RGB picture), 200 identities. ``"v4"``: SYSU-MM01's structure. The IR cameras stand at other
places than the RGB ones, so each camera has its own, fixed view mix (:data:`V4_VIEWS`: the RGB
cameras see people mostly from the front, the IR cameras mostly from the back), an identity has
about ``ir_per_rgb`` = 0.5 IR pictures per RGB picture (SYSU-MM01: 0.54), and the number of
training identities is an option (``train_ids``, SYSU-MM01: 395, of which 99 validate;
``test_ids``: 96). A v4 tree's marker records ``"world": "v4"`` among its options; a v3 tree's
marker, pictures and run keys are those of before v4 existed (``tests/test_world_pins.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ...paths import resolve_path
from ...progress import bar
from ..records import CrossModalityDataset, DatasetError, Sample
from ..sysu import ALL_CAMS, IR_CAMS, RGB_CAMS, read_sysu
from .attributes import VIEWS, Camera, Identity, sample_camera, sample_identity
from .drawing import draw_pose, render, render_background

GENERATOR_VERSION = 3  # the renderer's version: v3 and v4 trees record it, run keys include it
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
WORLDS = ("v3", "v4")  # the SYSU layout's worlds; v3 is the default
# The v4 world (SYSU-MM01's structure): "train_ids" identities train under the published protocol
# (train + val; SYSU-MM01: 395), a "val_frac" of them are the validation identities (SYSU-MM01: 99
# of 395), "test_ids" are scored (SYSU-MM01: 96); "min_images" .. "max_images" RGB pictures per
# (identity, RGB camera) and about "ir_per_rgb" IR pictures per RGB picture of an identity.
SYSU_V4_DEFAULTS = {
    "world": "v4",
    "train_ids": 200,
    "test_ids": 96,
    "val_frac": 0.25,
    "height": 128,
    "width": 64,
    "min_images": 3,
    "max_images": 6,
    "ir_per_rgb": 0.5,
}
# v4: each camera's probabilities of a front / back / side view. The RGB cameras (1, 2 indoor;
# 4, 5 outdoor) film people walking towards them, the IR cameras (3 indoor, 6 outdoor) stand at
# other places and film them mostly from behind; each camera has its own mix around RGB
# 0.8 / 0.05 / 0.15 and IR 0.05 / 0.8 / 0.15.
V4_VIEWS = {
    1: (0.80, 0.05, 0.15),
    2: (0.70, 0.05, 0.25),
    3: (0.05, 0.80, 0.15),
    4: (0.75, 0.10, 0.15),
    5: (0.80, 0.05, 0.15),
    6: (0.10, 0.70, 0.20),
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


def options_for(layout: str, **size_options: int | float | str) -> dict:
    """The full option set of ``layout`` with ``size_options`` applied; unknown names are an
    error. In the SYSU layout ``world="v4"`` selects :data:`SYSU_V4_DEFAULTS`; the v3 world's set
    (:data:`SYSU_DEFAULTS`) holds no ``world`` entry, so its markers are those of before v4."""
    defaults = {"sysu": SYSU_DEFAULTS, "regdb": REGDB_DEFAULTS}.get(layout)
    if defaults is None:
        raise ValueError(f"layout must be 'sysu' or 'regdb', got {layout!r}")
    if layout == "sysu" and "world" in size_options:
        name = size_options["world"]
        if name not in WORLDS:
            raise ValueError(f"world must be one of {WORLDS}, got {name!r}")
        size_options = {k: v for k, v in size_options.items() if (k, v) != ("world", "v3")}
        defaults = SYSU_V4_DEFAULTS if name == "v4" else defaults
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
        n_ids, n_test, n_val = _split_sizes(opts)
        if n_ids - n_test - n_val < 2 or n_test < 2:
            sizes = {k: opts[k] for k in ("num_ids", "train_ids", "test_ids") if k in opts}
            raise ValueError(f"{sizes} leaves too few train/test identities; use at least 8")
        if opts.get("world") == "v4" and not 0 < opts["ir_per_rgb"] <= 2:
            raise ValueError(f"ir_per_rgb must be in (0, 2], got {opts['ir_per_rgb']}")
    elif opts["num_ids"] < 4 or opts["images_per_id"] < 1 or opts["trials"] < 1:
        raise ValueError(
            f"RegDB layout needs num_ids >= 4, images_per_id >= 1, trials >= 1; got {opts}"
        )
    return opts


def _split_sizes(opts: dict) -> tuple[int, int, int]:
    """Identities in all, test and validation identities of a SYSU-layout option set."""
    if opts.get("world") == "v4":
        n_train = opts["train_ids"]
        return n_train + opts["test_ids"], opts["test_ids"], round(n_train * opts["val_frac"])
    n = opts["num_ids"]
    return n, round(n * opts["test_frac"]), round(n * opts["val_frac"])


def world_options(name: str = "v3", train_ids: int = 0) -> dict:
    """The SYSU-layout options that select world ``name`` with ``train_ids`` training identities
    (0: the world's default): ``{}`` for v3 (its trees and markers are those of before v4)."""
    if name not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, got {name!r}")
    if train_ids and name != "v4":
        raise ValueError(f"train_ids={train_ids} is an option of the v4 world, not of {name}")
    if name == "v3":
        return {}
    return {"world": name, **({"train_ids": train_ids} if train_ids else {})}


def world_name(opts: dict) -> str:
    """The world ("v3" or "v4") of a SYSU-layout option set (a tree marker's ``options``)."""
    return opts.get("world", "v3")


@dataclass
class SysuPlan:
    """What a SYSU-layout tree holds: identity splits and the number of pictures per (pid, cam)."""

    train_ids: list[int]
    val_ids: list[int]
    test_ids: list[int]
    counts: dict[tuple[int, int], int]


def plan_sysu(seed: int = 0, **size_options: int | float | str) -> SysuPlan:
    """Identity splits (shuffled like SYSU-MM01's) and camera coverage: every identity has at least
    one RGB and one IR camera, but not every identity is seen by every camera. In the v4 world an
    identity's IR pictures are about ``ir_per_rgb`` times its RGB pictures (:func:`_v4_counts`)."""
    opts = options_for("sysu", **size_options)
    n_ids, n_test, n_val = _split_sizes(opts)
    pids = np.arange(1, n_ids + 1)
    perm = _rng(_SPLIT, seed).permutation(pids)
    test, val, train = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    counts = {}
    for pid in pids:
        rng = _rng(_COVERAGE, seed, int(pid))
        cams = []
        for group, p in ((RGB_CAMS, 0.6), (IR_CAMS, 0.75)):
            seen = [c for c in group if rng.random() < p]
            cams += seen or [group[rng.integers(len(group))]]
        if world_name(opts) == "v4":
            counts.update(_v4_counts(rng, int(pid), cams, opts))
            continue
        for cam in sorted(cams):
            counts[int(pid), cam] = int(rng.integers(opts["min_images"], opts["max_images"] + 1))
    return SysuPlan(sorted(map(int, train)), sorted(map(int, val)), sorted(map(int, test)), counts)


def _v4_counts(
    rng: np.random.Generator, pid: int, cams: list[int], opts: dict
) -> dict[tuple[int, int], int]:
    """v4: ``min_images`` .. ``max_images`` pictures per RGB camera that sees ``pid``; then
    round(``ir_per_rgb`` x the RGB pictures), at least 1, spread over the IR cameras that see it as
    evenly as possible (the remainder to randomly chosen ones; a camera left with none drops out).
    """
    rgb = [c for c in cams if c in RGB_CAMS]
    ir = [c for c in cams if c in IR_CAMS]
    counts = {(pid, c): int(rng.integers(opts["min_images"], opts["max_images"] + 1)) for c in rgb}
    n_ir = max(1, round(opts["ir_per_rgb"] * sum(counts.values())))
    share = np.full(len(ir), n_ir // len(ir))
    share[rng.permutation(len(ir))[: n_ir % len(ir)]] += 1
    counts.update({(pid, c): int(n) for c, n in zip(ir, share) if n > 0})
    return counts


def world(
    seed: int,
    height: int,
    width: int,
    cams: tuple[int, ...] = ALL_CAMS,
    ir_physics: str = "nir",
    name: str = "v3",
) -> dict[int, tuple[Camera, np.ndarray]]:
    """The cameras of the synthetic world and their backgrounds, keyed by camera number; the IR
    cameras (3, 6) record ``ir_physics`` ("nir" in the SYSU layout, "thermal" in RegDB's).
    World ``name`` "v4" replaces each camera's drawn view mix by :data:`V4_VIEWS` (all else,
    backgrounds included, is drawn as in v3: each camera films its own place)."""
    if name not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, got {name!r}")
    out = {}
    for cam in cams:
        rng = _rng(_CAMERA, seed, cam)
        physics = ir_physics if cam in IR_CAMS else "rgb"
        camera = sample_camera(rng, cam, physics, outdoor=cam in OUTDOOR_CAMS)
        if name == "v4":
            camera = dataclasses.replace(camera, view_p=np.array(V4_VIEWS[cam]))
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
    world_name: str = "v3",
) -> np.ndarray:
    """Picture ``index`` of identity ``pid`` by camera ``cam`` in world ``world_name`` (ignored
    when ``cameras`` are given): (H, W, 3) uint8, independent of any other."""
    camera, background = (cameras or world(seed, height, width, (cam,), name=world_name))[cam]
    ident = identity(seed, pid)
    pose, rng = _pose(seed, pid, cam, index, ident, camera, height, width)
    return render(ident, camera, background, pose, rng)


def _pose(
    seed: int, pid: int, cam: int, index: int, ident: Identity, camera: Camera, h: int, w: int
) -> tuple[dict, np.random.Generator]:
    """The pose of picture ``(seed, pid, cam, index)`` by ``camera`` (view from its ``view_p``)
    and the picture's random stream, which goes on to draw the exposure."""
    rng = _rng(_IMAGE, seed, pid, cam, index)
    return draw_pose(rng, ident, camera.view_p, h, w), rng


def picture_views(seed: int = 0, **size_options: int | float | str) -> dict[int, np.ndarray]:
    """Camera -> the fractions of front / back / side views (``attributes.VIEWS``) among the
    pictures of the SYSU-layout tree ``generate(out, seed, **size_options)`` writes; the poses
    are drawn as :func:`picture` draws them, nothing is rendered (a second or two)."""
    opts = options_for("sysu", **size_options)
    cameras = world(seed, opts["height"], opts["width"], name=world_name(opts))
    counts = {cam: np.zeros(len(VIEWS)) for cam in cameras}
    for (pid, cam), n in plan_sysu(seed, **opts).counts.items():
        ident = identity(seed, pid)
        for index in range(1, n + 1):
            pose = _pose(
                seed, pid, cam, index, ident, cameras[cam][0], opts["height"], opts["width"]
            )[0]
            counts[cam][VIEWS.index(pose["view"])] += 1
    return {cam: c / max(c.sum(), 1) for cam, c in counts.items()}


def twin_picture(
    seed: int,
    pid: int,
    cam: int,
    index: int,
    height: int = 128,
    width: int = 64,
    physics: str = "nir",
    world_name: str = "v3",
) -> np.ndarray:
    """The IR twin of :func:`picture` ``(seed, pid, cam, index)`` of an RGB camera: the same
    person, pose, viewpoint, occluder and background scene, recorded by the IR camera of that
    place (:data:`TWIN_CAMS`) with ``physics`` ("nir": SYSU-MM01's; "thermal": RegDB's). In the
    v4 world too the twin keeps the RGB picture's view: it is the picture an IR camera standing
    where the RGB camera stands would take, not a picture of an IR camera's place."""
    if cam not in TWIN_CAMS:
        raise ValueError(
            f"an IR twin is rendered for an RGB camera {sorted(TWIN_CAMS)}, got cam {cam}"
        )
    cameras = world(seed, height, width, (cam, TWIN_CAMS[cam]), ir_physics=physics, name=world_name)
    (rgb_cam, background), ir_cam = cameras[cam], cameras[TWIN_CAMS[cam]][0]
    ident = identity(seed, pid)
    pose = _pose(seed, pid, cam, index, ident, rgb_cam, height, width)[0]
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
        world_name(opts),
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


def _write_folder(job: tuple[Path, int, int, int, int, int, int, str]) -> int:
    """Render and save the ``n`` pictures of one (pid, cam) folder; return ``n``."""
    root, seed, pid, cam, n, h, w, name = job
    cameras = world(seed, h, w, (cam,), name=name)
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
    name = world_name(opts)
    jobs = [(root, seed, pid, cam, n, h, w, name) for (pid, cam), n in plan.counts.items()]
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
    """Return ``root``, generating it first when missing or made with other parameters/generator.

    A tree of another world (v3 / v4) is never replaced: it is an error naming a folder to use,
    so two worlds never take turns regenerating one root under runs that read it. Processes that
    ask for a tree at once take turns (:func:`tree_lock`): the first generates it, the others find
    it made, so no process replaces a tree another has started to read."""
    root = resolve_path(root)
    wanted = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "layout": layout,
        "options": options_for(layout, **size_options),
    }
    if _marker(root) == wanted:  # made: readers take no lock
        return root
    with tree_lock(root):
        found = _marker(root)  # another process may have made it while this one waited
        if found == wanted:
            return root
        if isinstance(found, dict) and found.get("layout") == layout == "sysu":
            have, want = world_name(found.get("options", {})), world_name(wanted["options"])
            if have != want:
                raise DatasetError(
                    f"synthetic: {root} holds the {have} world, not the {want} one; give each "
                    f"world its own folder (e.g. {root.parent / (root.name + '_' + want)}), so "
                    "neither replaces the other under runs that read it"
                )
        return generate(root, seed, layout, progress, **size_options)


def _marker(root: Path) -> dict | None:
    """The tree marker's content (None when missing or unreadable)."""
    try:
        return json.loads((root / MARKER).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@contextlib.contextmanager
def tree_lock(root: Path) -> Iterator[None]:
    """Hold ``<parent>/.<name>.lock`` (an OS file lock, released by the kernel however the process
    ends) while a tree is checked and generated."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_synthetic(
    root: str | Path = "data/synthetic_sysu", seed: int = 0, **size_options: int | float
) -> CrossModalityDataset:
    """The embedded SYSU-layout dataset (generated on first use), read by the SYSU-MM01 reader."""
    root = ensure_synthetic(root, seed, "sysu", **size_options)
    data = read_sysu(root)
    name = world_name(json.loads((root / MARKER).read_text())["options"])
    extra = {**data.extra, "seed": seed, **({"world": name} if name != "v3" else {})}
    return dataclasses.replace(data, name="synthetic", extra=extra)


__all__ = [
    "generate",
    "ensure_synthetic",
    "read_synthetic",
    "plan_sysu",
    "SysuPlan",
    "picture",
    "picture_views",
    "identity",
    "world",
    "options_for",
    "ir_twin",
    "twin_picture",
    "TWIN_CAMS",
    "SYSU_DEFAULTS",
    "SYSU_V4_DEFAULTS",
    "V4_VIEWS",
    "WORLDS",
    "world_name",
    "world_options",
    "REGDB_DEFAULTS",
    "GENERATOR_VERSION",
]
