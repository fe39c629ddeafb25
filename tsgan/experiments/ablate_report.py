"""The ablation table: mean and standard deviation over seeds, Markdown / JSON / CSV, a bar plot.

``aggregate(records, rows)`` turns the per-(row, seed) records of
:func:`tsgan.experiments.ablate.run_ablation` into one summary per row (standard deviation with
Bessel's correction, None for a single seed); the writers put it next to the paper's Table II.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..config import Config
from ..figures import grouped_bars
from .ablate import METRICS, PAPER_METRICS, Row


def aggregate(records: Sequence[dict[str, Any]], rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Per row (table order): ``seeds``, ``mean`` and ``std`` (sample, ddof=1; None for one seed) of
    each metric over its seeds, and the paper's numbers (``paper``, None beyond the paper)."""
    summary = []
    for row in rows:
        mine = [r for r in records if r["row"] == row.key]
        if not mine:
            raise ValueError(
                f"no records for row {row.key!r}; "
                f"the records hold rows {sorted({r['row'] for r in records})}"
            )
        values = {m: np.array([r[m] for r in mine], dtype=float) for m in METRICS}
        summary.append(
            {
                "row": row.key,
                "name": row.name,
                "seeds": [r["seed"] for r in mine],
                "mean": {m: float(v.mean()) for m, v in values.items()},
                "std": {m: float(v.std(ddof=1)) if len(v) > 1 else None for m, v in values.items()},
                "paper": dict(zip(PAPER_METRICS, row.paper)) if row.paper else None,
            }
        )
    return summary


def _cell(mean: float, std: float | None) -> str:
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def format_markdown(summary: Sequence[dict[str, Any]]) -> str:
    """Markdown table: mean ± std (%) per metric, the number of seeds, the paper's
    R1/R10/R20/mAP."""
    head = ["setting", "seeds", *METRICS, *(f"paper {m}" for m in PAPER_METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        paper = [f"{s['paper'][m]:.1f}" if s["paper"] else "-" for m in PAPER_METRICS]
        cells = [
            s["name"],
            str(len(s["seeds"])),
            *(_cell(s["mean"][m], s["std"][m]) for m in METRICS),
            *paper,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(
    summary: Sequence[dict[str, Any]],
    records: Sequence[dict[str, Any]],
    out: str | Path,
    cfg: Config,
) -> dict[str, Path]:
    """``ablation.md``, ``ablation.json`` (config, summary, every record) and ``ablation.csv`` in
    ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = sorted({s for row in summary for s in row["seeds"]})
    md = out / "ablation.md"
    md.write_text(
        "\n".join(
            [
                "# Ablation (paper Table II)",
                "",
                f"Preset `{cfg.name}`, dataset `{cfg.data.dataset}` ({cfg.data.root}), "
                f"{cfg.optim.epochs} TS-GAN epochs, "
                f"teacher {cfg.train.teacher_epochs} epochs, seeds {seeds}. "
                "Protocol: SYSU-MM01 all-search single-shot, "
                f"{cfg.eval.trials} trials ({cfg.eval.draw} draw), mean over trials; "
                "then mean ± standard deviation over "
                "seeds, in %. Paper: Table II on SYSU-MM01.",
                "",
                format_markdown(summary),
                "",
            ]
        )
    )
    js = out / "ablation.json"
    js.write_text(
        json.dumps(
            {"config": cfg.to_dict(), "summary": list(summary), "records": list(records)}, indent=2
        )
        + "\n"
    )
    path_csv = out / "ablation.csv"
    with path_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "row",
                "name",
                "seeds",
                *(f"{m}_{k}" for m in METRICS for k in ("mean", "std")),
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
                        v
                        for m in METRICS
                        for v in (s["mean"][m], "" if s["std"][m] is None else s["std"][m])
                    ),
                    *(s["paper"][m] if s["paper"] else "" for m in PAPER_METRICS),
                ]
            )
    return {"markdown": md, "json": js, "csv": path_csv}


def plot_ablation(
    summary: Sequence[dict[str, Any]],
    metrics: Sequence[str] = ("R1", "mAP"),
    chance: Mapping[str, float] | None = None,
) -> Figure:
    """Left: this ablation, mean with ± one standard deviation error bars and, when given, the
    ``chance`` score of each metric (random features, %) as dashed ticks; right: the paper's
    Table II (the ``metrics`` it reports)."""
    fig, (ax, ax_paper) = plt.subplots(
        1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [7, 5]}
    )
    seeds = max(len(s["seeds"]) for s in summary)
    grouped_bars(
        {s["name"]: {m: s["mean"][m] for m in metrics} for s in summary},
        {
            s["name"]: {m: math.nan if s["std"][m] is None else s["std"][m] for m in metrics}
            for s in summary
        },
        ax=ax,
        ylabel="%",
        chance=chance,
        title=f"this run: mean ± std over {seeds} seeds"
        if seeds > 1
        else "this run: one seed (no error bars)",
    )
    reported = [m for m in metrics if m in PAPER_METRICS]  # the paper gives no mINP
    paper = {s["name"]: {m: s["paper"][m] for m in reported} for s in summary if s["paper"]}
    if paper and reported:
        grouped_bars(paper, ax=ax_paper, ylabel="%", title="paper, Table II (SYSU-MM01)")
    else:
        ax_paper.set_axis_off()
    fig.tight_layout()
    return fig


def save_plot(summary: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """:func:`plot_ablation` written to ``path`` (PNG)."""
    fig = plot_ablation(summary)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
