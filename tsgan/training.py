"""Setting up and caching training runs: teacher pretraining and TS-GAN, from a Config.

``train_teacher(cfg, run_dir)`` / ``train_tsgan(cfg, run_dir)`` train (or resume) in a run folder
and return the finished checkpoint. ``get_or_train_teacher(cfg)`` / ``get_or_train_tsgan(cfg)``
are the "load if present, else train" versions the notebooks and the demo share: their run folders
live under ``runs/cache/`` and are named by a digest of exactly the config fields that change the
result, so any notebook can run first and an interrupted cached run resumes where it stopped.
``modality="rgb"`` trains the teacher's recipe on RGB images instead (Table III's RGB row), in its
own ``rgb_baseline`` run folder.

Every entry point (the commands, ``get_or_train_*``, the ablation) first calls :func:`validate`:
the whole config (the teacher's and TS-GAN's together when the teacher will be pretrained), the
device, the run folder (writable, and holding no run of another config or teacher), a ``teacher``
file against the student; so a mistake stops the command before anything trains or any folder
is made. Training then holds the run folder's lock (:func:`run_lock`): a second process on the
same run waits for it, and a start that fails before its first step leaves no folder behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import Config, check_config, replace, result_sections
from .data import CrossModalityDataset, get_dataset
from .data.check import require_valid
from .data.dataset import build_train_loader
from .data.degrade import check_level
from .data.synthetic import GENERATOR_VERSION, world_options
from .data.sysu import SPLITS, validation_split
from .engine.checkpoint import check_teacher, file_digest, load_backbone, remove_temporaries
from .engine.device import resolve_device
from .engine.distributed import env_dist_info, init_distributed
from .engine.provenance import record_provenance
from .engine.rundir import RunDir
from .engine.step_model import StepModel
from .engine.tensorboard import open_log
from .engine.trainer import Trainer
from .eval.twins import gate_pictures, twin_gate
from .figure_inputs import save_loss_figure
from .methods.teacher import BASELINES
from .methods.tsgan import TSGAN
from .paths import cache_dir
from .probes import EpochProbes
from .rng import seed_everything

# Run kinds: the single-modality baselines (keyed like the teacher), then TS-GAN.
KINDS = tuple(b.kind for b in BASELINES.values()) + ("tsgan",)


def run_key(cfg: Config, kind: str, inputs: dict[str, Any] | None = None) -> str:
    """Digest of the config fields that determine a ``kind`` run's result (``KINDS``: "teacher",
    "rgb_baseline", "tsgan") and of its other ``inputs`` (:func:`run_inputs`).

    The config's field metadata decides (``Config.digest`` over
    :func:`tsgan.config.result_sections`): fields marked NOT_RESULT (device, logging, compile) are
    left out; the teacher's key keeps only the data and the fields marked TEACHER, so ablations
    share one teacher.
    The RGB baseline is keyed like the teacher plus its modality (the IR teacher's key is unchanged
    by it, so existing teacher runs stay valid). A TS-GAN run with a teacher given as a file
    (``inputs["teacher_sha256"]``) is keyed by that file's content instead of the cached teacher's
    key: another teacher is another run. Without one the keys are those of earlier versions.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    extra: dict[str, Any] = data_version(cfg)
    teacher_sha256 = (inputs or {}).get("teacher_sha256")
    if kind == "tsgan" and needs_teacher(cfg):
        extra["teacher"] = f"sha256:{teacher_sha256}" if teacher_sha256 else run_key(cfg, "teacher")
    if kind == BASELINES["rgb"].kind:
        extra["modality"] = "rgb"
    rgb = kind == BASELINES["rgb"].kind
    return cfg.digest(*result_sections(cfg), teacher=kind != "tsgan", rgb=rgb, extra=extra)


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
    kwargs = {
        "synthetic": {"seed": d.synth_seed, **world_options(d.world, d.synth_train_ids)},
        "regdb": {"trial": d.regdb_trial},
    }.get(d.dataset, {})
    if d.split not in SPLITS:
        raise ValueError(f"config field data.split must be one of {SPLITS}; got {d.split!r}")
    data = get_dataset(d.dataset, d.root, **kwargs)
    return validation_split(data) if d.split == "val" else data


def run_inputs(teacher: str | Path | None = None) -> dict[str, Any]:
    """What a run trains from beside its config: a teacher given as a file enters by its sha256
    (``{}`` for the cached teacher of the config, which its key already covers)."""
    return {} if teacher is None else {"teacher_sha256": file_digest(teacher)}


def same_run(kind: str) -> Callable[[Config, Config], bool]:
    """Whether a run folder's saved config and a new one make the same ``kind`` run: equal run
    keys. Fields that do not change the result (device, logging, evaluation; for the teacher,
    TS-GAN's own fields, as rows share it) may differ: a cached teacher saved by one ablation row
    serves every row."""
    return lambda saved, cfg: run_key(saved, kind) == run_key(cfg, kind)


def training_config(cfg: Config, kind: str) -> Config:
    """The config a ``kind`` run trains with and saves: the single-modality pretraining takes its
    batch from ``train.teacher_K``."""
    return cfg if kind == "tsgan" else replace(cfg, data__K=cfg.train.teacher_K)


