"""The ``IR->twins`` setting for any model: the SYSU-MM01 cross-modality protocol with every RGB
gallery picture replaced by its true IR twin.

The embedded data renders, for each generated RGB picture, the same scene as an IR camera at that
place would record it (:func:`tsgan.data.ir_twin`). Scoring IR queries against a gallery of those
twins is the task a perfect RGB -> IR generator G_I would leave: what is left of cross-modality
matching once the modality gap is gone, i.e. the headroom a generator could reach.

:func:`evaluate_twin_gallery` scores a feature function (any model: ``backbone.features``, a
teacher's, a hand-made one) on the all-search single-shot protocol of the config's split
(:func:`tsgan.eval.report.protocol_trials`: the test identities, or the validation ones under
``data.split=val``) twice over the *same* trials (the same queries and seeded gallery draws):

* ``IR->RGB``: the ordinary protocol (what ``evaluate_model`` reports for that setting);
* ``IR->twins``: each gallery row is the feature of that picture's IR twin (rendered at the data
  size as the image cache holds a picture, then the test transforms: what ``train.fakes=twins``
  feeds the oracle rows), the queries unchanged.

Both are Euclidean distances of the same features (normalised when ``eval.feat_norm``), without
re-ranking, so the two numbers are paired trial by trial.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..config import Config, replace
from ..data import ir_twin
from ..data.records import DatasetError, Sample
from .features import FeatureFn, extract_features
from .report import evaluate_features, protocol_trials

PLAIN, TWINS = "IR->RGB", "IR->twins"
SETTING = ("all", 1)  # all-search, single-shot (paper Table II's setting)


def evaluate_twin_gallery(
    feature_fn: FeatureFn, cfg: Config, progress: bool = True
) -> dict[str, Any]:
    """``IR->RGB`` and ``IR->twins`` scores of ``feature_fn`` on the same trials.

    Returns ``{"IR->RGB": setting, "IR->twins": setting, "split", "trials", "queries",
    "gallery_pictures"}``; each setting holds the mean ``R1``, ``mAP``, ``mINP`` (fractions),
    ``chance`` (mean over trials of one over the gallery identities) and ``per_trial`` (trial, R1,
    mAP). ``gallery_pictures``: the RGB pictures of all trials' galleries (each twin is rendered
    once). Data without IR twins (not a generated SYSU-layout tree): :class:`DatasetError`."""
    cfg = replace(cfg, eval__rerank=False)
    trials = protocol_trials(cfg, [SETTING])
    unique: dict[str, Sample] = {}
    for t in trials:
        for s in list(t["queries"]) + list(t["gallery"]):
            unique.setdefault(s.path, s)
    samples = list(unique.values())
    gallery = list({g.path: g for t in trials for g in t["gallery"]}.values())
    not_rgb = [g for g in gallery if g.modality != "rgb"]
    if not_rgb:
        raise RuntimeError(f"the all-search gallery holds a non-RGB picture: {not_rgb[0].path}")
    e = cfg.eval

    def features(pictures: list[Sample], twins: bool) -> torch.Tensor:
        return extract_features(
            feature_fn, pictures, cfg, e.batch_size, flip=e.flip, progress=progress, twins=twins
        )

    try:  # data without twins fails here, before any feature is computed
        ir_twin(gallery[0])
    except DatasetError as err:
        raise DatasetError(
            f"the {TWINS} setting needs the IR twins of the RGB gallery: {err}"
        ) from None
    feats = features(samples, False)
    twin_feats = features(gallery, True)
    index = {s.path: i for i, s in enumerate(samples)}
    # the same paths, each RGB gallery picture's row now its twin's
    twin_index = {**index, **{g.path: len(samples) + i for i, g in enumerate(gallery)}}
    plain = evaluate_features(feats, index, trials, cfg, progress)
    twin = evaluate_features(torch.cat([feats, twin_feats]), twin_index, trials, cfg, progress)
    chance = float(np.mean([1 / len({g.pid for g in t["gallery"]}) for t in trials]))
    return {
        PLAIN: _setting(plain, chance),
        TWINS: _setting(twin, chance),
        "split": cfg.data.split,
        "trials": len(trials),
        "queries": len(trials[0]["queries"]),
        "gallery_pictures": len(gallery),
    }


def _setting(rows: list[dict[str, Any]], chance: float) -> dict[str, Any]:
    """The one (all-search single-shot, not re-ranked) row of :func:`evaluate_features`."""
    (row,) = rows
    return {
        "R1": row["mean"]["R1"],
        "mAP": row["mean"]["mAP"],
        "mINP": row["mean"]["mINP"],
        "chance": chance,
        "per_trial": [{k: t[k] for k in ("trial", "R1", "mAP")} for t in row["trials"]],
    }
