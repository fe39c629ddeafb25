"""Evaluate a feature function with a dataset's standard protocol and report it like paper Table I.

``evaluate_model(feature_fn, cfg)`` runs every trial of the configured protocol: SYSU-MM01 (and
the embedded dataset, which has its layout) for each (mode, shots) setting over
``cfg.eval.trials`` gallery draws, on the test identities or, with ``data.split=val``, on the
validation identities (the test ids are then never read); RegDB in both directions for
``cfg.data.regdb_trial``; LLCM in both directions over ``cfg.eval.trials`` seeded draws.
Features of every image involved are computed once (queries are shared by all trials) and
distances are Euclidean. With
``cfg.eval.rerank`` each trial is also scored after k-reciprocal re-ranking: from the three
distance matrices, or from the features when those would not fit in memory (``rerank_path``; each
re-ranked result records the path it took).

The report (a JSON-ready dict) states the dataset, the draw, the direction and every trial's
numbers; ``format_table`` prints it in the layout of paper Table I.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Config
from ..data.protocols import llcm_protocol, regdb_protocol, sysu_protocol
from ..data.records import Sample
from ..data.synthetic import ensure_synthetic, world_options
from ..paths import resolve_path
from ..progress import bar
from .features import FeatureFn, extract_features
from .metrics import euclidean_distance, evaluate_rank
from .reranking import rerank, rerank_features, rerank_path

METRICS = ("R1", "R5", "R10", "R20", "mAP", "mINP")
TABLE_METRICS = ("R1", "R10", "R20", "mAP", "mINP")
SHOT_NAMES = {1: "single-shot", 10: "multi-shot"}


def summarize(result: dict[str, Any]) -> dict[str, float]:
    """R1/R5/R10/R20 (from the CMC), mAP, mINP and the number of valid queries of one evaluation."""
    cmc = result["cmc"]
    out = {f"R{k}": float(cmc[min(k, len(cmc)) - 1]) for k in (1, 5, 10, 20)}
    out.update(
        mAP=float(result["mAP"]), mINP=float(result["mINP"]), num_valid=int(result["num_valid"])
    )
    return out


def protocol_trials(
    cfg: Config, settings: Sequence[tuple[str, int]] | None = None
) -> list[dict[str, Any]]:
    """Every (setting, trial) of the configured protocol with its query and gallery samples."""
    d, e = cfg.data, cfg.eval
    root = resolve_path(d.root)
    trials = []
    if d.split != "test" and d.dataset not in ("sysu", "synthetic"):
        raise ValueError(
            f"data.split={d.split!r} needs validation identities (the SYSU-MM01 layout's "
            f"exp/val_id.txt); data.dataset={d.dataset!r} has none: use data.split=test"
        )
    if d.dataset in ("sysu", "synthetic"):
        if d.dataset == "synthetic":
            root = ensure_synthetic(
                root, seed=d.synth_seed, **world_options(d.world, d.synth_train_ids)
            )
        split_file = resolve_path(e.split_file) if e.split_file else None
        for mode, shots in settings or [(e.mode, e.shots)]:
            for t in range(e.trials):
                q, g = sysu_protocol(
                    root,
                    mode=mode,
                    shots=shots,
                    trial=t,
                    draw=e.draw,
                    split_file=split_file,
                    ids=d.split,
                )
                setting = f"{mode}-search {SHOT_NAMES[shots]}"
                trials.append(
                    dict(
                        setting=setting,
                        mode=mode,
                        shots=shots,
                        direction="ir_to_rgb",
                        draw=e.draw,
                        protocol="sysu",
                        ids=d.split,
                        trial=t,
                        queries=q,
                        gallery=g,
                    )
                )
    elif d.dataset == "regdb":
        for direction in ("visible_to_thermal", "thermal_to_visible"):
            q, g = regdb_protocol(root, trial=d.regdb_trial, direction=direction)
            trials.append(
                dict(
                    setting=direction.replace("_to_", " -> "),
                    direction=direction,
                    draw="fixed lists",
                    protocol="regdb",
                    trial=d.regdb_trial,
                    queries=q,
                    gallery=g,
                )
            )
    elif d.dataset == "llcm":
        for direction in ("ir_to_rgb", "rgb_to_ir"):
            for t in range(e.trials):
                q, g = llcm_protocol(root, trial=t, direction=direction)
                trials.append(
                    dict(
                        setting=direction.replace("_to_", " -> "),
                        direction=direction,
                        draw="seeded",
                        protocol="llcm",
                        trial=t,
                        queries=q,
                        gallery=g,
                    )
                )
    else:
        raise ValueError(
            f"no test protocol for dataset {d.dataset!r}; "
            "expected one of sysu, synthetic, regdb, llcm"
        )
    return trials


def _ids(samples: Sequence[Sample], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.tensor([s.pid for s in samples], device=device),
        torch.tensor([s.cam for s in samples], device=device),
    )


def trial_distances(
    features: torch.Tensor, rows: Sequence[tuple[torch.Tensor, torch.Tensor]]
) -> Iterator[torch.Tensor]:
    """Euclidean (q, g) distances of each trial given as (query rows, gallery rows) of
    ``features``, in order.

    Trials with the same query rows (every SYSU-MM01 trial and setting) share one matrix product:
    queries x the union of their galleries, computed when the first of them comes and dropped after
    the last; each trial's distances are that matrix's columns for its gallery.
    """
    keys = [tuple(qi.tolist()) for qi, _ in rows]
    last = {key: pos for pos, key in enumerate(keys)}
    shared: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
    for pos, (key, (qi, gi)) in enumerate(zip(keys, rows)):
        if key not in shared:
            union = torch.unique(torch.cat([g for k, (_, g) in zip(keys, rows) if k == key]))
            shared[key] = union, euclidean_distance(features[qi], features[union])
        union, dist = shared[key]
        yield dist[:, torch.searchsorted(union, gi)]
        if last[key] == pos:
            del shared[key]


def evaluate_features(
    features: torch.Tensor,
    index: dict[str, int],
    trials: list[dict[str, Any]],
    cfg: Config,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Score every trial from precomputed features (``index`` maps an image path to its row)."""
    e = cfg.eval
    if e.feat_norm:
        features = torch.nn.functional.normalize(features, dim=1)
    q_q_cache: dict[tuple, torch.Tensor] = {}
    rows: dict[tuple, dict[str, Any]] = {}
    trial_rows = [
        tuple(
            torch.tensor([index[s.path] for s in t[side]], device=features.device)
            for side in ("queries", "gallery")
        )
        for t in trials
    ]
    distances = trial_distances(features, trial_rows)
    for t, (qi, gi), q_g in bar(
        zip(trials, trial_rows, distances),
        total=len(trials),
        desc="trials",
        leave=False,
        enabled=progress,
    ):
        (qp, qc), (gp, gc) = _ids(t["queries"], q_g.device), _ids(t["gallery"], q_g.device)
        variants = [(False, q_g)]
        if e.rerank:
            qf, gf = features[qi], features[gi]
            path, why = rerank_path(len(qi), len(gi), features.element_size())
            if path == "features":  # the matrices would not fit: no N x N matrix at all
                variants.append((True, rerank_features(qf, gf, e.k1, e.k2, e.lambda_)))
            else:
                q_key = tuple(qi.tolist())
                if q_key not in q_q_cache:
                    q_q_cache[q_key] = euclidean_distance(qf, qf)
                variants.append(
                    (
                        True,
                        rerank(
                            q_g, q_q_cache[q_key], euclidean_distance(gf, gf), e.k1, e.k2, e.lambda_
                        ),
                    )
                )
        for reranked, dist in variants:
            scores = summarize(evaluate_rank(dist, qp, gp, qc, gc, protocol=t["protocol"]))
            key = (t["setting"], t["direction"], reranked)
            row = rows.setdefault(
                key,
                {k: t.get(k) for k in ("setting", "mode", "shots", "direction", "draw", "protocol")}
                | {"reranked": reranked, "num_query": len(qi), "trials": []},
            )
            row["trials"].append({"trial": t["trial"], "num_gallery": len(gi), **scores})
            if reranked:
                row.setdefault("rerank_path", {})[path] = why
    for row in rows.values():
        row["mean"] = {m: float(np.mean([tr[m] for tr in row["trials"]])) for m in METRICS}
    return list(rows.values())


