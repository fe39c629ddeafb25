"""The calibration table reads the probe and the data-only rows and judges each target."""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tsgan.eval.twin_gallery import PLAIN, TWINS
from tsgan.experiments.ablate_report import paired
from tsgan.experiments.calibration_table import (
    calibration_table,
    format_table,
    headroom_lines,
    merge_probe_results,
    row_lines,
)
from tsgan.experiments.teacher_headroom import headroom_summary

ROOT = Path(__file__).resolve().parents[1]


def probe_doc(cross=0.30, twins=0.70, world="v4"):
    def setting(r1, lo, hi):
        return {"R1_mean": r1, "chance_R1": 0.01, "target_R1": [lo, hi]}

    return {
        "settings": {
            "RGB->RGB": setting(0.95, 0.85, 1.0),
            "IR->IR": setting(0.80, 0.85, 1.0),  # missed on purpose
            "IR->RGB": setting(cross, 0.25, 0.55),
            "IR->twins": setting(twins, cross + 0.30, 1.0),
        },
        "provenance": {"seeds": [0, 1, 2], "world": world},
    }


def rows_doc(gains, no_ts=(0.0, 1.0, -1.0), world="v4"):
    """Backbone R1 30 + seed; twins = Backbone + gains[seed]; twins-no-ts = Backbone + no_ts."""
    records = []
    for seed, (g, n) in enumerate(zip(gains, no_ts)):
        base = 30.0 + seed
        records += [
            {
                "row": "backbone",
                "seed": seed,
                "R1": base,
                "mAP": base,
                "reranked": False,
                "teacher": {"run": f"teacher-cpu-{seed}"},
            },
            {"row": "twins", "seed": seed, "R1": base + g, "mAP": base},
            {"row": "twins-no-ts", "seed": seed, "R1": base + n, "mAP": base},
        ]
    names = {"backbone": "Backbone", "twins": "Oracle", "twins-no-ts": "Oracle, no TS"}
    summary = [
        {
            "row": r,
            "name": names[r],
            "seeds": [x["seed"] for x in records if x["row"] == r],
            "mean": {"R1": sum(x["R1"] for x in records if x["row"] == r) / len(gains)},
        }
        for r in names
    ]
    return {
        "config": {"data": {"world": world, "split": "val"}},
        "summary": summary,
        "paired": paired(records),
        "records": records,
    }


def test_oracle_gain_needs_the_mean_and_a_ci_above_zero():
    met = row_lines(rows_doc([9.0, 10.0, 11.0]))
    assert met[0]["value"] == "31.0" and met[0]["met"] is None  # the Backbone: no target
    assert met[1]["value"].startswith("+10.0 [") and met[1]["met"] is True
    assert met[2]["value"].startswith("+0.0 [") and met[2]["met"] is None  # reported only
    # a mean above +8 whose CI reaches below zero is not enough
    assert row_lines(rows_doc([30.0, -5.0, 2.0]))[1]["met"] is False
    # a clear gain below the target is not enough either
    assert row_lines(rows_doc([7.0, 7.5, 7.2]))[1]["met"] is False
    # the direction: twins below the Backbone (a swapped pair would read +10)
    lost = row_lines(rows_doc([-9.0, -10.0, -11.0]))[1]
    assert lost["value"].startswith("-10.0") and lost["met"] is False


def test_probe_lines_judge_each_range():
    table = calibration_table(probe_doc(), rows_doc([9.0, 10.0, 11.0]))
    by = {x["measurement"].split(" R1")[0]: x for x in table}
    assert by["probe RGB->RGB"]["met"] is True
    assert by["probe IR->IR"]["met"] is False
    assert by["probe IR->RGB"]["met"] is True and by["probe IR->RGB"]["target"] == "25-55"
    assert by["probe IR->twins"]["target"] == ">= 60.0" and by["probe IR->twins"]["met"] is True
    low = {x["measurement"]: x for x in calibration_table(probe_doc(twins=0.5), rows_doc([9] * 3))}
    assert low["probe IR->twins R1 (chance 1.0)"]["met"] is False
    assert all(x["seeds"] == 3 for x in table)
    text = format_table(table)
    assert "MISSED" in text and text.count("| met |") == 4


