"""The committed validation results (results/validation/) and the README's sentences about them.

The recipe decisions are measured on the validation identities; this test checks that every file
was scored there, and recomputes each number the README quotes from the records (paired by seed,
tsgan.stats), so a regenerated file cannot leave the README behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsgan.stats import mean_ci, paired_difference

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT / "results" / "validation"


def per_seed(name: str, setting: str, metric: str = "R1") -> dict[int, float]:
    doc = json.loads((VAL / f"{name}.json").read_text())
    return {r["seed"]: r[metric] for r in doc["records"] if r["row"] == setting}


@pytest.mark.parametrize("path", sorted(VAL.glob("*.json")), ids=lambda p: p.stem)
def test_every_validation_file_was_trained_and_scored_on_the_validation_ids(path):
    doc = json.loads(path.read_text())
    assert doc["config"]["data"]["split"] == "val"
    assert doc["records"] and all(r["provenance"] for r in doc["records"])
    if "chance" in doc:  # an ablation's file: chance on the validation gallery identities
        # v3: 40 of its 150 train + val identities; v4: 50 of its 200 (data.synth_train_ids)
        ids = {"v3": 40, "v4": 50}[doc["config"]["data"].get("world", "v3")]
        assert doc["chance"]["gallery_identities"] == ids


def _d(a, b, signed=True):
    d = paired_difference(a, b)
    fmt = "{:+.1f}" if signed else "{:.1f}"
    return d, fmt.format(d["mean"]), "[{:+.1f}, {:+.1f}]".format(*d["ci"]) if d["ci"] else ""


def test_the_readme_quotes_the_validation_files():
    readme = " ".join((ROOT / "README.md").read_text().split())
    backbone = per_seed("backbone", "backbone")
    _, m, ci = _d(per_seed("xi-reading", "never"), per_seed("xi-reading", "joined"))
    assert f"{m} R1 {ci}" in readme
    _, m, ci = _d(per_seed("xi-reading", "never", "mAP"), per_seed("xi-reading", "joined", "mAP"))
    assert f"{m} mAP {ci}" in readme
    _, m, ci = _d(per_seed("xi-reading", "never"), backbone)
    assert f"{m} R1 {ci}" in readme
    _, m, ci = _d(per_seed("xi-reading", "joined"), backbone)
    assert f"instead of {m} {ci}" in readme
    _, m, ci = _d(per_seed("ts-weight-twins", "x100"), backbone)
    assert f"{m} R1 {ci} above the Backbone" in readme
    _, m, ci = _d(per_seed("twins-no-ts", "x1"), backbone)
    assert f"add {m} {ci} (3 seeds)" in readme
    gains = [_d(per_seed(f"twins-degraded-{k}", "x100"), backbone)[1] for k in (1, 2, 3, 4)]
    assert f"gains {' / '.join(gains)} R1 over the Backbone" in readme
    _, m, _ = _d(per_seed("ts-weight", "x10"), per_seed("ts-weight", "x1"))
    assert f"10x the TS weights lose {m.lstrip('-')} R1 (2 seeds)" in readme and m.startswith("-")
    d, m, ci = _d(per_seed("student-init", "pretrained"), per_seed("student-init", "teacher"))
    assert f"{m} R1 {ci} below starting from the IR teacher's weights" in readme
    assert d["n"] == 3 and d["mean"] < 0 and d["ci"][0] < 0 < d["ci"][1]
    d, m, ci = _d(per_seed("warmup", "linear-2"), per_seed("warmup", "none"))
    assert f"{m} R1 {ci} (3 seeds): no effect measured" in readme
    twice, m24, ci24 = _d(per_seed("steps", "24"), per_seed("steps", "12"))
    thrice, m36, ci36 = _d(per_seed("steps", "36"), per_seed("steps", "12"))
    assert f"{m24} R1 {ci24} and {m36} R1 {ci36} (3 seeds): nothing measured" in readme
    assert all(d["n"] == 3 and d["ci"][0] < 0 < d["ci"][1] for d in (twice, thrice))
    assert d["n"] == 3 and d["ci"][0] < 0 < d["ci"][1]


def test_the_chosen_reading_wins_on_every_seed_and_its_interval_excludes_zero():
    """The decision recorded in docs/ARCHITECTURE.md, recomputed: 'never' over 'joined'."""
    for metric in ("R1", "mAP"):
        d = paired_difference(
            per_seed("xi-reading", "never", metric), per_seed("xi-reading", "joined", metric)
        )
        assert d["n"] == 5 and d["ci"][0] > 0
    assert mean_ci(list(per_seed("backbone", "backbone").values()))["n"] == 5
