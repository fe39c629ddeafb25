"""The training loop shared by the teacher and TS-GAN: progress, metrics, checkpoints, exact resume.

It knows nothing of the model beyond :class:`tsgan.engine.step_model.StepModel` (``set_input``,
``optimize_parameters``, ``end_epoch``, ``state_dict``). Each epoch it positions the sampler
(``set_epoch(epoch, start_batch)``), runs the steps under a progress bar (one line per epoch
outside a terminal, :mod:`tsgan.progress`), logs to ``metrics.jsonl``, and writes
``checkpoints/last.pt`` atomically every ``train.ckpt_every`` epochs and at the end.

Exact resume: ``last.pt`` holds the networks, the optimizers, the schedulers, the AMP scaler, the
RNG states of python, numpy and torch (every rank's) and the position (epoch, batch, step). A run
stopped at any step (``stop_at_step``, Ctrl-C) and resumed ends with the same weights as an
uninterrupted one on CPU with ``data.workers=0``; with loader workers it is exact at epoch
boundaries (worker seeds come from (seed, epoch), not from the global RNG).

Callbacks (minGPT's ``add_callback``): what a run does beside training is attached from outside,
so the loop knows no method and draws nothing. ``add_callback(event, fn)`` registers ``fn(trainer)``
for one of :data:`EVENTS`: ``on_epoch_end`` (after the epoch's record is logged; the orchestration
attaches the probes, :class:`tsgan.probes.EpochProbes`, which log a ``"probe"`` record) and
``on_fit_end`` (training finished; the orchestration draws the loss figure). Callbacks run on rank
0 only, in the order they were added. Training time: every epoch record carries ``seconds``, the
training time so far (kept across resumes, time spent in callbacks excluded).

Divergence guard: a NaN or infinite loss stops training with :class:`DivergenceError` naming the
loss and the step; no checkpoint is written after it, so ``last.pt`` stays the last good one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from ..progress import bar as progress_bar
from ..progress import summary
from ..rng import capture_rng, restore_rng
from .checkpoint import load_checkpoint, save_checkpoint
from .device import move_batch
from .distributed import DistInfo, barrier, mean_over_ranks
from .rundir import RunDir
from .step_model import StepModel
from .tensorboard import TensorBoardLog


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; the message names it, the step, and the kept checkpoint."""


def gather_rng(info: DistInfo) -> list[dict[str, Any]]:
    """Every rank's RNG state, indexed by rank (collective: all ranks call it)."""
    if not info.is_distributed:
        return [capture_rng()]
    states: list[Any] = [None] * info.world_size
    dist.all_gather_object(states, capture_rng())
    return states


# The moments a callback can be attached to (Trainer.add_callback)
EVENTS = ("on_epoch_end", "on_fit_end")

_SINGLE_PROCESS = DistInfo()  # the default DistInfo: one process (frozen, so safe to share)


