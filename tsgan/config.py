"""Configuration: one dataclass tree, two presets (``cpu`` and ``paper``), save/load, overrides.

Every default lives here, commented. Override any field without editing code::

    cfg = get_config("cpu", ["optim.lr=1e-3", "data.height=128"])   # from Python / a notebook
    python -m tsgan train --preset cpu optim.lr=1e-3 data.height=128   # from the command line

Paper symbols: lambda1..3 (Eq. 8), omega (Eq. 7), alpha_c / alpha_s (Eq. 16), m (Eq. 11).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

# Field metadata: the one definition of a run. What a field is to a run is said here, on the field,
# and nowhere else; the run key (Config.digest, tsgan.training.run_key), the resume check of a run
# folder (tsgan.engine.rundir: run_fields), the ablation's rows (switches) and its equal-budget
# check (budget_fields) read it. A field without metadata changes what a run computes.
NOT_RESULT = {"result": False}  # only says where files go / how the run is watched: never keyed
TEACHER = {"teacher": True}  # the IR teacher's result depends on it (a section: all its fields)
# acts on RGB images only: left out of the IR teacher's key (the RGB baseline's key keeps it)
RGB_ONLY = {"rgb_only": True}
BUDGET = {"budget": True}  # sets what a run trains for: ablation rows must agree on it


def keyed_unless(value: Any) -> dict[str, Any]:
    """Metadata of a field left out of every run key while it holds ``value``: the value every run
    had before the field existed, so adding the field kept their keys. Independent of the field's
    default: a default changed later moves the keys of runs that take it, never of runs that keep
    ``value`` (those would otherwise silently reuse each other's cached runs)."""
    return {"keyed_unless": value}


def switch(row_value: Any) -> dict[str, Any]:
    """Metadata of an ablation switch: every Table II row sets the field, to ``row_value`` unless
    the row names another value (tsgan.experiments.ablate.Row); a base config that sets it is
    refused, as each row would silently replace it."""
    return {"switch": row_value}


# Fields with a few allowed values are typed with Literal; every assignment is checked against them.
StudentInit = Literal["pretrained", "teacher"]
Discriminator = Literal["joint", "ordinary"]
NeckFeat = Literal["V", "bn"]
TSLosses = Literal["all", "cross", "none"]
TSReduction = Literal["channel_sum", "sum", "mean"]
GANMode = Literal["vanilla", "lsgan"]
AMP = Literal["off", "bf16", "fp16"]
TrainLog = Literal["files", "tensorboard"]
EvalMode = Literal["all", "indoor"]
Shots = Literal[1, 10]
Draw = Literal["seeded", "official"]
Fakes = Literal["generator", "twins"]
GenUpsample = Literal["deconv", "resize"]
World = Literal["v3", "v4"]  # the embedded SYSU-layout worlds (tsgan.data.synthetic.WORLDS)


def choices(section: type, name: str) -> tuple[Any, ...]:
    """The allowed values of a Literal-typed field (empty for free fields)."""
    return _choices(section).get(name, ())


@functools.cache
def _choices(section: type) -> dict[str, tuple[Any, ...]]:
    hints = get_type_hints(section)
    return {n: get_args(h) for n, h in hints.items() if get_origin(h) is Literal}


class _Checked:
    """Rejects a value outside a Literal field's choices at assignment, naming the allowed ones."""

    def __setattr__(self, name: str, value: Any) -> None:
        allowed = choices(type(self), name)
        if allowed and value not in allowed:
            section = type(self).__name__.removesuffix("Config").lower()
            raise ValueError(
                f"config field {section}.{name} must be one of "
                f"{', '.join(map(repr, allowed))}; got {value!r}"
            )
        super().__setattr__(name, value)


@dataclass
class DataConfig(_Checked):
    dataset: str = "synthetic"  # registry name: synthetic | sysu | regdb | llcm
    root: str = (
        "data/synthetic_sysu"  # dataset root; the synthetic one is generated here when missing
    )
    synth_seed: int = 0  # seed of the embedded dataset
    regdb_trial: int = 1  # RegDB trains one model per trial (1..10)
    height: int = 288  # input size; BoT uses 256x128, most VI-ReID code 288x144
    width: int = 144
    P: int = field(default=8, metadata=BUDGET)  # identities per batch
    K: int = field(default=4, metadata=BUDGET)  # (RGB, IR) pairs per identity -> batch 2*P*K
    # 0: derived from the data (see CrossModalityBatchSampler)
    batches_per_epoch: int = field(default=0, metadata=BUDGET)
    workers: int = 4  # DataLoader workers
    cache: bool = False  # keep resized uint8 images in memory (fast epochs)
    flip: float = 0.5  # random horizontal flip probability
    pad: int = 10  # pad-and-crop pixels
    erasing: float = 0.5  # random erasing probability
    # random channel copy / grayscale on RGB training images (CAJ-style)
    channel_aug: bool = field(
        default=False, metadata={**RGB_ONLY, **keyed_unless(False), **switch(False)}
    )
    # RGB images (training and test) replaced by their grayscale: the "grayscale input" baseline
    grayscale: bool = field(
        default=False, metadata={**RGB_ONLY, **keyed_unless(False), **switch(False)}
    )
    # which identities train and which are scored (SYSU layout): "test" (train + val ids train,
    # the test ids are scored: the published protocol) | "val" (train ids alone train, the val
    # ids are scored with the same protocol: for choosing a recipe; the test ids are never read)
    split: str = field(default="test", metadata=keyed_unless("test"))
    # the embedded data's world: v3 (every camera a random view mix, ~0.6 IR per RGB picture) |
    # v4 (SYSU-MM01's structure: RGB cameras see fronts, IR cameras backs, ~0.5 IR per RGB
    # picture); a v4 tree needs its own data.root (e.g. data/synthetic_sysu_v4)
    world: World = field(default="v3", metadata=keyed_unless("v3"))
    # v4: identities that train under the published protocol (train + val); 0 = the world's
    # default (tsgan.data.synthetic.SYSU_V4_DEFAULTS; SYSU-MM01 has 395)
    synth_train_ids: int = field(default=0, metadata=keyed_unless(0))


@dataclass
class ModelConfig(_Checked):
    # ReID backbone: resnet50 (paper) | resnet18 (cpu)
    arch: str = field(default="resnet50", metadata=TEACHER)
    # "" (random init) | "imagenet" (torchvision cache) | path to a state dict
    pretrained: str = field(default="imagenet", metadata=TEACHER)
    last_stride: int = field(default=1, metadata=TEACHER)  # BoT: last stride 1
    # base width of a ResNet-18/34 (64: torchvision's; 32 costs ~1/4 of the multiply-adds)
    width: int = field(default=64, metadata=TEACHER)
    neck_feat: NeckFeat = "V"  # test feature: "V" (GAP, paper) | "bn" (after the BN-neck)
    gen_filters: int = 64  # CycleGAN ResNet generator width (ngf)
    gen_blocks: int = 9  # residual blocks in the generator
    # up-sampling of the generator: deconv (CycleGAN's transposed convolutions) | resize
    # (nearest-neighbour resize + 3x3 convolution, Odena et al. 2016: no checkerboard artefacts)
    gen_upsample: GenUpsample = field(default="deconv", metadata=keyed_unless("deconv"))
    disc_filters: int = 64  # PatchGAN width (ndf)
    disc_layers: int = 3  # PatchGAN depth (3 -> 70x70 receptive field)
    # joint (TS-GAN_JD) | ordinary (TS-GAN_OD)
    discriminator: Discriminator = field(default="joint", metadata=switch("joint"))
    # student backbone start: pretrained (as model.pretrained) | teacher (its weights)
    student_init: StudentInit = "pretrained"


@dataclass
class LossConfig(_Checked):
    lambda1: float = field(default=3.0, metadata=TEACHER)  # ID loss weight (Eq. 8)
    lambda2: float = field(default=1.0, metadata=TEACHER)  # triplet weight (Eq. 8)
    lambda3: float = 0.1  # L_ReID^GAN weight (Eq. 8)
    label_smooth: float = field(default=0.1, metadata=TEACHER)  # epsilon of Eq. 10
    margin: float = field(default=0.3, metadata=TEACHER)  # triplet margin m (Eq. 11)
    omega: float = 10.0  # cycle loss weight (Eq. 7)
    alpha_c: float = 0.006  # cross-domain TS weight (Eq. 16)
    alpha_s: float = 0.003  # same-domain TS weight (Eq. 16)
    # all | cross (TS-GAN^singleTS) | none
    ts_losses: TSLosses = field(default="all", metadata=switch("all"))
    # channel_sum (sum over channels, mean over positions and images: resolution-free)
    # | sum (literal ||.||_2^2 per image) | mean (PyTorch default)
    ts_reduction: TSReduction = "channel_sum"
    gan_mode: GANMode = "vanilla"  # vanilla (log loss, as written) | lsgan
    # which images L_ID and L_Tri (Eq. 9-11) average over once X_I' joins line 3: "never" (X_R and
    # X_I; X_I' feeds only L_TS and L_ReID^GAN: chosen on the validation identities) | "joined"
    # (X_R, X_I and X_I': Algorithm 1 as first implemented here) | "gated" (as "never" until G_I's
    # twin SSIM on the validation identities' pictures reaches fakes_gate_ssim at an epoch end,
    # then as "joined"; embedded data only)
    fakes_in_reid: Literal["joined", "never", "gated"] = field(
        default="never", metadata={**keyed_unless("joined"), **switch("never")}
    )
    fakes_gate_ssim: float = field(default=0.6, metadata=keyed_unless(0.6))


@dataclass
class OptimConfig:
    lr: float = field(default=3.5e-4, metadata=TEACHER)  # backbone Adam learning rate
    weight_decay: float = field(default=5e-4, metadata=TEACHER)
    # linear warm-up over the first warmup_epochs epochs (formula: warmup_factor)
    warmup_epochs: int = field(default=10, metadata={**TEACHER, **BUDGET})
    # 0: epoch e < warmup_epochs at lr * (e + 1) / warmup_epochs (first epoch at lr / warmup_epochs,
    # so warmup_epochs=1 is no warm-up) | f in (0, 1): BoT's linear warm-up, epoch e at
    # lr * (f + (1 - f) * e / warmup_epochs), from lr * f up to lr at epoch warmup_epochs
    warmup_factor: float = field(default=0.0, metadata={**TEACHER, **keyed_unless(0.0)})
    # TS-GAN's (and CycleGAN's) decay epochs; the IR teacher uses train.teacher_milestones
    milestones: tuple[int, ...] = field(default=(40, 70), metadata=BUDGET)
    # lr factor at each milestone (paper: decay factor 0.3)
    gamma: float = field(default=0.3, metadata=TEACHER)
    epochs: int = field(default=120, metadata=BUDGET)
    gan_lr: float = 2e-4  # generators and discriminators (CycleGAN's Adam)
    # epochs at the start of TS-GAN in which G and D learn but the backbone trains on X_R and X_I
    # alone (the Backbone row's loss): fakes, L_ReID^GAN and L_TS join after them (0: paper)
    gan_warmup_epochs: int = 0
    gan_beta1: float = 0.5
    gan_beta2: float = 0.999


@dataclass
class TrainConfig(_Checked):
    seed: int = field(default=0, metadata=TEACHER)
    device: str = field(default="auto", metadata=NOT_RESULT)  # auto | cpu | cuda | cuda:N
    amp: AMP = field(default="off", metadata=TEACHER)  # off | bf16 | fp16 (fp16 uses a GradScaler)
    channels_last: bool = field(default=False, metadata=TEACHER)
    compile: bool = field(default=False, metadata=NOT_RESULT)  # torch.compile the networks
    # IR-only teacher pretraining
    teacher_epochs: int = field(default=60, metadata={**TEACHER, **BUDGET})
    # the teacher's learning-rate decay epochs (BoT's 40 and 70, as optim.milestones)
    teacher_milestones: tuple[int, ...] = field(default=(40, 70), metadata={**TEACHER, **BUDGET})
    # pairs per identity in the teacher's batches: it learns from P x teacher_K IR images a step
    teacher_K: int = field(default=4, metadata={**TEACHER, **BUDGET})
    log_every: int = field(default=20, metadata=NOT_RESULT)  # steps between metric log lines
    log: TrainLog = field(
        default="files", metadata=NOT_RESULT
    )  # files | tensorboard (also event files)
    ckpt_every: int = field(default=1, metadata=NOT_RESULT)  # epochs between checkpoints
    out_dir: str = field(
        default="", metadata=NOT_RESULT
    )  # "" = $TSGAN_RUNS or runs/; cache in <out_dir>/cache/
    # False: backbone only (Table II "Backbone")
    use_gan: bool = field(default=True, metadata=switch(True))
    use_teacher: bool = field(default=True, metadata=switch(True))
    # where X_I' comes from: "generator" (G_I, the paper) | "twins" (the embedded data's true IR
    # twins of X_R, an oracle G_I for the ablation; needs train.use_gan=false)
    fakes: Fakes = field(
        default="generator", metadata={**keyed_unless("generator"), **switch("generator")}
    )
    # with train.fakes=twins: the twins degraded by this level of tsgan.data.degrade.LEVELS (blend
    # toward flat grey, grey-level jitter, blur, noise; fixed per picture): 0 = the true twins,
    # 1..4 ever poorer X_I' (the "how good must G_I be?" rows)
    twin_degrade: int = field(default=0, metadata={**keyed_unless(0), **switch(0)})
    # per-epoch mechanism probes of TS-GAN runs on this many training identities (G_I twin error,
    # RGB-IR feature gap; tsgan.probes): 0 = off
    probe_images: int = field(default=32, metadata=NOT_RESULT)
    # also score the test protocol at each epoch end (time to accuracy; one evaluation per epoch)
    probe_eval: bool = field(default=False, metadata=NOT_RESULT)


@dataclass
class EvalConfig(_Checked):
    mode: EvalMode = "all"  # SYSU-MM01: all | indoor
    shots: Shots = 1  # 1 (single-shot) | 10 (multi-shot)
    trials: int = 10
    # seeded (common Python baseline) | official (rand_perm_cam.mat)
    draw: Draw = "seeded"
    split_file: str = ""  # path to rand_perm_cam.mat for draw=official
    rerank: bool = False
    k1: int = 20
    k2: int = 6
    lambda_: float = 0.3
    flip: bool = False  # average features of the image and its mirror
    feat_norm: bool = True  # L2-normalise test features before Euclidean distances (BoT's default)
    batch_size: int = 128


@dataclass
class Config:
    # the preset's name: it names cached run folders beside the key, and is no part of a run
    name: str = field(default="paper", metadata=NOT_RESULT)
    data: DataConfig = field(default_factory=DataConfig, metadata=TEACHER)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig, metadata=NOT_RESULT)  # scores a run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(
        self,
        *sections: str,
        teacher: bool = False,
        rgb: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Short stable hash of the given sections (all when none), the key of cached runs.

        Within a section, the field metadata decides (:func:`_in_key`): fields marked
        ``NOT_RESULT`` are left out, and a ``keyed_unless(v)`` field while it holds ``v``;
        ``teacher=True`` keeps only the fields marked ``TEACHER`` (all of a section marked so),
        and drops the ``RGB_ONLY`` ones unless ``rgb`` (a single-modality model that sees RGB
        images); ``extra`` entries (e.g. the synthetic data version) join the hashed dict.
        """
        d: dict[str, Any] = {}
        for f in fields(self):
            if sections and f.name not in sections:
                continue
            value = getattr(self, f.name)
            if is_dataclass(value):
                plain = asdict(value)
                section_teacher = f.metadata.get("teacher", False)
                value = {
                    g.name: plain[g.name]
                    for g in fields(value)
                    if _in_key(g, plain[g.name], teacher, section_teacher, rgb)
                }
            d[f.name] = value
        d.update(extra or {})
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Config:
        return from_dict(json.loads(Path(path).read_text()), cls)


def _in_key(f: Field, value: Any, teacher: bool, section_teacher: bool, rgb: bool) -> bool:
    """Whether field ``f`` (holding ``value``) enters a run key; ``section_teacher``: its section
    is marked TEACHER (the teacher's key keeps all of its fields but the RGB-only ones, unless
    ``rgb``)."""
    if not f.metadata.get("result", True):
        return False
    if "keyed_unless" in f.metadata and value == f.metadata["keyed_unless"]:
        return False
    if f.metadata.get("rgb_only") and teacher and not rgb:
        return False
    return not teacher or section_teacher or f.metadata.get("teacher", False)


def result_sections(cfg: Config) -> tuple[str, ...]:
    """The sections whose fields can change what a training run computes (the run key hashes
    these; ``eval`` only scores a run, so it is marked NOT_RESULT)."""
    return tuple(f.name for f in fields(cfg) if is_dataclass(getattr(cfg, f.name)) and _result(f))


def _result(f: Field) -> bool:
    return f.metadata.get("result", True)


def _fields(cfg: Config) -> list[tuple[str, Field, Any]]:
    """(dotted name, field, value) of every field of every section of ``cfg``."""
    out = []
    for s in fields(cfg):
        section = getattr(cfg, s.name)
        if is_dataclass(section):
            out += [(f"{s.name}.{f.name}", f, getattr(section, f.name)) for f in fields(section)]
    return out


def run_fields(cfg: Config) -> dict[str, Any]:
    """Dotted name -> value of every field that can change what a training run computes: the
    fields of :func:`result_sections` not marked NOT_RESULT. Two configs that differ elsewhere
    (device, logging, probes, evaluation) make the same run."""
    sections = result_sections(cfg)
    return {
        name: value
        for name, f, value in _fields(cfg)
        if name.split(".")[0] in sections and _result(f)
    }


def switches(cfg: Config) -> dict[str, Any]:
    """The ablation switches (fields marked ``switch(v)``): dotted name -> the value a row sets
    unless it names another."""
    return {name: f.metadata["switch"] for name, f, _ in _fields(cfg) if "switch" in f.metadata}


def budget_fields(cfg: Config) -> tuple[str, ...]:
    """The fields marked BUDGET (dotted names): what every ablation row must train for alike."""
    return tuple(name for name, f, _ in _fields(cfg) if f.metadata.get("budget"))


def field_default(cfg: Config, name: str) -> Any:
    """The default of dotted field ``name`` in ``cfg``'s own dataclasses."""
    section, field_name = name.split(".")
    f = {f.name: f for f in fields(getattr(cfg, section))}[field_name]
    return f.default_factory() if f.default is MISSING else f.default


