"""How close is a generator's fake IR to the truth? The twin error of G_I on the embedded data.

The embedded generator can render, for any RGB picture it made, the *same* scene as the IR
camera of that place records it (:func:`tsgan.data.ir_twin`). That twin is ground truth that real
datasets never have: it measures G_I (RGB -> IR), it is never a training signal (training stays
unpaired, as in the paper).

``twin_error(G_I, samples)`` feeds each RGB picture to ``G_I`` the way the CycleGAN generators are
fed (``to_gan``: [-1, 1], 3 channels) and reads the fake IR back with ``from_gan`` and
``ir_to_1ch`` (grey in [0, 1]); it reports the mean absolute error (L1, grey levels in [0, 1]) and
the mean SSIM (Gaussian window 11, sigma 1.5, Wang et al. 2004 constants) against the twin's grey.
``load_twins`` + ``score_twins`` are the same in two steps (render the twins once, score often).
Two reference "generators" that need no training give the floors a learned G_I must beat:

* :func:`grayscale`: ITU-R BT.601 luminance ``0.299 R + 0.587 G + 0.114 B``;
* :func:`channel_copy`: the CAJ-style channel augmentation, one of R, G, B picked at random per
  image (seeded), as in Ye et al.'s channel-exchangeable augmentation.

:func:`twin_gate` turns the measure into the gate of ``loss.fakes_in_reid=gated``: G_I's mean
twin SSIM on the validation pictures (:func:`gate_pictures`: the first RGB picture of every
validation identity), rendered once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data import ir_twin
from ..data.dataset import render_twins
from ..data.degrade import LEVELS
from ..data.records import CrossModalityDataset, DatasetError, Sample
from ..imaging import from_gan, ir_to_1ch, to_gan

Generator = Callable[[torch.Tensor], torch.Tensor]
LUMA = (0.299, 0.587, 0.114)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [-1, 1] -> (B, 1, H, W) ITU-R BT.601 luminance in [-1, 1]."""
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def channel_copy(seed: int = 0) -> Generator:
    """A G_I that copies one random channel (R, G or B, seeded per call) of each image."""
    g = torch.Generator().manual_seed(seed)

    def copy(x: torch.Tensor) -> torch.Tensor:
        pick = torch.randint(0, 3, (len(x),), generator=g).to(x.device)
        return x[torch.arange(len(x), device=x.device), pick].unsqueeze(1)

    return copy


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-image mean SSIM of (B, 1, H, W) images in [0, 1] (valid Gaussian windows): (B,)."""
    t = torch.arange(window, dtype=x.dtype, device=x.device) - (window - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :]).view(1, 1, window, window)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z, k)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def load_twins(
    samples: Sequence[Sample | str | Path], size: tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB pictures (B, 3, H, W) and their twins' grey (B, 1, H, W), both in [0, 1]; ``size``
    (H, W) resizes both (bilinear)."""
    if callable(samples) or not len(samples):
        raise TypeError(
            "twin_error(generator, samples): samples must be a non-empty sequence of "
            "generated RGB Samples or paths"
        )
    rgb, twin = [], []
    for s in samples:
        a = Image.open(s.path if isinstance(s, Sample) else s).convert("RGB")
        b = Image.fromarray(ir_twin(s)[..., 0])
        if size is not None:
            a, b = (im.resize((size[1], size[0]), Image.BILINEAR) for im in (a, b))
        rgb.append(np.asarray(a, dtype=np.float32) / 255)
        twin.append(np.asarray(b, dtype=np.float32)[..., None] / 255)
    return (
        torch.from_numpy(np.stack(rgb)).permute(0, 3, 1, 2),
        torch.from_numpy(np.stack(twin)).permute(0, 3, 1, 2),
    )


@torch.no_grad()
def score_twins(
    generator: Generator, rgb: torch.Tensor, twin: torch.Tensor, batch_size: int = 64
) -> dict[str, float]:
    """:func:`twin_error` of pictures already loaded by :func:`load_twins` (what a per-epoch probe
    calls: the twins are rendered once)."""
    if not callable(generator) or isinstance(generator, (list, tuple)):
        raise TypeError(
            f"twin_error(generator, samples): generator must be callable, got "
            f"{type(generator).__name__}; did you swap the two arguments?"
        )
    params = (
        next(iter(generator.parameters()), None) if isinstance(generator, torch.nn.Module) else None
    )
    device = params.device if params is not None else torch.device("cpu")
    l1, sim = [], []
    for i in range(0, len(rgb), batch_size):
        x, y = rgb[i : i + batch_size], twin[i : i + batch_size]
        fake = ir_to_1ch(from_gan(generator(to_gan(x).to(device)))).float().cpu()
        if fake.shape != y.shape:
            raise ValueError(
                f"G_I returned {tuple(fake.shape)} for input {tuple(x.shape)}; "
                "expected the input's height and width"
            )
        l1.append((fake - y).abs().mean(dim=(1, 2, 3)))
        sim.append(ssim(fake, y))
    return {
        "L1": float(torch.cat(l1).mean()),
        "SSIM": float(torch.cat(sim).mean()),
        "images": len(rgb),
    }


