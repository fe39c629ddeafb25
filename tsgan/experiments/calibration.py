"""How hard is the embedded dataset? Two measurements, both scored by the project's evaluator.

1. :func:`baseline_retrieval`: a training-free pixel baseline (test images shrunk to 32x16,
   flattened, centred, L2-normalised, Euclidean distance; all gallery images).
2. :func:`calibrate`: a fixed small CNN probe (:class:`Probe`) trained with a fixed budget
   (:data:`PROBE_BUDGET`) on *both* modalities of the training split with identity cross-entropy,
   then scored with the SYSU-MM01 protocol: all-search, single-shot, 10 seeded trials.

Settings (query cameras -> gallery cameras, never the same camera on both sides):

* ``RGB->RGB``: cams 1, 4 -> cams 2, 5 (one indoor and one outdoor camera on each side);
* ``IR->IR``: cam 3 -> cam 6;
* ``IR->RGB``: cams 3, 6 -> cams 1, 2, 4, 5 with the cam3/cam2 rule (:func:`sysu_protocol`);
* ``IR->twins`` (``calibrate(..., twins=True)``, embedded data only): ``IR->RGB`` with every RGB
  gallery picture replaced by its IR twin (:func:`tsgan.data.ir_twin`): what a perfect RGB -> IR
  translation would leave of the task, i.e. the headroom a generator could reach.

The real SYSU-MM01 is near-solved within one modality (paper Table III: R1 98-99 %) and hard
across (Table II: R1 41 % for the same backbone); the embedded data is calibrated to mirror those
ratios (``benchmarks/bench_calibration.py`` measures it; targets in docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.pixel_stats import load_resized, pixel_features
from ..data.protocols import seeded_draw, sysu_protocol
from ..data.records import CrossModalityDataset, Sample
from ..data.sysu import list_images
from ..eval import euclidean_distance, evaluate_rank
from ..eval.twin_gallery import TWINS
from ..eval.twins import load_twins

SETTINGS = {
    "RGB->RGB": ((1, 4), (2, 5), "regdb"),
    "IR->IR": ((3,), (6,), "regdb"),
    "IR->RGB": ((3, 6), (1, 2, 4, 5), "sysu"),
}
TWIN_SETTING = TWINS  # IR->RGB, each RGB gallery picture replaced by its IR twin
PROBE_BUDGET = {"size": (64, 32), "epochs": 30, "batch_size": 64, "lr": 3e-3, "width": 32}


def baseline_retrieval(
    data: CrossModalityDataset, size: tuple[int, int] = (32, 16)
) -> dict[str, dict[str, float]]:
    """R1, mAP, number of queries and chance R1 (one over the number of gallery identities, since
    the CMC ranks identities) of the pixel baseline for each setting of :data:`SETTINGS` on the
    test split (all gallery images, i.e. multi-shot style)."""
    samples = data.test
    feats = torch.from_numpy(pixel_features(samples, size))
    pids = np.array([s.pid for s in samples])
    cams = np.array([s.cam for s in samples])
    out = {}
    for name, (q_cams, g_cams, protocol) in SETTINGS.items():
        q, g = np.isin(cams, q_cams), np.isin(cams, g_cams)
        if not q.any() or not g.any():
            raise ValueError(
                f"{name}: the test split of {data.name} has no images in cameras "
                f"{q_cams} or {g_cams}"
            )
        res = evaluate_rank(
            euclidean_distance(feats[q], feats[g]),
            pids[q],
            pids[g],
            cams[q],
            cams[g],
            protocol=protocol,
            max_rank=1,
        )
        out[name] = {
            "R1": float(res["cmc"][0]),
            "mAP": res["mAP"],
            "queries": res["num_valid"],
            "chance": 1 / len(np.unique(pids[g])),
        }
    return out


class Probe(nn.Module):
    """Four conv-BN-ReLU blocks (width w, 2w, 4w, 4w; max-pool after the first three), global
    average pooling, a BN neck (the retrieval feature) and a linear identity classifier."""

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()
        chans = (3, width, 2 * width, 4 * width, 4 * width)
        layers: list[nn.Module] = []
        for i in range(4):
            layers += [
                nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(inplace=True),
            ]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.neck = nn.BatchNorm1d(chans[-1])
        self.classifier = nn.Linear(chans[-1], num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) in [0, 1] -> (feature (B, 4w), logits (B, classes))."""
        f = self.neck(self.body(x - 0.5).mean(dim=(2, 3)))
        return f, self.classifier(f)


