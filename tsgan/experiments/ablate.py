r"""``python -m tsgan ablate``: the rows of paper Table II (and two beyond it) trained over seeds.

Each :class:`Row` is a set of config switches on top of a preset (``--preset cpu`` by default);
every (row, seed) is one cached TS-GAN run (``get_or_train_tsgan``, shared with the notebooks and
the demo), evaluated with the SYSU-MM01 protocol (all-search single-shot, ``eval.trials`` gallery
draws) of the configured dataset. "TS-GAN_JD + re-ranking" is the TS-GAN_JD model scored after
k-reciprocal re-ranking: it is trained once. Evaluation reports are cached next to the run, so a
second call trains and evaluates nothing. The table (mean and standard deviation over seeds of R1,
R10, R20, mAP, mINP, with the paper's numbers) and a bar plot go to ``--out``
(:mod:`tsgan.experiments.ablate_report`)::

    python -m tsgan ablate --preset cpu --seeds 3
    python -m tsgan ablate --preset cpu --seeds 1 --rows backbone jd jd-rerank optim.epochs=4
    torchrun --nproc_per_node=4 -m tsgan ablate --preset paper --seeds 3 \
        data.dataset=sysu data.root=/data/SYSU-MM01
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, replace
from ..engine.checkpoint import load_backbone
from ..engine.device import resolve_device
from ..engine.distributed import barrier, env_dist_info, init_distributed
from ..engine.runs import cached_run, get_or_train_tsgan, run_key
from ..eval.report import evaluate_model, save_report
from ..progress import bar

METRICS = ("R1", "R10", "R20", "mAP", "mINP")
PAPER_METRICS = ("R1", "R10", "R20", "mAP")
SETTING = "all-search single-shot"

# The switches every row sets (the preset's own values of these fields never leak into a row).
# Rows without a GAN keep discriminator/ts_losses at these values: unused there, and so their cache
# key is the one of any "train.use_gan=false train.use_teacher=false" run of the same preset.
SWITCH_DEFAULTS: dict[str, Any] = {
    "train.use_gan": True,
    "train.use_teacher": True,
    "model.discriminator": "joint",
    "loss.ts_losses": "all",
    "data.channel_aug": False,
}


@dataclass(frozen=True)
class Row:
    """One line of the ablation table: ``switches`` on top of :data:`SWITCH_DEFAULTS`.

    ``rerank``: score the trained model after k-reciprocal re-ranking. ``paper``: the paper's
    Table II R1, R10, R20, mAP (%) on SYSU-MM01, None for rows beyond the paper.
    """

    key: str
    name: str
    switches: Mapping[str, Any] = field(default_factory=dict)
    rerank: bool = False
    paper: tuple[float, float, float, float] | None = None

    @property
    def overrides(self) -> dict[str, Any]:
        unknown = sorted(set(self.switches) - set(SWITCH_DEFAULTS))
        if unknown:
            raise KeyError(
                f"row {self.key!r} sets {unknown}, which are not ablation switches; "
                f"known: {sorted(SWITCH_DEFAULTS)}"
            )
        return {**SWITCH_DEFAULTS, **self.switches}

    def config(self, base: Config, seed: int) -> Config:
        """The training config of this row for ``seed`` (``base`` with the row's switches)."""
        return replace(
            base, train__seed=seed, **{k.replace(".", "__"): v for k, v in self.overrides.items()}
        )


NO_GAN = {"train.use_gan": False, "train.use_teacher": False}
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
    Row("ca", "Channel augmentation", {**NO_GAN, "data.channel_aug": True}),
    Row("jd-ca", "TS-GAN_JD + channel aug.", {"data.channel_aug": True}),
)


def select_rows(keys: Sequence[str] | None = None) -> list[Row]:
    """The rows named by ``keys`` (all rows, in table order, when None)."""
    if not keys:
        return list(ROWS)
    by_key = {r.key: r for r in ROWS}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValueError(f"unknown ablation row(s) {unknown}; choose from {list(by_key)}")
    return [by_key[k] for k in keys]


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
    base: Config, rows: Sequence[Row], seeds: Sequence[int], progress: bool = True
) -> list[dict[str, Any]]:
    """Train (or load) and evaluate every (row, seed); one record per pair, metrics in %.

    Records: ``row`` (key), ``name``, ``seed``, ``run`` (the cached run folder's name), ``reranked``
    and the :data:`METRICS`. Under torchrun every rank trains, rank 0 evaluates; other ranks get [].
    """
    check_protocol(base)
    info = init_distributed(resolve_device(base.train.device, env_dist_info().local_rank))
    pairs = [(row, seed) for seed in seeds for row in rows]
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
            records.append(
                {
                    "row": row.key,
                    "name": row.name,
                    "seed": seed,
                    "run": cached_run(cfg, "tsgan").path.name,
                    "reranked": row.rerank,
                    **scores(report, row.rerank),
                }
            )
        barrier()
    return records
