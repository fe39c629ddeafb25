"""Benchmarks are code: every ``benchmarks/*.py`` imports what it needs from the package and parses
its arguments, so a rename in ``tsgan/`` cannot break one silently (``--help`` runs the imports and
the argument parser, and nothing else)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "benchmarks").glob("*.py"))


def test_every_benchmark_answers_help():
    assert REPO / "benchmarks" / "bench_loss_scale.py" in SCRIPTS
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    # side by side: each start pays for importing torch
    procs = {
        path.name: subprocess.Popen(
            [sys.executable, str(path), "--help"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in SCRIPTS
    }
    failed = []
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0 or "usage:" not in out:
            failed.append(f"{name}: exit {proc.returncode}\n{err.strip()[-2000:]}")
    assert not failed, "\n\n".join(failed)
