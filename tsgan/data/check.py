"""``python -m tsgan data check``: compare a dataset tree with the published structure.

Reading a real dataset fails at the first problem; this check lists them all, as a table of what
is present, missing or unexpected, with the fix for each. Training and evaluation run it first
(:func:`require_valid`) and stop with a one-line message naming the first problem.

The check is one function over a table (:data:`LAYOUTS`): each dataset is a :class:`Layout`, its
:class:`Part` s (folders, index files, RegDB's per-trial lists: each ``ok``, ``missing`` or
``invalid`` with what was found) and the checks across them (disjoint splits, counts), run by
:func:`check_layout`.

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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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


# ---- the table: what each layout holds ------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One thing a layout holds (a folder, an index file, a trial's lists), checked on its own.

    ``absent(root)``: what was found when the part is missing ("nothing", ...), None when present;
    ``read(root)``: the found text of the ``ok`` row and the value later checks use (a
    :class:`DatasetError` makes the row ``invalid``); ``after(value)``: rows right after the
    ``ok`` row (a RegDB trial's counts); ``skip``: leave the part out when it is absent (trials the
    tree was not made with).
    """

    item: str
    expected: str
    absent: Callable[[Path], str | None]
    read: Callable[[Path], tuple[str, Any]]
    missing_expected: str
    missing_fix: str
    invalid_fix: str = ""
    after: Callable[[Any], list[Row]] | None = None
    skip: bool = False


@dataclass(frozen=True)
class Layout:
    """A dataset's layout: its :class:`Part` s (made for a root: the embedded tree's own sizes
    decide some) and the checks across them (``relations(root, values)``, ``values``: what each
    present part's ``read`` returned, by item)."""

    parts: Callable[[Path], list[Part]]
    relations: Callable[[Path, dict[str, Any]], list[Row]]


def _part_rows(root: Path, parts: list[Part]) -> tuple[list[Row], dict[str, Any]]:
    """The rows of every part, in order, and the values of those that were read."""
    rows, values = [], {}
    for part in parts:
        found = part.absent(root)
        if found is not None:
            if not part.skip:
                rows.append(
                    Row("missing", part.item, found, part.missing_expected, part.missing_fix)
                )
            continue
        try:
            text, values[part.item] = part.read(root)
        except DatasetError as err:
            rows.append(Row("invalid", part.item, str(err).splitlines()[0], "", part.invalid_fix))
            continue
        rows.append(Row("ok", part.item, text, part.expected))
        rows += part.after(values[part.item]) if part.after else []
    return rows, values


def _nothing_unless(path: Callable[[Path], Path]) -> Callable[[Path], str | None]:
    """``absent`` of a part that is one file or folder: "nothing" when it does not exist."""
    return lambda root: None if path(root).exists() else "nothing"


def _id_folders(folder: Path) -> tuple[str, None]:
    return f"{sum(d.is_dir() for d in folder.iterdir())} id folders", None


def _id_line(dataset: str, path: Path) -> tuple[str, list[int]]:
    ids = read_id_line(path, dataset, "")
    return f"{len(ids)} ids", ids


# ---- SYSU-MM01 ---------------------------------------------------------------------------------
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


SPLIT_FILES = {split: f"exp/{split}_id.txt" for split in ("train", "val", "test")}


def _sysu_parts(root: Path) -> list[Part]:
    from .sysu import ALL_CAMS, IR_CAMS

    cams = [
        Part(
            f"cam{cam}/ ({'IR' if cam in IR_CAMS else 'RGB'})",
            "cam<c>/<pid:04d>/",
            _nothing_unless(lambda root, cam=cam: root / f"cam{cam}"),
            lambda root, cam=cam: _id_folders(root / f"cam{cam}"),
            "cam<c>/<pid:04d>/*.jpg",
            f"{SOURCE['sysu']}: cam1..cam6 must sit directly under the root",
        )
        for cam in ALL_CAMS
    ]
    splits = [
        Part(
            name,
            "comma-separated ids",
            _nothing_unless(lambda root, name=name: root / name),
            lambda root, name=name: _id_line("SYSU-MM01", root / name),
            "comma-separated ids",
            f"{SOURCE['sysu']}: the exp/ folder holds the official splits",
            "restore the file from the archive",
        )
        for name in SPLIT_FILES.values()
    ]
    return cams + splits


def _sysu_relations(root: Path, values: dict[str, Any]) -> list[Row]:
    """Disjoint splits, ids without images, and the counts (published or embedded)."""
    from .sysu import ALL_CAMS, IR_CAMS

    if any(name not in values for name in SPLIT_FILES.values()):
        return []
    splits = {split: values[name] for split, name in SPLIT_FILES.items()}
    rows = []
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
    return rows + _count_rows(counts, *_sysu_expected(root), "sysu")


# ---- RegDB -------------------------------------------------------------------------------------
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


def _trial_lists(trial: int) -> list[str]:
    return [f"{s}_{m}_{trial}.txt" for s in ("train", "test") for m in ("visible", "thermal")]


