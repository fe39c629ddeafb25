"""Does the joint discriminator give G_I identity-level pairing? G_I of whole TS-GAN runs.

An unpaired CycleGAN stage (:mod:`tsgan.experiments.gi_study`) cannot learn an RGB -> IR map that
is not a function of the picture alone; TS-GAN_JD's joint D_I judges (image, student feature map)
pairs, and its fake set M (Eq. 5) calls an IR picture with f(X_I') of the same identity fake, so
G_I is pushed toward fakes whose student features match their identity's IR pictures. That path
needs the student and so the whole Algorithm 1; this study trains it.

A :class:`PairingVariant` is TS-GAN on top of the base config with the discriminator stated and
the pairing's strength changed relative to the base: the weight of L_ReID^GAN (``loss.lambda3``,
Eq. 8), D_I's width (``model.disc_filters``) or depth (``model.disc_layers``). L_G^adv of G_I
(Eq. 1, 7) has no weight of its own (``generator_loss`` adds it unweighted beside
``omega * L_cyc``), so there is no separate joint-term weight to vary.

Every (variant, seed) is one cached TS-GAN run on ``data.split=val`` trained and scored by the
validation harness (:func:`tsgan.experiments.validation.run_validation`: R1 / mAP on the val ids,
the run's per-epoch probe curve, provenance), so a second call trains nothing. G_I of each run's
final checkpoint is then scored by its twin L1 / SSIM (:func:`tsgan.eval.twins.score_twins`) on
the first RGB picture of every validation identity (:func:`tsgan.eval.twins.gate_pictures`, never
trained on) at the training size, beside the grayscale / channel-copy floors and the degraded-twin
levels of the same pictures::

    python benchmarks/bench_gi.py --tsgan od jd jd-l3x10 jd-disc2x --seeds 2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, replace
from ..engine.checkpoint import load_generators
from ..eval.twins import degraded_twin_error, gate_pictures, load_twins, score_twins, twin_floors
from ..training import cached_run, load_dataset
from .ablate_report import paired
from .gi_study import _from_root
from .validation import Decision, Setting, run_validation, validation_document

RESULTS_FORMAT = "tsgan-gi-pairing/1"
QUESTION = "Does the joint D_I's pairing path make G_I better, and what strengthens it?"
REFERENCE = "jd"
# what each record is compared on: the G_I twin scores and the student's val scores
PAIRED_METRICS = ("twin_L1", "twin_SSIM", "R1", "mAP")


@dataclass(frozen=True)
class PairingVariant:
    """TS-GAN with ``model.discriminator`` = ``discriminator`` and dotted fields changed relative
    to the base config: multiplied (``scale``) or incremented (``add``), so ``x10`` means ten times
    whatever the preset says."""

    key: str
    name: str
    discriminator: str = "joint"
    scale: Mapping[str, float] = field(default_factory=dict)
    add: Mapping[str, int] = field(default_factory=dict)

    def setting(self, base: Config) -> Setting:
        """The variant as a validation :class:`Setting`: absolute overrides on ``base``."""
        over: dict[str, Any] = {"model.discriminator": self.discriminator}
        for dotted, factor in self.scale.items():
            value = _get(base, dotted)
            over[dotted] = type(value)(value * factor)
        for dotted, n in self.add.items():
            over[dotted] = _get(base, dotted) + n
        return Setting(self.key, self.name, over)

    def config(self, base: Config, seed: int) -> Config:
        """The training config of ``seed``: on the validation split (:meth:`Setting.config`)."""
        return self.setting(base).config(base, seed)


def _get(cfg: Config, dotted: str) -> Any:
    section, name = dotted.split(".")
    return getattr(getattr(cfg, section), name)


VARIANTS: dict[str, PairingVariant] = {
    v.key: v
    for v in (
        PairingVariant("od", "ordinary D_I: no feature maps, no pairing (TS-GAN_OD)", "ordinary"),
        PairingVariant("jd", "joint D_I, the preset (TS-GAN_JD)"),
        PairingVariant(
            "jd-l3x10", "joint, L_ReID^GAN weight lambda3 x10", scale={"loss.lambda3": 10}
        ),
        PairingVariant("jd-disc2x", "joint, D_I filters x2", scale={"model.disc_filters": 2}),
        PairingVariant("jd-deep", "joint, one more D_I layer", add={"model.disc_layers": 1}),
    )
}


def get_variants(keys: Sequence[str] | None) -> list[PairingVariant]:
    """The variants named by ``keys`` (all of :data:`VARIANTS` when None), in that order."""
    if not keys:
        return list(VARIANTS.values())
    unknown = [k for k in keys if k not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown TS-GAN G_I variant(s) {unknown}; choose from {list(VARIANTS)}")
    return [VARIANTS[k] for k in keys]


def score_run_G_I(cfg: Config, rgb, twin) -> dict[str, float]:
    """Twin L1 / SSIM of G_I (RGB -> IR, not G_R) from the finished cached TS-GAN run of ``cfg``
    on pictures loaded by :func:`tsgan.eval.twins.load_twins`."""
    G_I, _ = load_generators(cached_run(cfg, "tsgan").final)
    return score_twins(G_I, rgb, twin)


def pairing_pairs(keys: Sequence[str]) -> list[tuple[str, str]]:
    """Every variant against :data:`REFERENCE`, and ``jd - od`` (what the joint path adds)."""
    pairs = [(k, REFERENCE) for k in keys if k != REFERENCE]
    if REFERENCE in keys and "od" in keys:
        pairs = [(REFERENCE, "od"), *[p for p in pairs if p[0] != "od"]]
    return pairs


def paired_records(
    records: Sequence[Mapping[str, Any]], pairs: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """For each pair (a, b) sharing seeds and each of :data:`PAIRED_METRICS`: a - b over the
    seeds both have (:func:`tsgan.experiments.ablate_report.paired`)."""
    return paired(records, pairs, PAIRED_METRICS)


def run_pairing_study(
    base: Config,
    variants: Sequence[PairingVariant],
    seeds: Sequence[int],
    cached_only: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or load) every (variant, seed) and score it; the study's document: the validation
    document (records with R1 / mAP, curve, provenance; per-variant summary) with each record's
    ``twin_L1`` / ``twin_SSIM`` of G_I, the floors and degraded levels of the same pictures, and
    ``paired`` differences on :data:`PAIRED_METRICS` (:func:`pairing_pairs`)."""
    settings = {v.key: v.setting(base) for v in variants}
    decision = Decision("gi-pairing", QUESTION, tuple(settings.values()))
    records = run_validation(decision, base, seeds, cached_only=cached_only, progress=progress)
    cfg = replace(base, data__split="val")
    pictures = gate_pictures(load_dataset(cfg))
    size = (cfg.data.height, cfg.data.width)
    rgb, twin = load_twins(pictures, size)
    for r in records:
        err = score_run_G_I(settings[r["row"]].config(base, r["seed"]), rgb, twin)
        r["twin_L1"], r["twin_SSIM"] = err["L1"], err["SSIM"]
    doc = validation_document(decision, base, records)
    return {
        **doc,
        "format": RESULTS_FORMAT,
        "reference": REFERENCE,
        "pictures": [_from_root(p.path) for p in pictures],
        "size": list(size),
        "floors": twin_floors(pictures, size),
        "degraded": degraded_twin_error(pictures, size),
        "paired": paired_records(records, pairing_pairs([v.key for v in variants])),
    }


