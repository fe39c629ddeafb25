"""environment.yml (conda users) and pyproject.toml (pip, CI) must ask for the same packages."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name


def _parse(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_specs = dict(_parse(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"])
    conda_specs = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^\s+-\s+([^#]+?)\s*(#.*)?$", line)
        if in_deps and m:
            name, spec = _parse(m.group(1))
            if name not in ("python", "pip"):
                conda_specs[CONDA_NAMES.get(name, name)] = spec
    assert conda_specs == pip_specs, (
        "environment.yml and pyproject.toml disagree; edit both together.\n"
        f"only in environment.yml: {sorted(set(conda_specs.items()) - set(pip_specs.items()))}\n"
        f"only in pyproject.toml: {sorted(set(pip_specs.items()) - set(conda_specs.items()))}"
    )


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
