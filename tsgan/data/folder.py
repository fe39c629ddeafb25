"""Any folder of images as :class:`Sample` records: feature extraction and search on own data.

Images are found recursively (``IMAGE_SUFFIXES``, any case), in sorted path order so that the
feature rows always follow the same order. Identities and cameras are unknown: ``pid = -1``,
``cam = 0``. The modality is recorded as "rgb" for every image; test-time transforms do not depend
on it, and grey (IR-looking) images are read as three equal channels, which is what the networks
expect for IR (``tsgan.imaging``).
"""

from __future__ import annotations

from pathlib import Path

from .index_files import IMAGE_SUFFIXES
from .records import DatasetError, Sample

UNKNOWN_PID, UNKNOWN_CAM = -1, 0


def image_files(path: str | Path) -> list[Path]:
    """The image files under folder ``path`` (recursively, sorted), or ``[path]`` for an image."""
    path = Path(path).expanduser()
    if path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(
                f"{path} is not an image file; expected one of {', '.join(IMAGE_SUFFIXES)}"
            )
        return [path]
    if not path.is_dir():
        raise DatasetError(
            f"expected a folder of images (or an image file) at {path}, found nothing"
        )
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(
            f"found no images ({', '.join(IMAGE_SUFFIXES)}) under {path}; "
            "point to a folder that holds image files (subfolders are searched too)"
        )
    return files


def folder_samples(path: str | Path) -> list[Sample]:
    """:func:`image_files` as records of unknown identity and camera (module docstring)."""
    return [Sample(str(p), UNKNOWN_PID, UNKNOWN_CAM, "rgb") for p in image_files(path)]