# The kinds of training :func:`check_config` knows: the single-modality baselines and TS-GAN.
TRAINING_KINDS = ("teacher", "rgb_baseline", "tsgan")


def check_config(cfg: Config, kinds: tuple[str, ...] = ("teacher", "tsgan")) -> None:
    """Refuse a config that cannot train, before anything trains: a ValueError naming the field.

    ``kinds``: the trainings the command will run ("teacher" / "rgb_baseline": the single-modality
    pretraining, ``train.teacher_epochs``; "tsgan": Algorithm 1, ``optim.epochs``), so ``train``
    checks the teacher's fields and TS-GAN's together when it would pretrain the teacher first. A
    training of 0 steps is an error, never a finished run of random weights.
    """
    unknown = sorted(set(kinds) - set(TRAINING_KINDS))
    if unknown:
        raise ValueError(f"unknown training kind(s) {unknown}; known: {list(TRAINING_KINDS)}")
    at_least = {
        "data.P": 1,
        "data.height": 1,
        "data.width": 1,
        "data.batches_per_epoch": 0,
        "data.workers": 0,
        "optim.warmup_epochs": 0,
        "train.log_every": 1,
        "train.ckpt_every": 1,
    }
    if "tsgan" in kinds:
        at_least.update({"optim.epochs": 1, "data.K": 1})
    if {"teacher", "rgb_baseline"} & set(kinds):
        at_least.update({"train.teacher_epochs": 1, "train.teacher_K": 1})
    for key, low in at_least.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value < low:
            why = " (a training of 0 steps trains nothing)" if key.endswith("epochs") else ""
            raise ValueError(f"{key}={value} must be at least {low}{why}")
    check_world(cfg)
    if "tsgan" in kinds:
        check_tsgan_switches(cfg)


