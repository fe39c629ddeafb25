"""Setting up and caching training runs: teacher pretraining and TS-GAN, from a Config.

``train_teacher(cfg, run_dir)`` / ``train_tsgan(cfg, run_dir)`` train (or resume) in a run folder
and return the finished checkpoint. ``get_or_train_teacher(cfg)`` / ``get_or_train_tsgan(cfg)``
are the "load if present, else train" versions the notebooks and the demo share: their run folders
live under ``runs/cache/`` and are named by a digest of exactly the config fields that change the
result, so any notebook can run first and an interrupted cached run resumes where it stopped.
``modality="rgb"`` trains the teacher's recipe on RGB images instead (Table III's RGB row), in its
own ``rgb_baseline`` run folder.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import Config, replace
from ..data import CrossModalityDataset, get_dataset
from ..data.check import require_valid
from ..data.dataset import build_train_loader
from ..data.synthetic import GENERATOR_VERSION
from ..data.sysu import SPLITS, validation_split
from ..eval.probes import EpochProbes
from ..eval.twins import gate_pictures, twin_gate
from ..figures import save_loss_figure
from ..methods.base import StepModel
from ..methods.teacher import BASELINES
from ..methods.tsgan import TSGAN
from ..paths import cache_dir
from .checkpoint import load_backbone
from .device import resolve_device
from .distributed import env_dist_info, init_distributed
from .provenance import record_provenance
from .rundir import RunDir
from .tensorboard import open_log
from .trainer import Trainer, seed_everything

# The sections that make a training run's result (``eval`` only scores it).
RESULT_SECTIONS = ("data", "model", "loss", "optim", "train")
# Run kinds: the single-modality baselines (keyed like the teacher), then TS-GAN.
KINDS = tuple(b.kind for b in BASELINES.values()) + ("tsgan",)


def run_key(cfg: Config, kind: str) -> str:
    """Digest of the config fields that determine a ``kind`` run's result (``KINDS``: "teacher",
    "rgb_baseline", "tsgan").

    ``Config.digest`` leaves out the fields marked NOT_RESULT (device, logging, compile); the
    teacher's key keeps only the data and the fields marked TEACHER, so ablations share one teacher.
    The RGB baseline is keyed like the teacher plus its modality (the IR teacher's key is unchanged
    by it, so existing teacher runs stay valid).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    extra: dict[str, Any] = data_version(cfg)
    if kind == "tsgan" and needs_teacher(cfg):
        extra["teacher"] = run_key(cfg, "teacher")
    if kind == BASELINES["rgb"].kind:
        extra["modality"] = "rgb"
    rgb = kind == BASELINES["rgb"].kind
    return cfg.digest(*RESULT_SECTIONS, teacher=kind != "tsgan", rgb=rgb, extra=extra)


def data_version(cfg: Config) -> dict[str, Any]:
    """The key entry of the embedded data's generator version (regenerated data must not reuse
    old runs); empty for the real datasets."""
    return {"synthetic_version": GENERATOR_VERSION} if cfg.data.dataset == "synthetic" else {}


def needs_teacher(cfg: Config) -> bool:
    """TS-GAN uses the pretrained teacher for the TS losses and/or as the student's starting
    weights."""
    return cfg.train.use_teacher or cfg.model.student_init == "teacher"


def load_dataset(cfg: Config) -> CrossModalityDataset:
    """The dataset named by ``cfg.data`` (the embedded one is generated on first use); with
    ``data.split=val`` the val identities are held out of training and become the scored ones."""
    d = cfg.data
    kwargs = {"synthetic": {"seed": d.synth_seed}, "regdb": {"trial": d.regdb_trial}}.get(
        d.dataset, {}
    )
    if d.split not in SPLITS:
        raise ValueError(f"config field data.split must be one of {SPLITS}; got {d.split!r}")
    data = get_dataset(d.dataset, d.root, **kwargs)
    return validation_split(data) if d.split == "val" else data


