"""A short CycleGAN training with generator snapshots, cached by config (notebook 03).

Notebook 03 shows G_I and G_R at a few points of a short CPU training (the paper's Fig. 5 layout)
and the losses of every step. Retraining that on every run of the notebook would cost minutes, so
:func:`get_or_train_cyclegan` keeps one checkpoint under ``runs/cache/cyclegan-<preset>-<digest>/``
holding the loss history and the generators' weights at each snapshot step; the digest covers the
config's result sections, the number of steps and the snapshot steps, like the run keys of
:mod:`tsgan.training`. :func:`train_cyclegan` is the loop itself: Algorithm 1's generator
(lines 1-2) and discriminator (lines 5-7) updates of :class:`tsgan.methods.cyclegan.CycleGAN`,
one P x K batch of the training loader per step, the sampler's epochs in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import Config, result_sections
from ..data.dataset import build_train_loader
from ..engine.checkpoint import load_checkpoint, save_checkpoint
from ..engine.device import move_batch, resolve_device
from ..engine.rundir import RunDir
from ..methods.cyclegan import CycleGAN
from ..paths import cache_dir
from ..progress import bar, summary
from ..rng import seed_everything
from ..training import data_version, load_dataset, run_lock

KIND = "cyclegan"


def _check(cfg: Config, steps: int, snapshots: Sequence[int]) -> list[int]:
    if cfg.model.discriminator != "ordinary":
        raise ValueError(
            "the CycleGAN demo trains without a ReID backbone, so D_I must be the ordinary one: "
            f"set model.discriminator=ordinary (got {cfg.model.discriminator!r})"
        )
    if steps < 1 or any(not 0 <= s <= steps for s in snapshots):
        raise ValueError(
            f"expected steps >= 1 and snapshot steps within [0, steps], got steps={steps}, "
            f"snapshots={list(snapshots)}"
        )
    return sorted(set(snapshots))


def cyclegan_key(cfg: Config, steps: int, snapshots: Sequence[int]) -> str:
    """Digest of what makes the demo's result: the config's result sections, the steps, the
    snapshot steps (and the embedded data's generator version)."""
    extra = {"steps": steps, "snapshots": _check(cfg, steps, snapshots), **data_version(cfg)}
    return cfg.digest(*result_sections(cfg), extra=extra)


def cached_cyclegan(cfg: Config, steps: int, snapshots: Sequence[int]) -> RunDir:
    """The run folder of the demo for ``cfg``: under ``<train.out_dir or runs>/cache/``."""
    name = f"{KIND}-{cfg.name}-{cyclegan_key(cfg, steps, snapshots)}"
    return RunDir(cache_dir(cfg.train.out_dir) / name)


def _generators(model: CycleGAN, step: int) -> dict[str, Any]:
    return {
        "step": step,
        **{
            k: {n: t.detach().to("cpu", copy=True) for n, t in model.nets[k].state_dict().items()}
            for k in ("G_I", "G_R")
        },
    }


def train_cyclegan(cfg: Config, steps: int, snapshots: Sequence[int]) -> dict[str, Any]:
    """Train G_I, G_R, D_I (ordinary) and D_R for ``steps`` steps from seed ``train.seed``.

    Returns ``{"history": [losses of each step], "snapshots": [{"step", "G_I", "G_R"}, ...]}``,
    the generators' weights (on the CPU) at each of ``snapshots`` (step 0: before training)."""
    wanted = _check(cfg, steps, snapshots)
    dataset = load_dataset(cfg)
    device = resolve_device(cfg.train.device)
    loader = build_train_loader(cfg, dataset)
    seed_everything(cfg.train.seed)
    model = CycleGAN(cfg, device).train()
    history: list[dict[str, float]] = []
    saved = [_generators(model, 0)] if 0 in wanted else []
    epoch, batches = 0, iter(loader)
    for step in bar(range(1, steps + 1), desc="CycleGAN"):
        batch = next(batches, None)
        if batch is None:  # the sampler's next epoch
            epoch += 1
            loader.batch_sampler.set_epoch(epoch)
            batches = iter(loader)
            batch = next(batches)
        model.set_input(move_batch(batch, device, cfg.train.channels_last))
        history.append(model.optimize_parameters())
        if step in wanted:
            saved.append(_generators(model, step))
    last = history[-1]
    summary(f"CycleGAN: {steps} steps, last G_cyc {last['G_cyc']:.3g}, D {last['D']:.3g}")
    return {"history": history, "snapshots": saved}


def get_or_train_cyclegan(cfg: Config, steps: int, snapshots: Sequence[int]) -> dict[str, Any]:
    """:func:`train_cyclegan`'s result for ``cfg``: loaded from runs/cache when present, else
    trained and saved there (atomically; a second process waits for the first)."""
    run = cached_cyclegan(cfg, steps, snapshots)
    with run_lock(run):
        if not run.finished:
            run.create(cfg)
            result = train_cyclegan(cfg, steps, snapshots)
            save_checkpoint(run.final, {"config": cfg.to_dict(), "kind": KIND, **result})
    state = load_checkpoint(run.final)
    return {"history": state["history"], "snapshots": state["snapshots"]}