def check_world(cfg: Config) -> None:
    """``data.world`` and ``data.synth_train_ids`` describe the embedded data only, and the number
    of training identities is an option of the v4 world (v3's sizes are fixed: its keys and
    pictures predate v4)."""
    d = cfg.data
    if d.world != "v3" and d.dataset != "synthetic":
        raise ValueError(
            f"data.world={d.world} selects a world of the embedded data; data.dataset="
            f"{d.dataset!r} is read from disk as it is: leave data.world at v3"
        )
    if d.world != "v3" and d.root == DataConfig.root:
        raise ValueError(
            f"data.world={d.world} needs a data.root of its own (e.g. "
            f"data.root={DataConfig.root}_{d.world}): {DataConfig.root} is the v3 world's"
        )
    if d.synth_train_ids and d.world != "v4":
        raise ValueError(
            f"data.synth_train_ids={d.synth_train_ids} sets the v4 world's training identities; "
            "use it with data.world=v4 (and a data.root of its own)"
        )
    if d.synth_train_ids < 0 or 0 < d.synth_train_ids < 8:
        raise ValueError(f"data.synth_train_ids={d.synth_train_ids} must be 0 (default) or >= 8")


def check_tsgan_switches(cfg: Config) -> None:
    """The TS-GAN switches that only work together (``train.use_gan``, ``train.use_teacher``,
    ``train.fakes``) and the GAN warm-up, which must leave epochs in which the fakes join."""
    t = cfg.train
    if t.fakes == "twins" and t.use_gan:
        raise ValueError(
            "train.fakes=twins replaces G_I by the true IR twins of X_R, so there is no GAN "
            "to train: set train.use_gan=false with it"
        )
    if t.twin_degrade and t.fakes != "twins":
        raise ValueError(
            f"train.twin_degrade={t.twin_degrade} degrades the true IR twins fed as X_I': it "
            "needs train.fakes=twins (and train.use_gan=false)"
        )
    has_fakes = t.use_gan or t.fakes == "twins"
    if t.use_teacher and not has_fakes:
        raise ValueError(
            "train.use_teacher=true needs train.use_gan=true (or train.fakes=twins): the TS "
            "losses (Eq. 14-16) compare teacher and student on generated IR images. For the "
            "paper's 'Backbone' row set both train.use_gan=false and train.use_teacher=false"
        )
    o = cfg.optim
    if has_fakes and not 0 <= o.gan_warmup_epochs < o.epochs:
        raise ValueError(
            f"optim.gan_warmup_epochs={o.gan_warmup_epochs} must be in "
            f"[0, optim.epochs={o.epochs}): the fakes would never join line 3"
        )


