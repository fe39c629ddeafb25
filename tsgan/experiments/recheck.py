"""The CI check of the committed ablation results: re-run one row for one seed and compare.

CPU training is bit-reproducible on one machine but not across CPU models (the same `cpu`-preset
TS-GAN trained on two machines of one kind gave R1 5.75 and 7.36), so the re-run is compared with
the committed row within its seed-to-seed spread, never to the digit. It passes when each checked
metric falls in the 99% Student-t prediction interval of one more seed around the committed
seeds, mean ± t_{0.995, n-1} s sqrt(1 + 1/n) (:func:`.stats.prediction_interval`), widened to at
least ± :data:`FLOOR` points (seeds that agree closely would otherwise leave no room for another
CPU's rounding). A correct reproduction fails it about once in a hundred; a broken pipeline
(scores at chance, a swapped modality) fails it.

The re-run is an ordinary cached run (:func:`.ablate.run_ablation` with the committed config):
from a fresh clone it trains; where the grid was made it reloads the cached run, unless
``out_dir`` points elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import from_dict, replace
from ..stats import prediction_interval
from ..training import run_key
from .ablate import run_ablation, select_rows
from .ablate_report import load_results

FLOOR = 1.0  # percentage points: the narrowest half-width of the acceptance band


def acceptance_band(values: Sequence[float], floor: float = FLOOR) -> list[float]:
    """[low, high]: the 99% prediction interval of one more seed, at least mean ± ``floor``."""
    mean = sum(values) / len(values)
    low, high = prediction_interval(values) or (mean, mean)
    return [min(low, mean - floor), max(high, mean + floor)]


def recheck(
    results: str | Path | Mapping[str, Any],
    row: str,
    seed: int | None = None,
    metrics: Sequence[str] = ("R1", "mAP"),
    out_dir: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train (or load) ``row`` for ``seed`` (default: the row's first committed seed) with the
    committed config of ``results`` (a path or a loaded document), evaluate it, and compare each
    of ``metrics`` with the committed row (:func:`acceptance_band`). ``out_dir``: where its runs
    are cached (default: the usual cache)."""
    doc = results if isinstance(results, Mapping) else load_results(results)
    summary = {s["row"]: s for s in doc["summary"]}
    if row not in summary:
        raise KeyError(f"the results hold no row {row!r}; rows: {sorted(summary)}")
    committed = {r["seed"]: r for r in doc["records"] if r["row"] == row}
    seed = summary[row]["seeds"][0] if seed is None else seed
    base = from_dict(doc["config"])
    if out_dir is not None:
        base = replace(base, train__out_dir=str(out_dir))
    (the_row,) = select_rows([row])
    key = run_key(the_row.config(base, seed), "tsgan")
    if seed in committed and committed[seed]["run_key"] != key:
        raise ValueError(
            f"the committed {row!r} seed {seed} was run {committed[seed]['run_key']}, this code "
            f"makes run {key} from the same config: the code or the embedded data changed what "
            "a run computes; rerun the grid (python -m tsgan ablate) and commit its results"
        )
    (record,) = run_ablation(base, [the_row], [seed], progress)
    checks = {}
    for m in metrics:
        band = acceptance_band([r[m] for r in committed.values()])
        checks[m] = {
            "rerun": record[m],
            "committed_mean": summary[row]["mean"][m],
            "committed_seed": committed[seed][m] if seed in committed else None,
            "band": band,
            "ok": band[0] <= record[m] <= band[1],
        }
    return {
        "row": row,
        "seed": seed,
        "run_key": key,
        "provenance": record["provenance"],
        "checks": checks,
        "ok": all(c["ok"] for c in checks.values()),
    }


def format_recheck(result: Mapping[str, Any]) -> str:
    """Both numbers per metric, the band and the verdict, one line each."""
    lines = [f"re-run of {result['row']} seed {result['seed']} (run {result['run_key']}):"]
    for m, c in result["checks"].items():
        same = (
            ""
            if c["committed_seed"] is None
            else f", this seed committed {c['committed_seed']:.2f}"
        )
        lines.append(
            f"  {m}: re-run {c['rerun']:.2f}, committed mean {c['committed_mean']:.2f}{same}; "
            f"band [{c['band'][0]:.2f}, {c['band'][1]:.2f}]: {'ok' if c['ok'] else 'OUTSIDE'}"
        )
    return "\n".join(lines)
