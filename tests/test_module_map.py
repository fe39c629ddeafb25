"""docs/ARCHITECTURE.md's module map names every module of ``tsgan/`` and nothing that is gone.

The map is the code block under "## Module map": one entry per top-level module (``name.py``) and
per package (``name/`` or ``name/sub/``), followed by indented continuation lines. A package's
modules are named as words of its entry (``__init__`` excepted).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tsgan"
HEADING = "## Module map"


def map_entries(text: str) -> dict[str, str]:
    """{"losses.py": its text, "data/": its text, "data/synthetic/": ...} from the map's block."""
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    entries: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        m = re.match(r"^  (\S+)\s*(.*)$", line)
        if m:
            current = m.group(1)
            entries[current] = m.group(2)
        elif current and line.startswith("    "):
            entries[current] += " " + line.strip()
    return entries


def problems(text: str, package: Path = PACKAGE) -> list[str]:
    entries = map_entries(text)
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if len(rel.parts) == 1:
            if rel.name != "__init__.py" and rel.name not in entries:
                found.append(f"tsgan/{rel}: no entry in the module map")
            continue
        key = "/".join(rel.parts[:-1]) + "/"
        if key not in entries:
            found.append(f"tsgan/{key}: no entry in the module map")
        elif path.stem != "__init__" and not re.search(rf"\b{path.stem}\b", entries[key]):
            found.append(f"tsgan/{rel}: not named in the map's {key} entry")
    for key in entries:
        target = package / key
        if not (target.is_dir() if key.endswith("/") else target.is_file()):
            found.append(f"module map: {key} does not exist")
    return found


def test_the_module_map_names_every_module():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert len(map_entries(text)) > 20
    assert problems(text) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("  rng.py ", "  rngs.py ", "tsgan/rng.py: no entry"),
        ("(canvas, pose,", "(canvas,", None),  # a word of a description is no module
        (
            "attributes (Identity, Camera)",
            "(Identity, Camera)",
            "synthetic/attributes.py: not named",
        ),
        ("  data/synthetic/ ", "  data/synth/ ", "tsgan/data/synthetic/: no entry"),
    ],
)
def test_a_missing_or_stale_entry_is_reported(old, new, problem):
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert old in text
    found = problems(text.replace(old, new, 1))
    if problem is None:
        assert found == []
    else:
        assert any(problem in f for f in found), found


def test_a_new_module_must_be_mapped(tmp_path):
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    pkg = tmp_path / "tsgan"
    for path in PACKAGE.rglob("*.py"):
        (pkg / path.relative_to(PACKAGE)).parent.mkdir(parents=True, exist_ok=True)
        (pkg / path.relative_to(PACKAGE)).write_text("")
    assert problems(text, pkg) == []
    (pkg / "eval" / "calibrate.py").write_text("")
    assert problems(text, pkg) == ["tsgan/eval/calibrate.py: not named in the map's eval/ entry"]
