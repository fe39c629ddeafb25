"""One folder per run: the resolved config, a metrics log, checkpoints and figures.

::

    <run>/config.json          the resolved Config (reload with Config.load)
    <run>/metrics.jsonl        one JSON object per line:
                               {"kind": "step" | "epoch" | ..., "step": ..., losses}
    <run>/provenance.jsonl     per start or resume: version, git commit, command line, machine
    <run>/inputs.json          inputs beside the config (the teacher checkpoint's sha256 when a
                               file was given), compared like the config when the run resumes
    <run>/.lock                the run's lock file: the PID holding it (tsgan.training.run_lock)
    <run>/checkpoints/last.pt  everything needed to resume exactly (written atomically)
    <run>/checkpoints/final.pt the finished model (written last: its presence marks a finished run)
    <run>/figures/             plots written by the run
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config, replace, run_fields


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
    def inputs_path(self) -> Path:
        return self.path / "inputs.json"

    @property
    def finished(self) -> bool:
        """``final.pt`` is present (it is written last); :meth:`steps_done` says how far the log
        went."""
        return self.final.is_file()

    @property
    def trained(self) -> bool:
        """Finished after at least one step: a ``final.pt`` without any logged step (a training of
        0 epochs, refused since) is not a trained run."""
        return self.finished and self.steps_done() > 0

    def steps_done(self) -> int:
        """The last global step in the log (0 when nothing was logged)."""
        return max((r.get("step", 0) for r in self.read_metrics()), default=0)

    def check(
        self,
        cfg: Config,
        inputs: dict[str, Any] | None = None,
        same: Callable[[Config, Config], bool] | None = None,
    ) -> None:
        """Refuse to continue a run that holds another config or other inputs (nothing is written).

        ``inputs``: what else the run trains from (e.g. the teacher file's digest); a run folder
        without ``inputs.json`` was trained from the default inputs (``{}``). ``same(saved, cfg)``:
        whether two configs make the same run (its key, :func:`tsgan.training.same_run`); without
        it every field that can change the run counts (:func:`tsgan.config.run_fields`: the config's
        field metadata; device, logging, probes and evaluation may differ).
        """
        if not self.config_path.is_file():
            return
        saved = type(cfg).load(self.config_path)
        old, new = run_fields(saved), run_fields(cfg)
        diff = sorted(k for k, v in new.items() if old.get(k) != v)
        if same is not None:
            if same(saved, cfg):
                diff = []
            else:  # name the fields that change the run, not those that only differ
                alone = {k: replace(saved, **{k.replace(".", "__"): new[k]}) for k in diff}
                diff = [k for k in diff if not same(saved, alone[k])] or diff
        if diff:
            shown = "; ".join(f"{k} is {old.get(k)!r} there, {new[k]!r} here" for k in diff[:3])
            more = f" (and {len(diff) - 3} more)" if len(diff) > 3 else ""
            raise ValueError(
                f"run folder {self.path} already holds a run with another config (differs in "
                f"{diff}: {shown}{more}); resume it with its own config, or start fresh with "
                "another --run-dir (or delete the folder)"
            )
        recorded = self.read_inputs()
        given = dict(inputs or {})
        if recorded != given:
            keys = sorted(k for k in set(recorded) | set(given) if recorded.get(k) != given.get(k))
            shown = "; ".join(
                f"{k} is {recorded.get(k, 'the default')!r} there, "
                f"{given.get(k, 'the default')!r} here"
                for k in keys
            )
            raise ValueError(
                f"run folder {self.path} was trained from other inputs ({shown}); resume it with "
                "the same inputs, or start fresh with another --run-dir (or delete the folder)"
            )

    def read_inputs(self) -> dict[str, Any]:
        """The recorded inputs beside the config (``{}``: the defaults)."""
        if not self.inputs_path.is_file():
            return {}
        return json.loads(self.inputs_path.read_text())

    def create(
        self,
        cfg: Config,
        inputs: dict[str, Any] | None = None,
        same: Callable[[Config, Config], bool] | None = None,
    ) -> RunDir:
        """Make the folders and save the config (and ``inputs``); an existing run must have the
        same config and inputs (:meth:`check`)."""
        self.check(cfg, inputs, same)
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.figures.mkdir(exist_ok=True)
        if not self.config_path.is_file():
            cfg.save(self.config_path)
            if inputs:
                self.inputs_path.write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")
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
