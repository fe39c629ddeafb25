"""Image transforms: BoT-style training augmentation, test resizing, optional channel augmentation.

Every transform takes a PIL image or a uint8 tensor (3, H, W) (what
:class:`tsgan.data.cache.ImageCache` stores) and returns a float tensor (3, H, W) in [0, 1]
(``tsgan.imaging`` convention). All randomness comes from torch's global RNG
(torchvision.transforms.v2), so ``torch.manual_seed`` makes a run reproducible; with
``data.workers = 0`` a resumed run draws exactly the same augmentations.

Training (Luo et al., "Bag of Tricks", 2019): resize -> horizontal flip -> zero pad + random crop ->
random erasing. Erased pixels are filled with mid-grey 0.5: it stays inside [0, 1], keeps IR
images three equal channels, and is close to the ImageNet mean that the networks map to ~0 (BoT
fills with a mean value in normalised space; our datasets are not normalised).

Channel augmentation (Ye et al., "Channel Augmented Joint Learning", ICCV 2021), RGB only: with
probability 0.5 the image becomes one of its channels copied three times (R, G or B) or its
grayscale, chosen uniformly. On IR images (three equal channels) it would change nothing.

Grayscale input (``data.grayscale``, the "grayscale input" baseline of the ablation): every RGB
image, in training and at test time, becomes its grayscale (torchvision's luma) in three channels.
The test transform is shared by both modalities, so :class:`Grayscale` leaves an image whose three
channels are already equal (an IR image) exactly as it is.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from ..config import DataConfig

CHANNEL_AUG_P = 0.5
ERASE_FILL = 0.5
ERASE_SCALE = (0.02, 0.4)  # BoT: sl = 0.02, sh = 0.4
ERASE_RATIO = (0.3, 3.33)  # BoT: r1 = 0.3 and its inverse

Transform = Callable[[Image.Image | torch.Tensor], torch.Tensor]


def to_uint8_chw(img: Image.Image | torch.Tensor) -> torch.Tensor:
    """PIL image or uint8 (3, H, W) tensor -> uint8 (3, H, W) tensor."""
    if isinstance(img, Image.Image):
        return F.pil_to_tensor(img.convert("RGB"))
    if (
        not isinstance(img, torch.Tensor)
        or img.dtype != torch.uint8
        or img.ndim != 3
        or img.shape[0] != 3
    ):
        found = (
            f"{type(img).__name__} {getattr(img, 'dtype', '')} {tuple(getattr(img, 'shape', ()))}"
        )
        raise TypeError(f"expected a PIL image or a uint8 tensor of shape (3, H, W), found {found}")
    return img


def resize(img: Image.Image | torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize to ``size`` = (height, width) as uint8 (3, H, W); the cache stores exactly this."""
    return F.resize(to_uint8_chw(img), list(size), antialias=True)


class Resize(torch.nn.Module):
    """:func:`resize` as a transform step (a module, so loaders with worker processes can pickle
    it)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, img: Image.Image | torch.Tensor) -> torch.Tensor:
        return resize(img, self.size)


class ChannelAugmentation(torch.nn.Module):
    """CAJ-style random channel copy or grayscale on a float (3, H, W) image, with probability
    ``p``."""

    def __init__(self, p: float = CHANNEL_AUG_P) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) >= self.p:
            return x
        choice = int(torch.randint(4, ()))
        if choice < 3:
            return x[choice : choice + 1].expand(3, -1, -1).clone()
        return F.rgb_to_grayscale(x, num_output_channels=3)


class Grayscale(torch.nn.Module):
    """A float (3, H, W) RGB image -> its grayscale in three channels; an image with three equal
    channels (IR) is returned unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.equal(x[0], x[1]) and torch.equal(x[1], x[2]):
            return x
        return F.rgb_to_grayscale(x, num_output_channels=3)


def build_transforms(data_cfg: DataConfig, train: bool, modality: str = "rgb") -> Transform:
    """Training (``train=True``) or test transforms for images of ``modality`` ("rgb" or "ir").

    Channel augmentation is added for RGB training images when ``data_cfg.channel_aug`` is set;
    :class:`Grayscale` for RGB training images and every test image when ``data_cfg.grayscale`` is.
    """
    size = (data_cfg.height, data_cfg.width)
    steps: list[torch.nn.Module] = [Resize(size)]
    if train:
        steps += [
            v2.RandomHorizontalFlip(data_cfg.flip),
            v2.Pad(data_cfg.pad, fill=0),
            v2.RandomCrop(size),
        ]
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if data_cfg.grayscale and (modality == "rgb" or not train):
        steps.append(Grayscale())
    if train:
        steps.append(
            v2.RandomErasing(
                data_cfg.erasing, scale=ERASE_SCALE, ratio=ERASE_RATIO, value=ERASE_FILL
            )
        )
        if data_cfg.channel_aug and modality == "rgb":
            steps.append(ChannelAugmentation())
    return v2.Compose(steps)
