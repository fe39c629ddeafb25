"""The ablation results: mean and 95% confidence interval over seeds, paired differences, chance,
the committed results file, the table (Markdown / CSV) and the bar plot.

``results_document(records, rows, cfg, ...)`` turns the per-(row, seed) records of
:func:`tsgan.experiments.ablate.run_ablation` into the results document: one summary per row
(mean, sample standard deviation and Student-t 95% CI over seeds, :mod:`.stats`), the paired
differences of :data:`PAIRS` (same seeds), chance, the twin-error floors of the probe set, the
shared budget, and provenance (the command, commit and machine that wrote it; each record keeps
its run's own). ``python -m tsgan ablate`` saves it as ``results/ablation_<preset>.json``
(:func:`save_results`), the file committed in the repository that notebook 07 reads
(:func:`load_results`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..config import Config
from ..engine.provenance import results_header
from ..figures import grouped_bars, seeds_label
from ..stats import mean_ci, paired_difference
from .ablate import METRICS, PAPER_METRICS, SETTING, Row, budget

RESULTS_FORMAT = "tsgan-ablation/1"
# (a, b): "a - b" over the seeds both rows have, for R1 and mAP: the paper's claims (Table II:
# each step above the one before, TS-GAN_JD above the Backbone, re-ranking helping), the X_I'
# reading against the rejected one, whether colour helps the Backbone at all, what perfect fakes
# (the oracle rows) add with and without the TS losses, and each degraded-twin level
PAIRS = (
    ("jd", "backbone"),
    ("od", "backbone"),
    ("od", "od-single"),
    ("jd", "od"),
    ("jd-rerank", "jd"),
    ("jd", "jd-xi-joined"),
    ("jd-xi-joined", "backbone"),
    ("ca", "backbone"),
    ("backbone", "gray"),
    ("twins", "backbone"),
    ("twins-no-ts", "backbone"),
    ("twins", "twins-no-ts"),
    ("twins", "jd"),
    ("jd-ca", "jd"),
    ("jd-xi-gated", "jd"),
    *((f"twins-deg{level}", "backbone") for level in range(1, 5)),
)
PAIRED_METRICS = ("R1", "mAP")


def aggregate(records: Sequence[dict[str, Any]], rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Per row (table order): ``seeds``, ``n``, ``mean``, ``std`` (sample, ddof=1) and ``ci95``
    ([low, high], Student t) of each metric over its seeds (std and ci95 None for one seed), and
    the paper's numbers (``paper``, None beyond the paper)."""
    summary = []
    for row in rows:
        mine = [r for r in records if r["row"] == row.key]
        if not mine:
            raise ValueError(
                f"no records for row {row.key!r}; "
                f"the records hold rows {sorted({r['row'] for r in records})}"
            )
        stats = {m: mean_ci([r[m] for r in mine]) for m in METRICS}
        summary.append(
            {
                "row": row.key,
                "name": row.name,
                "seeds": [r["seed"] for r in mine],
                "n": len(mine),
                "mean": {m: st["mean"] for m, st in stats.items()},
                "std": {m: st["std"] for m, st in stats.items()},
                "ci95": {m: st["ci"] for m, st in stats.items()},
                "paper": dict(zip(PAPER_METRICS, row.paper)) if row.paper else None,
            }
        )
    return summary


def paired(
    records: Sequence[Mapping[str, Any]], pairs=PAIRS, metrics: Sequence[str] = PAIRED_METRICS
) -> list[dict[str, Any]]:
    """For each (a, b) of ``pairs`` whose rows share seeds, and each of ``metrics`` (default
    :data:`PAIRED_METRICS`): the paired difference a - b with its 95% CI (:func:`.stats.
    paired_difference`) over the seeds both rows have."""
    out = []
    for a, b in pairs:
        va = {r["seed"]: r for r in records if r["row"] == a}
        vb = {r["seed"]: r for r in records if r["row"] == b}
        if not set(va) & set(vb):
            continue
        for m in metrics:
            diff = paired_difference(
                {s: r[m] for s, r in va.items()}, {s: r[m] for s, r in vb.items()}
            )
            out.append({"a": a, "b": b, "metric": m, **diff})
    return out