def validate(
    cfg: Config,
    kind: str,
    run_dir: str | Path | None = None,
    teacher: str | Path | None = None,
    teacher_name: str = "teacher",
) -> RunDir:
    """Check a training command before anything trains or any folder is made; returns its run
    folder (``run_dir``, or the cached one of ``cfg``).

    Checked: the config for every training the command runs (:func:`tsgan.config.check_config`:
    TS-GAN's and, when its teacher is not yet trained, the teacher's), the dataset layout, the
    device, a ``teacher`` file against the student (named ``teacher_name`` in errors, e.g. the
    option ``--teacher``), the run folders (writable; an existing one must hold this config and
    these inputs). Everything raises an error a user can act on (ValueError or the data's and
    checkpoints' own).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    pretrain = kind == "tsgan" and needs_teacher(cfg) and teacher is None
    check_config(cfg, (kind, "teacher") if pretrain else (kind,))
    check_level(cfg.train.twin_degrade)
    if teacher is not None:
        if kind != "tsgan" or not needs_teacher(cfg):
            raise ValueError(
                f"{teacher_name} {teacher} is not used by this run (it needs no teacher: "
                "train.use_teacher=false and model.student_init is not 'teacher'); leave it out"
            )
        check_teacher(teacher, cfg, teacher_name)
    require_valid(cfg.data.dataset, cfg.data.root)
    resolve_device(cfg.train.device, env_dist_info().local_rank)
    inputs = run_inputs(teacher)
    run = RunDir(run_dir) if run_dir is not None else cached_run(cfg, kind, inputs)
    runs = [(run, kind, inputs)]
    if pretrain:
        runs.append((cached_run(cfg, "teacher"), "teacher", {}))
    for folder, folder_kind, folder_inputs in runs:
        check_writable(folder.path)
        folder.check(training_config(cfg, folder_kind), folder_inputs, same_run(folder_kind))
    return run


def check_writable(path: Path) -> None:
    """Refuse a run folder that cannot be written: its nearest existing folder must accept a new
    file (tried, not guessed from permission bits)."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"run folder {path} cannot be made: {existing} is a file; choose another --run-dir "
            "or train.out_dir"
        )
    for folder in (existing, existing / "checkpoints"):
        if not folder.is_dir():
            continue
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as err:
            raise ValueError(
                f"run folder {path} is not writable ({folder}: {err.strerror}); choose another "
                "--run-dir or train.out_dir, or make it writable"
            ) from None


def _train(
    cfg: Config,
    run_dir: str | Path,
    make_model: Callable[..., StepModel],
    epochs: int,
    desc: str,
    stop_at_step: int | None,
    probes: bool = False,
    inputs: dict[str, Any] | None = None,
    kind: str = "tsgan",
) -> Path | None:
    info = env_dist_info()
    device = resolve_device(cfg.train.device, info.local_rank)
    run = RunDir(run_dir)
    with run_lock(run):
        info = init_distributed(device)
        board = None
        if info.is_main:
            removed = remove_temporaries(run.checkpoints) if run.checkpoints.is_dir() else []
            if removed:
                print(
                    f"removed {len(removed)} temporary checkpoint file(s) a stopped process left "
                    f"in {run.checkpoints}",
                    file=sys.stderr,
                )
            run.create(cfg, inputs, same_run(kind))
            record_provenance(run.path, device)
            board = open_log(cfg.train.log, run.path)  # before the data: a missing extra fails
        dataset = load_dataset(cfg)
        # before the seeding, though the probes draw no random numbers
        probe = None
        if probes and info.is_main and cfg.train.probe_images:
            probe = EpochProbes(cfg, dataset)
        seed_everything(cfg.train.seed + info.rank)
        num_classes = dataset.num_train_ids
        model = make_model(cfg, num_classes, device)
        loader = build_train_loader(cfg, dataset, info.rank, info.world_size)
        trainer = Trainer(model, loader, run, epochs, num_classes, info, desc, board)
        if probe is not None:
            trainer.add_callback("on_epoch_end", probe.on_epoch_end)
        trainer.add_callback("on_fit_end", lambda t: save_loss_figure(t.run, t.model.loss_names))
        if not trainer.fit(stop_at_step):
            return None
        trainer.export(run.final)
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
    validate(cfg, model.kind, run_dir)
    # the run's config.json records the batch it trained on
    tcfg = training_config(cfg, model.kind)
    epochs = cfg.train.teacher_epochs
    return _train(tcfg, run_dir, model, epochs, model.kind, stop_at_step, kind=model.kind)


