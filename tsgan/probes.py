"""Per-epoch mechanism probes of a TS-GAN run: what moves inside the model while it trains.

At each epoch end :class:`EpochProbes`, attached to the trainer as its ``on_epoch_end`` callback by
the orchestration (when ``train.probe_images`` > 0), logs
``{"kind": "probe", "step", "epoch", "seconds", ...}`` to the run's metrics.jsonl, so a cached
run carries its curves (``seconds``: training time so far, probes excluded):

* ``twin_L1``, ``twin_SSIM``: G_I's twin error (:mod:`tsgan.eval.twins`) on the RGB pictures of
  the probe identities, when the model has a G_I and the training pictures have IR twins (the
  embedded data); the grayscale and channel-copy floors of the same pictures are
  :func:`probe_floors`;
* ``gap_fmap``: :func:`tsgan.models.modality_gap` (notebook 04's measure) between the student's
  former-encoder maps f_map (stem + layers 1-3) of the probe identities' RGB and IR images, where
  the TS losses (Eq. 13-16) act;
* ``gap_feat``: the same measure on the test feature (V, or the BN-neck output), what retrieval
  compares;
* with ``train.probe_eval``: ``R1`` and ``mAP`` (%) of the configured test protocol (its first
  setting, all ``eval.trials``): the curve that :func:`time_to_accuracy` reads.

The probe set: the first RGB and the first IR image of the first ``train.probe_images`` training
identities (:meth:`CrossModalityDataset.first_pairs`), with the test transforms. Per epoch that is
one forward pass of 2 x 32 images through the backbone and 32 through G_I (plus one evaluation
with ``probe_eval``). Probes run in eval mode without gradients, then restore every network's mode
and every RNG state, so a run with probes ends with the same weights as one without (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .config import Config
from .data.images import load_image
from .data.records import CrossModalityDataset, DatasetError, Sample
from .data.transforms import build_transforms
from .engine.step_model import StepModel
from .engine.trainer import Trainer
from .eval.report import evaluate_model
from .eval.twins import load_twins, score_twins, twin_floors
from .models import modality_gap
from .rng import capture_rng, restore_rng


def probe_set(cfg: Config, dataset: CrossModalityDataset) -> tuple[list[Sample], list[Sample]]:
    """The fixed probe identities' (RGB, IR) training records (``train.probe_images`` of them)."""
    return dataset.first_pairs(cfg.train.probe_images, "train")


def probe_floors(cfg: Config, dataset: CrossModalityDataset) -> dict[str, dict[str, float]]:
    """Twin error of the grayscale and channel-copy floors on the probe set (at the training
    size): the lines a learned G_I's ``twin_L1`` curve must go below."""
    return twin_floors(probe_set(cfg, dataset)[0], (cfg.data.height, cfg.data.width))


class EpochProbes:
    """The probes of one run (see the module docstring); call it with the step model."""

    def __init__(self, cfg: Config, dataset: CrossModalityDataset) -> None:
        rgb, ir = probe_set(cfg, dataset)
        if len(rgb) < 2:
            raise ValueError(
                f"the mechanism probes need >= 2 training identities with RGB and IR images, found "
                f"{len(rgb)}; set train.probe_images=0 to train without them"
            )
        transform = build_transforms(cfg.data, False)
        load = lambda samples: torch.stack([transform(load_image(s.path)) for s in samples])  # noqa: E731
        self.cfg, self.X_R, self.X_I = cfg, load(rgb), load(ir)
        try:
            self.twins: tuple[torch.Tensor, torch.Tensor] | None = load_twins(
                rgb, (cfg.data.height, cfg.data.width)
            )
        except DatasetError:  # not the embedded data: no ground truth for G_I
            self.twins = None

    def __call__(self, model: StepModel) -> dict[str, float]:
        """The probe values of ``model`` now; its networks' modes and all RNG states unchanged."""
        rng = capture_rng()
        modes = {name: net.training for name, net in model.nets.items()}
        model.eval()
        try:
            return self.measure(model.nets, model.device)
        finally:
            for name, net in model.nets.items():
                net.train(modes[name])
            restore_rng(rng)

    @torch.no_grad()
    def on_epoch_end(self, trainer: Trainer) -> None:
        """The trainer callback (``trainer.add_callback("on_epoch_end", probes.on_epoch_end)``):
        this epoch's values as a ``"probe"`` record of the run's log, at the epoch's step."""
        trainer.log({"kind": "probe", **trainer.where, **self(trainer.model)})

    def measure(self, nets: dict[str, torch.nn.Module], device: torch.device) -> dict[str, float]:
        backbone = nets["backbone"]
        X_R, X_I = self.X_R.to(device), self.X_I.to(device)
        out = {
            "gap_fmap": modality_gap(backbone.former(X_R), backbone.former(X_I)),
            "gap_feat": modality_gap(
                backbone.features(X_R)[..., None, None], backbone.features(X_I)[..., None, None]
            ),
        }
        if "G_I" in nets and self.twins is not None:
            err = score_twins(nets["G_I"], *self.twins)
            out.update(twin_L1=err["L1"], twin_SSIM=err["SSIM"])
        if self.cfg.train.probe_eval:
            report = evaluate_model(backbone.features, self.cfg, progress=False)
            mean = report["results"][0]["mean"]
            out.update(R1=100 * mean["R1"], mAP=100 * mean["mAP"])
        return out


def time_to_accuracy(
    probes: Sequence[dict[str, Any]], target: float, metric: str = "R1"
) -> dict[str, Any] | None:
    """The first probe record (in training order) whose ``metric`` reaches ``target``; None if none
    does. Records without ``metric`` (a run trained without ``train.probe_eval``) are an error."""
    if not probes or any(metric not in p for p in probes):
        raise ValueError(
            f"time_to_accuracy needs a {metric} at every epoch: train the run with "
            "train.probe_eval=true (and train.probe_images > 0)"
        )
    return next((p for p in sorted(probes, key=lambda p: p["step"]) if p[metric] >= target), None)


__all__ = ["EpochProbes", "probe_floors", "probe_set", "time_to_accuracy"]
