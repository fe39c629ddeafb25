"""Torch datasets over :class:`Sample` records and the train / test DataLoaders built from a config.

* :class:`ImageDataset`: one image per item (feature extraction, evaluation), read from its file,
  the image cache, or given pixels (the IR twins of ``build_test_loader(..., twins=True)``);
* :class:`PairDataset`: one (RGB, IR) pair of the same identity per item, indexed by the pairs
  that :class:`CrossModalityBatchSampler` yields (training; X_R and X_I of Algorithm 1); with
  ``twins`` also the true IR twin of the RGB image under the same flip and crop (``ir_twin``: the
  oracle X_I' of ``train.fakes=twins``).

Both read pixels from an :class:`ImageCache` when one is given, else decode the files.
The train loader yields ``{"rgb": (B,3,H,W), "ir": (B,3,H,W), "label": (B,)}`` with B = P*K and
``rgb[i]``, ``ir[i]`` showing identity ``label[i]``. Call ``loader.batch_sampler.set_epoch(e)``
before each epoch (and ``set_epoch(e, start_batch)`` when resuming mid-epoch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..config import Config, DataConfig
from .cache import ImageCache
from .degrade import check_level, degrade, picture_seed
from .images import load_image
from .records import CrossModalityDataset, DatasetError, Sample
from .sampler import CrossModalityBatchSampler
from .synthetic import ir_twin
from .transforms import Transform, build_transforms, resize

__all__ = [
    "load_image",
    "ImageDataset",
    "PairDataset",
    "build_train_loader",
    "build_test_loader",
    "render_twins",
]


def read_pixels(sample: Sample, cache: ImageCache | None) -> Image.Image | torch.Tensor:
    """The cached uint8 (3, H, W) tensor of ``sample`` when there is a cache, else the decoded
    PIL image."""
    return cache[sample.path] if cache is not None else load_image(sample.path)


def check_cache(samples: Sequence[Sample], cache: ImageCache | None) -> None:
    """A dataset given a cache must find every one of its images in it."""
    if cache is None:
        return
    missing = cache.missing([s.path for s in samples])
    if missing:
        raise ValueError(
            f"the image cache lacks {len(missing)} of the {len(samples)} images (first: "
            f"{missing[0]}); build the cache over every sample the dataset uses: "
            "ImageCache.build([s.path for s in samples], size)."
        )


class ImageDataset(Dataset):
    """Item i -> dict(img, pid, label, cam, modality, index); ``label`` is -1 without
    ``pid2label``. ``pixels`` (uint8 (3, H, W) images, one per sample, in order) are transformed
    instead of the samples' files: the record stays the sample's (pid, cam, modality)."""

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Transform,
        pid2label: dict[int, int] | None = None,
        cache: ImageCache | None = None,
        pixels: Sequence[torch.Tensor] | None = None,
    ) -> None:
        check_cache(samples, cache)
        if pixels is not None and (cache is not None or len(pixels) != len(samples)):
            raise ValueError(
                f"pixels holds {len(pixels)} images for {len(samples)} samples"
                + (" and a cache was given too" if cache is not None else "")
                + "; pass one image per sample, in order, and no cache"
            )
        self.samples, self.transform, self.pid2label, self.cache = (
            list(samples),
            transform,
            pid2label,
            cache,
        )
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        s = self.samples[index]
        label = self.pid2label[s.pid] if self.pid2label is not None else -1
        img = self.transform(
            self.pixels[index] if self.pixels is not None else read_pixels(s, self.cache)
        )
        return {
            "img": img,
            "pid": s.pid,
            "label": label,
            "cam": s.cam,
            "modality": s.modality,
            "index": index,
        }


class PairDataset(Dataset):
    """Item (i_rgb, i_ir) -> dict(rgb, ir, label): an RGB and an IR image of the same identity."""

    def __init__(
        self,
        rgb_samples: Sequence[Sample],
        ir_samples: Sequence[Sample],
        transform_rgb: Transform,
        transform_ir: Transform,
        pid2label: dict[int, int],
        cache: ImageCache | None = None,
        twins: Sequence[torch.Tensor] | None = None,
    ) -> None:
        check_cache(list(rgb_samples) + list(ir_samples), cache)
        self.rgb, self.ir = list(rgb_samples), list(ir_samples)
        self.transform_rgb, self.transform_ir = transform_rgb, transform_ir
        self.pid2label, self.cache = pid2label, cache
        if twins is not None and len(twins) != len(self.rgb):
            raise ValueError(
                f"twins holds {len(twins)} images for {len(self.rgb)} RGB samples; pass one IR "
                "twin per RGB sample, in the same order (render_twins(rgb_samples, size))"
            )
        self.twins = twins

    def __getitem__(self, pair: tuple[int, int]) -> dict:
        rgb, ir = self.rgb[pair[0]], self.ir[pair[1]]
        if rgb.pid != ir.pid:
            raise ValueError(
                f"pair {pair} mixes identities {rgb.pid} (RGB) and {ir.pid} (IR); "
                "pairs must come from CrossModalityBatchSampler over the same label lists"
            )
        state = torch.get_rng_state() if self.twins is not None else None
        item = {"rgb": self.transform_rgb(read_pixels(rgb, self.cache))}
        if self.twins is not None:  # replay the RGB image's random draws on its twin
            after = torch.get_rng_state()
            torch.set_rng_state(state)
            item["ir_twin"] = self.transform_rgb(self.twins[pair[0]])
            torch.set_rng_state(after)
        item["ir"] = self.transform_ir(read_pixels(ir, self.cache))
        item["label"] = self.pid2label[rgb.pid]
        return item


def render_twins(
    samples: Sequence[Sample], size: tuple[int, int], level: int = 0
) -> list[torch.Tensor]:
    """The IR twin (:func:`tsgan.data.ir_twin`) of each generated RGB sample as a uint8 (3, H, W)
    tensor resized to ``size`` like the image cache, at degradation ``level``
    (:func:`tsgan.data.degrade.degrade`: 0 the true twin, ``train.twin_degrade``); raises on data
    without twins."""
    check_level(level)
    try:
        return [
            degrade(
                resize(torch.from_numpy(ir_twin(s)).permute(2, 0, 1), size), level, picture_seed(s)
            )
            for s in samples
        ]
    except DatasetError as e:
        raise DatasetError(
            "train.fakes=twins needs the embedded SYSU-layout data, whose RGB pictures have true "
            f"IR twins; keep train.fakes=generator on other data ({e})"
        ) from None


def build_train_loader(
    cfg: Config, dataset: CrossModalityDataset, rank: int = 0, world_size: int = 1, epoch: int = 0
) -> DataLoader:
    """The training loader: P x K (RGB, IR) pairs per batch from the train split (see the module
    docstring)."""
    d = cfg.data
    rgb, ir = dataset.subset("train", "rgb"), dataset.subset("train", "ir")
    pid2label = dataset.pid2label
    cache = ImageCache.build([s.path for s in rgb + ir], (d.height, d.width)) if d.cache else None
    twins = (
        render_twins(rgb, (d.height, d.width), cfg.train.twin_degrade)
        if cfg.train.fakes == "twins"
        else None
    )
    pairs = PairDataset(
        rgb,
        ir,
        build_transforms(d, True, "rgb"),
        build_transforms(d, True, "ir"),
        pid2label,
        cache,
        twins,
    )
    sampler = CrossModalityBatchSampler(
        [pid2label[s.pid] for s in rgb],
        [pid2label[s.pid] for s in ir],
        d.P,
        d.K,
        batches_per_epoch=d.batches_per_epoch,
        seed=cfg.train.seed,
        rank=rank,
        world_size=world_size,
    )
    sampler.set_epoch(epoch)
    return DataLoader(
        pairs,
        batch_sampler=sampler,
        num_workers=d.workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=d.workers > 0,
    )


def build_test_loader(
    samples: Sequence[Sample], cfg: Config | DataConfig, batch_size: int, twins: bool = False
) -> DataLoader:
    """Test transforms, fixed order, batches of :class:`ImageDataset` items; ``cfg`` may be a
    Config or its ``data``. ``twins``: each sample (a generated RGB picture) is replaced by its
    true IR twin, rendered by :func:`render_twins` at the data size exactly as the image cache
    holds a picture (then the same test transforms), as ``train.fakes=twins`` feeds it."""
    d = cfg.data if isinstance(cfg, Config) else cfg
    size = (d.height, d.width)
    pixels = render_twins(samples, size) if twins else None
    cache = ImageCache.build([s.path for s in samples], size) if d.cache and not twins else None
    return DataLoader(
        ImageDataset(samples, build_transforms(d, False), cache=cache, pixels=pixels),
        batch_size=batch_size,
        shuffle=False,
        num_workers=d.workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=d.workers > 0,
    )
