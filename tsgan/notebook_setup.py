"""The first code cell of every notebook: nothing inside a checkout, a full set-up anywhere else.

Why: the course should open on a hosted notebook service (Colab, Binder) as well as in a clone. The
cell cannot import ``tsgan`` (it is what installs it), so it is plain standard-library code,
rendered from :data:`REPOSITORY_URL` (the one place that names the repository) by
:func:`setup_cell_source` and written into the notebooks by ``tools/notebook_setup.py``. Outside a
checkout it clones the repository, installs the package (editable, so data, runs and benchmark
results sit in the clone as in a checkout), generates the embedded data and continues in the
clone's ``notebooks/`` folder; a test checks that every notebook carries the current cell.
"""

from __future__ import annotations

REPOSITORY_URL = "https://github.com/tsgan/tsgan"
BRANCH = "main"
CLONE_DIR = "tsgan-course"  # where a hosted session clones the repository
MARKER = "# Setup: inside a checkout"  # identifies the cell (second line)

_TEMPLATE = """# NBVAL_IGNORE_OUTPUT
{marker} of the repository this cell does nothing. Anywhere else (a hosted service
# such as Colab) it clones the repository, installs the package, generates the embedded data
# and continues in the clone's notebooks/ folder (a few minutes, once per session).
import os, subprocess, sys
from pathlib import Path

REPOSITORY = "{url}"
here = Path.cwd()
if not any((d / "pyproject.toml").is_file() and (d / "tsgan" / "__init__.py").is_file()
           for d in (here, *here.parents)):
    if not Path("{clone}").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "{clone}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "{clone}"], check=True)
    os.chdir("{clone}")
    sys.path.insert(0, os.getcwd())
    subprocess.run([sys.executable, "-m", "tsgan", "data", "summary", "--dataset", "synthetic",
                    "--root", "data/synthetic_sysu"], check=True)
    os.chdir("notebooks")"""


def setup_cell_source() -> str:
    """The source of the set-up cell, with :data:`REPOSITORY_URL` filled in."""
    return _TEMPLATE.format(marker=MARKER, url=REPOSITORY_URL, clone=CLONE_DIR)


def colab_url(notebook: str) -> str:
    """The "Open in Colab" address of ``notebook`` (e.g. ``01_data_exploration.ipynb``)."""
    repo = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/notebooks/{notebook}"
