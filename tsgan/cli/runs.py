"""``python -m tsgan runs list``: the cached runs under runs/cache with their key numbers.

Example::

    python -m tsgan runs list
    python -m tsgan runs list --root /scratch/tsgan_runs      # another train.out_dir

One row per run folder: kind (teacher | rgb_baseline | tsgan), preset, steps done / total, finished
or not, and the scores of its first evaluation report (rank-1 and mAP, %) when it has been
evaluated. It only reads what the runs wrote (config.json, metrics.jsonl, checkpoints/final.pt,
eval reports).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..paths import cache_dir
from ..units import percent

EPOCHS_FIELD = {
    "teacher": ("train", "teacher_epochs"),
    "rgb_baseline": ("train", "teacher_epochs"),
    "tsgan": ("optim", "epochs"),
}
COLUMNS = ("run", "kind", "preset", "steps", "finished", "R1", "mAP", "evaluated on")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="runs_command", metavar="subcommand", required=True)
    listing = sub.add_parser("list", help="one line per cached run")
    listing.add_argument(
        "--root",
        default="",
        help="runs folder (default: $TSGAN_RUNS or runs/); lists <root>/cache/*",
    )


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def eval_reports(run: Path) -> list[Path]:
    """Evaluation reports of a run: ``evaluate``'s (beside the checkpoint) and the ablations'."""
    return sorted(run.glob("checkpoints/eval_*.json")) + sorted(run.glob("eval/*.json"))


def first_scores(report: dict[str, Any]) -> tuple[float, float, str]:
    """Rank-1 and mAP (%) of the report's first result without re-ranking, and its setting
    (reports store fractions: :func:`tsgan.units.percent` converts them)."""
    results = report.get("results", [])
    rows = [r for r in results if not r.get("reranked")] or results
    if not rows:
        return float("nan"), float("nan"), "?"
    row = rows[0]
    setting = f"{report.get('dataset', '?')} {row.get('setting') or row.get('direction') or ''}"
    return percent(row["mean"]["R1"]), percent(row["mean"]["mAP"]), setting.strip()


def describe(run: Path) -> dict[str, str]:
    """The table row of a run folder (holding config.json); ``?`` for what it does not record.

    Steps done: the last step in metrics.jsonl (logged every ``train.log_every`` steps and at the
    end of every epoch)."""
    kind = run.name.split("-", 1)[0]
    try:
        config = json.loads((run / "config.json").read_text())
    except ValueError:  # cut short (a full disk while it was written): list the run anyway
        config = {}
    metrics = _records(run / "metrics.jsonl")
    done = max((r.get("step", 0) for r in metrics), default=0)
    total = "?"
    if kind in EPOCHS_FIELD and config:
        section, field = EPOCHS_FIELD[kind]
        per_epoch = config["data"]["batches_per_epoch"] or next(
            (r["step"] for r in metrics if r.get("kind") == "epoch"), 0
        )
        total = str(config[section][field] * per_epoch) if per_epoch else "?"
    row = {
        "run": run.name,
        "kind": kind,
        "preset": config.get("name", "?") if config else "? (config.json unreadable)",
        "steps": f"{done}/{total}",
        "finished": "yes" if (run / "checkpoints" / "final.pt").is_file() else "no",
        "R1": "",
        "mAP": "",
        "evaluated on": "",
    }
    reports = eval_reports(run)
    if reports:
        try:
            r1, mean_ap, setting = first_scores(json.loads(reports[0].read_text()))
        except (ValueError, KeyError, TypeError):  # one unreadable report must not hide the list
            r1, mean_ap, setting = float("nan"), float("nan"), f"unreadable {reports[0].name}"
        row.update({"R1": f"{r1:.1f}", "mAP": f"{mean_ap:.1f}", "evaluated on": setting})
    return row


def format_rows(rows: list[dict[str, str]]) -> str:
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def run(args: argparse.Namespace) -> int:
    folder = cache_dir(args.root)
    runs = (
        sorted(p for p in folder.glob("*") if p.is_dir() and (p / "config.json").is_file())
        if folder.is_dir()
        else []
    )
    if not runs:
        print(f"no cached runs under {folder} (train one with: python -m tsgan train --preset cpu)")
        return 0
    print(format_rows([describe(p) for p in runs]))
    return 0
