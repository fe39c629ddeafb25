"""Automatic checks for the course exercises (see ``tsgan.assignments`` and docs/TEACHING.md).

Each ``check_*`` function runs the student's function and the package's reference on seeded
inputs and edge cases, and either prints a one-line verdict or raises :class:`CheckFailed` naming
the case that failed with the expected and the obtained value. A stub that was never filled in
raises :class:`ExerciseNotDone`, which the checks turn into a message that says what to do.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch


class ExerciseNotDone(NotImplementedError):
    """Raised by the stub that replaces a solution region in a student notebook."""

    def __init__(self, name: str = "exercise"):
        super().__init__(
            f"Exercise '{name}' is not done yet: write your code where the TODO is in the cell above, "
            "run that cell, then run this check again."
        )
        self.name = name


class CheckFailed(AssertionError):
    """The student's result differs from the reference on a named case."""


def _fmt(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return np.array2string(np.asarray(x, dtype=float), precision=4, threshold=12)
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def rel_error(a: Any, b: Any) -> float:
    """max |a - b| / max(1e-8, |a| + |b|), elementwise: the classic cs231n-style check."""
    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def run_cases(name: str, student: Callable, reference: Callable, cases: list[tuple[str, tuple, dict]],
              tol: float = 1e-5) -> int:
    """Compare ``student(*args, **kw)`` with ``reference(*args, **kw)`` on every case; print the verdict."""
    for case, args, kwargs in cases:
        expected = reference(*args, **kwargs)
        try:
            got = student(*args, **kwargs)
        except ExerciseNotDone as err:
            raise ExerciseNotDone(err.name if err.name != "exercise" else name) from None
        _compare(name, case, expected, got, tol)
    print(f"check {name}: all {len(cases)} cases passed")
    return len(cases)


def _compare(name: str, case: str, expected: Any, got: Any, tol: float) -> None:
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) < set(expected):
            raise CheckFailed(f"{name}, case '{case}': expected a dict with keys {sorted(expected)}, got {_fmt(got)}")
        for key in expected:
            _compare(name, f"{case}[{key!r}]", expected[key], got[key], tol)
        return
    if isinstance(expected, (tuple, list)) and not isinstance(expected, torch.Tensor):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise CheckFailed(f"{name}, case '{case}': expected a sequence of {len(expected)} items, got {_fmt(got)}")
        for k, (e, g) in enumerate(zip(expected, got)):
            _compare(name, f"{case}[{k}]", e, g, tol)
        return
    if isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor) and got.shape != expected.shape:
        raise CheckFailed(f"{name}, case '{case}': expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    err = rel_error(expected, got)
    if not err <= tol:
        raise CheckFailed(
            f"{name}, case '{case}': expected {_fmt(expected)}, got {_fmt(got)} (relative error {err:.2e} > {tol:g})"
        )
