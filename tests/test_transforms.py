"""Transforms: value range and shape, each augmentation checked against a hand-made expectation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tsgan.config import get_config
from tsgan.data.transforms import ChannelAugmentation, build_transforms

H, W = 16, 8


def data_cfg(**fields):
    cfg = get_config("cpu").data
    cfg.height, cfg.width = H, W
    for k, v in fields.items():
        setattr(cfg, k, v)
    return cfg


def random_image(seed: int = 0, size: tuple[int, int] = (H, W)) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 255, size=(*size, 3), dtype=np.uint8)


def test_test_transform_is_resize_to_unit_range() -> None:
    pixels = random_image()
    out = build_transforms(data_cfg(), train=False)(Image.fromarray(pixels))
    assert out.dtype == torch.float32 and out.shape == (3, H, W)
    assert torch.allclose(out, torch.from_numpy(pixels).permute(2, 0, 1).float() / 255, atol=1e-6)
    big = build_transforms(data_cfg(), train=False)(Image.fromarray(random_image(size=(40, 20))))
    assert big.shape == (3, H, W) and 0 <= big.min() and big.max() <= 1


def test_pil_and_uint8_tensor_inputs_agree() -> None:
    pixels = random_image(size=(37, 19))
    t = build_transforms(data_cfg(), train=True)
    torch.manual_seed(4)
    a = t(Image.fromarray(pixels))
    torch.manual_seed(4)
    b = t(torch.from_numpy(pixels).permute(2, 0, 1).contiguous())
    assert torch.equal(a, b)
    with pytest.raises(
        TypeError, match=r"uint8 tensor of shape \(3, H, W\), found Tensor torch.float32"
    ):
        t(torch.zeros(3, H, W))


def test_flip_only() -> None:
    x = random_image()
    out = build_transforms(data_cfg(flip=1.0, pad=0, erasing=0.0), train=True)(Image.fromarray(x))
    assert torch.allclose(
        out, torch.from_numpy(x[:, ::-1].copy()).permute(2, 0, 1).float() / 255, atol=1e-6
    )


def test_pad_and_crop_is_a_window_of_the_zero_padded_image() -> None:
    x, pad = random_image(), 3
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    t = build_transforms(data_cfg(flip=0.0, pad=pad, erasing=0.0), train=True)
    offsets = set()
    for seed in range(40):
        torch.manual_seed(seed)
        out = (t(Image.fromarray(x)) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        hits = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if np.array_equal(out, padded[dy : dy + H, dx : dx + W])
        ]
        assert hits, "the output is a (H, W) window of the padded image"
        offsets.add(hits[0])
    assert len(offsets) > 5, "crops move around"


def test_random_erasing_fills_one_rectangle_with_grey() -> None:
    x = random_image()  # values k/255 never equal 0.5
    t = build_transforms(data_cfg(flip=0.0, pad=0, erasing=1.0), train=True)
    reference = torch.from_numpy(x).permute(2, 0, 1).float() / 255
    for seed in range(10):
        torch.manual_seed(seed)
        out = t(Image.fromarray(x))
        erased = (out == 0.5).all(dim=0)
        rows, cols = erased.any(dim=1).nonzero(), erased.any(dim=0).nonzero()
        box = erased[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all(), "the erased pixels form one rectangle"
        assert 0.02 * H * W * 0.5 <= erased.sum() <= 0.4 * H * W * 1.5
        assert torch.allclose(out[:, ~erased], reference[:, ~erased], atol=1e-6)


def test_channel_augmentation_copies_a_channel_or_grays() -> None:
    x = torch.from_numpy(random_image()).permute(2, 0, 1).float() / 255
    gray = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]  # ITU-R 601-2 luma
    candidates = {"R": x[0], "G": x[1], "B": x[2], "gray": gray}
    aug, seen = ChannelAugmentation(p=1.0), set()
    for seed in range(40):
        torch.manual_seed(seed)
        out = aug(x)
        assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
        match = [name for name, c in candidates.items() if torch.allclose(out[0], c, atol=1e-6)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(candidates)
    assert torch.equal(ChannelAugmentation(p=0.0)(x), x)


def test_channel_augmentation_only_on_rgb_when_enabled() -> None:
    on = data_cfg(channel_aug=True)
    names = lambda t: [type(s).__name__ for s in t.transforms]  # noqa: E731
    assert "ChannelAugmentation" in names(build_transforms(on, True, "rgb"))
    assert "ChannelAugmentation" not in names(build_transforms(on, True, "ir"))
    assert "ChannelAugmentation" not in names(build_transforms(on, False, "rgb"))
    assert "ChannelAugmentation" not in names(build_transforms(data_cfg(), True, "rgb"))


def test_seeding_torch_reproduces_augmentations() -> None:
    img = Image.fromarray(random_image(size=(30, 14)))
    t = build_transforms(data_cfg(channel_aug=True), train=True)
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(torch.stack([t(img) for _ in range(8)]))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    assert runs[0].min() >= 0 and runs[0].max() <= 1
