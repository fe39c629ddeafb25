"""How good does G_I get, and what makes it better? Twin error on validation pictures against steps.

A :class:`Variant` is a set of config overrides of the CycleGAN stage (``model.gen_upsample``,
``loss.omega``, ``loss.gan_mode``, ``model.gen_filters``...). Each variant trains the
image-generation module alone (Algorithm 1's lines 1-2 and 5-7:
:func:`tsgan.experiments.cyclegan_demo.get_or_train_cyclegan`, cached by config, so a second call
trains nothing) on the training identities of ``data.split=val``, keeping G_I's weights every
``every`` steps; each snapshot is then scored by its twin L1 / SSIM (:mod:`tsgan.eval.twins`) on
the RGB pictures of the validation identities (:func:`tsgan.eval.twins.gate_pictures`, never seen
in training) at the training size, beside the grayscale and channel-copy floors of the same
pictures::

    python benchmarks/bench_gi.py --steps 300 --every 50 --variants deconv resize resize-omega3

The joint discriminator (TS-GAN_JD's) needs the student's feature maps and so the whole TS-GAN
step; its G_I is measured on the same pictures by :mod:`tsgan.experiments.gi_pairing` (G_I of
whole TS-GAN runs), not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, replace
from ..engine.provenance import results_header
from ..eval.twins import (
    degraded_twin_error,
    gate_pictures,
    load_twins,
    score_twins,
    twin_floors,
)
from ..models import load_generator_I
from ..paths import REPO_ROOT
from ..training import load_dataset
from .cyclegan_demo import cached_cyclegan, get_or_train_cyclegan

RESULTS_FORMAT = "tsgan-gi-study/1"


@dataclass(frozen=True)
class Variant:
    """One G_I recipe: dotted config ``overrides`` of the CycleGAN stage on top of the base."""

    key: str
    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def config(self, base: Config) -> Config:
        """The variant's config: ``base`` with its overrides, on the validation split, with the
        ordinary D_I (the CycleGAN stage has no ReID backbone to pair with)."""
        over = {"data.split": "val", "model.discriminator": "ordinary", **self.overrides}
        return replace(base, **{k.replace(".", "__"): v for k, v in over.items()})


RESIZE = {"model.gen_upsample": "resize"}
VARIANTS: dict[str, Variant] = {
    v.key: v
    for v in (
        Variant("deconv", "deconv up-sampling, omega 10, GAN log loss (the cpu preset)"),
        Variant("resize", "resize up-sampling", RESIZE),
        Variant("resize-omega3", "resize, omega 3", {**RESIZE, "loss.omega": 3.0}),
        Variant("resize-omega1", "resize, omega 1", {**RESIZE, "loss.omega": 1.0}),
        Variant("resize-lsgan", "resize, LSGAN", {**RESIZE, "loss.gan_mode": "lsgan"}),
        Variant(
            "resize-wide",
            "resize, 32 generator filters, 6 blocks",
            {**RESIZE, "model.gen_filters": 32, "model.gen_blocks": 6},
        ),
    )
}


def get_variants(keys: Sequence[str] | None) -> list[Variant]:
    """The variants named by ``keys`` (all of :data:`VARIANTS` when None), in that order."""
    if not keys:
        return list(VARIANTS.values())
    unknown = [k for k in keys if k not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown G_I variant(s) {unknown}; choose from {list(VARIANTS)}")
    return [VARIANTS[k] for k in keys]


def snapshot_steps(steps: int, every: int) -> list[int]:
    """0, every, 2 every, ..., and ``steps`` itself."""
    if steps < 1 or every < 1:
        raise ValueError(f"expected steps >= 1 and every >= 1, got steps={steps}, every={every}")
    return sorted({*range(0, steps + 1, every), steps})


def study_variant(variant: Variant, base: Config, steps: int, every: int) -> dict[str, Any]:
    """Train (or load) one variant's CycleGAN stage and score its snapshots on the validation
    pictures: ``{"key", "name", "overrides", "run", "curve": [{"step", "L1", "SSIM"}, ...]}``."""
    cfg = variant.config(base)
    wanted = snapshot_steps(steps, every)
    result = get_or_train_cyclegan(cfg, steps, wanted)
    rgb, twin = load_twins(gate_pictures(load_dataset(cfg)), (cfg.data.height, cfg.data.width))
    curve = []
    for snap in result["snapshots"]:
        err = score_twins(load_generator_I(cfg.model, snap["G_I"]), rgb, twin)
        curve.append({"step": snap["step"], "L1": err["L1"], "SSIM": err["SSIM"]})
    return {
        "key": variant.key,
        "name": variant.name,
        "overrides": dict(variant.overrides),
        "run": cached_cyclegan(cfg, steps, wanted).path.name,
        "curve": curve,
    }


def run_study(base: Config, variants: Sequence[Variant], steps: int, every: int) -> dict[str, Any]:
    """The study's document: every variant's curve, the floors of the same validation pictures,
    the base config and where the numbers came from."""
    cfg = replace(base, data__split="val")
    pictures = gate_pictures(load_dataset(cfg))
    size = (cfg.data.height, cfg.data.width)
    return {
        **results_header(RESULTS_FORMAT),
        "preset": base.name,
        "config": cfg.to_dict(),
        "steps": steps,
        "every": every,
        # paths from the repository root when inside it (a clone elsewhere reads the same files)
        "pictures": [_from_root(p.path) for p in pictures],
        "size": list(size),
        "floors": twin_floors(pictures, size),
        # the twins-degraded rows' X_I' on the same pictures: where each G_I sits on that scale
        "degraded": degraded_twin_error(pictures, size),
        "variants": [study_variant(v, base, steps, every) for v in variants],
    }


def _from_root(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(REPO_ROOT)) if p.is_relative_to(REPO_ROOT) else str(p)


def format_study(doc: Mapping[str, Any]) -> str:
    """The study as a text table: twin L1 / SSIM of each variant at each snapshot step."""
    steps = [p["step"] for p in doc["variants"][0]["curve"]] if doc["variants"] else []
    width = max([len(v["key"]) for v in doc["variants"]] + [14])
    head = f"{'variant':<{width}} " + " ".join(f"{s:>11}" for s in steps)
    n = len(doc["pictures"])
    lines = [f"twin L1 / SSIM on {n} validation pictures against steps", head]
    for v in doc["variants"]:
        cells = " ".join(f"{p['L1']:.3f}/{p['SSIM']:.2f}".rjust(11) for p in v["curve"])
        lines.append(f"{v['key']:<{width}} {cells}")
    for name, f in doc["floors"].items():
        lines.append(f"{name + ' floor':<{width}} {f['L1']:.3f}/{f['SSIM']:.2f}")
    for d in doc.get("degraded", [])[1:]:
        lines.append(f"{'twins level ' + str(d['level']):<{width}} {d['L1']:.3f}/{d['SSIM']:.2f}")
    return "\n".join(lines)


__all__ = [
    "VARIANTS",
    "Variant",
    "format_study",
    "get_variants",
    "run_study",
    "snapshot_steps",
    "study_variant",
]
