"""Where a run came from: package version, git commit, command line and machine, per session.

Each start or resume of a run appends one JSON line to ``<run>/provenance.jsonl``, so a result can
be traced to the code (commit, and whether the tree had uncommitted changes), the command that
produced it and the hardware it ran on (threads and CPU model explain timing differences)::

    {"started": "2026-12-01T21:40:03+00:00", "argv": [...], "tsgan": "0.1.0",
     "git": {"commit": "3783730...", "dirty": false},
     "environment": {"python": "3.11.7", "torch": "2.14.1", "device": "cpu", "threads": 2, ...}}
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..paths import REPO_ROOT

FILE_NAME = "provenance.jsonl"


def git_state(root: Path = REPO_ROOT) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the checkout tsgan runs from; None outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def cpu_model() -> str:
    """The CPU's marketing name (Linux: /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: torch.device | str) -> dict[str, Any]:
    """Python, torch, the device (with the GPU's name), CPU threads and model, the platform."""
    device = torch.device(device)
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    return env


def results_header(fmt: str) -> dict[str, Any]:
    """The first fields of a results file (``fmt``: its format name): when, by which command,
    from which commit, on which machine (the experiments' ablation and validation files)."""
    return {
        "format": fmt,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(sys.argv),
        "git": git_state(),
        "machine": environment("cpu"),
    }


def record_provenance(run_path: str | Path, device: torch.device | str) -> dict[str, Any]:
    """Append this session's record to ``<run>/provenance.jsonl`` and return it."""
    record = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv),
        "tsgan": __version__,
        "git": git_state(),
        "environment": environment(device),
    }
    with (Path(run_path) / FILE_NAME).open("a") as f:
        f.write(json.dumps(record) + "\n")
    return record


def read_provenance(run_path: str | Path) -> list[dict[str, Any]]:
    """Every session record of a run folder (empty when the run predates provenance files)."""
    path = Path(run_path) / FILE_NAME
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def session_summaries(run_path: str | Path) -> list[dict[str, Any]]:
    """Per session of a run: when it started, the commit (and dirty flag) and the machine (CPU
    model, torch, threads, device): what a results file keeps of ``provenance.jsonl``."""
    out = []
    for r in read_provenance(run_path):
        env, git = r.get("environment", {}), r.get("git") or {}
        out.append(
            {
                "started": r.get("started"),
                "commit": git.get("commit"),
                "dirty": git.get("dirty"),
                **{k: env.get(k) for k in ("cpu", "torch", "threads", "device")},
            }
        )
    return out
