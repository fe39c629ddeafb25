r"""``python -m tsgan ablate``: the rows of paper Table II (and three beyond it) trained over seeds.

Each :class:`Row` is a set of config switches on top of a preset (``--preset cpu`` by default);
every (row, seed) is one cached TS-GAN run (``get_or_train_tsgan``, shared with the notebooks and
the demo), evaluated with the SYSU-MM01 protocol (all-search single-shot, ``eval.trials`` gallery
draws) of the configured dataset. "TS-GAN_JD + re-ranking" is the TS-GAN_JD model scored after
k-reciprocal re-ranking: it is trained once. Evaluation reports are cached next to the run, so a
second call trains and evaluates nothing. Every row has the same budget (:func:`check_budgets`).
The table (mean and 95% confidence interval over seeds of R1, R10, R20, mAP, mINP, with the
paper's numbers), the paired differences, chance and a bar plot go to ``--out``, and the results
document to ``results/ablation_<preset>.json`` (:mod:`tsgan.experiments.ablate_report`)::

    python -m tsgan ablate --preset cpu --seeds 5
    python -m tsgan ablate --preset cpu --seeds 1 --rows backbone jd jd-rerank optim.epochs=4
    torchrun --nproc_per_node=4 -m tsgan ablate --preset paper --seeds 3 \
        data.dataset=sysu data.root=/data/SYSU-MM01
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import Config, budget_fields, field_default, replace, switches
from ..engine.checkpoint import load_backbone
from ..engine.device import resolve_device
from ..engine.distributed import barrier, env_dist_info, init_distributed
from ..engine.provenance import session_summaries
from ..eval.report import evaluate_model, protocol_trials, save_report
from ..progress import bar
from ..training import cached_run, get_or_train_tsgan, needs_teacher, run_key, validate

METRICS = ("R1", "R10", "R20", "mAP", "mINP")
PAPER_METRICS = ("R1", "R10", "R20", "mAP")
SETTING = "all-search single-shot"

# What a row switches and what every row trains for are the config's field metadata
# (tsgan.config.switch / BUDGET): :func:`tsgan.config.switches` (each switch with the value a row
# sets unless it names another; rows without a GAN keep discriminator / ts_losses at joint / all,
# unused there, so the Backbone row's run is any "use_gan=false use_teacher=false" run of the
# preset) and :func:`tsgan.config.budget_fields` (rows differ in switches only, never in budget:
# :func:`check_budgets`). The default config's switches, for readers that list them (notebook 07):
SWITCH_DEFAULTS: dict[str, Any] = switches(Config())


@dataclass(frozen=True)
class Row:
    """One line of the ablation table: ``switches`` on top of the config's
    (:func:`tsgan.config.switches`).

    ``rerank``: score the trained model after k-reciprocal re-ranking. ``paper``: the paper's
    Table II R1, R10, R20, mAP (%) on SYSU-MM01, None for rows beyond the paper.
    """

    key: str
    name: str
    switches: Mapping[str, Any] = field(default_factory=dict)
    rerank: bool = False
    paper: tuple[float, float, float, float] | None = None
    # the TS losses' weights (loss.alpha_c, loss.alpha_s of Eq. 16) are the base config's times
    # this: a row family can train at a stronger TS weight while a base override still applies
    ts_scale: float = 1.0

    @property
    def overrides(self) -> dict[str, Any]:
        """Every switch's value in this row, for the default config's switches."""
        return self.overrides_for(Config())

    def overrides_for(self, base: Config) -> dict[str, Any]:
        """Every switch of ``base``'s config class with its value in this row."""
        known = switches(base)
        unknown = sorted(set(self.switches) - set(known))
        if unknown:
            raise KeyError(
                f"row {self.key!r} sets {unknown}, which are not ablation switches; "
                f"known: {sorted(known)}"
            )
        return {**known, **self.switches}

    def config(self, base: Config, seed: int) -> Config:
        """The training config of this row for ``seed`` (``base`` with the row's switches, and
        its TS weights times ``ts_scale`` when that is not 1)."""
        over = {k.replace(".", "__"): v for k, v in self.overrides_for(base).items()}
        if self.ts_scale != 1:
            over.update(
                loss__alpha_c=base.loss.alpha_c * self.ts_scale,
                loss__alpha_s=base.loss.alpha_s * self.ts_scale,
            )
        return replace(base, train__seed=seed, **over)


