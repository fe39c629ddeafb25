"""Trust features: what a run folder records about its origin, and ``python -m tsgan runs list``."""

import json
import subprocess
import sys

import pytest
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
    # a real evaluation report (fractions), scored by `evaluate` on the run's own data
    final = run.final
    assert main(["evaluate", "--checkpoint", str(final), "--trials", "2"]) == 0
    table = capsys.readouterr().out
    (report_path,) = run.checkpoints.glob("eval_*.json")
    result = next(r for r in json.loads(report_path.read_text())["results"] if not r["reranked"])
    assert 0 < result["mean"]["mAP"] <= 1  # the report stores fractions
    assert main(["runs", "list"]) == 0
    row = _table(capsys)[run_path.name]
    assert (row["steps"], row["finished"]) == ("3/3", "yes")
    # runs list shows percent: 100 x the report's fraction, the numbers evaluate printed
    assert float(row["R1"]) == pytest.approx(100 * result["mean"]["R1"], abs=0.051)
    assert float(row["mAP"]) == pytest.approx(100 * result["mean"]["mAP"], abs=0.051)
    printed = next(ln for ln in table.splitlines() if ln.startswith(final.stem))
    r1, _, _, mean_ap = (float(v) for v in printed.split("|")[1].split()[:4])
    assert float(row["R1"]) == pytest.approx(r1, abs=0.051)
    assert float(row["mAP"]) == pytest.approx(mean_ap, abs=0.051)
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


def test_percent_converts_fractions_and_refuses_percentages():
    from tsgan.units import percent

    assert percent(0.4125) == pytest.approx(41.25) and percent(0) == 0 and percent(1) == 100
    with pytest.raises(ValueError, match="fraction in \\[0, 1\\], got 41.25"):
        percent(41.25)  # a percentage already: converting it again would show 4125
    assert percent(float("nan")) != percent(float("nan"))


def test_a_run_with_an_unreadable_config_is_listed_not_fatal(tmp_path, capsys):
    cfg = get_config("cpu")
    RunDir(tmp_path / "cache" / "teacher-cpu-0000000001").create(cfg)
    cut = tmp_path / "cache" / "tsgan-cpu-0000000002"
    RunDir(cut).create(cfg)
    (cut / "config.json").write_text("")  # a full disk while it was written
    assert main(["runs", "list", "--root", str(tmp_path)]) == 0
    rows = _table(capsys)
    assert rows["tsgan-cpu-0000000002"]["preset"] == "? (config.json unreadable)"
    assert rows["tsgan-cpu-0000000002"]["steps"] == "0/?"
    assert rows["teacher-cpu-0000000001"]["preset"] == "cpu"
