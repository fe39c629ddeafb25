"""One folder per run: the resolved config, a metrics log, checkpoints and figures.

::

    <run>/config.json          the resolved Config (reload with Config.load)
    <run>/metrics.jsonl        one JSON object per line:
                               {"kind": "step" | "epoch" | ..., "step": ..., losses}
    <run>/provenance.jsonl     per start or resume: version, git commit, command line, machine
    <run>/checkpoints/last.pt  everything needed to resume exactly (written atomically)
    <run>/checkpoints/final.pt the finished model (written last: its presence marks a finished run)
    <run>/figures/             plots written by the run
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..config import Config

# Fields that choose where and how a run is recorded (and what it measures on the side), not what it
# computes: a run may be resumed with other values.
_WHERE_NOT_WHAT = {"train.out_dir", "train.log", "train.probe_images", "train.probe_eval"}


class RunDir:
    """Paths and logging of one run folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def final(self) -> Path:
        return self.checkpoints / "final.pt"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def finished(self) -> bool:
        return self.final.is_file()

    def create(self, cfg: Config) -> RunDir:
        """Make the folders and save the config; an existing run must have the same config."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.figures.mkdir(exist_ok=True)
        if self.config_path.is_file():
            old = _flat(Config.load(self.config_path).to_dict())
            diff = {k for k, v in _flat(cfg.to_dict()).items() if old.get(k) != v} - _WHERE_NOT_WHAT
            if diff:
                raise ValueError(
                    f"run folder {self.path} already holds a run with another config "
                    f"(differs in {sorted(diff)}); "
                    "use a new folder to start a new run, or the same config to resume it"
                )
        else:
            cfg.save(self.config_path)
        return self

    def log(self, record: dict[str, Any]) -> None:
        """Append one record to metrics.jsonl (non-finite numbers are written as strings)."""
        clean = {
            k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()
        }
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(clean) + "\n")

    def truncate_log(self, step: int) -> None:
        """Drop log records after global step ``step`` (a resumed run re-logs them)."""
        if not self.metrics_path.is_file():
            return
        keep = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in keep))

    def read_metrics(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The logged records, optionally only those of one ``kind``."""
        if not self.metrics_path.is_file():
            return []
        records = [
            json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()
        ]
        return [r for r in records if kind is None or r.get("kind") == kind]


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