def _paper() -> Config:
    return Config(name="paper")


def _cpu() -> Config:
    """Small images and networks: every notebook and the demo run in minutes on 2 CPU cores.

    Each choice is a decision row in docs/ARCHITECTURE.md ("The cpu recipe"): a ResNet-18 of half
    width (1/4 of the work), 64x32 inputs, Adam at 1e-3 for every network (nothing is pretrained),
    a 600-step teacher,
    240 TS-GAN steps of which the first 80 are a GAN warm-up (the backbone trains as the Backbone
    row while G and D learn, so no row sees noise as fake IR).
    """
    cfg = Config(name="cpu")
    cfg.data.height, cfg.data.width = 64, 32
    cfg.data.P, cfg.data.K = 8, 2
    cfg.data.pad = 4
    cfg.data.erasing = 0.0  # BoT's erasing regularises 120-epoch runs; 600 steps learn less
    cfg.data.workers = 0
    cfg.data.cache = True
    cfg.data.batches_per_epoch = 20  # short epochs: 600 teacher steps, 240 TS-GAN steps
    cfg.model.arch = "resnet18"
    cfg.model.width = 32
    cfg.model.pretrained = ""
    # no ImageNet weights offline: the IR teacher is the student's pretraining
    cfg.model.student_init = "teacher"
    cfg.model.gen_filters, cfg.model.gen_blocks = 16, 3
    cfg.model.disc_filters, cfg.model.disc_layers = 16, 2
    cfg.optim.lr = 1e-3
    cfg.optim.gan_lr = 1e-3  # 2e-4 (CycleGAN's) leaves G_I at noise after 240 steps
    cfg.optim.epochs = 12
    cfg.optim.gan_warmup_epochs = 4
    cfg.optim.warmup_epochs = 1
    cfg.optim.milestones = (10,)  # TS-GAN decays at epoch 10 of its 12
    # the teacher: 1,500 steps of 8 x 4 IR images (the paper's batch), decays at 50 and 65 of 75
    cfg.train.teacher_epochs = 75
    cfg.train.teacher_milestones = (50, 65)
    cfg.train.teacher_K = 4
    cfg.eval.batch_size = 256
    return cfg


