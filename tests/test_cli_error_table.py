"""Every user-fixable error through the real command line: ``python -m tsgan ...`` in a subprocess
ends with exit code 2 and exactly one line ``error: ...`` on stderr that names the option the user
typed, and leaves nothing behind (no finished run, no run folder in ``runs list``, no output
file).

Operating-system faults (a read-only folder, a full disk, a missing optional package) come from
``tests/faults/sitecustomize.py``, loaded only by the subprocess of that case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_helpers import random_teacher, tiny_config, tiny_dataset
from test_cli import _overrides

from tsgan.__main__ import error_line, is_user_error, parse_command, worker_message
from tsgan.cli import ablate as ablate_cli
from tsgan.cli import train as train_cli
from tsgan.data.records import DatasetError
from tsgan.paths import REPO_ROOT

FAULTS = Path(__file__).resolve().parent / "faults"
CUDA = torch.cuda.is_available()


def tsgan(argv: list, runs: Path, fault: str = "") -> subprocess.CompletedProcess:
    """``python -m tsgan ARGV`` with this checkout's code, runs under ``runs``, one thread."""
    path = [str(REPO_ROOT)] + ([str(FAULTS)] if fault else [])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "TSGAN_RUNS": str(runs),
        "TSGAN_PROGRESS": "off",
        "OMP_NUM_THREADS": "1",
        "TSGAN_FAULT": fault,
    }
    env.pop("TSGAN_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "tsgan", *map(str, argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def corrupt(path: Path) -> Path:
    path.write_bytes(b"\xff\xd8\xff\xe0 not the rest of a JPEG")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny SYSU tree, its config as overrides, a checkpoint (random weights, no training), the
    same with ``data.workers=2``, a folder of images with one corrupt JPEG, a tree with one."""
    tmp = tmp_path_factory.mktemp("world")
    root = tiny_dataset(tmp)
    cfg = tiny_config(root)
    bad_root = tiny_dataset(tmp / "bad")
    bad_image = corrupt(sorted((bad_root / "cam1").rglob("*.jpg"))[0])
    images = tmp / "images"
    images.mkdir()
    for i, src in enumerate(sorted((root / "cam1").rglob("*.jpg"))[:3]):
        (images / f"{i}.jpg").write_bytes(src.read_bytes())
    corrupt(images / "3.jpg")
    return {
        "tmp": tmp,
        "args": _overrides(cfg),
        "ckpt": random_teacher(cfg, tmp / "ckpt" / "teacher.pt"),
        "ckpt_workers": random_teacher(
            tiny_config(root, **{"data.workers": 2}), tmp / "ckpt" / "workers.pt"
        ),
        "images": images,
        "bad_root": bad_root,
        "bad_image": bad_image,
    }


def _cases(w: dict, tmp: Path) -> dict:
    """name -> (argv, fault, what the line must contain, what it must not)."""
    args, ckpt = w["args"], w["ckpt"]
    out_dir = tmp / "outputs"
    out_dir.mkdir()
    readonly = tmp / "readonly"
    readonly.mkdir()
    bad_tree = [a for a in args if not a.startswith("data.root=")] + [f"data.root={w['bad_root']}"]
    search = ["search", "--checkpoint", ckpt, "--query", w["images"], "--gallery", w["images"]]
    return {
        "export --out a folder": (
            ["export", "--checkpoint", ckpt, "--format", "torchscript", "--out", out_dir],
            "",
            ["--out", str(out_dir), "is a folder"],
            [],
        ),
        "ONNX extra missing": (
            ["export", "--checkpoint", ckpt, "--format", "onnx", "--out", tmp / "m.onnx"],
            "no-module:onnxscript",
            ["--format onnx", "onnxscript", 'pip install -e ".[export]"'],
            [],
        ),
        "train.device=cuda without CUDA": (
            ["train-teacher", *args, "train.device=cuda"],
            "",
            ["train.device=cuda", "CUDA is not available"],
            [],
        ),
        "train.device=gpu": (
            ["train-teacher", *args, "train.device=gpu"],
            "",
            ["train.device=gpu", "is not a device"],
            [],
        ),
        "extract --device cuda without CUDA": (
            ["extract", "--checkpoint", ckpt, "--images", w["images"], "--out", tmp / "f.pt"]
            + ["--device", "cuda"],
            "",
            ["--device cuda", "CUDA is not available"],
            ["train.device"],
        ),
        "extract --out a folder": (
            ["extract", "--checkpoint", ckpt, "--images", w["images"], "--out", out_dir],
            "",
            ["--out", str(out_dir), "is a folder"],
            [],
        ),
        "read-only run folder": (
            ["train-teacher", *args, "--run-dir", readonly / "run"],
            f"readonly:{readonly}",
            [str(readonly / "run"), "Read-only file system", "--run-dir"],
            [],
        ),
        "full disk": (
            ["train-teacher", *args, "--run-dir", tmp / "full" / "run"],
            f"enospc:{tmp / 'full'}",
            ["No space left on device", "resumes from its last checkpoint"],
            [],
        ),
        "corrupt JPEG, data.workers=2 (training)": (
            ["train-teacher", *bad_tree, "data.workers=2"],
            "",
            [str(w["bad_image"].relative_to(w["bad_root"])), "does not decode"],
            ["Caught", "worker"],
        ),
        "corrupt JPEG in a DataLoader worker (extract)": (
            ["extract", "--checkpoint", w["ckpt_workers"], "--images", w["images"]]
            + ["--out", tmp / "w.pt"],
            "",
            [str(w["images"] / "3.jpg"), "is corrupt or not an image"],
            ["Caught", "worker process", "Traceback"],
        ),
        "--trials 0": (
            ["evaluate", "--checkpoint", ckpt, "--trials", "0"],
            "",
            ["--trials", "at least 1, got 0"],
            [],
        ),
        "--k1 -5": ([*search, "--out", tmp / "r.png", "--k1", "-5"], "", ["--k1", "got -5"], []),
        "--stop-at-step -1": (
            ["train-teacher", *args, "--stop-at-step", "-1"],
            "",
            ["--stop-at-step", "got -1"],
            [],
        ),
        "unknown field before an option, override after it": (
            ["train", "optim.lrr=1", "--run-dir", tmp / "r", "optim.lr=1"],
            "",
            ["unknown config field 'optim.lrr'"],
            ["unrecognized arguments"],
        ),
    }


def _names() -> list[str]:
    """The cases of :func:`_cases`, listed for parametrisation (the test checks both agree)."""
    return [
        "export --out a folder",
        "ONNX extra missing",
        "train.device=cuda without CUDA",
        "train.device=gpu",
        "extract --device cuda without CUDA",
        "extract --out a folder",
        "read-only run folder",
        "full disk",
        "corrupt JPEG, data.workers=2 (training)",
        "corrupt JPEG in a DataLoader worker (extract)",
        "--trials 0",
        "--k1 -5",
        "--stop-at-step -1",
        "unknown field before an option, override after it",
    ]


def _short(argv: list, world: dict) -> list:
    """``argv`` with the tiny config's overrides as one placeholder (for the printed table)."""
    tiny = set(world["args"])
    out = [a for a in argv if str(a) not in tiny or a == argv[0]]
    return out[:1] + ["<tiny>"] + out[1:] if len(out) < len(argv) else out


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", _names())
def test_user_error_is_one_line_exit_2_and_leaves_nothing(name, world, tmp_path, capsys):
    if CUDA and "cuda" in name:
        pytest.skip("this machine has CUDA")
    if "full disk" in name and not Path("/proc/self/fd").is_dir():
        pytest.skip("the full-disk fault maps file descriptors through /proc")
    cases = _cases(world, tmp_path)
    assert sorted(cases) == sorted(_names())
    argv, fault, wanted, unwanted = cases[name]
    before = _files(tmp_path) | _files(world["tmp"])
    runs = tmp_path / "runs"
    done = tsgan(argv, runs, fault)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    line = done.stderr.rstrip("\n")
    assert all(w in line for w in wanted), line
    assert not any(u in line for u in unwanted), line

    # nothing left behind: no finished run, no new output, no run folder in `runs list`
    new = (_files(tmp_path) | _files(world["tmp"])) - before
    assert not [p for p in new if p.name == "final.pt" or p.suffix in (".onnx", ".png")], new
    assert not [p for p in new if p.name.endswith(".tmp")], new
    assert not [p for p in new if p.suffix == ".pt" and p.parent.name != "checkpoints"], new
    from tsgan.__main__ import main

    capsys.readouterr()
    assert main(["runs", "list", "--root", str(runs)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("no cached runs under"), listing
    shown = " ".join("<tiny overrides>" if a == "<tiny>" else str(a) for a in _short(argv, world))
    shown = shown.replace(str(tmp_path), "<tmp>").replace(str(world["tmp"]), "<data>")
    print(f"| {name} | `{shown}` | {done.returncode} | `{line}` |")  # pytest -rA shows the table
    if name == "full disk":  # stopped at its first checkpoint write: unfinished, resumable
        run = tmp_path / "full" / "run"
        assert (run / "config.json").is_file() and not (run / "checkpoints" / "final.pt").exists()


def test_debug_shows_the_whole_traceback_of_a_user_error(world, tmp_path):
    argv = ["--debug", "extract", "--checkpoint", world["ckpt_workers"], "--images"]
    done = tsgan([*argv, world["images"], "--out", tmp_path / "w.pt"], tmp_path / "runs")
    assert done.returncode == 1 and "Traceback (most recent call last)" in done.stderr
    assert "DatasetError" in done.stderr and "DataLoader worker process" in done.stderr


def test_a_bug_in_a_worker_keeps_its_traceback():
    """A worker's non-user error (a bug) is not shortened; a user error is shortened to the
    worker's own message, whatever the module path the traceback prints."""

    class Broken(torch.utils.data.Dataset):
        def __init__(self, err: Exception) -> None:
            self.err = err

        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int):
            raise self.err

    def first_error(err: Exception) -> Exception:
        loader = torch.utils.data.DataLoader(Broken(err), num_workers=1)
        with pytest.raises(type(err)) as info:
            next(iter(loader))
        return info.value

    user = first_error(DatasetError("image /x/1.jpg is corrupt; replace it"))
    assert "Caught DatasetError in DataLoader worker process 0" in str(user)
    assert is_user_error(user)
    assert error_line(user) == "error: image /x/1.jpg is corrupt; replace it"
    bug = first_error(ZeroDivisionError("a bug"))
    assert not is_user_error(bug)
    key = first_error(KeyError("no such field 'x'"))  # torch re-wraps KeyError's message too
    assert error_line(key) == "error: no such field 'x'"
    assert worker_message("plain message\nsecond line") == "plain message\nsecond line"


def test_os_errors_a_user_fixes_are_user_errors_others_are_not():
    import errno

    full = OSError(errno.ENOSPC, "No space left on device")
    assert is_user_error(full) and "No space left on device" in error_line(full)
    ro = OSError(errno.EROFS, "Read-only file system", "/data/run")
    assert error_line(ro).startswith("error: cannot write /data/run: Read-only file system; ")
    assert not is_user_error(OSError(errno.EIO, "Input/output error"))


def _parser(module):
    import argparse

    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser


def test_overrides_anywhere_on_the_line_in_their_order():
    args = parse_command(
        _parser(train_cli),
        ["optim.lr=1", "--run-dir", "X", "optim.epochs=3", "--teacher", "t.pt", "optim.lr=2"],
    )
    assert args.overrides == ["optim.lr=1", "optim.epochs=3", "optim.lr=2"]
    assert (args.run_dir, args.teacher) == ("X", "t.pt")
    # an override swallowed by an option of several values goes back, in the line's order
    line = ["optim.lr=1", "--rows", "backbone", "jd", "optim.lr=2", "--seeds", "1", "optim.lr=3"]
    args = parse_command(_parser(ablate_cli), line)
    assert args.rows == ["backbone", "jd"] and args.seeds == 1
    assert args.overrides == ["optim.lr=1", "optim.lr=2", "optim.lr=3"]
