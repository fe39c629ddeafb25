"""Evidence machinery without training: t intervals, paired differences, the re-check band, the
grayscale switch and its run keys, equal budgets, the curve and bar figures."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from torchvision.transforms.v2 import functional as F  # noqa: E402

from tsgan.config import get_config, replace  # noqa: E402
from tsgan.data.transforms import Grayscale, build_transforms  # noqa: E402
from tsgan.experiments.ablate import ROWS, budget, check_budgets  # noqa: E402
from tsgan.experiments.ablate_report import aggregate, paired, plot_ablation  # noqa: E402
from tsgan.experiments.recheck import acceptance_band  # noqa: E402
from tsgan.figures import feature_gap_curves, twin_error_curves  # noqa: E402
from tsgan.probes import time_to_accuracy  # noqa: E402
from tsgan.stats import (  # noqa: E402
    mean_ci,
    paired_difference,
    prediction_interval,
    t_quantile,
)
from tsgan.training import run_key  # noqa: E402

ROW = {r.key: r for r in ROWS}


def test_t_quantiles_match_the_printed_tables():
    # two-sided 95% and 99% critical values of Student's t (any statistics textbook's table)
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(0.975, 4) == pytest.approx(2.776, abs=1e-3)
    assert t_quantile(0.975, 29) == pytest.approx(2.045, abs=1e-3)
    assert t_quantile(0.995, 4) == pytest.approx(4.604, abs=1e-3)
    with pytest.raises(ValueError, match="degree of freedom"):
        t_quantile(0.975, 0)


def test_confidence_interval_of_two_seeds_by_hand():
    # x = 10, 14: mean 12, s = sqrt(((-2)^2 + 2^2) / 1) = sqrt(8), half = t_{.975,1} s / sqrt(2)
    # = 12.706 * 2 (n - 1 = 1 degree of freedom; with n it would be 4.303 * 2)
    got = mean_ci([10.0, 14.0])
    half = 12.7062047 * 2
    assert got["n"] == 2 and got["mean"] == 12.0 and got["std"] == pytest.approx(math.sqrt(8))
    assert got["ci"] == pytest.approx([12 - half, 12 + half], abs=1e-4)
    assert mean_ci([5.0]) == {"n": 1, "mean": 5.0, "std": None, "ci": None}


def test_paired_difference_pairs_by_seed_not_by_position():
    # b varies a lot between seeds, a = b + 1 (+-0.1): paired, the gain is clear
    b = {0: 10.0, 1: 20.0, 2: 30.0, 3: 15.0}
    a = {0: 11.1, 1: 20.9, 2: 31.0, 3: 16.0}
    d = paired_difference(a, b)
    assert d["seeds"] == [0, 1, 2, 3] and d["diffs"] == pytest.approx([1.1, 0.9, 1.0, 1.0])
    half = t_quantile(0.975, 3) * d["std"] / 2
    assert d["mean"] == pytest.approx(1.0) and d["ci"] == pytest.approx([1 - half, 1 + half])
    assert d["excludes_zero"] is True
    # mutation: the seeds of b swapped between runs -> the pairing breaks, the CI spans zero
    swapped = paired_difference(a, {0: 20.0, 1: 10.0, 2: 15.0, 3: 30.0})
    assert swapped["excludes_zero"] is False
    # records given in another order pair the same way; unmatched seeds are left out
    recs = [{"row": "jd", "seed": s, "R1": v, "mAP": v} for s, v in reversed(list(a.items()))]
    recs += [{"row": "backbone", "seed": s, "R1": v, "mAP": v} for s, v in b.items()]
    recs.append({"row": "backbone", "seed": 9, "R1": 0.0, "mAP": 0.0})
    (r1, mAP) = paired(recs)
    assert (r1["a"], r1["b"], r1["metric"], mAP["metric"]) == ("jd", "backbone", "R1", "mAP")
    assert r1["diffs"] == pytest.approx(d["diffs"]) and r1["seeds"] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no common seeds"):
        paired_difference({0: 1.0}, {1: 1.0})


def test_prediction_band_of_the_recheck():
    # x = 10, 14: half = t_{.995,1} * sqrt(8) * sqrt(1 + 1/2) = 63.657 * 2.828 * 1.2247
    half = 63.6567 * math.sqrt(8) * math.sqrt(1.5)
    assert prediction_interval([10.0, 14.0]) == pytest.approx([12 - half, 12 + half], rel=1e-4)
    assert prediction_interval([3.0]) is None
    # seeds that agree exactly leave the floor (1 point) around their mean
    assert acceptance_band([5.0, 5.0, 5.0]) == [4.0, 6.0]
    assert acceptance_band([5.0]) == [4.0, 6.0]


def test_aggregate_keeps_the_interval_per_metric():
    recs = [
        {"row": "backbone", "seed": s, "R1": v, "R10": 50.0, "R20": 60.0, "mAP": v, "mINP": 1.0}
        for s, v in ((0, 10.0), (1, 14.0))
    ]
    (s,) = aggregate(recs, [ROW["backbone"]])
    assert s["n"] == 2 and s["ci95"]["R1"] == pytest.approx(mean_ci([10.0, 14.0])["ci"])
    assert s["ci95"]["R10"] == pytest.approx([50.0, 50.0]) and s["std"]["R20"] == 0.0


def test_grayscale_is_a_data_switch_for_rgb_images_only():
    x = torch.rand(3, 8, 4)
    gray = Grayscale()(x)
    assert torch.equal(gray, F.rgb_to_grayscale(x, num_output_channels=3))
    ir = x[:1].expand(3, -1, -1).clone()
    assert torch.equal(Grayscale()(ir), ir)  # an IR image is left exactly as it is
    d = replace(get_config("cpu"), data__grayscale=True).data
    has = lambda train, modality: any(  # noqa: E731
        isinstance(t, Grayscale) for t in build_transforms(d, train, modality).transforms
    )
    assert has(True, "rgb") and not has(True, "ir") and has(False, "rgb")
    plain = build_transforms(get_config().data, True).transforms
    assert not any(isinstance(t, Grayscale) for t in plain)


def test_grayscale_keeps_old_run_keys_and_shares_the_teacher():
    cfg = get_config("cpu")
    gray = replace(cfg, data__grayscale=True)
    # at their defaults the RGB-only fields are not hashed: the data section's key without them
    # (nor data.split, data.world, data.synth_train_ids: keyed only when set)
    rgb_only = ("grayscale", "channel_aug", "split", "world", "synth_train_ids")
    plain = {k: v for k, v in asdict(cfg.data).items() if k not in rgb_only}
    old = hashlib.sha1(json.dumps({"data": plain}, sort_keys=True).encode()).hexdigest()[:10]
    assert cfg.digest("data") == old != gray.digest("data")
    channel_aug = replace(cfg, data__channel_aug=True)
    for rgb_row in (gray, channel_aug):
        assert run_key(rgb_row, "tsgan") != run_key(cfg, "tsgan")
        assert run_key(rgb_row, "teacher") == run_key(cfg, "teacher")  # the teacher sees IR only
        assert run_key(rgb_row, "rgb_baseline") != run_key(cfg, "rgb_baseline")
    row = ROW["gray"].config(cfg, 3)
    assert (row.data.grayscale, row.train.use_gan, row.train.use_teacher) == (True, False, False)


def test_every_row_has_the_same_budget_and_unequal_budgets_are_refused():
    base = get_config("cpu")
    budgets = {r.key: budget(r.config(base, 0)) for r in ROWS}
    assert len({json.dumps(b, sort_keys=True) for b in budgets.values()}) == 1
    assert budgets["gray"]["optim.epochs"] == base.optim.epochs
    assert check_budgets({r.key: r.config(base, 0) for r in ROWS}) == budget(base)
    longer = replace(ROW["jd"].config(base, 0), optim__epochs=base.optim.epochs + 1)
    with pytest.raises(ValueError, match=r"equal budgets; \['jd'\] differ"):
        check_budgets({"backbone": ROW["backbone"].config(base, 0), "jd": longer})


def test_time_to_accuracy_reads_the_first_epoch_at_the_target():
    probes = [
        {"step": 20, "epoch": 1, "seconds": 30.0, "R1": 5.0},
        {"step": 60, "epoch": 3, "seconds": 95.0, "R1": 21.0},
        {"step": 40, "epoch": 2, "seconds": 61.0, "R1": 20.0},
    ]
    assert time_to_accuracy(probes, 20.0)["epoch"] == 2  # in training order, >= the target
    assert time_to_accuracy(probes, 21.5) is None
    with pytest.raises(ValueError, match="probe_eval=true"):
        time_to_accuracy([{"step": 1, "epoch": 1, "seconds": 1.0}], 10.0)


def _curves():
    return {
        "TS-GAN_JD": [
            [{"epoch": 1, "twin_L1": 0.4, "gap_fmap": 1.0}, {"epoch": 2, "twin_L1": 0.2}],
            [{"epoch": 1, "twin_L1": 0.2, "gap_fmap": 3.0}, {"epoch": 2, "twin_L1": 0.1}],
        ]
    }


def test_curve_figures_draw_the_mean_over_seeds_and_the_floors():
    ax = twin_error_curves(_curves(), {"grayscale": {"L1": 0.15}, "channel copy": {"L1": 0.2}})
    mean = [ln for ln in ax.lines if ln.get_label().startswith("TS-GAN_JD")][0]
    assert list(mean.get_xdata()) == [1, 2] and list(mean.get_ydata()) == pytest.approx([0.3, 0.15])
    floors = {ln.get_label(): ln.get_ydata()[0] for ln in ax.lines if "floor" in ln.get_label()}
    assert floors == {"grayscale floor": 0.15, "channel copy floor": 0.2}
    gap = feature_gap_curves(_curves())
    (mean,) = [ln for ln in gap.lines if ln.get_label() == "TS-GAN_JD (2)"]
    assert list(mean.get_ydata()) == pytest.approx([2.0])
    with pytest.raises(ValueError, match="no 'gap_feat'"):
        feature_gap_curves(_curves(), key="gap_feat")


def test_ablation_bars_show_the_confidence_interval_and_chance():
    recs = [
        {"row": r, "seed": s, "R1": v, "R10": 1.0, "R20": 1.0, "mAP": v / 2, "mINP": 1.0}
        for r, s, v in (("backbone", 0, 10.0), ("backbone", 1, 14.0), ("jd", 0, 30.0))
    ]
    summary = aggregate(recs, [ROW["backbone"], ROW["jd"]])
    chance = {"random_features": {"R1": 2.0, "mAP": 6.0}}
    fig = plot_ablation(summary, metrics=("R1", "mAP"), chance=chance)
    r1, mAP, paper = fig.axes
    assert [p.get_height() for p in r1.patches] == pytest.approx([12.0, 30.0])
    assert [p.get_height() for p in mAP.patches] == pytest.approx([6.0, 15.0])
    (line,) = [ln for ln in r1.lines if ln.get_label() == "chance"]
    assert line.get_ydata()[0] == 2.0
    # the error bar of Backbone R1 spans its 95% CI (the first of the bar container's segments)
    (bars,) = [c for c in r1.containers if isinstance(c, BarContainer)]
    segs = bars.errorbar.lines[2][0].get_segments()
    assert [segs[0][0][1], segs[0][1][1]] == pytest.approx(summary[0]["ci95"]["R1"])
    assert [p.get_height() for p in paper.patches] == pytest.approx([41.4, 49.8, 39.9, 47.4])