PRESETS = {"paper": _paper, "cpu": _cpu}


def get_config(preset: str = "cpu", overrides: list[str] | dict[str, Any] | None = None) -> Config:
    """A preset with ``overrides`` applied ("section.field=value" strings or a {dotted: value}
    dict)."""
    if preset not in PRESETS:
        raise KeyError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    cfg = PRESETS[preset]()
    items = (
        overrides.items() if isinstance(overrides, dict) else [_split(o) for o in (overrides or [])]
    )
    for key, value in items:
        set_field(cfg, key, value)
    return cfg


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ValueError(
            f"override {item!r} must look like section.field=value, e.g. optim.lr=1e-3"
        )
    key, value = item.split("=", 1)
    return key.strip(), value.strip()


def set_field(cfg: Config, key: str, value: Any) -> None:
    """Set ``cfg.<section>.<field>`` from a dotted key, converting strings to the field's type."""
    parts = key.split(".")
    obj = cfg
    for p in parts[:-1]:
        if not hasattr(obj, p) or not is_dataclass(getattr(obj, p)):
            raise KeyError(
                f"unknown config section {p!r} in {key!r}; "
                f"sections: {[f.name for f in fields(Config)][1:]}"
            )
        obj = getattr(obj, p)
    name = parts[-1]
    known = {f.name for f in fields(obj)}
    if name not in known:
        raise KeyError(f"unknown config field {key!r}; fields of this section: {sorted(known)}")
    hint = get_type_hints(type(obj))[name]
    setattr(obj, name, _convert(value, hint, key))