# Rows without X_I' set loss.fakes_in_reid to "joined", its value before the field existed: with
# no X_I' the reading changes nothing, and the Backbone keeps the run key it always had.
NO_GAN = {"train.use_gan": False, "train.use_teacher": False, "loss.fakes_in_reid": "joined"}
# Oracle rows: X_I' is the true IR twin of X_R (a perfect G_I). With the teacher, the twins feed
# the TS losses only (the chosen reading, as for G_I's fakes): the row measures the TS mechanism
# with faithful pairs. Without the teacher, the twins join L_ID / L_Tri (else the row would be
# the Backbone): what twins add as labelled pictures alone. Both as measured on the validation
# identities (results/validation/ts-weight-twins.json, twins-no-ts.json).
ORACLE = {**NO_GAN, "train.fakes": "twins"}
ORACLE_TS = {**ORACLE, "train.use_teacher": True, "loss.fakes_in_reid": "never"}
# The TS weight of the rows whose X_I' are the true twins (or the twins degraded): chosen on the
# validation identities (results/validation/ts-weight-twins.json: x100 - x1 = +8.6 R1 over 5
# seeds); the rows with G_I's fakes keep the paper's weights (x10 - x1 = -3.3 R1, 2 seeds,
# results/validation/ts-weight.json).
ORACLE_TS_SCALE = 100.0
ROWS: tuple[Row, ...] = (
    Row("backbone", "Backbone", NO_GAN, paper=(41.4, 77.0, 85.0, 39.9)),
    Row(
        "od-single",
        "TS-GAN_OD^singleTS",
        {"model.discriminator": "ordinary", "loss.ts_losses": "cross"},
        paper=(44.2, 80.3, 88.2, 44.1),
    ),
    Row("od", "TS-GAN_OD", {"model.discriminator": "ordinary"}, paper=(47.6, 82.6, 89.9, 44.5)),
    Row("jd", "TS-GAN_JD", {}, paper=(49.8, 87.3, 93.8, 47.4)),
    Row("jd-rerank", "TS-GAN_JD + re-ranking", {}, rerank=True, paper=(58.3, 87.8, 94.1, 55.1)),
    # the rejected reading of where X_I' enters (Algorithm 1 as first implemented): kept as a row
    Row(
        "jd-xi-joined",
        "TS-GAN_JD, X_I' also in L_ID / L_Tri",
        {"loss.fakes_in_reid": "joined"},
    ),
    # the third reading: X_I' joins L_ID / L_Tri once G_I's twin SSIM on validation pictures
    # passes loss.fakes_gate_ssim (until then it trains as the default reading, "never")
    Row(
        "jd-xi-gated",
        "TS-GAN_JD, X_I' in L_ID / L_Tri after G_I's gate",
        {"loss.fakes_in_reid": "gated"},
    ),
    Row("ca", "Channel augmentation", {**NO_GAN, "data.channel_aug": True}),
    Row("gray", "Backbone, grayscale input", {**NO_GAN, "data.grayscale": True}),
    Row(
        "twins",
        f"Oracle G_I: IR twins + TS x{ORACLE_TS_SCALE:g}",
        ORACLE_TS,
        ts_scale=ORACLE_TS_SCALE,
    ),
    Row("twins-no-ts", "Oracle G_I: IR twins, no TS", ORACLE),
)
# Rows outside the committed grid, chosen by key (``--rows``): TS-GAN_JD with channel
# augmentation (``python -m tsgan validate``).
DECISION_ROWS: tuple[Row, ...] = (
    Row("jd-ca", "TS-GAN_JD + channel aug.", {"data.channel_aug": True}),
)

# "How good must G_I be?": X_I' = the true IR twins degraded by train.twin_degrade's levels
# (tsgan.data.degrade.LEVELS; level 0 the twins themselves, the row "twins"), the teacher on, the
# TS losses at ORACLE_TS_SCALE times the base weights: R1 against the levels' twin SSIM
# (tsgan.eval.twins.degraded_twin_error). Chosen with --rows (each key, or the family's name).
DEGRADE_TS_SCALE = ORACLE_TS_SCALE
DEGRADE_ROWS: tuple[Row, ...] = tuple(
    Row(
        f"twins-deg{level}",
        f"IR twins degraded, level {level}, TS x{DEGRADE_TS_SCALE:g}",
        {**ORACLE_TS, "train.twin_degrade": level},
        ts_scale=DEGRADE_TS_SCALE,
    )
    for level in range(5)
)
# Row families beyond the committed grid, selectable by name with --rows.
ROW_FAMILIES: dict[str, tuple[Row, ...]] = {"twins-degraded": DEGRADE_ROWS}