def twin_error(
    generator: Generator,
    samples: Sequence[Sample | str | Path],
    size: tuple[int, int] | None = None,
    batch_size: int = 64,
) -> dict[str, float]:
    """Mean L1 (grey levels in [0, 1]) and mean SSIM between ``generator``'s fake IR of each RGB
    picture in ``samples`` and its true IR twin; ``size`` (H, W) resizes both first (the size
    G_I works at). ``generator`` maps (B, 3, H, W) in [-1, 1] to IR in [-1, 1] (1 or 3 channels)
    on the device of its parameters, if any."""
    if not callable(generator) or isinstance(generator, (list, tuple)):
        raise TypeError(
            f"twin_error(generator, samples): generator must be callable, got "
            f"{type(generator).__name__}; did you swap the two arguments?"
        )
    return score_twins(generator, *load_twins(samples, size), batch_size=batch_size)


def twin_floors(
    samples: Sequence[Sample | str | Path], size: tuple[int, int] | None = None, seed: int = 0
) -> dict[str, dict[str, float]]:
    """:func:`twin_error` of the two training-free references: grayscale and channel copy."""
    return {
        "grayscale": twin_error(grayscale, samples, size),
        "channel copy": twin_error(channel_copy(seed), samples, size),
    }


def degraded_twin_error(
    samples: Sequence[Sample], size: tuple[int, int], levels: Sequence[int] | None = None
) -> list[dict[str, float]]:
    """Mean twin L1 and SSIM of each degradation level of ``train.twin_degrade``
    (:data:`tsgan.data.degrade.LEVELS`, all when ``levels`` is None) on the RGB pictures
    ``samples`` at ``size`` (H, W): the X_I' a level feeds (:func:`tsgan.data.dataset.
    render_twins`) against the true twin as training renders it (level 0), so level 0 scores
    L1 0 and SSIM 1 and the levels sit on the same axis as G_I's :func:`twin_error`."""
    levels = range(len(LEVELS)) if levels is None else levels
    true = _grey(render_twins(samples, size, 0))
    out = []
    for level in levels:
        fed = _grey(render_twins(samples, size, level))
        out.append(
            {
                "level": level,
                "L1": float((fed - true).abs().mean(dim=(1, 2, 3)).mean()),
                "SSIM": float(ssim(fed, true).mean()),
                "images": len(samples),
            }
        )
    return out


def _grey(twins: Sequence[torch.Tensor]) -> torch.Tensor:
    """uint8 (3, H, W) twins -> one (B, 1, H, W) float batch in [0, 1]."""
    return torch.stack([t[:1] for t in twins]).float() / 255


def gate_pictures(dataset: CrossModalityDataset) -> list[Sample]:
    """The first RGB picture (list order) of every validation identity of ``dataset``: training
    pictures under ``data.split=test``, held-out ones under ``data.split=val`` (G_I never sees a
    twin either way: they only measure it)."""
    val = set(dataset.val_ids)
    first: dict[int, Sample] = {}
    for s in dataset.train + dataset.test:
        if s.pid in val and s.modality == "rgb":
            first.setdefault(s.pid, s)
    if not first:
        raise DatasetError(
            f"{dataset.name}: the X_I' gate (loss.fakes_in_reid=gated) measures G_I on the "
            "validation identities' RGB pictures, and this dataset has none (no exp/val_id.txt)"
        )
    return [first[p] for p in sorted(first)]


def twin_gate(
    samples: Sequence[Sample | str | Path], size: tuple[int, int]
) -> Callable[[torch.nn.Module], float]:
    """A function of G_I giving its mean twin SSIM on ``samples`` at ``size`` (H, W): the twins
    are rendered once, here (a DatasetError when the pictures have none: not the embedded
    data)."""
    rgb, twin = load_twins(samples, size)

    def ssim_of(generator: torch.nn.Module) -> float:
        return score_twins(generator, rgb, twin)["SSIM"]

    return ssim_of