def _train(
    cfg: Config,
    run_dir: str | Path,
    make_model: Callable[..., StepModel],
    epochs: int,
    desc: str,
    stop_at_step: int | None,
    probes: bool = False,
) -> Path | None:
    # real datasets: stop before anything is written, naming the first layout problem
    require_valid(cfg.data.dataset, cfg.data.root)
    info = env_dist_info()
    device = resolve_device(cfg.train.device, info.local_rank)
    info = init_distributed(device)
    run = RunDir(run_dir)
    board = None
    if info.is_main:
        run.create(cfg)
        record_provenance(run.path, device)
        board = open_log(cfg.train.log, run.path)  # before the data: a missing extra fails at once
    dataset = load_dataset(cfg)
    # before the seeding, though the probes draw no random numbers
    probe = None
    if probes and info.is_main and cfg.train.probe_images:
        probe = EpochProbes(cfg, dataset)
    seed_everything(cfg.train.seed + info.rank)
    num_classes = dataset.num_train_ids
    model = make_model(cfg, num_classes, device)
    loader = build_train_loader(cfg, dataset, info.rank, info.world_size)
    trainer = Trainer(model, loader, run, epochs, num_classes, info, desc, board, probe)
    if not trainer.fit(stop_at_step):
        return None
    trainer.export(run.final)
    if info.is_main:
        save_loss_figure(run)
    return run.final


def baseline(modality: str) -> type[StepModel]:
    """The single-modality step model for ``modality`` ("ir": the teacher, "rgb": its RGB twin)."""
    if modality not in BASELINES:
        raise ValueError(f"modality must be one of {sorted(BASELINES)}, got {modality!r}")
    return BASELINES[modality]


def train_teacher(
    cfg: Config, run_dir: str | Path, stop_at_step: int | None = None, modality: str = "ir"
) -> Path | None:
    """Pretrain the IR teacher (``train.teacher_epochs`` epochs of P x ``train.teacher_K`` IR
    images), or with ``modality="rgb"`` the same recipe on RGB images; the final checkpoint, None
    if stopped early."""
    model = baseline(modality)
    # the run's config.json records the batch it trained on
    tcfg = replace(cfg, data__K=cfg.train.teacher_K)
    return _train(tcfg, run_dir, model, cfg.train.teacher_epochs, model.kind, stop_at_step)


def train_tsgan(
    cfg: Config,
    run_dir: str | Path,
    teacher: str | Path | None = None,
    stop_at_step: int | None = None,
) -> Path | None:
    """Train TS-GAN (Algorithm 1, ``optim.epochs`` epochs). ``teacher``: a teacher checkpoint, by
    default the cached one for ``cfg`` (trained first if needed) when the run needs one
    (:func:`needs_teacher`). The per-epoch probes (``train.probe_images``,
    :mod:`tsgan.eval.probes`) go to the run's log."""
    require_valid(cfg.data.dataset, cfg.data.root)  # before the teacher's run folder is made
    teacher_net = None
    if needs_teacher(cfg):
        teacher_net = load_backbone(teacher or get_or_train_teacher(cfg))[0]

    gate = None
    if cfg.loss.fakes_in_reid == "gated":  # G_I's twin SSIM on the validation pictures
        size = (cfg.data.height, cfg.data.width)
        gate = twin_gate(gate_pictures(load_dataset(cfg)), size)

    def make(cfg: Config, num_classes: int, device) -> TSGAN:
        return TSGAN(cfg, num_classes, device, teacher_net, gate)

    return _train(cfg, run_dir, make, cfg.optim.epochs, "TS-GAN", stop_at_step, probes=True)


def cached_run(cfg: Config, kind: str) -> RunDir:
    """The run folder of the ``kind`` run for ``cfg``: under ``<train.out_dir or runs>/cache/``."""
    return RunDir(cache_dir(cfg.train.out_dir) / f"{kind}-{cfg.name}-{run_key(cfg, kind)}")


@contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run folder's lock: a second process (another notebook) waits instead of training the
    same run.

    Not taken under torchrun: every rank takes part in the training, rank 0 alone writes.
    """
    if env_dist_info().is_distributed:
        yield
        return
    run.path.mkdir(parents=True, exist_ok=True)
    with open(run.path / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def get_or_train_teacher(cfg: Config, modality: str = "ir") -> Path:
    """The teacher checkpoint for ``cfg`` (``modality="rgb"``: the RGB baseline's): loaded from
    runs/cache when finished, else trained (or resumed)."""
    run = cached_run(cfg, baseline(modality).kind)
    with run_lock(run):
        return run.final if run.finished else train_teacher(cfg, run.path, modality=modality)


def get_or_train_tsgan(cfg: Config) -> Path:
    """The TS-GAN checkpoint for ``cfg``: loaded from runs/cache when finished, else trained (or
    resumed)."""
    if needs_teacher(cfg):
        get_or_train_teacher(cfg)  # outside this run's lock
    run = cached_run(cfg, "tsgan")
    with run_lock(run):
        return run.final if run.finished else train_tsgan(cfg, run.path)
