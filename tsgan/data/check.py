"""``python -m tsgan data check``: compare a dataset tree with the published structure.

Reading a real dataset fails at the first problem; this check lists them all, as a table of what
is present, missing or unexpected, with the fix for each. Training and evaluation run it first
(:func:`require_valid`) and stop with a one-line message naming the first problem.

With ``decode`` (``data check --decode``, and always before training) every image file the readers
may read (those under the layout's folders) is decoded, so a corrupt or truncated file is named
before a run starts rather than hours into it. Files that decoded once are remembered for the
process (by path, size and modification time): a ``train`` that checks for the teacher and then
for TS-GAN decodes each file once.

Statuses: ``ok``; ``missing`` and ``invalid`` (the readers would fail: these stop training);
``unexpected`` (something the readers ignore, e.g. a stray folder) and ``warning`` (a count that
differs from the published one: an incomplete copy, or a subset on purpose) only inform.

Published counts (also listed in data/README.md): SYSU-MM01 491 ids = 296 train + 99 val
+ 96 test, 22,258 RGB + 11,909 IR train+val images, 3,803 IR test queries; RegDB 206 + 206 ids
and 2,060 images per side and split in each of 10 trials; LLCM 713 training ids. The embedded
data (a tree holding ``synthetic.json``) has its own sizes: its expected counts are recomputed
from the generator's options recorded there, so a damaged embedded tree is still caught.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..progress import bar
from .images import decode_error
from .index_files import IMAGE_SUFFIXES, read_id_line
from .records import DatasetError

FATAL = ("missing", "invalid")
PUBLISHED = {
    "sysu": {
        "ids": 491,
        "train ids": 296,
        "val ids": 99,
        "test ids": 96,
        "train+val RGB images": 22258,
        "train+val IR images": 11909,
        "test IR queries": 3803,
    },
    "regdb": {"trials": 10, "train ids": 206, "test ids": 206, "images per side and split": 2060},
    "llcm": {"train ids": 713},
}
ROOT_ENTRIES = {
    "sysu": {f"cam{c}" for c in range(1, 7)} | {"exp"},
    "regdb": {"Visible", "Thermal", "idx"},
    "llcm": {"idx", "vis", "nir", "test_vis", "test_nir"},
}
MARKER = "synthetic.json"  # written by tsgan.data.synthetic.generate
SOURCE = {
    "sysu": "get SYSU-MM01 from its authors (data/README.md) and extract the whole archive",
    "regdb": "get RegDB from Dongguk University (data/README.md) and extract the whole archive",
    "llcm": "get LLCM from its authors (data/README.md) and extract the whole archive",
}


@dataclass(frozen=True)
class Row:
    """One line of the check: what was looked at, what was found, what was expected, the fix."""

    status: str
    item: str
    found: str
    expected: str = ""
    fix: str = ""


def _images(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]


def _unexpected(root: Path, dataset: str) -> list[Row]:
    """Root entries the readers ignore; a nested dataset folder means --root is one level up."""
    allowed = ROOT_ENTRIES[dataset] | {MARKER}
    rows = []
    for entry in sorted(root.iterdir()):
        if entry.name in allowed or entry.name.startswith("."):
            continue
        nested = entry.is_dir() and any((entry / name).is_dir() for name in ROOT_ENTRIES[dataset])
        fix = f"use --root {entry}" if nested else "not read by tsgan; leave it or remove it"
        rows.append(Row("unexpected", entry.name, "folder" if entry.is_dir() else "file", "", fix))
    return rows


def _count_rows(
    counts: dict[str, int], expected: dict[str, int], source: str, dataset: str
) -> list[Row]:
    """Count rows: ``warning`` where a count differs from the expected (published or embedded)."""
    rows = []
    for name, value in counts.items():
        if name not in expected:
            continue
        want = f"{expected[name]:,} ({source})"
        if source == "embedded":
            want = f"{expected[name]:,} (embedded; published {PUBLISHED[dataset][name]:,})"
        fix = (
            ""
            if value == expected[name]
            else (
                f"differs from the {source} count: an incomplete copy? compare with the archive "
                "(a deliberate subset is fine)"
            )
        )
        rows.append(Row("ok" if not fix else "warning", name, f"{value:,}", want, fix))
    return rows


def _marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER).read_text()) if (root / MARKER).is_file() else None
    except json.JSONDecodeError:
        return None


# ---- SYSU-MM01 -----------------------------------------------------------------------------
def _sysu_expected(root: Path) -> tuple[dict[str, int], str]:
    marker = _marker(root)
    if marker is None or marker.get("layout") != "sysu":
        return PUBLISHED["sysu"], "published"
    from .synthetic import plan_sysu
    from .sysu import IR_CAMS, RGB_CAMS

    plan = plan_sysu(marker["seed"], **marker["options"])
    trainval = set(plan.train_ids + plan.val_ids)

    def images(pids: set[int], cams: tuple[int, ...]) -> int:
        return sum(n for (pid, cam), n in plan.counts.items() if pid in pids and cam in cams)

    return {
        "ids": len(plan.train_ids) + len(plan.val_ids) + len(plan.test_ids),
        "train ids": len(plan.train_ids),
        "val ids": len(plan.val_ids),
        "test ids": len(plan.test_ids),
        "train+val RGB images": images(trainval, RGB_CAMS),
        "train+val IR images": images(trainval, IR_CAMS),
        "test IR queries": images(set(plan.test_ids), IR_CAMS),
    }, "embedded"


def check_sysu(root: Path) -> list[Row]:
    from .sysu import ALL_CAMS, IR_CAMS

    rows = []
    for cam in ALL_CAMS:
        folder = root / f"cam{cam}"
        kind = "IR" if cam in IR_CAMS else "RGB"
        if folder.is_dir():
            ids = [d for d in folder.iterdir() if d.is_dir()]
            rows.append(
                Row("ok", f"cam{cam}/ ({kind})", f"{len(ids)} id folders", "cam<c>/<pid:04d>/")
            )
        else:
            rows.append(
                Row(
                    "missing",
                    f"cam{cam}/ ({kind})",
                    "nothing",
                    "cam<c>/<pid:04d>/*.jpg",
                    f"{SOURCE['sysu']}: cam1..cam6 must sit directly under the root",
                )
            )
    splits: dict[str, list[int]] = {}
    for split in ("train", "val", "test"):
        path = root / "exp" / f"{split}_id.txt"
        if not path.is_file():
            rows.append(
                Row(
                    "missing",
                    f"exp/{split}_id.txt",
                    "nothing",
                    "comma-separated ids",
                    f"{SOURCE['sysu']}: the exp/ folder holds the official splits",
                )
            )
            continue
        try:
            splits[split] = read_id_line(path, "SYSU-MM01", "")
        except DatasetError as err:
            rows.append(
                Row(
                    "invalid",
                    f"exp/{split}_id.txt",
                    str(err).splitlines()[0],
                    "",
                    "restore the file from the archive",
                )
            )
            continue
        rows.append(
            Row("ok", f"exp/{split}_id.txt", f"{len(splits[split])} ids", "comma-separated ids")
        )
    if len(splits) == 3:
        overlap = set(splits["train"] + splits["val"]) & set(splits["test"])
        if overlap:
            rows.append(
                Row(
                    "invalid",
                    "exp/ splits",
                    f"ids {sorted(overlap)[:5]} in train and test",
                    "disjoint splits",
                    "restore exp/*.txt from the archive",
                )
            )
        trainval = set(splits["train"] + splits["val"])
        count: Counter[tuple[bool, str]] = Counter()
        seen: set[int] = set()
        for cam in ALL_CAMS:
            for pid in trainval | set(splits["test"]):
                folder = root / f"cam{cam}" / f"{pid:04d}"
                if folder.is_dir():
                    n = sum(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())
                    count[pid in trainval, "ir" if cam in IR_CAMS else "rgb"] += n
                    seen.add(pid)
        listed = trainval | set(splits["test"])
        if listed - seen:
            rows.append(
                Row(
                    "warning",
                    "ids without images",
                    f"{len(listed - seen)} listed ids",
                    "none",
                    "an incomplete copy? these ids have no folder in any camera",
                )
            )
        counts = {
            "ids": len(listed),
            "train ids": len(splits["train"]),
            "val ids": len(splits["val"]),
            "test ids": len(splits["test"]),
            "train+val RGB images": count[True, "rgb"],
            "train+val IR images": count[True, "ir"],
            "test IR queries": count[False, "ir"],
        }
        rows += _count_rows(counts, *_sysu_expected(root), "sysu")
    return rows


# ---- RegDB ---------------------------------------------------------------------------------
def _regdb_expected(root: Path) -> tuple[dict[str, int], str]:
    marker = _marker(root)
    if marker is None or marker.get("layout") != "regdb":
        return PUBLISHED["regdb"], "published"
    opts = marker["options"]
    half = opts["num_ids"] // 2
    return {
        "trials": opts["trials"],
        "train ids": half,
        "test ids": opts["num_ids"] - half,
        "images per side and split": half * opts["images_per_id"],
    }, "embedded"


def check_regdb(root: Path) -> list[Row]:
    from .regdb import read_split

    rows = []
    for side in ("Visible", "Thermal"):
        folder = root / side
        if folder.is_dir():
            rows.append(
                Row(
                    "ok",
                    f"{side}/",
                    f"{sum(d.is_dir() for d in folder.iterdir())} id folders",
                    f"{side}/<pid>/*.bmp",
                )
            )
        else:
            rows.append(
                Row("missing", f"{side}/", "nothing", f"{side}/<pid>/*.bmp", SOURCE["regdb"])
            )
    expected, source = _regdb_expected(root)
    trials = 0
    for trial in range(1, 11):
        names = [f"{s}_{m}_{trial}.txt" for s in ("train", "test") for m in ("visible", "thermal")]
        absent = [n for n in names if not (root / "idx" / n).is_file()]
        if trial > expected["trials"] and len(absent) == 4:
            continue
        if absent:
            rows.append(
                Row(
                    "missing",
                    f"trial {trial} lists",
                    f"no idx/{', idx/'.join(absent)}",
                    "idx/{train,test}_{visible,thermal}_<t>.txt",
                    SOURCE["regdb"],
                )
            )
            continue
        try:
            train = read_split(root, "train", trial, 0)
            test = read_split(root, "test", trial, 10**6)
        except DatasetError as err:
            rows.append(
                Row(
                    "invalid",
                    f"trial {trial} lists",
                    str(err).splitlines()[0],
                    "",
                    "restore idx/ and the images from the archive",
                )
            )
            continue
        trials += 1
        counts = {
            "train ids": len({s.pid for s in train}),
            "test ids": len({s.pid for s in test}),
            "images per side and split": len(train) // 2,
        }
        rows.append(
            Row(
                "ok",
                f"trial {trial} lists",
                f"{len(train) // 2} + {len(test) // 2} images per side (train + test)",
                "4 line-aligned lists",
            )
        )
        rows += [
            Row(r.status, f"trial {trial} {r.item}", r.found, r.expected, r.fix)
            for r in _count_rows(counts, expected, source, "regdb")
            if r.status != "ok"
        ]
    rows += _count_rows({"trials": trials}, expected, source, "regdb")
    return rows


# ---- LLCM ----------------------------------------------------------------------------------
def check_llcm(root: Path) -> list[Row]:
    from .llcm import MODALITY_DIRS, read_train_list

    rows = []
    train_ids: set[int] = set()
    for modality, short in MODALITY_DIRS.items():
        path = root / "idx" / f"train_{short}.txt"
        if not path.is_file():
            rows.append(
                Row(
                    "missing",
                    f"idx/train_{short}.txt",
                    "nothing",
                    "'<path> <label>' lines",
                    SOURCE["llcm"],
                )
            )
            continue
        try:
            samples = read_train_list(root, modality)
        except DatasetError as err:
            rows.append(
                Row(
                    "invalid",
                    f"idx/train_{short}.txt",
                    str(err).splitlines()[0],
                    "",
                    "restore idx/ and the training images from the archive",
                )
            )
            continue
        train_ids |= {s.pid for s in samples}
        rows.append(
            Row("ok", f"idx/train_{short}.txt", f"{len(samples):,} images", "every listed file")
        )
    test_ids: list[int] = []
    path = root / "idx" / "test_id.txt"
    if not path.is_file():
        rows.append(
            Row("missing", "idx/test_id.txt", "nothing", "comma-separated ids", SOURCE["llcm"])
        )
    else:
        try:
            test_ids = read_id_line(path, "LLCM", "")
            rows.append(Row("ok", "idx/test_id.txt", f"{len(test_ids)} ids", "comma-separated ids"))
        except DatasetError as err:
            rows.append(
                Row(
                    "invalid",
                    "idx/test_id.txt",
                    str(err).splitlines()[0],
                    "",
                    "restore the file from the archive",
                )
            )
    for short in MODALITY_DIRS.values():
        folder = root / f"test_{short}"
        cams = (
            sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name.startswith("cam"))
            if folder.is_dir()
            else []
        )
        if cams:
            rows.append(
                Row(
                    "ok",
                    f"test_{short}/",
                    f"{len(cams)} cameras, {len(_images(folder)):,} images",
                    "cam<c>/<pid:04d>/*",
                )
            )
        else:
            rows.append(
                Row(
                    "missing",
                    f"test_{short}/",
                    "no cam<c> folders" if folder.is_dir() else "nothing",
                    "cam<c>/<pid:04d>/*",
                    SOURCE["llcm"],
                )
            )
    overlap = train_ids & set(test_ids)
    if overlap:
        rows.append(
            Row(
                "invalid",
                "train / test ids",
                f"ids {sorted(overlap)[:5]} in both",
                "disjoint splits",
                "restore idx/ from the archive",
            )
        )
    if train_ids:
        rows += _count_rows({"train ids": len(train_ids)}, PUBLISHED["llcm"], "published", "llcm")
    return rows


CHECKS = {"sysu": check_sysu, "regdb": check_regdb, "llcm": check_llcm}


def check_dataset(
    dataset: str, root: str | Path, decode: bool = False, progress: bool = True
) -> list[Row]:
    """Every row of the check of ``root`` against the ``dataset`` layout (sysu | regdb | llcm);
    with ``decode`` also one ``invalid`` row per image file that does not decode
    (:func:`decode_rows`)."""
    if dataset not in CHECKS:
        raise ValueError(f"data check knows {sorted(CHECKS)}, got {dataset!r}")
    root = Path(root)
    if not root.is_dir():
        return [
            Row(
                "missing",
                "root",
                f"nothing at {root}",
                "the dataset folder",
                f"{SOURCE[dataset]}, then point --root (data.root=...) at it",
            )
        ]
    rows = _unexpected(root, dataset) + CHECKS[dataset](root)
    return rows + (decode_rows(dataset, root, progress) if decode else [])


_DECODED: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) of files that decoded


def layout_images(dataset: str, root: Path) -> list[Path]:
    """The image files the readers of ``dataset`` may read: those under its layout's folders."""
    folders = [root / name for name in sorted(ROOT_ENTRIES[dataset]) if (root / name).is_dir()]
    return sorted(p for folder in folders for p in _images(folder))


