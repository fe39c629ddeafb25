r"""``python -m tsgan validate``: an open recipe decision measured on the validation identities.

A :class:`Decision` names a question and its candidate :class:`Setting`\ s (config overrides on
top of a preset). Every (setting, seed) is one cached TS-GAN run trained with ``data.split=val``
(the train ids alone; the val ids held out) and scored with the SYSU-MM01 protocol (all-search
single-shot, ``eval.trials`` seeded gallery draws) on the val ids, so choosing a setting never
looks at the test split. Runs and their evaluations are cached like the ablation's
(:mod:`tsgan.experiments.ablate`), so the study is resumable in chunks, one seed per call, and
``--cached-only`` scores whatever has finished::

    python -m tsgan validate --decision xi-reading --seeds 1 train.seed=0    # chunk: seed 0
    python -m tsgan validate --decision xi-reading --seeds 1 train.seed=1    # chunk: seed 1
    python -m tsgan validate --decision xi-reading --seeds 2 --cached-only   # the results

Settings of one decision differ in their overrides alone, so they train with equal budgets
(:func:`tsgan.config.budget_fields`) but for the fields the decision varies (the
``steps`` decision); the document records each setting's budget.
The results document holds every record with its provenance (run key, training time, commit and
machine per training session), the mean and 95% CI per setting, and the paired difference of
every setting against the first (the current recipe) over the seeds both have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, replace
from ..engine.provenance import results_header
from ..progress import bar
from ..training import cached_run, get_or_train_tsgan
from .ablate import METRICS, SETTING, Row, budget, check_protocol, evaluate_run, run_record, scores
from .ablate_report import aggregate, paired

RESULTS_FORMAT = "tsgan-validation/1"


@dataclass(frozen=True)
class Setting:
    """One candidate of a decision: dotted config ``overrides`` on top of the base config."""

    key: str
    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def config(self, base: Config, seed: int) -> Config:
        """The training config of this setting for ``seed``: always on the validation split."""
        over = {**self.overrides, "data.split": "val", "train.seed": seed}
        return replace(base, **{k.replace(".", "__"): v for k, v in over.items()})

    @property
    def row(self) -> Row:
        """The setting as an ablation :class:`Row` (for the shared records and statistics)."""
        return Row(self.key, self.name)


@dataclass(frozen=True)
class Decision:
    """An open recipe decision: the ``question`` and its ``settings``, the current recipe first."""

    key: str
    question: str
    settings: tuple[Setting, ...]


DECISIONS: dict[str, Decision] = {
    d.key: d
    for d in (
        Decision(
            "xi-reading",
            "Which images do L_ID and L_Tri average over once X_I' joins line 3?",
            (
                # explicit, so each setting keeps its meaning whichever reading is the default
                # ("joined" was until the study chose "never"; keys leave the field out at "joined")
                Setting(
                    "never",
                    "(b) X_R, X_I; X_I' in L_TS, L_ReID^GAN only",
                    {"loss.fakes_in_reid": "never"},
                ),
                Setting(
                    "joined",
                    "(a) X_R, X_I, X_I' (Algorithm 1 as first implemented)",
                    {"loss.fakes_in_reid": "joined"},
                ),
                Setting(
                    "gated",
                    "(c) X_I' joins after G_I's twin-SSIM gate",
                    {"loss.fakes_in_reid": "gated"},
                ),
            ),
        ),
        Decision(
            "ts-weight",
            "How strong should the TS losses (alpha_c, alpha_s of Eq. 16) be at this resolution?",
            (
                Setting("x1", "alpha_c 0.006, alpha_s 0.003 (the paper's)"),
                Setting("x10", "alpha x10", {"loss.alpha_c": 0.06, "loss.alpha_s": 0.03}),
                Setting("x100", "alpha x100", {"loss.alpha_c": 0.6, "loss.alpha_s": 0.3}),
            ),
        ),
        Decision(
            "steps",
            "How many TS-GAN steps (epochs of data.batches_per_epoch steps; decay 2 epochs before "
            "the end)?",
            (
                Setting("12", "12 epochs"),
                Setting("24", "24 epochs", {"optim.epochs": 24, "optim.milestones": (22,)}),
                Setting("36", "36 epochs", {"optim.epochs": 36, "optim.milestones": (34,)}),
            ),
        ),
        Decision(
            "student-init",
            "Where does the student start (what stands in for ImageNet weights)?",
            (
                Setting("teacher", "the IR teacher's weights"),
                Setting(
                    "pretrained",
                    "model.pretrained's weights (the cpu preset's: none, a random start)",
                    {"model.student_init": "pretrained"},
                ),
            ),
        ),
        Decision(
            "warmup",
            "Does a real learning-rate warm-up help (optim.warmup_factor)?",
            (
                Setting("none", "no warm-up (the default formula, warmup_epochs=1)"),
                Setting(
                    "linear-2",
                    "BoT's linear warm-up from lr*0.1 over 2 epochs",
                    {"optim.warmup_factor": 0.1, "optim.warmup_epochs": 2},
                ),
            ),
        ),
    )
}


def get_decision(key: str) -> Decision:
    if key not in DECISIONS:
        raise ValueError(f"unknown decision {key!r}; choose from {list(DECISIONS)}")
    return DECISIONS[key]


def varied_fields(decision: Decision) -> list[str]:
    """The config fields the decision's settings set (everything else is the base config's, so
    the settings share every other budget field by construction)."""
    return sorted({k for s in decision.settings for k in s.overrides})


def run_validation(
    decision: Decision,
    base: Config,
    seeds: Sequence[int],
    cached_only: bool = False,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train (or load) and score every (setting, seed) on the val ids; one record per pair
    (metrics in %, provenance as :func:`tsgan.experiments.ablate.run_record`).

    ``cached_only``: train nothing; score the pairs whose runs are finished.
    """
    check_protocol(base)
    pairs = [(s, seed) for seed in seeds for s in decision.settings]
    if cached_only:
        pairs = [
            (s, seed) for s, seed in pairs if cached_run(s.config(base, seed), "tsgan").finished
        ]
    records = []
    for setting, seed in bar(pairs, desc=f"validate {decision.key}", enabled=progress):
        cfg = setting.config(base, seed)
        if get_or_train_tsgan(cfg) is None:
            raise RuntimeError(
                f"training of {setting.name} (seed {seed}) stopped before its end; rerun to resume"
            )
        report = evaluate_run(cfg, False, progress)
        if report.get("split") != "val":  # a validation score must come from the val ids
            raise RuntimeError(f"{cached_run(cfg, 'tsgan').path}: report not on the val split")
        records.append(run_record(setting.row, seed, cfg, scores(report, False)))
    return records