def train_tsgan(
    cfg: Config,
    run_dir: str | Path,
    teacher: str | Path | None = None,
    stop_at_step: int | None = None,
) -> Path | None:
    """Train TS-GAN (Algorithm 1, ``optim.epochs`` epochs). ``teacher``: a teacher checkpoint, by
    default the cached one for ``cfg`` (trained first if needed) when the run needs one
    (:func:`needs_teacher`); a file given here is recorded in the run folder by its sha256. The
    per-epoch probes (``train.probe_images``, :mod:`tsgan.probes`) go to the run's log."""
    validate(cfg, "tsgan", run_dir, teacher)  # before the teacher trains
    teacher_net = None
    if needs_teacher(cfg):
        teacher_net = load_backbone(teacher or get_or_train_teacher(cfg))[0]

    gate = None
    if cfg.loss.fakes_in_reid == "gated":  # G_I's twin SSIM on the validation pictures
        size = (cfg.data.height, cfg.data.width)
        gate = twin_gate(gate_pictures(load_dataset(cfg)), size)

    def make(cfg: Config, num_classes: int, device) -> TSGAN:
        identities = teacher_net.classifier.out_features if teacher_net is not None else None
        if cfg.model.student_init == "teacher" and identities != num_classes:
            raise ValueError(
                f"the teacher was trained on {identities} identities, this dataset "
                f"has {num_classes}: model.student_init=teacher copies its classifier; use a "
                "teacher trained on this dataset"
            )
        return TSGAN(cfg, num_classes, device, teacher_net, gate)

    inputs = run_inputs(teacher)
    return _train(
        cfg, run_dir, make, cfg.optim.epochs, "TS-GAN", stop_at_step, probes=True, inputs=inputs
    )


def cached_run(cfg: Config, kind: str, inputs: dict[str, Any] | None = None) -> RunDir:
    """The run folder of the ``kind`` run for ``cfg`` (and ``inputs``, :func:`run_inputs`): under
    ``<train.out_dir or runs>/cache/``."""
    key = run_key(cfg, kind, inputs)
    return RunDir(cache_dir(cfg.train.out_dir) / f"{kind}-{cfg.name}-{key}")


# The run folders whose lock this process holds (resolved path -> nesting depth): run_lock is
# re-entrant, as get_or_train_* hold it around train_*, which holds it around the training.
_HELD: dict[Path, int] = {}


@contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run folder's lock (``<run>/.lock``, an OS file lock): a second process on the same
    run (another command, notebook or ablation process) waits, saying which PID holds it, then
    finds the run finished or resumes it.

    The kernel releases the lock when its process ends, however it ends, so a crashed run never
    blocks; the PID recorded in the file (cleared on release) names a holder that was killed. A
    start that fails before its first step removes the folder when this lock created it.
    Re-entrant within a process. Not taken under torchrun: every rank takes part in the training,
    rank 0 alone writes.
    """
    if env_dist_info().is_distributed:
        yield
        return
    key = run.path.resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    created = not run.path.exists()
    fd = _acquire(run.path)
    _HELD[key] = 1
    try:
        yield
    except BaseException:
        if created and not _progress(run):  # a failed start leaves no empty run behind
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    finally:
        del _HELD[key]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _progress(run: RunDir) -> bool:
    """Whether a run folder holds anything of a training (a checkpoint or a logged step)."""
    return run.last.is_file() or run.finished or run.steps_done() > 0


def _acquire(folder: Path) -> int:
    """Lock ``folder/.lock`` (made if missing) and write this process's PID into it; returns the
    file descriptor. Waits while another process holds it; retries when the file it waited on was
    removed meanwhile (a failed start removes its folder)."""
    path = folder / ".lock"
    told = False
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not told:
                print(f"waiting for run folder {folder}: {_holder(path)}", file=sys.stderr)
                told = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            here, now = os.fstat(fd), os.stat(path)
            same = (here.st_dev, here.st_ino) == (now.st_dev, now.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    stale = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    if stale:
        print(
            f"run folder {folder}: its last holder ({_describe(stale)}) ended without releasing "
            "it (killed?); the run resumes from its last checkpoint if it wrote one",
            file=sys.stderr,
        )
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "argv": sys.argv,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
    return fd


def _holder(path: Path) -> str:
    """Who holds a lock file, from what its holder wrote."""
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return f"in use by {_describe(text)}" if text else "in use by another process"


def _describe(text: str) -> str:
    try:
        h = json.loads(text)
        command = " ".join(h.get("argv") or [])
        return f"PID {h['pid']} on {h['host']} since {h['since']}" + (
            f" ({command})" if command else ""
        )
    except (ValueError, KeyError, TypeError):
        return text[:200]


def get_or_train_teacher(cfg: Config, modality: str = "ir") -> Path:
    """The teacher checkpoint for ``cfg`` (``modality="rgb"``: the RGB baseline's): loaded from
    runs/cache when trained, else trained (or resumed)."""
    kind = baseline(modality).kind
    run = validate(cfg, kind)
    with run_lock(run):
        return run.final if run.trained else train_teacher(cfg, run.path, modality=modality)


def get_or_train_tsgan(cfg: Config) -> Path:
    """The TS-GAN checkpoint for ``cfg``: loaded from runs/cache when trained, else trained (or
    resumed)."""
    run = validate(cfg, "tsgan")  # TS-GAN's config too, before the teacher trains
    if needs_teacher(cfg):
        get_or_train_teacher(cfg)  # outside this run's lock
    with run_lock(run):
        return run.final if run.trained else train_tsgan(cfg, run.path)
