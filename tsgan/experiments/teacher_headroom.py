"""The IR teacher's headroom: the cached IR teachers of a config, scored with the RGB gallery
replaced by its IR twins.

The calibration of the embedded world asks that a perfect RGB -> IR generator would leave a task
far easier than the cross-modality one: the IR teacher (trained on IR pictures only, the network
whose feature maps the student is taught towards, Eq. 13-16), scored on IR queries against the IR
twins of the RGB gallery (:func:`tsgan.eval.twin_gallery.evaluate_twin_gallery`), must beat the
Backbone's cross-modality R1 by at least 30 points. The Backbone row of the same seed starts from
the same teacher (``model.student_init=teacher``), so the comparison is paired over seeds
(:func:`tsgan.experiments.calibration_table.headroom_lines`).

:func:`run_teacher_headroom` loads, per seed, the cached teacher of ``train.seed=S`` on the base
config (the teacher the ablation's rows of that seed use: its key covers the data and the
teacher's own fields only), or trains it unless ``cached_only``, scores it ``IR->RGB`` and
``IR->twins`` on the same trials of the config's split, and returns the results document: header
(command, git, machine), config, one record per seed (its numbers in %, the teacher run, its key
and provenance), summary (mean and 95 % CI of each setting, and the paired ``IR->twins -
IR->RGB``).
``benchmarks/bench_calibration.py --teacher-headroom`` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config, replace
from ..engine.checkpoint import load_backbone
from ..engine.device import resolve_device
from ..engine.provenance import results_header, session_summaries
from ..eval.twin_gallery import PLAIN, SETTING, TWINS, evaluate_twin_gallery
from ..stats import mean_ci, paired_difference
from ..training import cached_run, get_or_train_teacher, run_key
from ..units import percent

RESULTS_FORMAT = "tsgan-teacher-headroom/1"
METRICS = ("R1", "mAP")


class MissingTeacherError(ValueError):
    """``cached_only`` and a seed's teacher is not finished in the run cache (the user's call:
    train it, or leave the seed out)."""


def teacher_config(base: Config, seed: int) -> Config:
    """The config of the teacher of training seed ``seed`` on ``base``."""
    return replace(base, train__seed=seed)


def missing_teachers(base: Config, seeds: Sequence[int]) -> dict[int, Path]:
    """Seed -> run folder of each seed whose teacher is not trained in the run cache."""
    runs = {s: cached_run(teacher_config(base, s), "teacher") for s in seeds}
    return {s: run.path for s, run in runs.items() if not run.trained}


def score_teacher(cfg: Config, progress: bool = True) -> dict[str, Any]:
    """The record of the cached teacher of ``cfg`` (trained first when missing): its seed, run,
    run key and provenance, and its ``IR->RGB`` and ``IR->twins`` scores (R1, mAP, mINP, chance
    in %; per-trial R1 and mAP)."""
    final = get_or_train_teacher(cfg)
    run = cached_run(cfg, "teacher")
    teacher = load_backbone(final, resolve_device(cfg.train.device))[0]
    scores = evaluate_twin_gallery(teacher.features, cfg, progress)
    out: dict[str, Any] = {
        "seed": cfg.train.seed,
        "run": run.path.name,
        "run_key": run_key(cfg, "teacher"),
        "provenance": session_summaries(run.path),
    }
    for name in (PLAIN, TWINS):
        s = scores[name]
        out[name] = {k: percent(s[k]) for k in ("R1", "mAP", "mINP", "chance")}
        out[name]["per_trial"] = [
            {"trial": t["trial"], **{m: percent(t[m]) for m in METRICS}} for t in s["per_trial"]
        ]
    out["counts"] = {k: scores[k] for k in ("trials", "queries", "gallery_pictures")}
    return out


def headroom_summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Over the records' seeds: mean, sd and 95 % CI (:func:`tsgan.stats.mean_ci`) of R1 and mAP
    in each setting, chance R1, and the paired ``IR->twins - IR->RGB`` of each metric."""
    per_seed = {r["seed"]: r for r in records}
    seeds = sorted(per_seed)
    out: dict[str, Any] = {"seeds": seeds}
    for name in (PLAIN, TWINS):
        out[name] = {m: mean_ci([per_seed[s][name][m] for s in seeds]) for m in METRICS}
        out[name]["chance_R1"] = per_seed[seeds[0]][name]["chance"]
    out[f"{TWINS} - {PLAIN}"] = {
        m: paired_difference(
            {s: per_seed[s][TWINS][m] for s in seeds}, {s: per_seed[s][PLAIN][m] for s in seeds}
        )
        for m in METRICS
    }
    return out


def run_teacher_headroom(
    base: Config, seeds: Sequence[int], cached_only: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Score the teacher of every seed; the results document (module docstring). With
    ``cached_only``, a seed whose teacher is not in the run cache raises
    :class:`MissingTeacherError` before anything is scored."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"the teacher headroom needs distinct seeds, got {list(seeds)}")
    missing = missing_teachers(base, seeds)
    if cached_only and missing:
        where = ", ".join(f"seed {s}: {p}" for s, p in missing.items())
        raise MissingTeacherError(
            f"no trained teacher in the run cache for {where}; run without --cached-only to "
            "train it, or leave the seed out"
        )
    records = [score_teacher(teacher_config(base, s), progress) for s in seeds]
    return {
        **results_header(RESULTS_FORMAT),
        "preset": base.name,
        "config": base.to_dict(),
        "seeds": list(seeds),
        "protocol": {
            "dataset": base.data.dataset,
            "setting": f"{SETTING[0]}-search single-shot",
            "ids": base.data.split,
            "trials": base.eval.trials,
            "draw": base.eval.draw,
            "settings": {
                PLAIN: "IR queries against the RGB gallery",
                TWINS: "the same trials, each RGB gallery picture replaced by its IR twin",
            },
            "units": "percent",
        },
        "trained": sorted(missing),
        "summary": headroom_summary(records),
        "records": records,
    }


def load_headroom(path: str | Path) -> dict[str, Any]:
    """A results document written from :func:`run_teacher_headroom`; an error naming the file when
    it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no teacher headroom results at {path}; write them with python "
            "benchmarks/bench_calibration.py --teacher-headroom"
        )
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{path} is not a {RESULTS_FORMAT} results file (format {found!r})")
    return doc