def decode_rows(dataset: str, root: Path, progress: bool = True) -> list[Row]:
    """Decode every image of :func:`layout_images` (a progress bar on a terminal): one
    ``invalid`` row per file that does not decode, or one ``ok`` row counting them."""
    rows = []
    paths = layout_images(dataset, root)
    for path in bar(paths, desc="decoding images", enabled=progress, unit="img"):
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _DECODED:
            continue
        why = decode_error(path)
        if why is None:
            _DECODED.add(key)
            continue
        rows.append(
            Row(
                "invalid",
                str(path.relative_to(root)),
                f"does not decode ({why})",
                "a readable JPEG/BMP/PNG file",
                "replace it from the archive, or remove it (and its index-file line)",
            )
        )
    if not rows:
        rows.append(Row("ok", "images decode", f"{len(paths):,} of {len(paths):,}", "all"))
    return rows


def first_problem(rows: list[Row]) -> Row | None:
    """The first row that would make the readers fail, or None."""
    return next((r for r in rows if r.status in FATAL), None)


def format_rows(rows: list[Row]) -> str:
    """The check as a plain-text table (status, item, found, expected, fix)."""
    header = Row("status", "item", "found", "expected", "fix")
    cols = ("status", "item", "found", "expected")
    widths = {c: max(len(getattr(r, c)) for r in [header, *rows]) for c in cols}
    return "\n".join(
        ("  ".join(getattr(r, c).ljust(widths[c]) for c in cols) + "  " + r.fix).rstrip()
        for r in [header, *rows]
    )


def require_valid(dataset: str, root: str | Path, decode: bool = True) -> None:
    """Raise :class:`DatasetError` naming the first problem of ``root`` (training and evaluation
    call this before reading real data). ``decode``: also decode every image once the layout is
    sound (see the module docstring; ``evaluate`` skips it: a corrupt test image stops it with the
    same one-line error from the loader, and nothing is lost)."""
    if dataset not in CHECKS:
        return
    rows = check_dataset(dataset, root)
    if decode and first_problem(rows) is None:
        rows += decode_rows(dataset, Path(root))
    problem = first_problem(rows)
    if problem is not None:
        fix = f"; fix: {problem.fix}" if problem.fix else ""
        raise DatasetError(
            f"{dataset} at {root}: {problem.item} {problem.status} ({problem.found}){fix}. Full "
            f"report: python -m tsgan data check --dataset {dataset} --root {root}"
        )
