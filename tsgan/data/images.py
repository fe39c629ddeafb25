"""Reading image files: one place that decodes JPEG/BMP/PNG and turns failures into clear errors."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .records import DatasetError


def load_image(path: str | Path) -> Image.Image:
    """Decode ``path`` as an RGB PIL image (IR images are 3-channel grayscale on disk)."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise DatasetError(
            f"image {path} does not exist; the dataset tree changed after it was read. Re-read the "
            "dataset (or regenerate the synthetic one) and delete stale caches under "
            "runs/cache/images."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DatasetError(
            f"image {path} is corrupt or not an image ({type(err).__name__}: {err}); expected a "
            "readable JPEG/BMP/PNG file. Replace the file or remove it from the dataset."
        ) from None
