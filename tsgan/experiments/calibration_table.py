"""The embedded world's calibration table: every target of the data calibration with what was
measured, from two committed results files, without training anything.

* the probe (:func:`tsgan.experiments.calibration.calibrate`, written by
  ``benchmarks/bench_calibration.py``): R1 within each modality (target >= 85 %), across
  modalities (25-55 %), and across with the RGB gallery replaced by its IR twins (at least the
  cross-modality R1 + 30: the headroom a perfect generator could reach);
* the data-only rows of the ablation (``python -m tsgan ablate --rows backbone twins
  twins-no-ts data.split=val ...``: never a GAN row): the oracle (true IR twins as X_I', the TS
  losses at the oracle weight) minus the Backbone, target >= +8 R1 with the paired 95 % CI above
  zero (faithful pairs carry what labels alone do not, as in SYSU-MM01); twins without the TS
  losses minus the Backbone is reported beside it, without a target;
* optionally the IR teacher's headroom (:mod:`tsgan.experiments.teacher_headroom`, written by
  ``bench_calibration.py --teacher-headroom``): the IR teacher of each seed scored on IR queries
  against the IR twins of the RGB gallery, minus the Backbone row's R1 of the same seed (the
  Backbone starts from that teacher), target >= +30 R1 with the paired 95 % CI above zero (the
  probe's ``IR->twins`` stays beside it).

Used by ``benchmarks/bench_calibration.py --table`` and notebook 01. The probe's own summary over
its seeds (:func:`probe_summary`) and the merge of probe results trained in separate processes or
sessions (:func:`merge_probe_results`, ``bench_calibration.py --merge``) live here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..eval.twin_gallery import PLAIN, TWINS
from ..stats import paired_difference
from .calibration import TWIN_SETTING

# the probe's targets (R1 as a fraction), mirroring SYSU-MM01's published ratios
TARGETS = {"RGB->RGB": (0.85, 1.0), "IR->IR": (0.85, 1.0), "IR->RGB": (0.25, 0.55)}
TWIN_HEADROOM = 0.30  # IR->twins R1 must exceed the mean IR->RGB R1 by this much (v4)
ORACLE_GAIN = 8.0  # R1 points the oracle row must gain over the Backbone (paired mean)
TEACHER_HEADROOM = 30.0  # R1 points the IR teacher's IR->twins must exceed the Backbone by
ROW_PAIRS = (  # (a, b, target of a - b in R1 points or None: reported only)
    ("twins", "backbone", ORACLE_GAIN),
    ("twins-no-ts", "backbone", None),
)


def probe_summary(runs: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per setting, over the seeds of ``runs`` (seed -> setting -> {R1, mAP, chance}): mean and
    standard deviation of R1 and mAP, chance R1, the target range and whether the mean is in it.
    ``IR->twins`` (when the runs have it) is judged against the mean IR->RGB R1 + 0.30."""
    seeds = sorted(runs)
    targets = dict(TARGETS)
    if TWIN_SETTING in runs[seeds[0]]:
        cross = float(np.mean([runs[s]["IR->RGB"]["R1"] for s in seeds]))
        targets[TWIN_SETTING] = (min(1.0, cross + TWIN_HEADROOM), 1.0)
    table = {}
    for name, (lo, hi) in targets.items():
        r1 = np.array([runs[s][name]["R1"] for s in seeds])
        m_ap = np.array([runs[s][name]["mAP"] for s in seeds])
        table[name] = {
            "R1_mean": float(r1.mean()),
            "R1_sd": float(r1.std()),
            "mAP_mean": float(m_ap.mean()),
            "mAP_sd": float(m_ap.std()),
            "chance_R1": runs[seeds[0]][name]["chance"],
            "target_R1": [lo, hi],
            "met": bool(lo <= r1.mean() <= hi),
        }
    return table