def headroom_doc(gains, plain=10.0, world="v4", split="val", runs=None):
    """The IR teacher of seed s: IR->twins R1 = the Backbone's (30 + s) + gains[s], IR->RGB R1
    ``plain`` (far below: a row reading IR->RGB instead would miss)."""
    records = [
        {
            "seed": s,
            "run": (runs or {}).get(s, f"teacher-cpu-{s}"),
            TWINS: {"R1": 30.0 + s + g, "mAP": 50.0, "chance": 2.0},
            PLAIN: {"R1": plain, "mAP": 12.0, "chance": 2.0},
        }
        for s, g in enumerate(gains)
    ]
    return {
        "config": {"data": {"world": world, "split": split}},
        "summary": headroom_summary(records),
        "records": records,
    }


def test_teacher_headroom_is_paired_with_the_backbone_and_judged_at_plus_30():
    rows = rows_doc([9.0, 10.0, 11.0])
    report, judged = headroom_lines(headroom_doc([31.0, 32.0, 33.0]), rows)
    assert report["met"] is None and report["value"] == "63.0 / 10.0"  # twins / plain means
    assert judged["measurement"] == "IR teacher IR->twins R1 (val ids) - Backbone R1"
    assert judged["target"] == ">= +30, CI above 0" and judged["seeds"] == 3
    assert judged["value"].startswith("+32.0 [") and judged["met"] is True
    # the verdict flips when the paired mean crosses +30
    below = headroom_lines(headroom_doc([29.0, 29.5, 29.9]), rows)[1]
    assert below["value"].startswith("+29.5 [") and below["met"] is False
    just = headroom_lines(headroom_doc([29.0, 30.0, 31.0]), rows)[1]
    assert just["value"].startswith("+30.0 [") and just["met"] is True
    # the direction: the teacher's twins below the Backbone (a swapped pair would read +32)
    lost = headroom_lines(headroom_doc([-31.0, -32.0, -33.0]), rows)[1]
    assert lost["value"].startswith("-32.0") and lost["met"] is False
    # the interval is that of the per-seed differences (31, 32, 33): Student-t with 2 dof
    ci = judged["value"].split("[")[1]
    assert ci == "+29.5, +34.5]"


def test_teacher_headroom_needs_the_rows_data_and_their_teachers():
    rows = rows_doc([9.0, 10.0, 11.0])
    with pytest.raises(ValueError, match="data.world='v3' but the rows of data.world='v4'"):
        headroom_lines(headroom_doc([31.0] * 3, world="v3"), rows)
    with pytest.raises(ValueError, match="data.split='test'"):
        headroom_lines(headroom_doc([31.0] * 3, split="test"), rows)
    with pytest.raises(ValueError, match="seed 1: the teacher headroom scored teacher-other"):
        headroom_lines(headroom_doc([31.0] * 3, runs={1: "teacher-other"}), rows)


def test_the_table_keeps_the_probe_row_and_adds_the_teacher_rows():
    probe, rows = probe_doc(), rows_doc([9.0, 10.0, 11.0])
    table = calibration_table(probe, rows, headroom_doc([31.0, 32.0, 33.0]))
    assert table[:-2] == calibration_table(probe, rows)  # the probe's IR->twins row stays
    assert any(x["measurement"].startswith("probe IR->twins") for x in table)
    text = format_table(table)
    assert "| IR teacher IR->twins R1 (val ids) - Backbone R1 | >= +30, CI above 0 |" in text
    assert text.splitlines()[-1].endswith("| 3 | met |")
    missed = format_table(calibration_table(probe, rows, headroom_doc([20.0, 21.0, 22.0])))
    assert missed.splitlines()[-1].endswith("| 3 | MISSED |")


def test_worlds_must_agree_and_rows_must_exist():
    with pytest.raises(ValueError, match="world v3 but the rows of world v4"):
        calibration_table(probe_doc(world="v3"), rows_doc([9.0] * 3))
    doc = rows_doc([9.0] * 3)
    doc["summary"] = [s for s in doc["summary"] if s["row"] != "twins"]
    with pytest.raises(ValueError, match="no row 'twins'"):
        row_lines(doc)


