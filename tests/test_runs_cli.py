"""Trust features: what a run folder records about its origin, and ``python -m tsgan runs list``."""

import json
import subprocess
import sys

from engine_helpers import tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.__main__ import main
from tsgan.config import get_config
from tsgan.engine.provenance import read_provenance
from tsgan.engine.rundir import RunDir
from tsgan.paths import REPO_ROOT


def _table(capsys) -> dict[str, dict[str, str]]:
    """``runs list`` output as {run name: {column: value}} (columns split on 2+ spaces)."""
    import re

    lines = capsys.readouterr().out.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = [dict(zip(header, re.split(r"\s{2,}", ln.strip()))) for ln in lines[1:]]
    return {r["run"]: r for r in rows}


def test_a_run_records_its_origin_and_is_listed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSGAN_RUNS", str(tmp_path / "runs"))
    args = [*_overrides(tiny_config(tiny_dataset(tmp_path))), "train.log_every=1"]
    command = ["train-teacher", "--preset", "cpu", *args, "--stop-at-step", "1"]
    monkeypatch.setattr(
        sys, "argv", ["tsgan/__main__.py", *command]
    )  # as `python -m tsgan` sets it
    assert main(sys.argv[1:]) == 0
    (run_path,) = (tmp_path / "runs" / "cache").glob("teacher-cpu-*")
    run = RunDir(run_path)
    assert run.config_path.is_file() and run.read_metrics("step")
    (session,) = read_provenance(run.path)
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert session["git"]["commit"] == head and isinstance(session["git"]["dirty"], bool)
    assert session["environment"]["device"] == "cpu" and session["environment"]["threads"] >= 1
    assert {"python", "torch", "cpu"} <= set(session["environment"])
    assert session["argv"][1:] == command and session["tsgan"]
    capsys.readouterr()

    assert main(["runs", "list"]) == 0
    row = _table(capsys)[run_path.name]
    # 1 teacher epoch x 3 batches; stopped after 1 step
    assert row == {
        "run": run_path.name,
        "kind": "teacher",
        "preset": "cpu",
        "steps": "1/3",
        "finished": "no",
    }

    # resuming adds a session; finishing and an evaluation report show in the list
    assert main(["train-teacher", "--preset", "cpu", *args]) == 0
    assert len(read_provenance(run.path)) == 2 and run.finished
    report = {
        "dataset": "sysu",
        "results": [
            {
                "setting": "all-search single-shot",
                "reranked": True,
                "mean": {"R1": 99.0, "mAP": 99.0},
            },
            {
                "setting": "all-search single-shot",
                "reranked": False,
                "mean": {"R1": 41.25, "mAP": 38.5},
            },
        ],
    }
    (run.checkpoints / "eval_sysu_all_1shot_seeded.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["runs", "list"]) == 0
    row = _table(capsys)[run_path.name]
    assert (row["steps"], row["finished"], row["R1"], row["mAP"]) == ("3/3", "yes", "41.2", "38.5")
    assert row["evaluated on"] == "sysu all-search single-shot"


def test_runs_list_reads_another_root_and_says_when_empty(tmp_path, capsys):
    assert main(["runs", "list", "--root", str(tmp_path)]) == 0
    assert "no cached runs under" in capsys.readouterr().out
    cfg = get_config("cpu")
    RunDir(tmp_path / "cache" / "tsgan-cpu-0123456789").create(cfg)
    assert main(["runs", "list", "--root", str(tmp_path)]) == 0
    row = _table(capsys)["tsgan-cpu-0123456789"]
    assert row["steps"] == f"0/{cfg.optim.epochs * cfg.data.batches_per_epoch}"
    assert row["kind"] == "tsgan" and row["finished"] == "no"
