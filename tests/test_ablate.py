"""Ablations (paper Table II): rows -> configs -> what the engine trains, aggregation, writers,
the command."""

from __future__ import annotations

import csv
import json
import shutil

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from engine_helpers import TEST_IDS, tiny_config, tiny_dataset, tiny_step_config  # noqa: E402

from tsgan import training as runs  # noqa: E402
from tsgan.__main__ import main  # noqa: E402
from tsgan.config import get_config  # noqa: E402
from tsgan.data.transforms import ChannelAugmentation, build_transforms  # noqa: E402
from tsgan.experiments import ablate  # noqa: E402
from tsgan.experiments.ablate import DECISION_ROWS, ROWS, Row, select_rows  # noqa: E402
from tsgan.experiments.ablate_report import (  # noqa: E402
    aggregate,
    format_markdown,
    load_results,
    results_document,
    write_results,
)
from tsgan.experiments.recheck import recheck  # noqa: E402
from tsgan.figures import grouped_bars  # noqa: E402
from tsgan.methods.tsgan import TSGAN  # noqa: E402
from tsgan.models import build_backbone  # noqa: E402

ROW = {r.key: r for r in ROWS + DECISION_ROWS}
# what each row must train: (use_gan, use_teacher, discriminator, ts_losses, channel_aug, fakes,
# fakes_in_reid); None where the switch does not act (no GAN, or no X_I')
INTENDED = {
    "backbone": (False, False, None, None, False, "generator", None),
    "od-single": (True, True, "ordinary", "cross", False, "generator", "never"),
    "od": (True, True, "ordinary", "all", False, "generator", "never"),
    "jd": (True, True, "joint", "all", False, "generator", "never"),
    "jd-rerank": (True, True, "joint", "all", False, "generator", "never"),
    "jd-xi-joined": (True, True, "joint", "all", False, "generator", "joined"),
    "ca": (False, False, None, None, True, "generator", None),
    "jd-ca": (True, True, "joint", "all", True, "generator", "never"),
    "gray": (False, False, None, None, False, "generator", None),
    # with the teacher the twins feed the TS losses only; without it they join L_ID / L_Tri
    "twins": (False, True, None, "all", False, "twins", "never"),
    "twins-no-ts": (False, False, None, None, False, "twins", "joined"),
    "jd-xi-gated": (True, True, "joint", "all", False, "generator", "gated"),
}


def _switches(cfg):
    return (
        cfg.train.use_gan,
        cfg.train.use_teacher,
        cfg.model.discriminator,
        cfg.loss.ts_losses,
        cfg.data.channel_aug,
        cfg.train.fakes,
        cfg.loss.fakes_in_reid,
    )


@pytest.mark.parametrize("key", list(INTENDED))
def test_rows_map_to_the_intended_configs(key):
    # a base that sets every switch the other way: the row must win over the preset/overrides
    base = get_config(
        "cpu",
        {
            "model.discriminator": "ordinary",
            "loss.ts_losses": "none",
            "data.channel_aug": True,
            "train.use_gan": False,
            "train.use_teacher": False,
            "train.fakes": "twins",
            "loss.fakes_in_reid": "gated",
            "loss.fakes_gate_ssim": 0.5,
        },
    )
    cfg = ROW[key].config(base, seed=7)
    want = INTENDED[key]
    got = _switches(cfg)
    assert cfg.train.seed == 7
    assert all(w is None or w == g for w, g in zip(want, got)), (key, got)
    assert ROW[key].rerank == (key == "jd-rerank")


def test_rerank_row_reuses_the_jd_training_and_jd_is_the_plain_preset():
    base = get_config("cpu")
    key = lambda row, seed=0: runs.run_key(ROW[row].config(base, seed), "tsgan")  # noqa: E731
    assert key("jd-rerank") == key("jd") and key("jd-rerank", 1) == key("jd", 1) != key("jd")
    assert len({key(r) for r in ROW}) == len(ROW) - 1
    # the TS-GAN_JD row is the preset itself, and Backbone is the preset without GAN and teacher
    # (with fakes_in_reid at "joined", the value that keeps its key: with no X_I' it does not act):
    # their runs are the ones the notebooks and the demo cache
    assert key("jd") == runs.run_key(base, "tsgan")
    no_gan = {"train.use_gan": False, "train.use_teacher": False}
    assert key("backbone") == runs.run_key(
        get_config("cpu", {**no_gan, "loss.fakes_in_reid": "joined"}), "tsgan"
    )
    assert [r.paper for r in ROWS][:5] == [
        (41.4, 77.0, 85.0, 39.9),
        (44.2, 80.3, 88.2, 44.1),
        (47.6, 82.6, 89.9, 44.5),
        (49.8, 87.3, 93.8, 47.4),
        (58.3, 87.8, 94.1, 55.1),
    ]


