"""Layout checks and the plain-text index files that RegDB and LLCM ship (``<path> <label>`` lines,
id lists).

Every error names the file and line, what was expected and what was found, and ends with the
dataset's hint on where the data comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .records import DatasetError, require_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def require_layout(root: str | Path, folders: tuple[str, ...], dataset: str, hint: str) -> Path:
    """``root`` must exist and hold every folder in ``folders``; the error lists what is missing
    and what is there."""
    names = ", ".join(f"{f}/" for f in folders)
    root = require_dir(Path(root), f"the {dataset} root ({names})", dataset, hint)
    missing = [f for f in folders if not (root / f).is_dir()]
    if missing:
        found = sorted(p.name for p in root.iterdir())[:12]
        raise DatasetError(
            f"{dataset}: {root} is not in the {dataset} layout: expected folders {names}, "
            f"missing {missing}; found {found}.\n  {hint}"
        )
    return root


@dataclass(frozen=True)
class IndexLine:
    """One ``<relative path> <label>`` line of an index file, with its 1-based line number."""

    path: str
    label: int
    line: int


def read_index_file(path: Path, dataset: str, hint: str) -> list[IndexLine]:
    """Parse an index file of ``<relative path> <label>`` lines (blank lines are skipped)."""
    if not path.is_file():
        raise DatasetError(f"{dataset}: expected the index file {path}, found nothing.\n  {hint}")
    entries = []
    for n, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DatasetError(
                f"{dataset}: {path} line {n} should read '<relative path> <integer label>' "
                f"(e.g. 'Visible/285/male_back_v_05528_285.bmp 0'), found {raw[:80]!r}."
            )
        entries.append(IndexLine(parts[0], int(parts[1]), n))
    if not entries:
        raise DatasetError(
            f"{dataset}: {path} is empty; expected '<relative path> <label>' lines.\n  {hint}"
        )
    return entries


def require_files(
    root: Path, entries: list[IndexLine], index_path: Path, dataset: str, hint: str
) -> None:
    """Every listed image must exist under ``root``; the error names the first missing one and
    its line."""
    for e in entries:
        if not (root / e.path).is_file():
            raise DatasetError(
                f"{dataset}: {index_path} line {e.line} lists {e.path}, but {root / e.path} does "
                "not exist (expected an image file). Is --root the folder that holds the dataset's "
                f"idx/ folder?\n  {hint}"
            )


def read_id_line(path: Path, dataset: str, hint: str) -> list[int]:
    """Parse an id list: comma-separated integers (line breaks count as commas)."""
    if not path.is_file():
        raise DatasetError(f"{dataset}: expected the id list {path}, found nothing.\n  {hint}")
    text = path.read_text().strip()
    try:
        ids = [int(tok) for tok in text.replace("\n", ",").split(",") if tok.strip()]
    except ValueError as err:
        raise DatasetError(
            f"{dataset}: {path} should hold comma-separated integer ids (e.g. '1,2,4'), found "
            f"{text[:60]!r}: {err}"
        ) from None
    if not ids:
        raise DatasetError(f"{dataset}: {path} is empty; expected comma-separated identity ids.")
    return ids


def folder_pid(rel_path: str) -> int | None:
    """The identity encoded by the image's parent folder (``Visible/285/x.bmp`` -> 285), or None."""
    parent = Path(rel_path).parent.name
    return int(parent) if parent.isdigit() else None
