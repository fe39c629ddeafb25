"""Run keys that must never move: cached runs and committed results are found by them.

``tests/data/run_keys.json`` holds the keys today's code gives the presets' runs, every ablation
row (``ROWS`` and ``DECISION_ROWS``, seeds 0 and 1 on the cpu preset, seed 0 on the paper
preset), every validation setting, the notebooks' configs and the CycleGAN demo's run. It was
written by ``python tests/test_run_keys.py --write`` before the config's field metadata became the
one definition of a run, and must only be rewritten on purpose (a change that moves keys retrains
every cached run; say so in the commit). The committed ``results/ablation_cpu.json`` (and
``results/ablation_cpu_v4.json``) is checked
against the code directly: each record's ``run_key`` (and its teacher's) must be what the code
computes for that row, seed and the document's config, as ``ablate --recheck`` requires.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tsgan.config import from_dict, get_config
from tsgan.experiments.ablate import DECISION_ROWS, ROWS, select_rows
from tsgan.experiments.ablate_report import load_results
from tsgan.experiments.cyclegan_demo import cyclegan_key
from tsgan.experiments.validation import DECISIONS
from tsgan.paths import REPO_ROOT
from tsgan.training import KINDS, run_key

PINNED = Path(__file__).parent / "data" / "run_keys.json"

# The notebooks' configs (each notebook's get_config call with its overrides)
NOTEBOOK_CONFIGS = {
    "cpu": [],
    "cpu rerank": ["eval.rerank=true", "eval.trials=10", "data.cache=false"],
    "cpu ordinary": ["model.discriminator=ordinary", "data.P=4", "data.K=2"],
    "cpu one epoch": ["optim.epochs=1", "optim.gan_warmup_epochs=0"],
}


def current_keys() -> dict[str, str]:
    """Every pinned run key as today's code computes it, by a readable name."""
    keys: dict[str, str] = {}
    for preset in ("cpu", "paper"):
        cfg = get_config(preset)
        for kind in KINDS:
            keys[f"{preset} {kind}"] = run_key(cfg, kind)
        cfg = get_config(preset, ["data.dataset=sysu", "data.root=/data/SYSU-MM01"])
        keys[f"{preset} sysu tsgan"] = run_key(cfg, "tsgan")
        keys[f"{preset} sysu teacher"] = run_key(cfg, "teacher")
    for preset, seeds in (("cpu", (0, 1)), ("paper", (0,))):
        base = get_config(preset)
        for row in ROWS + DECISION_ROWS:
            for seed in seeds:
                cfg = row.config(base, seed)
                keys[f"{preset} row {row.key} seed {seed}"] = run_key(cfg, "tsgan")
                keys[f"{preset} row {row.key} seed {seed} teacher"] = run_key(cfg, "teacher")
    base = get_config("cpu")
    for decision in DECISIONS.values():
        for setting in decision.settings:
            for seed in (0, 1):
                cfg = setting.config(base, seed)
                name = f"cpu validate {decision.key} {setting.key} seed {seed}"
                keys[name] = run_key(cfg, "tsgan")
                keys[f"{name} teacher"] = run_key(cfg, "teacher")
    for name, overrides in NOTEBOOK_CONFIGS.items():
        cfg = get_config("cpu", overrides)
        for kind in KINDS:
            keys[f"notebook {name} {kind}"] = run_key(cfg, kind)
    gan = get_config("cpu", NOTEBOOK_CONFIGS["cpu ordinary"])
    keys["notebook 03 cyclegan"] = cyclegan_key(gan, 160, (0, 40, 160))
    return keys


def test_run_keys_did_not_move():
    pinned = json.loads(PINNED.read_text())
    now = current_keys()
    assert sorted(now) == sorted(pinned), "the pinned set changed: rewrite it on purpose"
    moved = {k: (pinned[k], now[k]) for k in pinned if now[k] != pinned[k]}
    assert not moved, f"run keys moved (pinned, now): {moved}"


def test_pinned_keys_tell_runs_apart():
    """The pin is worth something: the rows' keys differ where their configs do."""
    pinned = json.loads(PINNED.read_text())
    rows = {k: v for k, v in pinned.items() if k.startswith("cpu row") and "teacher" not in k}
    # jd and jd-rerank train one model; everything else is its own run
    distinct = {v for k, v in rows.items() if " jd-rerank " not in k}
    assert len(distinct) == len(rows) - 2


@pytest.mark.parametrize("name", ["ablation_cpu.json", "ablation_cpu_v4.json"])
def test_committed_ablation_keys_are_todays(name):
    """``results/ablation_cpu.json`` (and the same recipe in world v4) names its runs by keys this
    code still computes."""
    doc = load_results(REPO_ROOT / "results" / name)
    base = from_dict(doc["config"])
    assert doc["records"]
    for record in doc["records"]:
        (row,) = select_rows([record["row"]])
        cfg = row.config(base, record["seed"])
        assert record["run_key"] == run_key(cfg, "tsgan"), (record["row"], record["seed"])
        assert record["run"].endswith(record["run_key"])
        if record["teacher"] is not None:
            assert record["teacher"]["run_key"] == run_key(cfg, "teacher")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_run_keys.py --write  (rewrites the pinned keys)")
    PINNED.parent.mkdir(exist_ok=True)
    PINNED.write_text(json.dumps(current_keys(), indent=1, sort_keys=True) + "\n")
