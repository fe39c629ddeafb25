"""One lock per run folder (tsgan.training.run_lock): two commands on one run never train it
together, a killed holder never blocks, and the lock is re-entrant within a process."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from engine_helpers import random_teacher, tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.engine.rundir import RunDir
from tsgan.paths import REPO_ROOT
from tsgan.training import run_lock


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, TSGAN_RUNS=str(tmp_path / "runs"), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return env


def _wait_for(predicate, timeout: float, what: str, procs=()) -> None:
    """Poll ``predicate``; fail after ``timeout`` s, or at once when one of ``procs`` ended."""
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        ended = [p.args for p in procs if p.poll() is not None]
        assert not ended, f"a command ended while waiting for {what}: {ended}"
        time.sleep(0.2)


def test_two_identical_train_commands_train_the_run_once(tmp_path):
    """Both commands start while the run is locked (both say they wait); once it is free, one
    trains and the other finds the finished run: metrics.jsonl holds each step once."""
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.epochs": 2})
    teacher = random_teacher(cfg, tmp_path / "teacher.pt")
    run = RunDir(tmp_path / "g")
    argv = [sys.executable, "-m", "tsgan", "train", "--preset", "cpu", *_overrides(cfg)]
    argv += ["train.log_every=1"]
    argv += ["--run-dir", str(run.path), "--teacher", str(teacher)]
    logs = [tmp_path / f"err{i}.txt" for i in range(2)]
    with run_lock(run):  # hold the run while both start: they must wait, not train
        procs = [
            subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=_env(tmp_path),
                stdout=subprocess.PIPE,
                stderr=log.open("w"),
            )
            for log in logs
        ]
        try:
            _wait_for(
                lambda: all("waiting for run folder" in log.read_text() for log in logs),
                240,
                "both commands to wait for the lock",
                procs,
            )
        except AssertionError:
            for p in procs:
                p.kill()
            raise
        assert all(p.poll() is None for p in procs)  # still waiting, nothing trained
        assert not run.metrics_path.exists()
        assert f"PID {os.getpid()}" in logs[0].read_text()  # the holder is named
    outs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [log.read_text() for log in logs]
    assert all("TS-GAN trained" in out for out in outs)
    steps = [r["step"] for r in run.read_metrics("step")]
    assert steps == list(range(1, 2 * 3 + 1))  # 2 epochs x 3 batches, each once
    assert [r["step"] for r in run.read_metrics("epoch")] == [3, 6]
    assert run.trained


def test_a_killed_holder_does_not_block_and_is_named(tmp_path, capsys):
    run = RunDir(tmp_path / "run")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from tsgan.engine.rundir import RunDir\n"
            "from tsgan.training import run_lock\n"
            f"with run_lock(RunDir({str(run.path)!r})):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(600)\n",
        ],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
    )
    assert holder.stdout.readline().strip() == b"held"
    assert json.loads((run.path / ".lock").read_text())["pid"] == holder.pid
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)
    got = []

    def take():
        with run_lock(run):
            got.append(json.loads((run.path / ".lock").read_text())["pid"])

    t = threading.Thread(target=take)
    t.start()
    t.join(30)
    assert got == [os.getpid()]  # acquired at once, with this process's PID written
    err = capsys.readouterr().err
    assert f"its last holder (PID {holder.pid}" in err and "ended without releasing it" in err
    assert (run.path / ".lock").read_text() == ""  # released cleanly: no PID left behind


def test_the_lock_is_reentrant_and_another_process_waits(tmp_path):
    """Nested run_lock in one process does not deadlock; another holder (a separate open file, as
    another process has) waits until the outermost one ends."""
    import fcntl

    run = RunDir(tmp_path / "run")
    order = []
    with run_lock(run):
        with run_lock(run):
            order.append("nested")

        def other():
            with open(run.path / ".lock", "a") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                order.append("other")

        t = threading.Thread(target=other)
        t.start()
        t.join(0.5)
        order.append("outer done")
    t.join(10)
    assert order == ["nested", "outer done", "other"]


def test_a_failed_start_removes_only_a_folder_it_made(tmp_path):
    made, existing = RunDir(tmp_path / "new"), RunDir(tmp_path / "mine")
    existing.path.mkdir()
    (existing.path / "notes.txt").write_text("a user's file")
    for run in (made, existing):
        try:
            with run_lock(run):
                run.create(tiny_config(tmp_path))
                raise KeyboardInterrupt  # before the first step
        except KeyboardInterrupt:
            pass
    assert not made.path.exists()
    assert (existing.path / "notes.txt").read_text() == "a user's file"


def test_a_waiter_on_a_removed_folder_locks_the_new_one(tmp_path):
    """A process waiting on a run whose holder fails before its first step (and so removes the
    folder) must lock the folder made afresh, not the removed file: else a third process could
    lock the new one alongside it."""
    run = RunDir(tmp_path / "run")
    code = (
        "import json, os\n"
        "from tsgan.engine.rundir import RunDir\n"
        "from tsgan.training import run_lock\n"
        f"run = RunDir({str(run.path)!r})\n"
        "with run_lock(run):\n"
        "    print(json.loads((run.path / '.lock').read_text())['pid'] == os.getpid())\n"
    )
    log = tmp_path / "err.txt"
    with pytest.raises(KeyboardInterrupt):
        with run_lock(run):
            waiter = subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO_ROOT,
                env=_env(tmp_path),
                stdout=subprocess.PIPE,
                stderr=log.open("w"),
            )
            _wait_for(
                lambda: "waiting for run folder" in log.read_text(), 120, "the waiter", [waiter]
            )
            raise KeyboardInterrupt  # fails before its first step: the folder it made goes
    out = waiter.communicate(timeout=120)[0].decode()
    assert waiter.returncode == 0 and out.strip() == "True", log.read_text()
    assert (run.path / ".lock").read_text() == ""  # the waiter released the new file cleanly
