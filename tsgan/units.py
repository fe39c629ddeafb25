"""Scores as fractions and as percent: the one conversion between the two.

Evaluation reports (``tsgan.eval.report``: CMC, mAP, mINP) store fractions in [0, 1]; tables and
command output show percent. Every printer converts through :func:`percent`, so no number is shown
100x too small (a fraction printed as percent) or 100x too large (a percentage converted twice).
"""

from __future__ import annotations


def percent(fraction: float) -> float:
    """A score stored as a fraction in [0, 1], in percent (NaN stays NaN).

    A value outside [0, 1] is not a fraction (most likely a percentage already): ``ValueError``.
    """
    value = float(fraction)
    if not 0.0 <= value <= 1.0 and value == value:
        raise ValueError(f"expected a score as a fraction in [0, 1], got {value}")
    return 100.0 * value
