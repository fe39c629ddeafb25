"""The IR->twins setting for any model: the RGB gallery replaced by its IR twins, scored on the
same trials as the ordinary IR->RGB protocol, against a formulation written out by hand."""

import numpy as np
import pytest
import torch
from PIL import Image

from tsgan.config import get_config
from tsgan.data import ir_twin
from tsgan.data.protocols import sysu_protocol
from tsgan.data.records import DatasetError
from tsgan.eval.reference import evaluate_loop
from tsgan.eval.twin_gallery import PLAIN, TWINS, evaluate_twin_gallery


class Projection(torch.nn.Module):
    """A fixed random projection of the pixels: features that see colour and grey level (an RGB
    picture and its IR twin get different features), deterministic."""

    def __init__(self, pixels: int, dim: int = 16):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(pixels, dim, generator=g), requires_grad=False)

    def forward(self, x):
        return x.flatten(1) @ self.weight


def cfg_for(root, split="test"):
    # the tree's own size: no resizing anywhere, so the hand formulation reads raw pixels
    return get_config(
        "cpu",
        {
            "data.dataset": "sysu",
            "data.root": str(root),
            "data.height": 64,
            "data.width": 32,
            "data.cache": False,
            "data.split": split,
            "eval.trials": 4,
        },
    )


def _pixels(image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)


def by_hand(model, root, split, twins):
    """Per trial (R1, mAP): features of the queries' files and of the gallery's files or of the
    gallery's IR twins rendered by ``ir_twin``, L2-normalised, Euclidean distances by cdist, the
    per-query loop evaluator."""
    out = []
    for t in range(4):
        queries, gallery = sysu_protocol(root, "all", 1, t, ids=split)
        q = torch.stack([_pixels(Image.open(s.path).convert("RGB")) for s in queries])
        if twins:
            g = torch.stack([_pixels(ir_twin(s)) for s in gallery])
        else:
            g = torch.stack([_pixels(Image.open(s.path).convert("RGB")) for s in gallery])
        with torch.no_grad():
            qf, gf = (torch.nn.functional.normalize(model(x), dim=1) for x in (q, g))
        cmc, m_ap, _, _ = evaluate_loop(
            torch.cdist(qf.double(), gf.double()).numpy(),
            np.array([s.pid for s in queries]),
            np.array([s.pid for s in gallery]),
            np.array([s.cam for s in queries]),
            np.array([s.cam for s in gallery]),
        )
        out.append((float(cmc[0]), m_ap))
    return out


@pytest.mark.parametrize("split", ["test", "val"])
def test_twin_gallery_scores_equal_the_hand_formulation(synthetic_sysu, split):
    model = Projection(3 * 64 * 32)
    res = evaluate_twin_gallery(model, cfg_for(synthetic_sysu, split), progress=False)
    for name, twins in ((PLAIN, False), (TWINS, True)):
        want = by_hand(model, synthetic_sysu, split, twins)
        got = [(t["R1"], t["mAP"]) for t in res[name]["per_trial"]]
        assert [t["trial"] for t in res[name]["per_trial"]] == [0, 1, 2, 3]
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)
        assert res[name]["R1"] == pytest.approx(np.mean([r for r, _ in want]))
        assert res[name]["mAP"] == pytest.approx(np.mean([m for _, m in want]))
    # the two settings are different numbers (the twins are not the pictures), on one chance
    maps = {name: [t["mAP"] for t in res[name]["per_trial"]] for name in (PLAIN, TWINS)}
    assert maps[PLAIN] != maps[TWINS]
    gallery_ids = {g.pid for g in sysu_protocol(synthetic_sysu, "all", 1, 0, ids=split)[1]}
    assert res[PLAIN]["chance"] == res[TWINS]["chance"] == pytest.approx(1 / len(gallery_ids))
    assert res["split"] == split and res["trials"] == 4


def test_data_without_twins_is_refused(tmp_path):
    from fakes import make_sysu_tree

    root = make_sysu_tree(tmp_path / "sysu", [1], [2], [5, 6], images_per_cam=2, size=(64, 32))
    with pytest.raises(DatasetError, match="IR->twins setting needs the IR twins"):
        evaluate_twin_gallery(Projection(3 * 64 * 32), cfg_for(root), progress=False)