def format_pairing_study(doc: Mapping[str, Any]) -> str:
    """The records as a table (variant, seed, twin L1 / SSIM, val R1 / mAP, training seconds),
    the floors and degraded levels, and the paired differences."""
    n = len(doc["pictures"])
    lines = [
        f"G_I of TS-GAN runs: twin L1 / SSIM on {n} validation pictures; student R1 / mAP (%) "
        "on the val ids",
        f"{'variant':<10} {'seed':>4} {'twin L1':>8} {'SSIM':>6} {'R1':>6} {'mAP':>6} "
        f"{'train s':>8}",
    ]
    for r in doc["records"]:
        secs = "-" if r.get("train_seconds") is None else f"{r['train_seconds']:.0f}"
        lines.append(
            f"{r['row']:<10} {r['seed']:>4} {r['twin_L1']:>8.3f} {r['twin_SSIM']:>6.3f} "
            f"{r['R1']:>6.1f} {r['mAP']:>6.1f} {secs:>8}"
        )
    for name, f in doc["floors"].items():
        lines.append(f"{name + ' floor':<15} {f['L1']:>8.3f} {f['SSIM']:>6.3f}")
    for d in doc["degraded"][1:]:
        lines.append(f"{'twins level ' + str(d['level']):<15} {d['L1']:>8.3f} {d['SSIM']:>6.3f}")
    seeds = doc["seeds"]
    note = " (directions, not evidence)" if len(seeds) < 3 else ""
    lines.append(f"paired differences a - b over seeds {seeds}, mean [95% CI]{note}")
    for p in doc["paired"]:
        ci = "" if p["ci"] is None else f" [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}]"
        diffs = " ".join(f"{d:+.3f}" for d in p["diffs"])
        lines.append(
            f"{p['a'] + ' - ' + p['b']:<18} {p['metric']:<9} {p['mean']:+.3f}{ci} (seeds: {diffs})"
        )
    return "\n".join(lines)


__all__ = [
    "PAIRED_METRICS",
    "REFERENCE",
    "VARIANTS",
    "PairingVariant",
    "format_pairing_study",
    "get_variants",
    "paired_records",
    "pairing_pairs",
    "run_pairing_study",
    "score_run_G_I",
]