def evaluate_model(
    feature_fn: FeatureFn,
    cfg: Config,
    settings: Sequence[tuple[str, int]] | None = None,
    name: str = "TS-GAN",
    progress: bool = True,
) -> dict[str, Any]:
    """All trials of the configured protocol (``settings``: SYSU (mode, shots) pairs; default the
    config's)."""
    trials = protocol_trials(cfg, settings)
    unique: dict[str, Sample] = {}
    for t in trials:
        for s in list(t["queries"]) + list(t["gallery"]):
            unique.setdefault(s.path, s)
    samples = list(unique.values())
    features = extract_features(
        feature_fn, samples, cfg, cfg.eval.batch_size, flip=cfg.eval.flip, progress=progress
    )
    index = {s.path: i for i, s in enumerate(samples)}
    e = cfg.eval
    return {
        "name": name,
        "dataset": cfg.data.dataset,
        "split": cfg.data.split,
        "root": str(resolve_path(cfg.data.root)),
        "draw": sorted({t["draw"] for t in trials}),
        "split_file": e.split_file or None,
        "trials": len({t["trial"] for t in trials}),
        "features": {
            "flip": e.flip,
            "feat_norm": e.feat_norm,
            "dim": int(features.shape[1]),
            "images": len(samples),
        },
        "rerank": {"k1": e.k1, "k2": e.k2, "lambda": e.lambda_} if e.rerank else None,
        "results": evaluate_features(features, index, trials, cfg, progress),
    }


def format_table(report: dict[str, Any], metrics: Sequence[str] = TABLE_METRICS) -> str:
    """Paper Table I layout: one column group per setting, one row per method (with / without
    re-ranking), in %."""
    settings = list(dict.fromkeys(r["setting"] for r in report["results"]))
    group = 7 * len(metrics)
    name_w = len(report["name"]) + 15
    lines = [
        " " * name_w + "".join(f"|{s:^{group}}" for s in settings),
        f"{'method':<{name_w}}"
        + "".join("|" + "".join(f"{m:>7}" for m in metrics) for _ in settings),
    ]
    lines.append("-" * len(lines[1]))
    for reranked in (False, True):
        rows = {r["setting"]: r["mean"] for r in report["results"] if r["reranked"] == reranked}
        if rows:
            label = report["name"] + (" + re-ranking" if reranked else "")
            lines.append(
                f"{label:<{name_w}}"
                + "".join(
                    "|"
                    + "".join(
                        f"{100 * rows[s][m]:7.2f}" if s in rows else f"{'-':>7}" for m in metrics
                    )
                    for s in settings
                )
            )
    directions = "/".join(sorted({r["direction"] for r in report["results"]}))
    split = f", split file {report['split_file']}" if report["split_file"] else ""
    ids = " (validation identities)" if report.get("split", "test") == "val" else ""
    lines.append(
        f"dataset {report['dataset']}{ids}, draw {'/'.join(report['draw'])}, "
        f"{report['trials']} trial(s), "
        f"query -> gallery: {directions}{split}"
    )
    return "\n".join(lines)


def save_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as JSON (numbers as plain floats)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
