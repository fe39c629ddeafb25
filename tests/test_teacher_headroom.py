"""The IR teacher's headroom: each seed's cached teacher scored IR->RGB and IR->twins, the results
document, and ``bench_calibration.py --teacher-headroom`` (``--cached-only`` refuses to train)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tsgan.config import get_config
from tsgan.engine.checkpoint import load_backbone
from tsgan.eval.twin_gallery import PLAIN, TWINS, evaluate_twin_gallery
from tsgan.experiments.teacher_headroom import (
    RESULTS_FORMAT,
    MissingTeacherError,
    load_headroom,
    run_teacher_headroom,
    teacher_config,
)
from tsgan.training import cached_run

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_calibration.py"


def overrides(tree, out_dir):
    """The tiny teacher (1 epoch of 3 batches at 32x16) on the shared embedded tree, validation
    identities, 2 trials: the overrides the benchmark gets after its world's (``--world v3``)."""
    return {
        "data.dataset": "sysu",  # the generated tree read as SYSU-MM01 (never regenerated)
        "data.root": str(tree),
        "data.height": 32,
        "data.width": 16,
        "data.cache": False,
        "data.P": 2,
        "data.K": 2,
        "data.batches_per_epoch": 3,
        "data.split": "val",
        "train.teacher_epochs": 1,
        "train.device": "cpu",
        "train.out_dir": str(out_dir),
        "eval.trials": 2,
    }


@pytest.fixture(scope="module")
def trained(synthetic_sysu, tmp_path_factory):
    """Teachers of seeds 0 and 1 trained by the first call; the base config and the document."""
    out_dir = tmp_path_factory.mktemp("runs")
    items = overrides(synthetic_sysu, out_dir)
    base = get_config("cpu", items)
    doc = run_teacher_headroom(base, [0, 1], progress=False)
    return base, items, doc


def test_each_seed_scores_its_own_teacher_both_ways(trained):
    base, _, doc = trained
    assert doc["format"] == RESULTS_FORMAT and doc["trained"] == [0, 1]
    assert doc["git"] is not None and "command" in doc and doc["machine"]["threads"] >= 1
    assert doc["config"]["data"]["split"] == "val" and doc["protocol"]["ids"] == "val"
    runs = set()
    for seed in (0, 1):
        cfg = teacher_config(base, seed)
        assert cfg.train.seed == seed
        run = cached_run(cfg, "teacher")
        got = doc["records"][seed]
        assert got["seed"] == seed and got["run"] == run.path.name and got["provenance"]
        runs.add(run.path.name)
        # the teacher of this seed, scored by the evaluator directly: the same numbers, in %
        want = evaluate_twin_gallery(load_backbone(run.final)[0].features, cfg, progress=False)
        for name in (PLAIN, TWINS):
            for metric in ("R1", "mAP", "mINP", "chance"):
                assert got[name][metric] == pytest.approx(100 * want[name][metric])
            assert [t["R1"] for t in got[name]["per_trial"]] == pytest.approx(
                [100 * t["R1"] for t in want[name]["per_trial"]]
            )
    assert len(runs) == 2  # two seeds, two teachers
    summary = doc["summary"]
    r1 = {name: [r[name]["R1"] for r in doc["records"]] for name in (PLAIN, TWINS)}
    assert summary[TWINS]["R1"]["mean"] == pytest.approx(sum(r1[TWINS]) / 2)
    diff = summary[f"{TWINS} - {PLAIN}"]["R1"]
    assert diff["diffs"] == pytest.approx([t - p for t, p in zip(r1[TWINS], r1[PLAIN])])


def test_cached_only_refuses_a_missing_teacher_before_scoring(trained):
    base, _, _ = trained
    missing = cached_run(teacher_config(base, 5), "teacher")
    with pytest.raises(MissingTeacherError, match="seed 5: .*teacher-") as err:
        run_teacher_headroom(base, [0, 5], cached_only=True, progress=False)
    assert "seed 0" not in str(err.value)
    assert not missing.path.exists()  # nothing trained, no folder made


def _bench(*args, env_runs):
    # this process's thread count: the benchmark's features are then those computed here
    threads = str(torch.get_num_threads())
    env = {**os.environ, "TSGAN_RUNS": str(env_runs), "OMP_NUM_THREADS": threads}
    return subprocess.run(
        [sys.executable, str(BENCH), "--world", "v3", "--teacher-headroom", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_bench_writes_the_results_of_the_cached_teachers(trained, tmp_path):
    _, items, doc = trained
    out = tmp_path / "headroom.json"
    over = [f"{k}={v}" for k, v in items.items()]
    done = _bench("--cached-only", "--seeds", "0", "1", "--out", str(out), *over, env_runs=tmp_path)
    assert done.returncode == 0, done.stderr
    written = load_headroom(out)
    assert written["trained"] == [] and written["seeds"] == [0, 1]
    assert "--cached-only" in written["command"] and written["wall_time_s"] > 0
    for got, want in zip(written["records"], doc["records"], strict=True):
        assert got["seed"] == want["seed"] and got["run"] == want["run"]
        for name in (PLAIN, TWINS):
            assert got[name]["R1"] == pytest.approx(want[name]["R1"])
        assert f"seed {got['seed']} ({got['run']})" in done.stdout


def test_bench_cached_only_with_a_missing_teacher_exits_2_in_one_line(trained, tmp_path):
    _, items, _ = trained
    out = tmp_path / "headroom.json"
    out.write_text("kept\n")
    over = [f"{k}={v}" for k, v in items.items()]
    done = _bench("--cached-only", "--seeds", "0", "7", "--out", str(out), *over, env_runs=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no trained teacher in the run cache")
    assert "seed 7" in lines[0] and "seed 0" not in lines[0]
    assert out.read_text() == "kept\n" and done.stdout == ""
    # a config mistake is one line too
    bad = _bench("--seeds", "0", "--out", str(out), "data.nonsense=1", env_runs=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("error: ") and out.read_text() == "kept\n"
    twice = _bench("--seeds", "0", "0", "--out", str(out), *over, env_runs=tmp_path)
    assert twice.returncode == 2 and twice.stderr == "error: --seeds names a seed twice: [0, 0]\n"


def test_load_headroom_names_a_file_of_another_kind(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "tsgan-ablation/1"}))
    with pytest.raises(ValueError, match="not a tsgan-teacher-headroom/1 results file"):
        load_headroom(other)
    with pytest.raises(FileNotFoundError, match="--teacher-headroom"):
        load_headroom(tmp_path / "missing.json")
