"""``python -m tsgan validate``: settings on the validation split, cached runs per (setting,
seed), --cached-only scoring, the results document; and the X_I' ablation rows' switch."""

from __future__ import annotations

import json

import pytest
from engine_helpers import tiny_config
from fakes import make_sysu_tree

from tsgan.__main__ import main
from tsgan.config import get_config
from tsgan.experiments.ablate import DECISION_ROWS, ROWS
from tsgan.experiments.validation import (
    DECISIONS,
    Decision,
    get_decision,
    run_validation,
    validation_document,
)
from tsgan.training import cached_run, run_key

TRAIN, VAL, TEST = [1, 2, 3, 4], [5, 6], [7, 8]


def test_the_x_i_rows_set_their_reading_over_the_base():
    base = get_config("cpu", {"loss.fakes_in_reid": "gated"})
    rows = {r.key: r for r in ROWS + DECISION_ROWS}
    assert rows["jd-xi-joined"].config(base, 0).loss.fakes_in_reid == "joined"
    assert rows["jd-xi-gated"].config(base, 0).loss.fakes_in_reid == "gated"
    assert rows["jd"].config(base, 0).loss.fakes_in_reid == "never"
    plain = get_config("cpu")  # TS-GAN_JD's row is the preset as it is
    assert run_key(rows["jd"].config(plain, 0), "tsgan") == run_key(plain, "tsgan")
    assert run_key(rows["jd-xi-joined"].config(plain, 0), "tsgan") != run_key(
        rows["jd"].config(plain, 0), "tsgan"
    )


@pytest.mark.parametrize("key", list(DECISIONS))
def test_every_setting_trains_on_the_val_split_with_its_overrides(key):
    decision = get_decision(key)
    base = get_config("cpu", {"data.split": "test", "train.seed": 9})
    configs = [s.config(base, 3) for s in decision.settings]
    for s, cfg in zip(decision.settings, configs):
        assert cfg.data.split == "val" and cfg.train.seed == 3
        for dotted, value in s.overrides.items():
            section, name = dotted.split(".")
            assert getattr(getattr(cfg, section), name) == value
    recipe = get_config("cpu")  # the reference is the recipe as it is: it restates defaults only
    for dotted, value in decision.settings[0].overrides.items():
        section, name = dotted.split(".")
        assert getattr(getattr(recipe, section), name) == value, dotted
    assert len({run_key(c, "tsgan") for c in configs}) == len(configs)


def test_unknown_decision_is_refused(capsys):
    with pytest.raises(ValueError, match="unknown decision 'nope'"):
        get_decision("nope")
    assert main(["validate", "--decision", "nope"]) == 2  # argparse's choices, one line
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "--decision" in err


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Decision xi-reading, settings (b) and (a), one seed, on a tiny tree with 2 val ids."""
    tmp = tmp_path_factory.mktemp("validate")
    root = make_sysu_tree(tmp / "sysu", TRAIN, VAL, TEST, images_per_cam=2, size=(32, 16))
    base = tiny_config(root, **{"train.out_dir": str(tmp / "runs"), "eval.trials": 2})
    full = get_decision("xi-reading")
    decision = Decision(full.key, full.question, full.settings[:2])
    records = run_validation(decision, base, [0], progress=False)
    return tmp, base, decision, records


def test_runs_are_trained_on_the_train_ids_and_scored_on_the_val_ids(study):
    _, base, decision, records = study
    assert [(r["row"], r["seed"]) for r in records] == [("never", 0), ("joined", 0)]
    for s, r in zip(decision.settings, records):
        cfg = s.config(base, 0)
        run = cached_run(cfg, "tsgan")
        assert run.finished and r["run"] == run.path.name and r["run_key"] == run_key(cfg, "tsgan")
        saved = json.loads((run.path / "config.json").read_text())
        assert saved["data"]["split"] == "val" and saved["loss"]["fakes_in_reid"] == s.key
        (report,) = [json.loads(p.read_text()) for p in (run.path / "eval").glob("*.json")]
        assert report["split"] == "val"
        # the val protocol's queries: every IR image of the 2 val ids (cams 3 and 6, 2 each)
        assert report["results"][0]["num_query"] == len(VAL) * 2 * 2
        assert 0 <= r["R1"] <= 100 and r["provenance"]
    teacher = cached_run(decision.settings[0].config(base, 0), "teacher")
    assert json.loads((teacher.path / "config.json").read_text())["data"]["split"] == "val"


def test_cached_only_scores_without_training(study, monkeypatch):
    _, base, decision, records = study
    import tsgan.experiments.validation as validation

    def load_only(cfg):
        run = cached_run(cfg, "tsgan")
        return run.final if run.finished else pytest.fail(f"cached_only trained {run.path}")

    monkeypatch.setattr(validation, "get_or_train_tsgan", load_only)
    again = run_validation(decision, base, [0, 1], cached_only=True, progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "provenance"} for r in rs]  # noqa: E731
    assert strip(again) == strip(records)  # seed 1 not trained: left out, not trained


def test_the_document_pairs_every_setting_with_the_reference(study):
    _, base, decision, records = study
    doc = validation_document(decision, base, records)
    assert doc["decision"] == "xi-reading" and doc["protocol"]["split"] == "val"
    assert [s["row"] for s in doc["summary"]] == ["never", "joined"]  # the recipe first
    pairs = {(p["a"], p["b"], p["metric"]): p for p in doc["paired"]}
    assert set(pairs) == {("joined", "never", "R1"), ("joined", "never", "mAP")}
    by = {r["row"]: r for r in records}
    assert pairs["joined", "never", "R1"]["diffs"] == [by["joined"]["R1"] - by["never"]["R1"]]
    assert doc["varied"] == ["loss.fakes_in_reid"]


def test_the_command_writes_the_results(study, tmp_path, capsys):
    tmp, base, _, _ = study
    out = tmp_path / "xi.json"
    args = [
        "validate",
        "--decision",
        "xi-reading",
        "--settings",
        "joined",
        "never",
        "--seeds",
        "1",
        "--cached-only",
        "--results",
        str(out),
        *(f"{k}={v}" for k, v in _overrides(base).items()),
    ]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "tsgan-validation/1" and len(doc["records"]) == 2
    assert "never - joined R1" in capsys.readouterr().out
    assert main([*args[:4], "nope", *args[6:]]) == 2  # an unknown setting: one error line
    assert "error: unknown setting(s) ['nope']" in capsys.readouterr().err


def _overrides(cfg):
    """``cfg`` as dotted overrides of the cpu preset (what differs)."""
    plain, mine = get_config("cpu").to_dict(), cfg.to_dict()
    out = {}
    for section, values in mine.items():
        if section == "name":
            continue
        for k, v in values.items():
            if plain[section][k] != v:
                out[f"{section}.{k}"] = ",".join(map(str, v)) if isinstance(v, list) else v
    return out