def select_rows(keys: Sequence[str] | None = None) -> list[Row]:
    """The rows named by ``keys`` (from :data:`ROWS`, :data:`DECISION_ROWS` and
    :data:`DEGRADE_ROWS`; a :data:`ROW_FAMILIES` name stands for its rows; the rows of
    :data:`ROWS`, in table order, when None)."""
    if not keys:
        return list(ROWS)
    by_key = {r.key: r for r in ROWS + DECISION_ROWS + DEGRADE_ROWS}
    unknown = [k for k in keys if k not in by_key and k not in ROW_FAMILIES]
    if unknown:
        raise ValueError(
            f"unknown ablation row(s) {unknown}; choose from {list(by_key)} or the families "
            f"{list(ROW_FAMILIES)}"
        )
    rows = [r for k in keys for r in ROW_FAMILIES.get(k, (by_key.get(k),))]
    return list({r.key: r for r in rows}.values())


def budget(cfg: Config) -> dict[str, Any]:
    """The budget fields of ``cfg`` (:func:`tsgan.config.budget_fields`; dotted name -> value)."""
    out = {}
    for name in budget_fields(cfg):
        section, field_name = name.split(".")
        value = getattr(getattr(cfg, section), field_name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def check_budgets(configs: Mapping[str, Config]) -> dict[str, Any]:
    """The budget all ``configs`` (row key -> config) share; an error names the rows that differ."""
    budgets = {key: budget(cfg) for key, cfg in configs.items()}
    first_key, first = next(iter(budgets.items()))
    differ = {k: b for k, b in budgets.items() if b != first}
    if differ:
        raise ValueError(
            f"ablation rows must train with equal budgets; {sorted(differ)} differ from "
            f"{first_key!r}: {differ} vs {first}"
        )
    return first


def check_switches(base: Config) -> None:
    """Refuse a base config that sets an ablation switch: every row sets all of
    :func:`tsgan.config.switches` itself, so such an override would be silently replaced (e.g.
    ``train.use_teacher=false`` would still train the TS-GAN_JD row with its teacher). A value
    equal to the field's default or to the rows' value is not refused: a default is nothing the
    user set (a switch whose default is not the rows' value, such as a recipe default chosen after
    the grid, stays usable), and the rows' value is what they set anyway."""
    for name, row_value in switches(base).items():
        section, field_name = name.split(".")
        value = getattr(getattr(base, section), field_name)
        if value not in (row_value, field_default(base, name)):
            raise ValueError(
                f"{name}={value!r} cannot be set for the ablation: each row sets {name} itself "
                f"(rows differ in it); drop the override, or choose rows with --rows"
            )


def chance_level(cfg: Config) -> dict[str, Any]:
    """Chance on the ablation's protocol: ``gallery_identities`` of the first trial, ``R1`` =
    100 / that number (a random ranking puts a right identity first about that often), and
    ``random_features``: every metric (%) of seeded random features (one Gaussian vector per
    image), scored like the rows."""
    trial = protocol_trials(cfg)[0]
    ids = len({s.pid for s in trial["gallery"]})
    g = torch.Generator().manual_seed(0)
    report = evaluate_model(
        lambda x: torch.randn(len(x), 128, generator=g), cfg, name="random", progress=False
    )
    return {"gallery_identities": ids, "R1": 100 / ids, "random_features": scores(report, False)}


def check_protocol(cfg: Config) -> None:
    """Table II is SYSU-MM01 all-search single-shot: refuse datasets and settings it cannot be."""
    if cfg.data.dataset not in ("sysu", "synthetic"):
        raise ValueError(
            "the ablation reports SYSU-MM01 all-search single-shot (paper Table II), "
            "but data.dataset="
            f"{cfg.data.dataset!r}; use data.dataset=sysu (or the embedded 'synthetic')"
        )
    if (cfg.eval.mode, cfg.eval.shots) != ("all", 1):
        raise ValueError(
            f"the ablation reports all-search single-shot (paper Table II), got eval.mode="
            f"{cfg.eval.mode!r} eval.shots={cfg.eval.shots}; leave both at their defaults (all, 1)"
        )


def evaluate_run(cfg: Config, rerank: bool, progress: bool = True) -> dict[str, Any]:
    """The protocol report of the finished cached run of ``cfg`` (with re-ranking scores if
    ``rerank``).

    Cached as ``<run>/eval/<digest of the eval section>.json``.
    """
    run = cached_run(cfg, "tsgan")
    # a report with re-ranking holds the plain scores too
    for reranked in dict.fromkeys((rerank, True)):
        path = run.path / "eval" / f"{replace(cfg, eval__rerank=reranked).digest('eval')}.json"
        if path.is_file():
            return json.loads(path.read_text())
    cfg = replace(cfg, eval__rerank=rerank)
    path = run.path / "eval" / f"{cfg.digest('eval')}.json"
    backbone = load_backbone(run.final, resolve_device(cfg.train.device))[0]
    report = evaluate_model(backbone.features, cfg, name=run.path.name, progress=progress)
    return json.loads(save_report(report, path).read_text())


def scores(report: dict[str, Any], reranked: bool) -> dict[str, float]:
    """R1, R10, R20, mAP, mINP (%) of the all-search single-shot result of a protocol report."""
    for r in report["results"]:
        if r["setting"] == SETTING and r["reranked"] == reranked:
            return {m: 100 * r["mean"][m] for m in METRICS}
    found = [(r["setting"], r["reranked"]) for r in report["results"]]
    raise KeyError(
        f"report {report['name']!r} has no {SETTING} result with reranked={reranked}; found {found}"
    )


def run_ablation(
    base: Config,
    rows: Sequence[Row],
    seeds: Sequence[int],
    progress: bool = True,
    cached_only: bool = False,
) -> list[dict[str, Any]]:
    """Train (or load) and evaluate every (row, seed); one record per pair, metrics in %.

    ``cached_only``: train nothing; score the pairs whose runs are finished in the run cache (a
    row may then hold fewer seeds than asked; the results record which).

    Records: ``row`` (key), ``name``, ``seed``, ``run`` (the cached run folder's name),
    ``reranked``, the :data:`METRICS` and where the numbers came from (:func:`run_record`). Under
    torchrun every rank trains, rank 0 evaluates; other ranks get []. Before anything trains,
    refused: a base config that sets a row switch (:func:`check_switches`), rows with unequal
    budgets, and any (row, seed) config that cannot train (:func:`tsgan.training.validate`).
    """
    check_protocol(base)
    check_switches(base)
    check_budgets({row.key: row.config(base, seeds[0]) for row in rows})
    if not cached_only:
        for row in rows:
            for seed in seeds:
                validate(row.config(base, seed), "tsgan")
    info = init_distributed(resolve_device(base.train.device, env_dist_info().local_rank))
    pairs = [(row, seed) for seed in seeds for row in rows]
    if cached_only:
        pairs = [(r, s) for r, s in pairs if cached_run(r.config(base, s), "tsgan").finished]
    keys = {(row.key, seed): run_key(row.config(base, seed), "tsgan") for row, seed in pairs}
    # rows that share a trained model (TS-GAN_JD and its re-ranked score) share one evaluation
    rerank_keys = {keys[row.key, seed] for row, seed in pairs if row.rerank}
    records = []
    for row, seed in bar(pairs, desc="ablation", enabled=progress and info.is_main):
        cfg = row.config(base, seed)
        final = get_or_train_tsgan(cfg)
        if final is None:
            raise RuntimeError(
                f"training of {row.name} (seed {seed}) stopped before its end; rerun to resume it"
            )
        if info.is_main:
            report = evaluate_run(cfg, keys[row.key, seed] in rerank_keys, progress)
            records.append(run_record(row, seed, cfg, scores(report, row.rerank)))
        barrier()
    return records


# the per-epoch probe values a record keeps (tsgan.probes)
CURVE_KEYS = ("epoch", "step", "seconds", "gap_fmap", "gap_feat", "twin_L1", "twin_SSIM")


def run_record(row: Row, seed: int, cfg: Config, metrics: Mapping[str, float]) -> dict[str, Any]:
    """One (row, seed) entry of the results: its ``metrics`` and their provenance.

    ``run_key`` (the config digest that names the cached run), ``eval_key`` (digest of the eval
    section), ``steps`` and ``train_seconds`` (training time from the run's log, probes excluded;
    None for runs logged before the clock existed), the ``teacher`` run (key, seconds) when there
    is one, ``provenance`` (per training session: commit, machine, from provenance.jsonl) and
    ``curve``: the run's per-epoch probes (:data:`CURVE_KEYS`).
    """
    run = cached_run(cfg, "tsgan")
    epochs = run.read_metrics("epoch")
    teacher = None
    if needs_teacher(cfg):
        t_run = cached_run(cfg, "teacher")
        t_epochs = t_run.read_metrics("epoch")
        teacher = {
            "run": t_run.path.name,
            "run_key": run_key(cfg, "teacher"),
            "train_seconds": t_epochs[-1].get("seconds") if t_epochs else None,
            "provenance": session_summaries(t_run.path),
        }
    return {
        "row": row.key,
        "name": row.name,
        "seed": seed,
        "run": run.path.name,
        "run_key": run_key(cfg, "tsgan"),
        "eval_key": cfg.digest("eval"),
        "reranked": row.rerank,
        **metrics,
        "steps": epochs[-1]["step"] if epochs else None,
        "train_seconds": epochs[-1].get("seconds") if epochs else None,
        "teacher": teacher,
        "provenance": session_summaries(run.path),
        "curve": [{k: p[k] for k in CURVE_KEYS if k in p} for p in run.read_metrics("probe")],
    }