def _regdb_trial(trial: int, expected: dict[str, int], source: str) -> Part:
    """A trial's four line-aligned lists, read as the reader reads them, and its counts."""
    from .regdb import read_split

    def absent(root: Path) -> str | None:
        names = [n for n in _trial_lists(trial) if not (root / "idx" / n).is_file()]
        return f"no idx/{', idx/'.join(names)}" if names else None

    def read(root: Path) -> tuple[str, dict[str, int]]:
        train = read_split(root, "train", trial, 0)
        test = read_split(root, "test", trial, 10**6)
        counts = {
            "train ids": len({s.pid for s in train}),
            "test ids": len({s.pid for s in test}),
            "images per side and split": len(train) // 2,
        }
        return f"{len(train) // 2} + {len(test) // 2} images per side (train + test)", counts

    def after(counts: dict[str, int]) -> list[Row]:
        return [
            Row(r.status, f"trial {trial} {r.item}", r.found, r.expected, r.fix)
            for r in _count_rows(counts, expected, source, "regdb")
            if r.status != "ok"
        ]

    return Part(
        f"trial {trial} lists",
        "4 line-aligned lists",
        absent,
        read,
        "idx/{train,test}_{visible,thermal}_<t>.txt",
        SOURCE["regdb"],
        "restore idx/ and the images from the archive",
        after,
    )


def _regdb_parts(root: Path) -> list[Part]:
    sides = [
        Part(
            f"{side}/",
            f"{side}/<pid>/*.bmp",
            _nothing_unless(lambda root, side=side: root / side),
            lambda root, side=side: _id_folders(root / side),
            f"{side}/<pid>/*.bmp",
            SOURCE["regdb"],
        )
        for side in ("Visible", "Thermal")
    ]
    expected, source = _regdb_expected(root)
    trials = []
    for trial in range(1, 11):
        part = _regdb_trial(trial, expected, source)
        # trials beyond those the tree was made with are not missing when all four are absent
        unused = all(not (root / "idx" / n).is_file() for n in _trial_lists(trial))
        trials.append(replace(part, skip=trial > expected["trials"] and unused))
    return sides + trials


def _regdb_relations(root: Path, values: dict[str, Any]) -> list[Row]:
    """The number of trials whose lists read."""
    trials = sum(item.startswith("trial ") for item in values)
    return _count_rows({"trials": trials}, *_regdb_expected(root), "regdb")


# ---- LLCM --------------------------------------------------------------------------------------
def _llcm_parts(root: Path) -> list[Part]:
    from .llcm import MODALITY_DIRS, read_train_list

    def train_list(modality: str) -> Callable[[Path], tuple[str, set[int]]]:
        def read(root: Path) -> tuple[str, set[int]]:
            samples = read_train_list(root, modality)
            return f"{len(samples):,} images", {s.pid for s in samples}

        return read

    def test_cams(short: str) -> Callable[[Path], str | None]:
        def absent(root: Path) -> str | None:
            folder = root / f"test_{short}"
            if not folder.is_dir():
                return "nothing"
            return None if _cams(folder) else "no cam<c> folders"

        return absent

    def test_folder(short: str) -> Callable[[Path], tuple[str, None]]:
        def read(root: Path) -> tuple[str, None]:
            folder = root / f"test_{short}"
            return f"{len(_cams(folder))} cameras, {len(_images(folder)):,} images", None

        return read

    lists = [
        Part(
            f"idx/train_{short}.txt",
            "every listed file",
            _nothing_unless(lambda root, short=short: root / "idx" / f"train_{short}.txt"),
            train_list(modality),
            "'<path> <label>' lines",
            SOURCE["llcm"],
            "restore idx/ and the training images from the archive",
        )
        for modality, short in MODALITY_DIRS.items()
    ]
    test_ids = Part(
        "idx/test_id.txt",
        "comma-separated ids",
        _nothing_unless(lambda root: root / "idx" / "test_id.txt"),
        lambda root: _id_line("LLCM", root / "idx" / "test_id.txt"),
        "comma-separated ids",
        SOURCE["llcm"],
        "restore the file from the archive",
    )
    tests = [
        Part(
            f"test_{short}/",
            "cam<c>/<pid:04d>/*",
            test_cams(short),
            test_folder(short),
            "cam<c>/<pid:04d>/*",
            SOURCE["llcm"],
        )
        for short in MODALITY_DIRS.values()
    ]
    return [*lists, test_ids, *tests]


def _cams(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name.startswith("cam"))


def _llcm_relations(root: Path, values: dict[str, Any]) -> list[Row]:
    """Disjoint train and test ids, and the published count of training ids."""
    train_ids: set[int] = set().union(*(v for k, v in values.items() if k.startswith("idx/train_")))
    rows = []
    overlap = train_ids & set(values.get("idx/test_id.txt", []))
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


LAYOUTS = {
    "sysu": Layout(_sysu_parts, _sysu_relations),
    "regdb": Layout(_regdb_parts, _regdb_relations),
    "llcm": Layout(_llcm_parts, _llcm_relations),
}


def check_layout(dataset: str, root: Path) -> list[Row]:
    """The rows of ``dataset``'s :class:`Layout` on ``root``: every part, then the checks across
    them."""
    layout = LAYOUTS[dataset]
    rows, values = _part_rows(root, layout.parts(root))
    return rows + layout.relations(root, values)


def check_dataset(
    dataset: str, root: str | Path, decode: bool = False, progress: bool = True
) -> list[Row]:
    """Every row of the check of ``root`` against the ``dataset`` layout (sysu | regdb | llcm);
    with ``decode`` also one ``invalid`` row per image file that does not decode
    (:func:`decode_rows`)."""
    if dataset not in LAYOUTS:
        raise ValueError(f"data check knows {sorted(LAYOUTS)}, got {dataset!r}")
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
    rows = _unexpected(root, dataset) + check_layout(dataset, root)
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
    if dataset not in LAYOUTS:
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