def results_document(
    records: Sequence[dict[str, Any]],
    rows: Sequence[Row],
    cfg: Config,
    chance: Mapping[str, Any] | None = None,
    twin_floors: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results file's content (see the module docstring); ``cfg`` is the base config the rows
    were built from (``Row.config(cfg, seed)`` rebuilds any record's training config)."""
    return {
        **results_header(RESULTS_FORMAT),
        "preset": cfg.name,
        "config": cfg.to_dict(),
        "rows": [r.key for r in rows],
        "seeds": sorted({r["seed"] for r in records}),
        "budget": budget(cfg),
        "protocol": {
            "dataset": cfg.data.dataset,
            "setting": SETTING,
            "trials": cfg.eval.trials,
            "draw": cfg.eval.draw,
        },
        "chance": dict(chance) if chance else None,
        "twin_floors": dict(twin_floors) if twin_floors else None,
        "summary": aggregate(records, rows),
        "paired": paired(records),
        "records": list(records),
    }


def save_results(doc: Mapping[str, Any], path: str | Path) -> Path:
    """Write the results document as indented JSON (folders made as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    """The results document saved by :func:`save_results` (``summary``, ``paired``, ``chance``,
    ``records``, ...); an error naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no ablation results at {path}; write them with python -m tsgan ablate --preset ..."
        )
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(
            f"{path} is not a {RESULTS_FORMAT} results file (format {found!r}); "
            "rewrite it with python -m tsgan ablate"
        )
    return doc


def _cell(mean: float, ci: Sequence[float] | None) -> str:
    return f"{mean:.1f}" if ci is None else f"{mean:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"


def format_markdown(summary: Sequence[dict[str, Any]]) -> str:
    """Markdown table: mean [95% CI] (%) per metric, the number of seeds, the paper's
    R1/R10/R20/mAP."""
    head = ["setting", "seeds", *METRICS, *(f"paper {m}" for m in PAPER_METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        paper = [f"{s['paper'][m]:.1f}" if s["paper"] else "-" for m in PAPER_METRICS]
        cells = [
            s["name"],
            str(len(s["seeds"])),
            *(_cell(s["mean"][m], s["ci95"][m]) for m in METRICS),
            *paper,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_paired(diffs: Sequence[dict[str, Any]]) -> str:
    """One line per paired difference: mean, 95% CI, whether it excludes zero, the seeds."""
    lines = []
    for d in diffs:
        ci = (
            "no CI (one seed)"
            if d["ci"] is None
            else f"95% CI [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]"
        )
        verdict = {True: "excludes 0", False: "includes 0", None: ""}[d["excludes_zero"]]
        parts = [f"{d['a']} - {d['b']} {d['metric']}: {d['mean']:+.2f}", ci, verdict]
        lines.append(" ".join(p for p in [*parts, f"(seeds {d['seeds']})"] if p))
    return "\n".join(lines)


def write_results(doc: Mapping[str, Any], out: str | Path) -> dict[str, Path]:
    """``ablation.md`` (table, paired differences, chance), ``ablation.json`` (the document) and
    ``ablation.csv`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary, cfg, b = doc["summary"], doc["config"], doc["budget"]
    chance = doc.get("chance")
    md = out / "ablation.md"
    md.write_text(
        "\n".join(
            [
                "# Ablation (paper Table II)",
                "",
                f"Preset `{doc['preset']}`, dataset `{cfg['data']['dataset']}` "
                f"({cfg['data']['root']}), every row {b['optim.epochs']} TS-GAN epochs of "
                f"{b['data.batches_per_epoch']} batches, teacher {b['train.teacher_epochs']} "
                f"epochs, seeds {doc['seeds']}. Protocol: SYSU-MM01 all-search single-shot, "
                f"{cfg['eval']['trials']} trials ({cfg['eval']['draw']} draw), mean over trials; "
                "then mean [Student-t 95% confidence interval] over seeds, in %. "
                "Paper: Table II on SYSU-MM01.",
                "",
                format_markdown(summary),
                "",
                format_paired(doc["paired"]),
                "",
                ""
                if not chance
                else f"Chance: R1 = 100 / {chance['gallery_identities']} gallery identities = "
                f"{chance['R1']:.1f}; random features: "
                + ", ".join(f"{m} {v:.1f}" for m, v in chance["random_features"].items()),
                "",
            ]
        )
    )
    js = save_results(doc, out / "ablation.json")
    path_csv = out / "ablation.csv"
    with path_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "row",
                "name",
                "seeds",
                *(f"{m}_{k}" for m in METRICS for k in ("mean", "std", "ci_low", "ci_high")),
                *(f"paper_{m}" for m in PAPER_METRICS),
            ]
        )
        for s in summary:
            w.writerow(
                [
                    s["row"],
                    s["name"],
                    len(s["seeds"]),
                    *(
                        "" if v is None else v
                        for m in METRICS
                        for v in (s["mean"][m], s["std"][m], *(s["ci95"][m] or (None, None)))
                    ),
                    *(s["paper"][m] if s["paper"] else "" for m in PAPER_METRICS),
                ]
            )
    return {"markdown": md, "json": js, "csv": path_csv}


def plot_ablation(
    summary: Sequence[dict[str, Any]],
    metrics: Sequence[str] = ("R1", "mAP"),
    chance: Mapping[str, Any] | None = None,
) -> Figure:
    """One panel per metric: each row's mean with its 95% CI as error bars (a row of one seed has
    none and "(1 seed)" under its name, :func:`~tsgan.figures.seeds_label`) and, with ``chance``,
    a dashed line labelled 'chance' (the random-features score of that metric); last panel: the
    paper's Table II (the ``metrics`` it reports)."""
    fig, axes = plt.subplots(
        1,
        len(metrics) + 1,
        figsize=(4.2 * len(metrics) + 5, 3.8),
        gridspec_kw={"width_ratios": [4] * len(metrics) + [5]},
    )
    names = [seeds_label(s["name"], s["n"]) for s in summary]
    x = np.arange(len(names))
    n = max(s["n"] for s in summary)
    for ax, m in zip(axes, metrics):
        means = [s["mean"][m] for s in summary]
        half = [  # NaN: no error bar (a zero-length one would still draw its caps)
            [np.nan if s["ci95"][m] is None else s["mean"][m] - s["ci95"][m][0] for s in summary],
            [np.nan if s["ci95"][m] is None else s["ci95"][m][1] - s["mean"][m] for s in summary],
        ]
        ax.bar(x, means, yerr=half, capsize=3, color="tab:blue", alpha=0.85)
        if chance and m in chance.get("random_features", {}):
            ax.axhline(chance["random_features"][m], color="black", ls="--", lw=1, label="chance")
            ax.legend(fontsize=8)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(f"{m} (%)")
        ax.set_title(f"{m}: mean and 95% CI, {n} seeds" if n > 1 else f"{m}: one seed (no CI)")
    ax_paper = axes[-1]
    reported = [m for m in metrics if m in PAPER_METRICS]  # the paper gives no mINP
    paper = {s["name"]: {m: s["paper"][m] for m in reported} for s in summary if s["paper"]}
    if paper and reported:
        grouped_bars(paper, ax=ax_paper, ylabel="%", title="paper, Table II (SYSU-MM01)")
    else:
        ax_paper.set_axis_off()
    fig.tight_layout()
    return fig


def save_plot(
    summary: Sequence[dict[str, Any]], path: str | Path, chance: Mapping[str, Any] | None = None
) -> Path:
    """:func:`plot_ablation` written to ``path`` (PNG)."""
    fig = plot_ablation(summary, chance=chance)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
