"""The demo (``python -m tsgan demo``): the whole pipeline on the embedded data, in minutes on a
CPU.

1. generate the embedded SYSU-MM01-layout dataset if missing;
2. pretrain the IR teacher, 3. train TS-GAN (Algorithm 1) -- both cached under runs/cache, so a
   second demo (or the notebooks) reuse them;
4. evaluate with the SYSU-MM01 protocol (all-search, single-shot, 10 trials), with and without
   k-reciprocal re-ranking, the teacher alongside as the IR-only baseline;
5. write figures (loss curves, generated IR images) and a short Markdown report, and print its path.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure

from ..config import Config, replace
from ..engine.checkpoint import load_backbone, load_generators
from ..eval.report import evaluate_model, format_table, save_report
from ..figure_inputs import example_pairs
from ..figures import plot_generated
from ..imaging import fake_ir
from ..training import cached_run, get_or_train_teacher, get_or_train_tsgan, load_dataset


def evaluate(cfg: Config, checkpoints: dict[str, Path]) -> dict[str, dict]:
    """SYSU-MM01 protocol reports of each checkpoint's backbone, with and without re-ranking."""
    cfg = replace(cfg, eval__rerank=True)
    return {
        name: evaluate_model(load_backbone(path)[0].features, cfg, name=name)
        for name, path in checkpoints.items()
    }


def generated_figure(cfg: Config, tsgan: Path, out: Path) -> Path:
    """Paper Fig. 5 on held-out identities: X_R, G_I(X_R), and a real IR image of the same
    person."""
    X_R, X_I = example_pairs(load_dataset(cfg), cfg.data, n=8)
    G_I, _ = load_generators(tsgan)
    with torch.no_grad():
        X_I_fake = fake_ir(G_I, X_R)
    fig = Figure(figsize=(10, 4.6))
    plot_generated(X_R, X_I_fake, X_I, ax=fig.add_subplot())
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return out


def write_report(
    out: Path, cfg: Config, reports: dict[str, dict], seconds: dict[str, float], figures: list[Path]
) -> Path:
    lines = [
        "# TS-GAN demo report",
        "",
        f"Preset `{cfg.name}` on the `{cfg.data.dataset}` dataset ({cfg.data.root}), "
        f"{cfg.data.height}x{cfg.data.width} images, backbone {cfg.model.arch}, "
        f"teacher {cfg.train.teacher_epochs} "
        f"epochs, TS-GAN {cfg.optim.epochs} epochs. Protocol: SYSU-MM01 {cfg.eval.mode}-search, "
        f"{cfg.eval.shots}-shot, {cfg.eval.trials} trials (mean), {cfg.eval.draw} gallery draw; "
        "metrics in %.",
        "",
    ]
    for name, report in reports.items():
        save_report(report, out / f"eval_{name.replace(' ', '_').lower()}.json")
        lines += [f"## {name}", "", "```", format_table(report), "```", ""]
    lines += ["## Time", ""] + [f"- {k}: {v:.0f} s" for k, v in seconds.items()] + [""]
    lines += ["## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in figures] + [""]
    cfg.save(out / "config.json")
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def run_demo(cfg: Config, out: Path) -> Path:
    """Steps 1-5 above for ``cfg``; the report is written to ``out`` and its path returned."""
    (out / "figures").mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    t = time.time()

    def lap(name: str) -> None:
        nonlocal t
        seconds[name] = time.time() - t
        t = time.time()

    print("[1/5] embedded dataset (generated on first use)")
    print(load_dataset(cfg).summary())
    lap("data")
    print("[2/5] IR teacher pretraining (cached under runs/cache)")
    teacher = get_or_train_teacher(cfg)
    lap("teacher")
    print("[3/5] TS-GAN training, Algorithm 1 (cached under runs/cache)")
    tsgan = get_or_train_tsgan(cfg)
    lap("TS-GAN")
    print("[4/5] evaluation: SYSU-MM01 protocol, with and without re-ranking")
    reports = evaluate(cfg, {"IR teacher": teacher, "TS-GAN": tsgan})
    lap("evaluation")
    print("[5/5] figures and report")
    losses = shutil.copy(
        cached_run(cfg, "tsgan").figures / "losses.png", out / "figures" / "losses.png"
    )
    figures = [Path(losses), generated_figure(cfg, tsgan, out / "figures" / "generated.png")]
    lap("figures")
    report = write_report(out, cfg, reports, seconds, figures)
    for r in reports.values():
        print(format_table(r))
    print(f"\nreport: {report}  ({sum(seconds.values()):.0f} s in all)")
    return report
