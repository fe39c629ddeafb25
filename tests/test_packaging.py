"""environment.yml (conda users) and pyproject.toml (pip, CI) must ask for the same packages."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> PyPI name


def _parse(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    pip_specs = dict(
        _parse(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]
    )
    # setuptools: imported at run time by torch and tensorboard; its range is the build system's
    pip_specs.update(
        _parse(s) for s in pyproject["build-system"]["requires"] if s.startswith("setuptools")
    )
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


def _lock_pins() -> dict[str, str]:
    """requirements.lock as {normalised name: version} (environment markers dropped)."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split(";")[0].strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock line {line!r} is not an exact pin (name==version)"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_lock_pins_every_dependency_inside_its_range():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [
        s for extra in project["optional-dependencies"].values() for s in extra
    ]
    pins = _lock_pins()
    problems = []
    for spec in specs:
        req = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name not in pins:
            problems.append(f"{req.name} is not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}=={pins[name]} is outside {req.specifier}")
    assert not problems, f"requirements.lock is stale ({problems}); regenerate it with `make lock`"
    assert "tsgan" not in pins, (
        "the lock must not pin tsgan itself (make venv installs it editable)"
    )


def test_make_venv_installs_the_lock_then_the_package_without_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -r $(LOCK)" in makefile and "pip install -e . --no-deps" in makefile
    assert "tools/lock.py" in makefile


def test_lock_pins_setuptools_and_lock_py_keeps_it():
    """torch and tensorboard import setuptools at run time: the lock pins it (inside the build
    system's range), and tools/lock.py keeps it from ``pip freeze --all`` (not pip or wheel)."""
    import importlib.util

    from packaging.requirements import Requirement

    pins = _lock_pins()
    (spec,) = [
        s
        for s in tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
        if s.startswith("setuptools")
    ]
    assert "setuptools" in pins and Requirement(spec).specifier.contains(pins["setuptools"])
    assert "pip" not in pins and "wheel" not in pins
    module = importlib.util.spec_from_file_location("lock", ROOT / "tools" / "lock.py")
    lock = importlib.util.module_from_spec(module)
    module.loader.exec_module(lock)
    freeze = "pip==26.3\nsetuptools==84.2.1\nwheel==0.45.0\nTorch==2.14.1\ntsgan==0.1\nab==1\n"
    assert lock.pins_from_freeze(freeze) == ["ab==1", "setuptools==84.2.1", "Torch==2.14.1"]
