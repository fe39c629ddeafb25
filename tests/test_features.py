"""Feature extraction and the end-to-end report on a tiny SYSU-layout tree."""

import json

import numpy as np
import pytest
import torch
from fakes import make_sysu_tree

from tsgan.config import get_config
from tsgan.data.dataset import load_image
from tsgan.data.protocols import sysu_protocol
from tsgan.data.transforms import build_transforms
from tsgan.eval import (
    evaluate_model,
    extract_features,
    format_table,
    handcrafted_features,
    save_report,
)
from tsgan.eval.report import protocol_trials


class MeanColour(torch.nn.Module):
    """Per-column mean colour: a feature that changes under a horizontal flip, with dropout to
    see the mode."""

    def __init__(self):
        super().__init__()
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(x.mean(dim=2).flatten(1))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_sysu_tree(
        tmp_path_factory.mktemp("sysu"), [1], [2], [5, 6, 8], images_per_cam=3, size=(8, 4)
    )


def cfg_for(root, **overrides):
    return get_config(
        "cpu",
        {
            "data.dataset": "sysu",
            "data.root": str(root),
            "data.height": 8,
            "data.width": 4,
            "data.cache": False,
            **overrides,
        },
    )


def test_features_in_sample_order_in_eval_mode_and_mode_restored(tree):
    cfg = cfg_for(tree)
    queries, _ = sysu_protocol(tree)
    net = MeanColour().train()
    feats = extract_features(net, queries, cfg.data, batch_size=4, progress=False)
    assert net.training, "the module's training mode must be restored"
    transform = build_transforms(cfg.data, train=False)
    manual = torch.stack([transform(load_image(s.path)).mean(dim=1).flatten() for s in queries])
    torch.testing.assert_close(feats, manual)


def test_flip_averages_image_and_mirror(tree):
    cfg = cfg_for(tree)
    queries, _ = sysu_protocol(tree)
    plain = extract_features(MeanColour(), queries, cfg.data, progress=False)
    flipped = extract_features(MeanColour(), queries, cfg.data, flip=True, progress=False)
    mirror = plain.view(len(queries), 3, 4).flip(2).flatten(1)
    torch.testing.assert_close(flipped, (plain + mirror) / 2)


def test_bad_feature_function_and_empty_input_are_reported(tree):
    cfg = cfg_for(tree)
    queries, _ = sysu_protocol(tree)
    with pytest.raises(ValueError, match="no samples"):
        extract_features(MeanColour(), [], cfg.data)
    with pytest.raises(ValueError, match=r"must return \(batch, dim\)"):
        extract_features(lambda x: x, queries, cfg.data, progress=False)


def test_report_covers_every_trial_and_says_which_draw(tree, tmp_path):
    cfg = cfg_for(tree, **{"eval.trials": 3, "eval.rerank": True})
    report = evaluate_model(
        MeanColour(), cfg, settings=[("all", 1), ("indoor", 1)], name="mean colour", progress=False
    )
    assert [(r["setting"], r["reranked"]) for r in report["results"]] == [
        ("all-search single-shot", False),
        ("all-search single-shot", True),
        ("indoor-search single-shot", False),
        ("indoor-search single-shot", True),
    ]
    for r in report["results"]:
        assert [t["trial"] for t in r["trials"]] == [0, 1, 2] and r["num_query"] == 3 * 2 * 3
        assert r["mean"]["R1"] == pytest.approx(np.mean([t["R1"] for t in r["trials"]]))
    assert report["draw"] == ["seeded"] and report["rerank"] == {"k1": 20, "k2": 6, "lambda": 0.3}
    table = format_table(report)
    assert (
        "all-search single-shot" in table
        and "mean colour + re-ranking" in table
        and "draw seeded" in table
    )
    saved = json.loads(save_report(report, tmp_path / "r.json").read_text())
    assert saved["results"][0]["mean"] == report["results"][0]["mean"]


def test_protocol_trials_per_dataset(tree):
    trials = protocol_trials(cfg_for(tree, **{"eval.trials": 2, "eval.shots": 10}))
    assert [(t["setting"], t["trial"]) for t in trials] == [
        ("all-search multi-shot", 0),
        ("all-search multi-shot", 1),
    ]
    with pytest.raises(ValueError, match="no test protocol"):
        protocol_trials(cfg_for(tree, **{"data.dataset": "market"}))


def test_evaluate_command_prints_the_table_and_writes_json(tree, tmp_path, capsys):
    from tsgan.__main__ import main
    from tsgan.engine.checkpoint import save_checkpoint
    from tsgan.models import build_backbone

    cfg = cfg_for(tree, **{"model.arch": "resnet18", "model.pretrained": ""})
    net = build_backbone(cfg.model, num_classes=2)
    ckpt = save_checkpoint(
        tmp_path / "model.pt",
        {"config": cfg.to_dict(), "num_classes": 2, "models": {"backbone": net.state_dict()}},
    )
    out = tmp_path / "report.json"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(ckpt),
            "--mode",
            "indoor",
            "--trials",
            "2",
            "--rerank",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "indoor-search single-shot" in printed and "model + re-ranking" in printed
    report = json.loads(out.read_text())
    assert report["checkpoint"] == str(ckpt.resolve()) and len(report["results"]) == 2
    assert all(len(r["trials"]) == 2 for r in report["results"])


def test_ranked_list_figure_frames_true_matches_green(tree):
    from tsgan.figure_inputs import ranked_lists
    from tsgan.figures import GREEN, RED

    queries, gallery = sysu_protocol(tree, mode="all")
    dist = np.array(
        [[0.0 if g.pid == q.pid else 1.0 + k for k, g in enumerate(gallery)] for q in queries]
    )
    fig = ranked_lists(queries, gallery, dist, rows=[0, 5], topk=4, size=(16, 8), border=2)
    axes = np.array(fig.axes).reshape(2, 5)
    for r, qi in enumerate([0, 5]):
        kept = [g for g in gallery if not (queries[qi].cam == 3 and g.cam == 2)]
        n_true = sum(g.pid == queries[qi].pid for g in kept)
        colours = [
            tuple(round(float(v), 2) for v in ax.images[0].get_array()[0, 0]) for ax in axes[r, 1:]
        ]
        expected = [GREEN] * n_true + [RED] * (4 - n_true)
        assert colours == expected[:4]


def test_handcrafted_features_are_gradient_energies():
    x = torch.zeros(1, 3, 8, 4)
    x[..., :, 2:] = 1.0  # one vertical edge between columns 1 and 2
    f = handcrafted_features(x, grid=(1, 1))
    assert f.shape == (1, 2)
    assert f[0, 0].item() == pytest.approx(1 / 3)  # |dx| = 1 in one of the 3 column gaps
    assert f[0, 1].item() == 0.0  # no vertical change
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        handcrafted_features(torch.zeros(3, 8, 4))
