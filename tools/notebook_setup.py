"""Write the set-up cell (tsgan.notebook_setup) into every notebook, first among the code cells.

Usage, from the repository root: ``python tools/notebook_setup.py``. An existing set-up cell is
replaced in place (keeping its id), otherwise a new one goes before the first code cell; no other
cell is touched. Run it after changing ``tsgan.notebook_setup``; tests/test_notebook_setup.py checks
that the notebooks carry the current cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsgan.notebook_setup import MARKER, setup_cell_source  # noqa: E402


def write_setup_cell(path: Path) -> bool:
    """Insert or update the set-up cell of one notebook; True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    source = setup_cell_source()
    cell = next((c for c in nb.cells if c.cell_type == "code" and MARKER in c.source), None)
    if cell is not None:
        if cell.source == source:
            return False
        cell.source = source
    else:
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, path)
    return True


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        print(f"{path.name}: {'updated' if write_setup_cell(path) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