def probe_results(seeds, world="v4", budget=30):
    """A probe results document as bench_calibration writes it, R1 = 0.3 + seed / 100 across."""
    per_seed = {}
    for s in seeds:
        per_seed[str(s)] = {
            "RGB->RGB": {"R1": 0.90 + s / 100, "mAP": 0.9, "chance": 0.013},
            "IR->IR": {"R1": 0.86, "mAP": 0.9, "chance": 0.012},
            "IR->RGB": {"R1": 0.30 + s / 100, "mAP": 0.35, "chance": 0.010},
            "IR->twins": {"R1": 0.62 + s / 100, "mAP": 0.8, "chance": 0.010},
        }
    return {
        "settings": {},
        "per_seed": per_seed,
        "twin_floors": {"grayscale": {"L1": 0.3, "SSIM": 0.1}},
        "probe": {"budget": {"epochs": budget}},
        "protocol": "all-search",
        "provenance": {
            "world": world,
            "data_options": {"world": world},
            "data_seed": 0,
            "generator_version": 3,
            "seeds": list(seeds),
            "git_commit": "x",
        },
    }


def test_merged_probe_results_are_summarised_over_every_seed():
    merged = merge_probe_results([probe_results([0]), probe_results([1, 2])])
    assert merged["provenance"]["seeds"] == [0, 1, 2]
    assert [p["seeds"] for p in merged["provenance"]["merged_from"]] == [[0], [1, 2]]
    s = merged["settings"]
    assert s["IR->RGB"]["R1_mean"] == pytest.approx(statistics.mean([0.30, 0.31, 0.32]))
    assert s["RGB->RGB"]["R1_sd"] == pytest.approx(statistics.pstdev([0.90, 0.91, 0.92]))
    # the twin headroom is judged against the mean IR->RGB of all seeds, not of one file
    assert s["IR->twins"]["target_R1"][0] == pytest.approx(0.31 + 0.30)
    assert s["IR->twins"]["R1_mean"] == pytest.approx(0.63) and s["IR->twins"]["met"]
    assert s["IR->IR"]["met"] and s["IR->RGB"]["met"]
    # the order of the files does not matter
    again = merge_probe_results([probe_results([1, 2]), probe_results([0])])
    assert again["settings"] == merged["settings"] and list(again["per_seed"]) == ["0", "1", "2"]


def test_merge_refuses_other_data_other_probes_and_a_seed_twice():
    with pytest.raises(ValueError, match="seed 1 is in more than one"):
        merge_probe_results([probe_results([0, 1]), probe_results([1])])
    with pytest.raises(ValueError, match="different data: world"):
        merge_probe_results([probe_results([0]), probe_results([1], world="v3")])
    with pytest.raises(ValueError, match="different probes"):
        merge_probe_results([probe_results([0]), probe_results([1], budget=10)])


def test_bench_calibration_merge_writes_the_united_file(tmp_path):
    a, b, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "out.json"
    a.write_text(json.dumps(probe_results([0])))
    b.write_text(json.dumps(probe_results([1, 2])))
    bench = [sys.executable, str(ROOT / "benchmarks" / "bench_calibration.py"), "--world", "v4"]
    done = subprocess.run(
        [*bench, "--merge", str(a), str(b), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == merge_probe_results(
        [json.loads(a.read_text()), json.loads(b.read_text())]
    )
    wrong = subprocess.run(
        [*bench[:-1], "v3", "--merge", str(a), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert wrong.returncode == 2 and "error: the files hold world v4, not v3" in wrong.stderr


def test_the_committed_v4_files_give_the_teacher_row():
    """The committed teacher headroom of v4 pairs each seed's teacher with the Backbone row trained
    from it, and the row is judged from the records (what --table and the docs quote)."""
    from tsgan.experiments.ablate_report import load_results
    from tsgan.experiments.teacher_headroom import load_headroom

    val = ROOT / "results" / "validation"
    headroom = load_headroom(val / "teacher-headroom-v4.json")
    rows = load_results(val / "world-v4.json")
    assert headroom["seeds"] == [0, 1, 2, 3, 4] and headroom["trained"] == []
    assert headroom["git"]["dirty"] is False and "--cached-only" in headroom["command"]
    report, judged = headroom_lines(headroom, rows)
    backbone = {r["seed"]: r["R1"] for r in rows["records"] if r["row"] == "backbone"}
    diffs = [r[TWINS]["R1"] - backbone[r["seed"]] for r in headroom["records"]]
    assert judged["value"].startswith(f"{statistics.mean(diffs):+.1f} [")
    assert judged["met"] is True and judged["seeds"] == 5
    docs = " ".join((ROOT / "docs" / "ARCHITECTURE.md").read_text().split())
    row = "| IR teacher IR->twins - Backbone, R1 (paired by seed) | >= +30, CI above 0 |"
    assert f"{row} {judged['value']} | 5 |" in docs