def _tensor(samples: list[Sample], size: tuple[int, int]) -> torch.Tensor:
    return torch.from_numpy(load_resized(samples, size)).permute(0, 3, 1, 2).contiguous()


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 4 pixels (pad and crop)."""
    flip = torch.rand(len(x), generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    h, w = x.shape[2:]
    padded = F.pad(x, (4, 4, 4, 4), mode="replicate")
    dy, dx = (int(v) for v in torch.randint(0, 9, (2,), generator=g))
    return padded[:, :, dy : dy + h, dx : dx + w]


def train_probe(data: CrossModalityDataset, seed: int, budget: dict | None = None) -> Probe:
    """Train a :class:`Probe` on all training images of both modalities (identity cross-entropy,
    label smoothing 0.1, Adam, cosine learning rate) with the fixed ``budget``."""
    b = {**PROBE_BUDGET, **(budget or {})}
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    labels_of = {pid: i for i, pid in enumerate(sorted({s.pid for s in data.train}))}
    x = _tensor(data.train, b["size"])
    y = torch.tensor([labels_of[s.pid] for s in data.train])
    model = Probe(len(labels_of), b["width"])
    opt = torch.optim.Adam(model.parameters(), lr=b["lr"], weight_decay=5e-4)
    steps = b["epochs"] * (len(x) // b["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, b["lr"], total_steps=steps, pct_start=0.15)
    model.train()
    for _ in range(b["epochs"]):
        order = torch.randperm(len(x), generator=g)
        for i in range(len(x) // b["batch_size"]):
            idx = order[i * b["batch_size"] : (i + 1) * b["batch_size"]]
            loss = F.cross_entropy(model(_augment(x[idx], g))[1], y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def probe_features(
    model: Probe, samples: list[Sample], size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """Path -> L2-normalised probe feature of each sample (flip-averaged)."""
    f = _features(model, _tensor(samples, size))
    return {s.path: f[i] for i, s in enumerate(samples)}


@torch.no_grad()
def twin_features(
    model: Probe, samples: list[Sample], size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """Path of each generated RGB sample -> the probe feature of its IR twin (3 equal channels,
    resized like the pictures): scored in place of the RGB picture, it makes the ``IR->twins``
    setting."""
    grey = load_twins(samples, size)[1]
    f = _features(model, grey.expand(-1, 3, -1, -1).contiguous())
    return {s.path: f[i] for i, s in enumerate(samples)}


def _features(model: Probe, x: torch.Tensor) -> torch.Tensor:
    """(N, 4w) L2-normalised flip-averaged probe features of (N, 3, H, W) images in [0, 1]."""
    f = torch.cat(
        [model(x[i : i + 256])[0] + model(x[i : i + 256].flip(3))[0] for i in range(0, len(x), 256)]
    )
    return F.normalize(f, dim=1)


def sysu_trials(
    root: str | Path, test_ids: list[int], setting: str, trials: int = 10
) -> list[tuple[list[Sample], list[Sample]]]:
    """(queries, gallery) per trial: :func:`sysu_protocol` (all-search, single-shot, seeded draw)
    for ``IR->RGB``; the same seeded single-shot draw over the gallery cameras for the others."""
    if setting == "IR->RGB":
        return [sysu_protocol(root, "all", 1, t) for t in range(trials)]
    q_cams, g_cams, _ = SETTINGS[setting]
    queries, pool = (
        list_images(Path(root), test_ids, q_cams),
        list_images(Path(root), test_ids, g_cams),
    )
    return [(queries, seeded_draw(pool, t, 1)) for t in range(trials)]


def score(
    features: dict[str, torch.Tensor],
    trials: list[tuple[list[Sample], list[Sample]]],
    protocol: str,
) -> dict[str, float]:
    """R1 and mAP averaged over ``trials``, and chance R1 (one over the gallery identities)."""
    r1, m_ap, chance = [], [], []
    for queries, gallery in trials:
        qf = torch.stack([features[q.path] for q in queries])
        gf = torch.stack([features[g.path] for g in gallery])
        res = evaluate_rank(
            euclidean_distance(qf, gf),
            [q.pid for q in queries],
            [g.pid for g in gallery],
            [q.cam for q in queries],
            [g.cam for g in gallery],
            protocol=protocol,
            max_rank=1,
        )
        r1.append(float(res["cmc"][0]))
        m_ap.append(res["mAP"])
        chance.append(1 / len({g.pid for g in gallery}))
    return {"R1": float(np.mean(r1)), "mAP": float(np.mean(m_ap)), "chance": float(np.mean(chance))}


def calibrate(
    data: CrossModalityDataset, seed: int, budget: dict | None = None, twins: bool = False
) -> dict[str, dict[str, float]]:
    """Train one probe (seed ``seed``) and score it in every setting of :data:`SETTINGS`; with
    ``twins`` (embedded data) also in :data:`TWIN_SETTING` (same trials as ``IR->RGB``)."""
    random.seed(seed)
    b = {**PROBE_BUDGET, **(budget or {})}
    model = train_probe(data, seed, b)
    feats = probe_features(model, data.test, b["size"])
    out = {
        name: score(feats, sysu_trials(data.root, data.test_ids, name), protocol)
        for name, (_, _, protocol) in SETTINGS.items()
    }
    if twins:
        rgb = [s for s in data.test if s.modality == "rgb"]
        gallery = {**feats, **twin_features(model, rgb, b["size"])}
        trials = sysu_trials(data.root, data.test_ids, "IR->RGB")
        out[TWIN_SETTING] = score(gallery, trials, SETTINGS["IR->RGB"][2])
    return out
