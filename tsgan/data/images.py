"""Reading image files: one place that decodes JPEG/BMP/PNG and turns failures into clear errors."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .records import DatasetError

# What PIL raises for a file that is not a (whole) image: unknown format, truncated or corrupt data.
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


def _decode(path: str | Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")  # reads every byte: a truncated file fails here


def load_image(path: str | Path) -> Image.Image:
    """Decode ``path`` as an RGB PIL image (IR images are 3-channel grayscale on disk)."""
    try:
        return _decode(path)
    except FileNotFoundError:
        raise DatasetError(
            f"image {path} does not exist; the dataset tree changed after it was read. Re-read the "
            "dataset (or regenerate the synthetic one) and delete stale caches under "
            "runs/cache/images."
        ) from None
    except DECODE_ERRORS as err:
        raise DatasetError(
            f"image {path} is corrupt or not an image ({type(err).__name__}: {err}); expected a "
            "readable JPEG/BMP/PNG file. Replace the file or remove it from the dataset."
        ) from None


def decode_error(path: str | Path) -> str | None:
    """None when ``path`` decodes as a whole image, else why not (``ErrorType: message``)."""
    try:
        _decode(path)
    except DECODE_ERRORS as err:
        return f"{type(err).__name__}: {err}"
    return None
