"""Checkpoints: atomic writes, safe loads, and the deployed student backbone.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(..., weights_only=True)`` (no pickled code runs). Layout used by the trainers::

    {"config": Config.to_dict(), "num_classes": int, "kind": "teacher" | "tsgan",
     "models": {"backbone": state_dict, "G_I": ..., ...},
     "optimizers": {...}, "schedulers": {...}, "scaler": {...},
     "rng": {...}, "position": {"epoch": e, "batch": b, "step": s}}

``load_backbone`` needs only ``config``, ``num_classes`` and ``models["backbone"]``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..config import Config, from_dict, replace
from ..models import build_backbone, build_generators


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, corrupt or not a tsgan checkpoint."""


# mkstemp's names for a checkpoint being written: ``.<name>.<random>.tmp`` in the same folder
_TEMPORARY = ".*.pt.*.tmp"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    A crash at any moment leaves either the previous file or the new one, never a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(
            tmp, 0o666 & ~_umask()
        )  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files :func:`save_checkpoint` leaves when its process is killed
    mid-write (never a checkpoint: those are renamed into place whole). Call it only while no
    other process writes into ``folder`` (under the run's lock)."""
    removed = sorted(Path(folder).glob(_TEMPORARY))
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def file_digest(path: str | Path) -> str:
    """The sha256 of a file's bytes (hex): what identifies a checkpoint given by path."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a bad file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"expected a checkpoint file at {path}, "
            f"found {'a folder' if path.exists() else 'nothing'}"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL (\S+)", str(err))
        if found is None:
            raise _unreadable(path, err) from err
        # weights_only refused a pickled class: a readable file, but not one tsgan wrote
        raise CheckpointError(
            f"{path} is not a tsgan checkpoint (contains objects other than tensors; refused for "
            f"safety): it holds {found.group(1)}; tsgan checkpoints hold only tensors, numbers, "
            "strings, lists and dicts"
        ) from err
    except Exception as err:  # torch raises RuntimeError, EOFError, KeyError, zipfile errors...
        raise _unreadable(path, err) from err
    if not isinstance(state, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(state).__name__}, expected a dict written by tsgan"
        )
    return state


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    """The error for a file torch cannot parse at all (cut short, overwritten, not a torch file)."""
    return CheckpointError(
        f"cannot read checkpoint {path} ({path.stat().st_size} bytes): "
        f"{type(err).__name__}: {err}\n"
        "  the file is truncated or corrupt (or not written by torch.save); "
        "tsgan writes checkpoints "
        "atomically, so this one was damaged after writing. "
        "Delete it and resume from an earlier one, "
        "or retrain."
    )


def checkpoint_config(state: dict[str, Any], path: str | Path = "<state>") -> Config:
    """The run configuration stored in a checkpoint."""
    if "config" not in state:
        raise CheckpointError(
            f"checkpoint {path} has no 'config' entry; keys found: {sorted(state)}"
        )
    return from_dict(state["config"])


def load_backbone(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Config]:
    """The student (or teacher) ReID backbone stored in a checkpoint, in eval mode, with its
    config."""
    return backbone_from_state(load_checkpoint(path, map_location), path, map_location)


def backbone_from_state(
    state: dict[str, Any], path: str | Path = "<state>", map_location: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Config]:
    """:func:`load_backbone` on a checkpoint already loaded (to read its other entries too)."""
    cfg = checkpoint_config(state, path)
    models = state.get("models", {})
    if "backbone" not in models or "num_classes" not in state:
        raise CheckpointError(
            f"checkpoint {path} holds no backbone: "
            "expected keys 'num_classes' and models['backbone'], "
            f"found {sorted(state)} and models {sorted(models)}"
        )
    # the weights come from the checkpoint: no ImageNet initialisation needed
    backbone = build_backbone(replace(cfg, model__pretrained="").model, state["num_classes"])
    backbone.load_state_dict(models["backbone"])
    return backbone.to(map_location).eval(), cfg


# the model fields that shape a backbone's weights (a teacher must match the student in them)
SHAPE_FIELDS = ("arch", "width", "last_stride")


def check_teacher(path: str | Path, cfg: Config, name: str = "teacher") -> None:
    """Refuse a teacher checkpoint whose backbone does not fit the student of ``cfg``.

    The TS losses compare the two networks' feature maps and ``model.student_init=teacher``
    copies the teacher's weights, so every backbone weight must have the student's shape. The
    error names ``name`` (the option the user typed) and the model fields that differ.
    """
    state = load_checkpoint(path)
    models = state.get("models", {})
    if "backbone" not in models or "num_classes" not in state:
        raise CheckpointError(
            f"{name} {path} holds no backbone (networks: {sorted(models)}); "
            "give a checkpoint written by train-teacher"
        )
    theirs = checkpoint_config(state, path).model
    student = _skeleton(replace(cfg, model__pretrained="").model, state["num_classes"])
    ours = student.state_dict()
    weights = models["backbone"]
    bad = sorted(
        k
        for k in set(ours) | set(weights)
        if k not in ours
        or k not in weights
        or tuple(ours[k].shape) != tuple(getattr(weights[k], "shape", ()))
    )
    if not bad:
        return
    fields = [
        f"model.{f}={getattr(theirs, f)!r} there, {getattr(cfg.model, f)!r} here"
        for f in SHAPE_FIELDS
        if getattr(theirs, f) != getattr(cfg.model, f)
    ]
    what = "; ".join(fields) if fields else f"{len(bad)} weights differ, first {bad[0]!r}"
    raise ValueError(
        f"{name} {path} does not fit this run's student ({what}): its backbone must match the "
        "student's; train a teacher with this config (python -m tsgan train-teacher with the "
        "same overrides) or leave the teacher out to use the cached one"
    )


def _skeleton(model_cfg: Any, num_classes: int) -> torch.nn.Module:
    """The backbone of ``model_cfg`` without allocating its weights (shapes only)."""
    with torch.device("meta"):
        return build_backbone(model_cfg, num_classes)


def load_generators(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G_I (RGB -> IR) and G_R (IR -> RGB) of a TS-GAN checkpoint, in eval mode (for figures, paper
    Fig. 5)."""
    state = load_checkpoint(path, map_location)
    models = state.get("models", {})
    if "G_I" not in models or "G_R" not in models:
        raise CheckpointError(
            f"checkpoint {path} holds no generators (networks: {sorted(models)}); "
            "it is a teacher or a train.use_gan=false run"
        )
    G_I, G_R = build_generators(checkpoint_config(state, path).model)
    G_I.load_state_dict(models["G_I"])
    G_R.load_state_dict(models["G_R"])
    return G_I.to(map_location).eval(), G_R.to(map_location).eval()
