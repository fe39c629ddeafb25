"""Where things live: the repository root, the default data, run and cache folders.

Relative paths in configs are resolved against the repository root, so notebooks (whose working
directory is ``notebooks/``), the command line and the tests all see the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_path(path: str | Path) -> Path:
    """Absolute paths pass through; relative ones are taken from the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def runs_dir(out_dir: str = "") -> Path:
    """Run folders: ``out_dir`` (config ``train.out_dir``) when given, else ``$TSGAN_RUNS``, else
    ``<repo>/runs``."""
    return resolve_path(out_dir or os.environ.get("TSGAN_RUNS", "runs"))


def cache_dir(out_dir: str = "") -> Path:
    """Results shared between notebooks, keyed by config ("load if present, else train")."""
    return runs_dir(out_dir) / "cache"