def merge_probe_results(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One probe results document from several (seeds trained in separate processes or sessions):
    their per-seed results united, the summary recomputed over all seeds, each document's
    provenance kept under ``merged_from``. The documents must describe the same data (world, data
    options, data seed) and the same probe, and no seed may appear twice."""
    first = docs[0]
    runs: dict[int, Any] = {}
    for doc in docs:
        for key in ("world", "data_options", "data_seed", "generator_version"):
            if doc["provenance"].get(key) != first["provenance"].get(key):
                raise ValueError(
                    f"cannot merge probe results of different data: {key} "
                    f"{first['provenance'].get(key)!r} against {doc['provenance'].get(key)!r}"
                )
        if doc["probe"] != first["probe"]:
            raise ValueError("cannot merge probe results of different probes (budget differs)")
        for seed, res in doc["per_seed"].items():
            if int(seed) in runs:
                raise ValueError(f"seed {seed} is in more than one results file")
            runs[int(seed)] = res
    seeds = sorted(runs)
    provenance = {
        key: first["provenance"][key]
        for key in ("world", "data_options", "data_seed", "generator_version")
        if key in first["provenance"]
    }
    return {
        "settings": probe_summary(runs),
        "per_seed": {str(s): runs[s] for s in seeds},
        "twin_floors": first["twin_floors"],
        "probe": first["probe"],
        "protocol": first["protocol"],
        "provenance": {
            **provenance,
            "seeds": seeds,
            "merged_from": [dict(doc["provenance"]) for doc in docs],
        },
    }


def probe_lines(probe: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per probe setting: measured R1 (%, mean over the probe's seeds), target range (%),
    whether it is met, and the number of seeds."""
    seeds = len(probe["provenance"]["seeds"])
    out = []
    for name, s in probe["settings"].items():
        lo, hi = (100 * x for x in s["target_R1"])
        r1 = 100 * s["R1_mean"]
        out.append(
            {
                "measurement": f"probe {name} R1 (chance {100 * s['chance_R1']:.1f})",
                "target": f">= {lo:.1f}" if hi >= 100 else f"{lo:.0f}-{hi:.0f}",
                "value": f"{r1:.1f}",
                "met": lo <= r1 <= hi,
                "seeds": seeds,
            }
        )
    return out


def row_lines(rows: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry for the Backbone's R1 and one per pair of :data:`ROW_PAIRS`: the paired
    difference a - b in R1 points with its 95 % CI, and whether the target holds (mean at least
    the target and the CI's low end above zero; None where there is no target)."""
    summary = {s["row"]: s for s in rows["summary"]}
    diffs = {(d["a"], d["b"]): d for d in rows["paired"] if d["metric"] == "R1"}
    missing = [r for r in ("backbone", "twins", "twins-no-ts") if r not in summary]
    if missing:
        raise ValueError(f"the rows results file has no row {missing[0]!r}: {sorted(summary)}")
    base = summary["backbone"]
    out = [
        {
            "measurement": f"Backbone R1 ({rows['config']['data']['split']} split)",
            "target": "-",
            "value": f"{base['mean']['R1']:.1f}",
            "met": None,
            "seeds": len(base["seeds"]),
        }
    ]
    for a, b, target in ROW_PAIRS:
        d = diffs[(a, b)]
        met = None if target is None else paired_met(d, target)
        out.append(
            {
                "measurement": f"{summary[a]['name']} - {summary[b]['name']}, R1",
                "target": "reported" if target is None else f">= +{target:g}, CI above 0",
                "value": _diff_cell(d),
                "met": met,
                "seeds": len(d["seeds"]),
            }
        )
    return out


def paired_met(diff: Mapping[str, Any], target: float) -> bool:
    """A paired target: the mean difference at least ``target`` and its CI's low end above zero
    (one seed, no interval: not met)."""
    return diff["mean"] >= target and diff["ci"] is not None and diff["ci"][0] > 0


def _diff_cell(diff: Mapping[str, Any]) -> str:
    ci = "" if diff["ci"] is None else f" [{diff['ci'][0]:+.1f}, {diff['ci'][1]:+.1f}]"
    return f"{diff['mean']:+.1f}{ci}"


def headroom_lines(headroom: Mapping[str, Any], rows: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The IR teacher's scores (reported) and its ``IR->twins`` R1 minus the Backbone row's R1,
    paired over the seeds both files have, judged against :data:`TEACHER_HEADROOM`. The files
    must describe the same world and identities, and each seed's teacher must be the one the
    Backbone row of that seed was trained from (when the rows record it)."""
    data_h, data_r = headroom["config"]["data"], rows["config"]["data"]
    for key in ("world", "split", "root", "synth_train_ids"):
        if data_h.get(key) != data_r.get(key):
            raise ValueError(
                f"the teacher headroom results are of data.{key}={data_h.get(key)!r} but the "
                f"rows of data.{key}={data_r.get(key)!r}"
            )
    backbone = {
        r["seed"]: r for r in rows["records"] if r["row"] == "backbone" and not r.get("reranked")
    }
    per_seed = {r["seed"]: r for r in headroom["records"]}
    for seed in sorted(set(per_seed) & set(backbone)):
        taught = (backbone[seed].get("teacher") or {}).get("run")
        scored = per_seed[seed]["run"]
        if taught is not None and taught != scored:
            raise ValueError(
                f"seed {seed}: the teacher headroom scored {scored} but the Backbone row was "
                f"trained from {taught}; score the rows' teachers (same config and seed)"
            )
    twins = {s: r[TWINS]["R1"] for s, r in per_seed.items()}
    diff = paired_difference(twins, {s: r["R1"] for s, r in backbone.items()})
    summary, ids = headroom["summary"], f"{data_h['split']} ids"
    return [
        {
            "measurement": f"IR teacher R1 ({ids}, chance {summary[TWINS]['chance_R1']:.1f}): "
            f"{TWINS} / {PLAIN}",
            "target": "-",
            "value": f"{summary[TWINS]['R1']['mean']:.1f} / {summary[PLAIN]['R1']['mean']:.1f}",
            "met": None,
            "seeds": len(summary["seeds"]),
        },
        {
            "measurement": f"IR teacher {TWINS} R1 ({ids}) - Backbone R1",
            "target": f">= +{TEACHER_HEADROOM:g}, CI above 0",
            "value": _diff_cell(diff),
            "met": paired_met(diff, TEACHER_HEADROOM),
            "seeds": len(diff["seeds"]),
        },
    ]


def calibration_table(
    probe: Mapping[str, Any],
    rows: Mapping[str, Any],
    headroom: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The whole table: the probe's settings, then the data-only rows, then (given the teacher
    headroom results) the IR teacher's headroom. The files must describe the same world (``data.
    world`` of the rows' config, ``world`` of the probe's provenance)."""
    world_probe = probe["provenance"].get("world", "v3")
    world_rows = rows["config"]["data"].get("world", "v3")
    if world_probe != world_rows:
        raise ValueError(
            f"the probe results are of world {world_probe} but the rows of world {world_rows}"
        )
    extra = headroom_lines(headroom, rows) if headroom is not None else []
    return probe_lines(probe) + row_lines(rows) + extra


def format_table(lines: list[dict[str, Any]]) -> str:
    """Markdown: measurement, target, value, seeds, met."""
    verdict = {True: "met", False: "MISSED", None: ""}
    out = ["| measurement | target | value | seeds | |", "|---|---|---|---|---|"]
    for x in lines:
        cells = (x["measurement"], x["target"], x["value"], str(x["seeds"]), verdict[x["met"]])
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