class Trainer:
    """Runs ``model`` for ``epochs`` epochs over ``loader`` in the run folder ``run``."""

    def __init__(
        self,
        model: StepModel,
        loader: DataLoader,
        run: RunDir,
        epochs: int,
        num_classes: int,
        info: DistInfo = _SINGLE_PROCESS,
        desc: str = "train",
        board: TensorBoardLog | None = None,
    ):
        self.model, self.loader, self.run, self.epochs = model, loader, run, epochs
        self.num_classes, self.info, self.desc = num_classes, info, desc
        self.cfg = model.cfg
        self.sampler = loader.batch_sampler
        self.epoch, self.batch, self.step = 0, 0, 0
        self.totals: dict[
            str, float
        ] = {}  # sums of this epoch's losses (the epoch means in the log)
        self.board = board  # optional TensorBoard mirror of the log (rank 0 only)
        self.callbacks: dict[str, list[Callable[[Trainer], None]]] = {e: [] for e in EVENTS}
        # where the epoch that just ended stands: step, epoch, seconds (read by callbacks)
        self.where: dict[str, Any] = {}
        # training seconds before this session, its start and the callbacks' share of it
        self.seconds_before, self.started, self.callback_seconds = 0.0, time.perf_counter(), 0.0

    def add_callback(self, event: str, callback: Callable[[Trainer], None]) -> None:
        """Call ``callback(trainer)`` at each ``event`` (:data:`EVENTS`), on rank 0."""
        if event not in EVENTS:
            raise ValueError(f"unknown trainer event {event!r}; events: {list(EVENTS)}")
        self.callbacks[event].append(callback)

    def trigger_callbacks(self, event: str) -> None:
        """Run ``event``'s callbacks (rank 0 only); their time is not training time."""
        if not self.info.is_main:
            return
        t = time.perf_counter()
        for callback in self.callbacks[event]:
            callback(self)
        self.callback_seconds += time.perf_counter() - t

    def seconds(self) -> float:
        """Training time so far (earlier sessions of a resumed run included, callbacks
        excluded)."""
        return self.seconds_before + time.perf_counter() - self.started - self.callback_seconds

    # ---- checkpoints -------------------------------------------------------------------------
    def state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "num_classes": self.num_classes,
            "kind": self.model.kind,
            **self.model.state_dict(),
            "rng": rng,
            "position": {
                "epoch": self.epoch,
                "batch": self.batch,
                "step": self.step,
                "totals": self.totals,
                "seconds": self.seconds(),
            },
        }

    def save(self, path: Path) -> None:
        """Collective: gathers every rank's RNG; rank 0 writes ``path`` atomically."""
        rng = gather_rng(self.info)
        if self.info.is_main:
            save_checkpoint(path, self.state(rng))
        barrier()

    def resume(self) -> dict[str, Any] | None:
        """Restore everything from ``last.pt`` if present; returns this rank's RNG state to
        restore."""
        if not self.run.last.is_file():
            return None
        state = load_checkpoint(self.run.last, self.model.device)
        self.model.load_state_dict(state)
        pos = state["position"]
        self.epoch, self.batch, self.step, self.totals = (
            pos["epoch"],
            pos["batch"],
            pos["step"],
            pos["totals"],
        )
        self.seconds_before = pos.get("seconds", 0.0)  # checkpoints before the clock had none
        if self.info.is_main:
            self.run.truncate_log(self.step)
        rngs = state["rng"]
        return rngs[self.info.rank] if len(rngs) == self.info.world_size else None

    # ---- the loop ----------------------------------------------------------------------------
    def fit(self, stop_at_step: int | None = None) -> bool:
        """Train (resuming from ``last.pt`` when present). False when stopped early at
        ``stop_at_step``."""
        try:
            finished = self._fit(stop_at_step)
            if finished:
                self.trigger_callbacks("on_fit_end")
            return finished
        finally:
            if self.board is not None:
                self.board.close()

    def _fit(self, stop_at_step: int | None) -> bool:
        planned = self.epochs * self.sampler.batches_per_epoch
        if planned < 1:  # a "finished" run of untrained weights would be cached as a result
            raise ValueError(
                f"{self.desc}: a training of 0 steps ({self.epochs} epochs of "
                f"{self.sampler.batches_per_epoch} batches) trains nothing; give it at least one "
                "epoch"
            )
        self.started, self.callback_seconds = time.perf_counter(), 0.0
        rng = self.resume()
        if self.board is not None and self.info.is_main:
            self.board.loss_layout(self.model.kind, self.model.loss_names)
        tc = self.cfg.train
        self.model.train()
        while self.epoch < self.epochs:
            self.sampler.set_epoch(self.epoch, self.batch)
            self.loader.generator = torch.Generator().manual_seed(tc.seed * 100_003 + self.epoch)
            batches = iter(self.loader)
            if (
                rng is not None
            ):  # after iter(): the loader's set-up must not shift the restored streams
                restore_rng(rng)
                rng = None
            stop = False
            desc = f"{self.desc} {self.epoch + 1}/{self.epochs}"
            bar = progress_bar(
                batches,
                total=self.sampler.batches_per_epoch,
                initial=self.batch,
                leave=False,
                desc=desc,
                enabled=self.info.is_main,
            )
            try:
                for raw in bar:
                    self.model.set_input(move_batch(raw, self.model.device, tc.channels_last))
                    losses = mean_over_ranks(self.model.optimize_parameters(), self.model.device)
                    self.batch += 1
                    self.step += 1
                    self.check_finite(losses)
                    for k, v in losses.items():
                        self.totals[k] = self.totals.get(k, 0.0) + v
                    if self.info.is_main and (
                        self.step % tc.log_every == 0
                        or self.batch == self.sampler.batches_per_epoch
                    ):
                        self.log(
                            {
                                "kind": "step",
                                "step": self.step,
                                "epoch": self.epoch + 1,
                                **losses,
                                **self.model.lr(),
                            }
                        )
                    bar.set_postfix({k: f"{losses[k]:.3g}" for k in list(losses)[-3:]})
                    stop = stop_at_step is not None and self.step >= stop_at_step
                    if stop and self.batch < self.sampler.batches_per_epoch:
                        self.save(self.run.last)
                        return False
            except KeyboardInterrupt:
                self.save(self.run.last)
                raise
            finally:
                bar.close()
            means = {k: v / max(1, self.batch) for k, v in self.totals.items()}
            summary(
                f"{desc}: {self.batch} steps, mean "
                + ", ".join(f"{k} {v:.3g}" for k, v in list(means.items())[-3:]),
                enabled=self.info.is_main,
            )
            self.end_epoch(save=stop)
            if stop:
                return False
        return True

    def end_epoch(self, save: bool = False) -> None:
        """Epoch means to the log, the ``on_epoch_end`` callbacks, the schedulers' step, and
        ``last.pt`` every ``train.ckpt_every`` epochs."""
        n = max(1, self.batch)
        if self.info.is_main:
            self.where = {"step": self.step, "epoch": self.epoch + 1, "seconds": self.seconds()}
            self.log(
                {
                    "kind": "epoch",
                    **self.where,
                    **{k: v / n for k, v in self.totals.items()},
                    **self.model.lr(),
                }
            )
            if self.board is not None:
                self.board.images(self.model.visuals(), self.step)
            self.trigger_callbacks("on_epoch_end")
        self.model.end_epoch()
        self.epoch, self.batch, self.totals = self.epoch + 1, 0, {}
        if save or self.epoch % self.cfg.train.ckpt_every == 0 or self.epoch == self.epochs:
            self.save(self.run.last)

    def log(self, record: dict[str, Any]) -> None:
        """One record to metrics.jsonl and, with ``train.log=tensorboard``, to the event files."""
        self.run.log(record)
        if self.board is not None:
            self.board.scalars(record)

    def check_finite(self, losses: dict[str, float]) -> None:
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if not bad:
            return
        name, value = next(iter(bad.items()))
        kept = (
            f"the last good checkpoint is kept at {self.run.last}"
            if self.run.last.is_file()
            else "no checkpoint had been written yet"
        )
        if self.info.is_main:
            self.log(
                {
                    "kind": "diverged",
                    "step": self.step,
                    "epoch": self.epoch + 1,
                    "loss": name,
                    "value": value,
                }
            )
        raise DivergenceError(
            f"training diverged: loss {name!r} is {value} at step {self.step} "
            f"(epoch {self.epoch + 1}, batch "
            f"{self.batch}); other non-finite losses: {sorted(bad)[1:] or 'none'}. "
            f"Training stopped; {kept}. "
            "Try a lower optim.lr / optim.gan_lr, or train.amp=off."
        )

    def export(self, path: Path) -> Path:
        """The finished networks alone (no optimizer state): what evaluation and the demo load."""
        if self.info.is_main:
            save_checkpoint(
                path,
                {
                    "config": self.cfg.to_dict(),
                    "num_classes": self.num_classes,
                    "kind": self.model.kind,
                    "models": self.model.state_dict()["models"],
                },
            )
        barrier()
        return path
