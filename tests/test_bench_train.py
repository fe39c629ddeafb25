"""benchmarks/bench_train.py: the time-to-accuracy targets read from committed results, each row
trained on each path in its own folder, the profile's phases, and the one-process comparison."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_helpers import tiny_config, tiny_dataset

from tsgan.config import replace
from tsgan.engine.rundir import RunDir

REPO = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_train", REPO / "benchmarks/bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def test_targets_are_the_committed_rows_means():
    doc = json.loads((REPO / "results/ablation_cpu.json").read_text())
    by_row = {s["row"]: s for s in doc["summary"]}
    targets = bench.committed_targets(doc, "R1")
    assert targets == {
        "backbone": by_row["backbone"]["mean"]["R1"],
        "jd": by_row["jd"]["mean"]["R1"],
    }
    assert bench.committed_targets(doc, "mAP")["jd"] == by_row["jd"]["mean"]["mAP"]
    with pytest.raises(ValueError, match="one of R1"):
        bench.committed_targets(doc, "R5")
    without_jd = {**doc, "summary": [s for s in doc["summary"] if s["row"] != "jd"]}
    with pytest.raises(ValueError, match="no row 'jd'"):
        bench.committed_targets(without_jd, "R1")


def test_a_bad_metric_is_one_error_line_and_exit_2():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/bench_train.py"), "--preset", "cpu"]
        + ["--time-to", "R5", "--results", str(REPO / "results/ablation_cpu.json")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --time-to takes a number or one of R1, R10, R20, mAP, mINP, got 'R5'"
    ]


def test_each_row_is_timed_on_each_path_in_its_own_folder(tmp_path):
    cfg = tiny_config(
        tiny_dataset(tmp_path),
        **{"train.out_dir": str(tmp_path / "bench"), "eval.trials": 2, "train.probe_images": 4},
    )
    paths = {"eager": {}, "fast": {"train.channels_last": True}}
    lines = bench.time_to_targets(cfg, {"backbone": 0.0, "jd": 101.0}, "R1", paths)
    assert len(lines) == 4
    assert [line.split(",")[0] for line in lines] == ["eager path"] * 2 + ["fast path"] * 2
    for line in lines[0], lines[2]:  # any R1 reaches 0: the first epoch
        assert "Backbone (its committed mean R1)" in line and "(epoch 1 of 2, R1 " in line
    for line in lines[1], lines[3]:  # none reaches 101
        assert "TS-GAN_JD (its committed mean R1)" in line and "not reached in 2 epochs" in line
    for name, channels_last in (("eager", False), ("fast", True)):
        runs = sorted((tmp_path / "bench" / name / "cache").glob("tsgan-*"))
        assert len(runs) == 2  # the Backbone row's and TS-GAN_JD's, trained with this path
        configs = [json.loads((r / "config.json").read_text()) for r in runs]
        assert sorted(c["train"]["use_gan"] for c in configs) == [False, True]
        assert all(c["train"]["channels_last"] is channels_last for c in configs)
        assert all(RunDir(r).read_metrics("probe")[-1]["epoch"] == 2 for r in runs)


def test_the_profile_names_each_step_s_phases(tmp_path):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.gan_warmup_epochs": 1})
    text = bench.profile_report(cfg, torch.device("cpu"), steps=1)
    sections = text.split("=== ")[1:]
    assert [s.split(":")[0] for s in sections] == list(bench.STEP_KINDS.values())
    teacher, warm_up, full = sections
    assert "phase: backward (teacher)" in teacher and "phase 1:" not in teacher
    assert "phase 1: G forward" in warm_up and "phase 3: FE_T" not in warm_up  # no L_TS yet
    assert "phase 3: FE_T (frozen teacher)" in full and "phase 5-6: L_D" in full
    assert all("top by self CPU time, per operator:" in s for s in sections)


def test_compare_reports_identical_losses_for_an_identical_variant(tmp_path):
    cfg = tiny_config(tiny_dataset(tmp_path))
    candidates = {"eager": ({}, 1), "same": ({}, 1), "other seed": ({"train.seed": 5}, 1)}
    lines = bench.compare_report(cfg, torch.device("cpu"), 2, candidates, kinds=("full",))
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "losses after 3 steps identical" in rows["eager"]
    assert "losses after 3 steps identical" in rows["same"]
    assert "steps/s wall (" in rows["same"] and "s CPU/step (" in rows["same"]


def test_multi_tensor_adam_is_timed_with_its_own_flag_and_trains_identically(tmp_path, monkeypatch):
    # the package's optimizers keep torch's CPU default (one tensor at a time); the candidate puts
    # the multi-tensor path on its own models only, and both give the same losses bit for bit
    cfg = tiny_config(tiny_dataset(tmp_path))
    flags = []
    step = bench.one_step
    monkeypatch.setattr(
        bench,
        "one_step",
        lambda model, batch: (
            flags.append({g["foreach"] for o in model.optimizers.values() for g in o.param_groups})
            or step(model, batch)
        ),
    )
    candidates = {k: bench.CANDIDATES[k] for k in ("eager", "Adam multi-tensor")}
    lines = bench.compare_report(cfg, torch.device("cpu"), 2, candidates, kinds=("teacher",))
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "losses after 3 steps identical" in rows["Adam"]
    assert flags[:2] == [{None}, {True}]  # first steps: eager, then the candidate
    assert flags[2:] == [{None}, {True}] * 2  # interleaved timed steps


def test_the_full_step_kind_has_the_fakes_in_line_3_and_the_warm_up_kind_not(tmp_path):
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.gan_warmup_epochs": 1})
    device = torch.device("cpu")
    warm, batch = bench.step_model(cfg, "warm-up", device)
    full, _ = bench.step_model(cfg, "full", device)
    assert not warm.fakes_join() and full.fakes_join()
    assert "B_ts" in bench.one_step(full, batch) and "B_ts" not in bench.one_step(warm, batch)
    teacher, tbatch = bench.step_model(replace(cfg, train__teacher_K=3), "teacher", device)
    assert len(tbatch["ir"]) == cfg.data.P * 3


def test_the_command_times_both_rows_on_both_paths_from_a_results_file(tmp_path):
    """``--time-to R1 --results FILE --fast ...`` end to end, on the tiny config (overrides)."""
    doc = json.loads((REPO / "results/ablation_cpu.json").read_text())
    for s in doc["summary"]:
        s["mean"]["R1"] = {"backbone": 101.0, "jd": 0.0}.get(s["row"], 50.0)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc))
    cfg = tiny_config(tiny_dataset(tmp_path))
    overrides = [
        f"{section}.{k}={v}"
        for section in ("data", "model", "optim", "train")
        for k, v in getattr(cfg, section).__dict__.items()
        if k
        in {"dataset", "root", "height", "width", "pad", "P", "K", "batches_per_epoch"}
        | {"cache", "gen_filters", "gen_blocks", "disc_filters", "disc_layers", "epochs"}
        | {"gan_warmup_epochs", "teacher_epochs"}
    ]
    overrides += [f"train.out_dir={tmp_path / 'bench'}", "eval.trials=2", "train.probe_images=4"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/bench_train.py"), "--preset", "cpu"]
        + ["--reps", "1", "--steps", "1", "--time-to", "R1", "--results", str(results)]
        + ["--fast", "model.gen_blocks=2", "--", *overrides],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if " path, " in line]
    assert [line.split(" (")[0] for line in lines] == [
        "eager path, Backbone",
        "eager path, TS-GAN_JD",
        "fast path, Backbone",
        "fast path, TS-GAN_JD",
    ]
    assert all("not reached" in line for line in lines[::2])  # the Backbone row's 101
    assert all("(epoch 1 of 2, R1 " in line for line in lines[1::2])  # TS-GAN_JD's 0
    for name, blocks in (("eager", cfg.model.gen_blocks), ("fast", 2)):
        runs = list((tmp_path / "bench" / name / "cache").glob("tsgan-*"))
        configs = [json.loads((r / "config.json").read_text()) for r in runs]
        assert {c["model"]["gen_blocks"] for c in configs} == {blocks}
