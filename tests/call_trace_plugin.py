"""A pytest plugin that records which functions of the package each test runs (setup and call).

``python -m pytest -p call_trace_plugin NODEIDS`` with ``TSGAN_CALL_TRACE=<file.json>`` writes
``{nodeid: ["tsgan/losses.py:discriminator_loss", ...]}``: every function or method defined under
``tsgan/`` that ran while the test's fixtures were set up or its body ran (``sys.setprofile``,
so calls through any import alias or from another module count). ``tests/test_docs.py`` uses it to
check that each equation row's test really calls the row's function.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

PACKAGE = str(Path(__file__).resolve().parents[1] / "tsgan") + os.sep
_calls: dict[str, set[str]] = {}


def _profile(into: set[str]):
    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code.co_filename.startswith(PACKAGE):
                rel = code.co_filename[len(PACKAGE) - len("tsgan/") :]
                into.add(f"{rel}:{code.co_qualname}")

    return profile


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    sys.setprofile(_profile(_calls.setdefault(item.nodeid, set())))
    try:
        yield
    finally:
        sys.setprofile(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    sys.setprofile(_profile(_calls.setdefault(item.nodeid, set())))
    try:
        yield
    finally:
        sys.setprofile(None)


def pytest_sessionfinish(session):
    out = os.environ.get("TSGAN_CALL_TRACE")
    if out:
        Path(out).write_text(json.dumps({k: sorted(v) for k, v in _calls.items()}))