def _convert(value: Any, hint: Any, key: str) -> Any:
    if get_origin(hint) is Literal:  # "10" -> 10 for int choices; the field itself checks
        return next((c for c in get_args(hint) if str(c) == str(value)), value)
    if not isinstance(value, str):
        return tuple(value) if hint == tuple[int, ...] else value
    try:
        if hint is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if hint is int:
            return int(value)
        if hint is float:
            return float(value)
        if hint == tuple[int, ...]:
            return tuple(int(v) for v in value.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise ValueError(
            f"config field {key!r} expects {getattr(hint, '__name__', hint)}, got {value!r}"
        ) from None
    return value


def from_dict(d: dict[str, Any], cls: type[Config] = Config) -> Config:
    """Rebuild a ``cls`` config from ``to_dict()`` output; unknown keys are an error (a stale
    config file)."""
    cfg = cls(name=d.get("name", "custom"))
    for section, values in d.items():
        if section == "name":
            continue
        for k, v in values.items():
            set_field(cfg, f"{section}.{k}", v)
    return cfg


def replace(cfg: Config, **overrides: Any) -> Config:
    """A deep copy of ``cfg`` with dotted overrides given as keyword arguments (use __ for the
    dot)."""
    new = from_dict(cfg.to_dict(), type(cfg))
    for key, value in overrides.items():
        set_field(new, key.replace("__", "."), value)
    return new


__all__ = [
    "BUDGET",
    "NOT_RESULT",
    "RGB_ONLY",
    "TEACHER",
    "budget_fields",
    "field_default",
    "keyed_unless",
    "result_sections",
    "run_fields",
    "switch",
    "switches",
    "check_config",
    "check_tsgan_switches",
    "choices",
    "Config",
    "DataConfig",
    "ModelConfig",
    "LossConfig",
    "OptimConfig",
    "TrainConfig",
    "EvalConfig",
    "PRESETS",
    "get_config",
    "set_field",
    "from_dict",
    "replace",
]