def test_unknown_rows_and_switches_are_refused():
    with pytest.raises(ValueError, match="unknown ablation row.*'nope'.*choose from"):
        select_rows(["jd", "nope"])
    with pytest.raises(KeyError, match="not ablation switches"):
        Row("x", "X", {"optim.lr": 1.0}).config(get_config("cpu"), 0)
    assert [r.key for r in select_rows(None)] == [r.key for r in ROWS]
    # the decision rows are chosen by key only, the table's rows are the default
    assert [r.key for r in select_rows(["jd-xi-gated", "jd"])] == ["jd-xi-gated", "jd"]
    assert set(INTENDED) == {r.key for r in ROWS + DECISION_ROWS}


def _tiny_cfg(row):
    """``row`` on the smallest one-step config (no GAN warm-up: X_I' joins line 3 at once)."""
    return row.config(tiny_step_config(), 0)


@pytest.mark.parametrize(
    "key, nets, absent",
    [
        ("backbone", {"backbone"}, {"G", "D", "B_gan", "B_ts"}),
        ("od-single", {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"}, {"B_gan"}),
        ("od", {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"}, {"B_gan"}),
        ("jd", {"backbone", "teacher", "G_I", "G_R", "D_I", "D_R"}, set()),
    ],
)
def test_each_row_trains_what_it_claims(key, nets, absent):
    """One Algorithm 1 step per row: the networks built and the loss terms that reach L_Backbone."""
    cfg = _tiny_cfg(ROW[key])
    torch.manual_seed(0)
    model = TSGAN(cfg, 4, torch.device("cpu"), build_backbone(cfg.model, 4))
    g = torch.Generator().manual_seed(0)
    model.set_input(
        {
            "rgb": torch.rand(4, 3, 32, 16, generator=g),
            "ir": torch.rand(4, 1, 32, 16, generator=g).expand(-1, 3, -1, -1),
            "label": torch.tensor([0, 0, 1, 1]),
        }
    )
    L = model.optimize_parameters()
    assert set(model.nets) == nets and not absent & set(L)
    assert set(model.optimizers) == ({"B"} if key == "backbone" else {"B", "G", "D"})
    if key != "backbone":
        assert model.D_I.joint == (key == "jd")
    lc = cfg.loss
    if key == "od-single":  # Eq. 16 without the same-domain terms (Eq. 13, 14)
        assert L["B_ts"] == pytest.approx(lc.alpha_c * L["B_ts_cd"], rel=1e-5)
    elif key in ("od", "jd"):
        assert L["B_ts"] == pytest.approx(
            lc.alpha_c * L["B_ts_cd"] + lc.alpha_s * (L["B_ts_real_ir"] + L["B_ts_fake_ir"]),
            rel=1e-5,
        )
    gan = lc.lambda3 * L.get("B_gan", 0.0) + L.get("B_ts", 0.0)
    assert L["B"] == pytest.approx(lc.lambda1 * L["B_id"] + lc.lambda2 * L["B_tri"] + gan, rel=1e-5)


@pytest.mark.parametrize("key", ["ca", "jd-ca", "jd"])
def test_channel_augmentation_rows_augment_rgb_only(key):
    d = ROW[key].config(get_config("cpu"), 0).data
    has = lambda modality: any(  # noqa: E731
        isinstance(t, ChannelAugmentation) for t in build_transforms(d, True, modality).transforms
    )
    assert has("rgb") == (key != "jd") and not has("ir")


def _records():
    # (row, seed, R1, mAP): hand-chosen numbers; the other metrics follow from them
    raw = [
        ("backbone", 0, 10.0, 20.0),
        ("backbone", 1, 14.0, 26.0),
        ("backbone", 2, 12.0, 23.0),
        ("jd", 0, 30.0, 33.0),
    ]
    return [
        {
            "row": r,
            "name": ROW[r].name,
            "seed": s,
            "run": f"tsgan-{r}-{s}",
            "reranked": False,
            "R1": r1,
            "R10": r1 + 40,
            "R20": 90.0,
            "mAP": mAP,
            "mINP": mAP / 2,
        }
        for r, s, r1, mAP in raw
    ]


def test_aggregate_against_a_hand_computation():
    summary = aggregate(_records(), [ROW["backbone"], ROW["jd"]])
    b, jd = summary
    assert b["seeds"] == [0, 1, 2] and jd["seeds"] == [0]
    assert b["mean"]["R1"] == pytest.approx(12.0) and b["mean"]["mAP"] == pytest.approx(23.0)
    # sample standard deviation: sqrt(((10-12)^2 + (14-12)^2 + 0) / (3-1)) = 2;
    # mAP: sqrt((9 + 9 + 0) / 2) = 3
    assert b["std"]["R1"] == pytest.approx(2.0) and b["std"]["mAP"] == pytest.approx(3.0)
    assert b["std"]["R20"] == pytest.approx(0.0) and b["std"]["mINP"] == pytest.approx(1.5)
    assert jd["mean"]["R1"] == 30.0 and all(v is None for v in jd["std"].values())
    assert b["paper"] == {"R1": 41.4, "R10": 77.0, "R20": 85.0, "mAP": 39.9}
    with pytest.raises(ValueError, match="no records for row 'ca'"):
        aggregate(_records(), [ROW["ca"]])


def test_table_writers(tmp_path):
    doc = results_document(_records(), [ROW["backbone"], ROW["jd"]], get_config("cpu"))
    summary = doc["summary"]
    lines = format_markdown(summary).splitlines()
    assert lines[0].split("|")[1:-1] == [
        " setting ",
        " seeds ",
        " R1 ",
        " R10 ",
        " R20 ",
        " mAP ",
        " mINP ",
        " paper R1 ",
        " paper R10 ",
        " paper R20 ",
        " paper mAP ",
    ]
    # 95% CI of 3 seeds: mean +- t_{.975,2} s / sqrt(3) = 4.303 * 2 / 1.732 = 4.97 (R1)
    assert [c.strip() for c in lines[2].split("|")[1:-1]] == [
        "Backbone",
        "3",
        "12.0 [7.0, 17.0]",
        "52.0 [47.0, 57.0]",
        "90.0 [90.0, 90.0]",
        "23.0 [15.5, 30.5]",
        "11.5 [7.8, 15.2]",
        "41.4",
        "77.0",
        "85.0",
        "39.9",
    ]
    assert [c.strip() for c in lines[3].split("|")[1:4]] == ["TS-GAN_JD", "1", "30.0"]
    paths = write_results(doc, tmp_path / "out")
    rows = list(csv.DictReader(paths["csv"].open()))
    assert [r["row"] for r in rows] == ["backbone", "jd"]
    assert float(rows[0]["mAP_std"]) == pytest.approx(3.0) and rows[1]["R1_std"] == ""
    assert float(rows[0]["R1_ci_low"]) == pytest.approx(summary[0]["ci95"]["R1"][0])
    assert rows[1]["paper_R1"] == "49.8"
    data = load_results(paths["json"])
    assert data["summary"] == summary and len(data["records"]) == 4
    assert data["config"]["name"] == "cpu" and data["budget"]["optim.epochs"] == 12
    # one common seed (0): a paired difference without an interval
    (r1, mAP) = data["paired"]
    assert (r1["a"], r1["b"], r1["seeds"], r1["ci"]) == ("jd", "backbone", [0], None)
    assert r1["mean"] == 20 and mAP["mean"] == 33 - 20
    text = paths["markdown"].read_text()
    assert format_markdown(summary) in text and "jd - backbone R1: +20.00 no CI (one seed)" in text
    (tmp_path / "bad.json").write_text('{"summary": []}')
    with pytest.raises(ValueError, match="not a tsgan-ablation/1 results file"):
        load_results(tmp_path / "bad.json")


def _overrides(cfg):
    """The "section.field=value" command-line overrides that turn the cpu preset into ``cfg``."""
    base, d = get_config("cpu").to_dict(), cfg.to_dict()
    fmt = lambda v: ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)  # noqa: E731
    return [
        f"{s}.{k}={fmt(v)}" for s in d if s != "name" for k, v in d[s].items() if base[s][k] != v
    ]


def test_ablate_command_end_to_end_and_reuses_cached_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TSGAN_RUNS", str(tmp_path / "runs"))
    cfg = tiny_config(tiny_dataset(tmp_path), **{"optim.epochs": 1, "eval.trials": 2})
    argv = [
        "ablate",
        "--preset",
        "cpu",
        "--seeds",
        "2",
        "--rows",
        "backbone",
        "jd",
        "jd-rerank",
        "gray",
        "--out",
        str(tmp_path / "out"),
        "--results",
        str(tmp_path / "results" / "ablation.json"),
        *_overrides(cfg),
    ]
    assert main(argv) == 0
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {
        "ablation.md",
        "ablation.json",
        "ablation.csv",
        "ablation.png",
    }
    first = json.loads((out / "ablation.json").read_text())
    assert first == load_results(tmp_path / "results" / "ablation.json")
    assert [(r["row"], r["seed"]) for r in first["records"]] == [
        (r, s) for s in (0, 1) for r in ("backbone", "jd", "jd-rerank", "gray")
    ]
    # TS-GAN_JD + re-ranking is the TS-GAN_JD model: 3 rows x 2 seeds trained, one teacher per
    # seed (the grayscale row shares it: the teacher sees IR images only)
    cache = tmp_path / "runs" / "cache"
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["teacher"] * 2 + ["tsgan"] * 6
    # equal budgets, provenance and the per-epoch probes in every record
    assert {r["steps"] for r in first["records"]} == {3}  # 1 epoch of 3 batches
    for r in first["records"]:
        assert r["train_seconds"] > 0 and r["teacher"]["train_seconds"] > 0
        assert r["run"].endswith(r["run_key"]) and len(r["provenance"]) == 1
        assert {"commit", "cpu", "torch", "threads"} <= set(r["provenance"][0])
        assert [p["epoch"] for p in r["curve"]] == [1] and "gap_fmap" in r["curve"][0]
    assert first["chance"]["R1"] == pytest.approx(100 / len(TEST_IDS))
    assert first["twin_floors"] is None  # a SYSU-layout tree without IR twins
    assert [(d["a"], d["b"], d["metric"]) for d in first["paired"]] == [
        (a, b, m)
        for a, b in (("jd", "backbone"), ("jd-rerank", "jd"), ("backbone", "gray"))
        for m in ("R1", "mAP")
    ]
    jd_minus_bb = [
        {s: r["R1"] for r in first["records"] if r["row"] == row for s in [r["seed"]]}
        for row in ("jd", "backbone")
    ]
    assert first["paired"][0]["diffs"] == pytest.approx(
        [jd_minus_bb[0][s] - jd_minus_bb[1][s] for s in (0, 1)]
    )
    jd = {r["seed"]: r["run"] for r in first["records"] if r["row"] == "jd"}
    assert jd == {r["seed"]: r["run"] for r in first["records"] if r["row"] == "jd-rerank"}
    assert all(
        0 <= r[m] <= 100 for r in first["records"] for m in ("R1", "R10", "R20", "mAP", "mINP")
    )

    def refuse(*args, **kwargs):
        raise AssertionError("a cached run or evaluation was recomputed")

    monkeypatch.setattr(runs, "train_tsgan", refuse)
    monkeypatch.setattr(runs, "train_teacher", refuse)
    monkeypatch.setattr(ablate, "evaluate_model", refuse)
    monkeypatch.setattr("tsgan.cli.ablate.chance_level", lambda cfg: first["chance"])
    (out / "ablation.json").unlink()
    assert main(argv) == 0
    assert json.loads((out / "ablation.json").read_text())["records"] == first["records"]

    # --cached-only trains nothing: a run missing from the cache leaves its (row, seed) out
    gray1 = next(r for r in first["records"] if (r["row"], r["seed"]) == ("gray", 1))
    shutil.rmtree(cache / gray1["run"])
    assert main([*argv, "--cached-only"]) == 0
    partial = json.loads((out / "ablation.json").read_text())["records"]
    assert partial == [r for r in first["records"] if r is not gray1]
    assert not (cache / gray1["run"]).exists()

    # the CI re-check: the cached run of the same machine reproduces the committed entry exactly
    results = tmp_path / "results" / "ablation.json"
    check = recheck(results, "backbone", seed=1)
    bb1 = next(r for r in first["records"] if (r["row"], r["seed"]) == ("backbone", 1))
    assert (
        check["ok"]
        and check["checks"]["R1"]["rerun"] == bb1["R1"] == check["checks"]["R1"]["committed_seed"]
    )
    assert main(["ablate", "--recheck", "backbone", "--results", str(results)]) == 0
    # mutation: committed numbers far from what this code computes -> outside the band
    doc = load_results(results)
    for r in doc["records"]:
        if r["row"] == "backbone":
            r["R1"] = bb1["R1"] + 30.0  # equal seeds: the band is the 1-point floor
    doc["summary"] = aggregate(doc["records"], [ROW[k] for k in doc["rows"]])
    assert not recheck(doc, "backbone", seed=1)["checks"]["R1"]["ok"]
    assert recheck(doc, "backbone", seed=1)["checks"]["mAP"]["ok"]
    doc["records"][0]["run_key"] = "0123456789"
    with pytest.raises(ValueError, match="changed what a run computes"):
        recheck(doc, doc["records"][0]["row"], seed=doc["records"][0]["seed"])
    with pytest.raises(KeyError, match="no row 'ca'"):
        recheck(doc, "ca")


def test_grouped_bars_checks_its_input():
    with pytest.raises(ValueError, match="every group must have the bars"):
        grouped_bars({"a": {"R1": 1.0, "mAP": 2.0}, "b": {"R1": 1.0}})
    with pytest.raises(ValueError, match="no groups"):
        grouped_bars({})
