"""Statistics over training seeds: Student-t confidence intervals, paired differences, the band
one more seed should fall in.

With n seeds of a metric (x_1..x_n), mean m and sample standard deviation s (ddof 1):

* 95% confidence interval of the mean: m ± t_{0.975, n-1} s / sqrt(n);
* paired difference of rows A and B trained with the same seeds: d_i = A_i - B_i, the same
  interval for the mean of d; it "excludes zero" when both ends have the same sign. Pairing
  removes what the two rows share per seed (the teacher, the data order);
* prediction interval for one more seed (e.g. a re-run on another machine):
  m ± t_{1-a/2, n-1} s sqrt(1 + 1/n).

t quantiles come from scipy (a dependency of tsgan). One seed gives no interval (None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats


def t_quantile(p: float, dof: int) -> float:
    """The p-quantile of Student's t with ``dof`` degrees of freedom (e.g. 12.706 for 0.975, 1)."""
    if dof < 1:
        raise ValueError(f"Student's t needs >= 1 degree of freedom, got {dof}")
    return float(stats.t.ppf(p, dof))


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, Any]:
    """``n``, ``mean``, ``std`` (ddof 1) and ``ci`` = [low, high], the Student-t ``level``
    confidence interval of the mean (std and ci None for one value)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("mean_ci got no values")
    mean = float(x.mean())
    if x.size == 1:
        return {"n": 1, "mean": mean, "std": None, "ci": None}
    sd = float(x.std(ddof=1))
    half = t_quantile(0.5 + level / 2, x.size - 1) * sd / math.sqrt(x.size)
    return {"n": int(x.size), "mean": mean, "std": sd, "ci": [mean - half, mean + half]}


def paired_difference(
    a: Mapping[int, float], b: Mapping[int, float], level: float = 0.95
) -> dict[str, Any]:
    """Mean and ``level`` CI of a - b over the seeds both have (``a``, ``b``: seed -> value);
    ``excludes_zero``: the interval lies on one side of 0 (None without an interval)."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(
            f"paired difference: no common seeds (a has {sorted(a)}, b has {sorted(b)}); "
            "train both rows with the same seeds"
        )
    diffs = [a[s] - b[s] for s in seeds]
    out = {"seeds": seeds, "diffs": diffs, **mean_ci(diffs, level)}
    ci = out["ci"]
    out["excludes_zero"] = None if ci is None else bool(ci[0] > 0 or ci[1] < 0)
    return out


def prediction_interval(values: Sequence[float], level: float = 0.99) -> list[float] | None:
    """The Student-t ``level`` prediction interval of one more draw from the distribution the
    ``values`` came from: mean ± t_{(1+level)/2, n-1} s sqrt(1 + 1/n); None for one value."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return None
    half = (
        t_quantile(0.5 + level / 2, x.size - 1) * float(x.std(ddof=1)) * math.sqrt(1 + 1 / x.size)
    )
    return [float(x.mean()) - half, float(x.mean()) + half]