def validation_document(
    decision: Decision, base: Config, records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The results document: the decision, every record, per-setting mean and 95% CI, the paired
    difference of each setting against the first, and provenance."""
    present = {r["row"] for r in records}
    settings = [s for s in decision.settings if s.key in present]
    first = decision.settings[0].key
    return {
        **results_header(RESULTS_FORMAT),
        "decision": decision.key,
        "question": decision.question,
        "settings": [
            {"key": s.key, "name": s.name, "overrides": dict(s.overrides)}
            for s in decision.settings
        ],
        "preset": base.name,
        "config": replace(base, data__split="val").to_dict(),
        "varied": varied_fields(decision),
        "budget": {s.key: budget(s.config(base, 0)) for s in decision.settings},
        "seeds": sorted({r["seed"] for r in records}),
        "protocol": {
            "dataset": base.data.dataset,
            "split": "val",
            "setting": SETTING,
            "trials": base.eval.trials,
            "draw": base.eval.draw,
        },
        "summary": aggregate(records, [s.row for s in settings]),
        "paired": paired(records, [(s.key, first) for s in settings if s.key != first]),
        "records": list(records),
    }


__all__ = [
    "DECISIONS",
    "Decision",
    "Setting",
    "METRICS",
    "get_decision",
    "varied_fields",
    "run_validation",
    "validation_document",
]
