"""The notebooks' set-up cell: silent in a checkout, clone + install + data anywhere else."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tsgan.notebook_setup import CLONE_DIR, MARKER, REPOSITORY_URL, colab_url, setup_cell_source

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Runs the cell's source with subprocess.run replaced by a recorder (a fake git clone creates the
# folders the cell then enters), and prints the calls and where the cell left the process.
DRIVER = """
import json, os, subprocess, sys
calls = []
def fake_run(cmd, check=False, **kwargs):
    calls.append([("PYTHON" if c == sys.executable else c) for c in cmd])
    if cmd[:2] == ["git", "clone"]:
        os.makedirs(os.path.join(cmd[-1], "notebooks"))
    return subprocess.CompletedProcess(cmd, 0)
subprocess.run = fake_run
exec(compile(sys.stdin.read(), "setup-cell", "exec"), {})
print(json.dumps({"calls": calls, "cwd": os.getcwd(), "path0": sys.path[0]}))
"""


def run_cell(cwd: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-I", "-c", DRIVER],
        input=setup_cell_source(),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_starts_with_the_current_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source == setup_cell_source(), (
        f"{path.name}: run `python tools/notebook_setup.py` to write the current set-up cell"
    )
    assert sum(MARKER in c.source for c in nb.cells) == 1


def test_outside_a_checkout_it_clones_installs_and_generates_the_data(tmp_path):
    result = run_cell(tmp_path)
    assert result["calls"] == [
        ["git", "clone", "--depth", "1", REPOSITORY_URL, CLONE_DIR],
        ["PYTHON", "-m", "pip", "install", "-q", "-e", CLONE_DIR],
        [
            "PYTHON",
            "-m",
            "tsgan",
            "data",
            "summary",
            "--dataset",
            "synthetic",
            "--root",
            "data/synthetic_sysu",
        ],
    ]
    clone = (tmp_path / CLONE_DIR).resolve()
    assert Path(result["cwd"]).resolve() == clone / "notebooks"
    assert Path(result["path0"]).resolve() == clone  # tsgan importable in this very kernel


def test_a_second_run_does_not_clone_again(tmp_path):
    (tmp_path / CLONE_DIR / "notebooks").mkdir(parents=True)
    calls = run_cell(tmp_path)["calls"]
    assert [c[:2] for c in calls] == [["PYTHON", "-m"], ["PYTHON", "-m"]]


def test_inside_a_checkout_it_does_nothing():
    result = run_cell(ROOT / "notebooks")
    assert result["calls"] == []
    assert Path(result["cwd"]).resolve() == (ROOT / "notebooks").resolve()


def test_readme_has_colab_badges_only_for_a_configured_repository():
    """Badges point at a repository address: one per notebook when pyproject's [project.urls]
    names the repository, none while it does not (an address nobody confirmed is a dead link)."""
    import tomllib

    readme = (ROOT / "README.md").read_text()
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("urls", {})
    repository = urls.get("Repository") or urls.get("Source")
    if repository is None:
        assert "colab.research.google.com" not in readme, "README: a Colab badge without a URL"
        return
    assert repository == REPOSITORY_URL, "REPOSITORY_URL must be pyproject's [project.urls]"
    for path in NOTEBOOKS:
        assert f"]({colab_url(path.name)})" in readme, (
            f"README: no Open in Colab link to {path.name}"
        )
