"""Automatic checks for the course exercises (see ``tsgan.assignments`` and docs/TEACHING.md).

Each ``check_*`` function runs the student's function and the package's reference on seeded
inputs and edge cases, and either prints a one-line verdict or raises :class:`CheckFailed` naming
the case that failed with the expected and the obtained value. The cases of the exercises written
for teaching (``fake_set``, ``ts_losses``, ``cmc_ap``, ``sysu_removed``, ``k_reciprocal``,
``gradient_flow``) run smallest first, so the case a failure names is the smallest one that fails:
the one to work through by hand. A stub that was never filled in
raises :class:`ExerciseNotDone`, which the checks turn into a message that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from .config import Config, get_config
from .data.noise import random_batch
from .eval import evaluate_rank
from .eval.metrics import keep_mask
from .eval.reranking import neighbourhoods
from .freeze import frozen
from .losses import (
    GANLoss,
    batch_hard_triplet,
    cycle_loss,
    discriminator_loss,
    id_loss,
    joint_fake_set,
    reid_gan_loss,
    ts_losses,
)
from .methods.tsgan import TSGAN
from .models import JointDiscriminator, build_backbone
from .paths import REPO_ROOT
from .stats import paired_difference


class ExerciseNotDone(NotImplementedError):
    """Raised by the stub that replaces a solution region in a student notebook."""

    def __init__(self, name: str = "exercise"):
        super().__init__(
            f"Exercise '{name}' is not done yet: "
            "write your code where the TODO is in the cell above, "
            "run that cell, then run this check again."
        )
        self.name = name


class CheckFailed(AssertionError):
    """The student's result differs from the reference on a named case."""


class ReferenceUsed(CheckFailed):
    """The student's code called the package's reference implementation of the exercise."""


# What each exercise's answer may not call: "module:attr" or "module:Class.attr". The checks make
# these unavailable to the code under test (``sealed``), so an answer that returns the reference's
# result fails with a message saying so instead of passing.
REFERENCES: dict[str, tuple[str, ...]] = {
    "pixel_features": ("tsgan.data.pixel_stats:pixel_features",),
    "id_loss": ("tsgan.losses:id_loss", "tsgan.losses:reid_loss"),
    "triplet": ("tsgan.losses:batch_hard_triplet", "tsgan.losses:reid_loss"),
    "cycle_loss": ("tsgan.losses:cycle_loss", "tsgan.losses:generator_loss"),
    "fake_set": ("tsgan.losses:joint_fake_set", "tsgan.losses:fake_set"),
    "adversarial_losses": (
        "tsgan.losses:generator_loss",
        "tsgan.losses:discriminator_loss",
        "tsgan.losses:reid_gan_loss",
        "tsgan.losses:joint_fake_set",
        "tsgan.losses:fake_set",
    ),
    "ts_losses": ("tsgan.losses:ts_losses", "tsgan.losses:feature_mse"),
    "gradient_flow": ("tsgan.checks:gradient_table",),
    "algorithm1_step": ("tsgan.methods.tsgan:TSGAN.optimize_parameters",),
    "sysu_removed": ("tsgan.eval.metrics:keep_mask", "tsgan.eval.metrics:evaluate_rank"),
    "cmc_ap": ("tsgan.eval.metrics:keep_mask", "tsgan.eval.metrics:evaluate_rank"),
    "k_reciprocal": (
        "tsgan.eval.reranking:neighbourhoods",
        "tsgan.eval.reranking:rerank",
        "tsgan.eval.reference:re_ranking",
    ),
    "query_expansion": (
        "tsgan.eval.reranking:rerank",
        "tsgan.eval.reranking:rerank_features",
        "tsgan.eval.reranking:_query_expansion",
        "tsgan.eval.reference:re_ranking",
    ),
    "paired_difference": ("tsgan.stats:paired_difference", "tsgan.stats:mean_ci"),
}


def _resolve(target: str) -> tuple[Any, str, Any]:
    """ "module:attr" or "module:Class.attr" -> (owner, attribute name, object)."""
    module, _, path = target.partition(":")
    owner: Any = importlib.import_module(module)
    *parents, attr = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attr, getattr(owner, attr)


@contextmanager
def sealed(exercise: str, student: Callable | None = None) -> Iterator[list[str]]:
    """Make the package's reference implementation of ``exercise`` unavailable while the block
    runs: every ``tsgan`` module attribute (and every global or closure variable of ``student``)
    bound to one of
    ``REFERENCES[exercise]`` is replaced by a function that records the call and raises
    :class:`ReferenceUsed`. Yields the list of references called, so a caller can fail the answer
    even when the student's code caught the exception."""
    used: list[str] = []
    patches: list[tuple[Any, str, Any]] = []

    def blocked(label: str) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            used.append(label)
            raise ReferenceUsed(_reference_message(exercise, label))

        return call

    try:
        for target in REFERENCES.get(exercise, ()):
            owner, attr, obj = _resolve(target)
            label = target.replace(":", ".")
            stand_in = blocked(label)
            if isinstance(owner, type):
                patches.append((owner, attr, owner.__dict__[attr]))
                setattr(owner, attr, stand_in)
                continue
            namespaces = [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "tsgan"]
            for module in namespaces:
                for key, value in list(vars(module).items()):
                    if value is obj:
                        patches.append((module, key, value))
                        setattr(module, key, stand_in)
            g = getattr(student, "__globals__", None)
            for key, value in list((g or {}).items()):
                if value is obj:
                    patches.append((g, key, value))
                    g[key] = stand_in
            for cell in getattr(student, "__closure__", None) or ():
                try:
                    value = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if value is obj:
                    patches.append((cell, "cell_contents", value))
                    cell.cell_contents = stand_in
        yield used
    finally:
        for owner, key, value in reversed(patches):
            if isinstance(owner, dict):
                owner[key] = value
            else:
                setattr(owner, key, value)


def _reference_message(exercise: str, label: str) -> str:
    return (
        f"{exercise}: your answer calls the package's reference implementation {label}, which "
        "the check makes unavailable to the code under test: write the computation yourself"
    )


def call_student(exercise: str, student: Callable, *args: Any, **kwargs: Any) -> Any:
    """``student(*args, **kwargs)`` with the exercise's reference sealed; a stub's
    :class:`ExerciseNotDone` names the exercise, a call of the reference fails the answer."""
    with sealed(exercise, student) as used:
        try:
            got = student(*args, **kwargs)
        except ExerciseNotDone:
            raise ExerciseNotDone(exercise) from None
        except ReferenceUsed:
            pass
    if used:
        raise ReferenceUsed(_reference_message(exercise, used[0]))
    return got


def _fmt(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray) and x.dtype == bool:
        return repr(x.tolist())
    if isinstance(x, (set, frozenset)):
        return "{" + ", ".join(map(str, sorted(x))) + "}" if x else "{} (empty)"
    if isinstance(x, np.ndarray):
        return np.array2string(np.asarray(x, dtype=float), precision=4, threshold=12)
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def rel_error(a: Any, b: Any) -> float:
    """max |a - b| / max(1e-8, |a| + |b|), elementwise: the classic cs231n-style check."""
    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def run_cases(
    name: str,
    student: Callable,
    reference: Callable,
    cases: list[tuple[str, tuple, dict]],
    tol: float = 1e-5,
) -> int:
    """Compare ``student(*args, **kw)`` with ``reference(*args, **kw)`` on every case; print the
    verdict."""
    for case, args, kwargs in cases:
        expected = reference(*args, **kwargs)
        got = call_student(name, student, *args, **kwargs)
        _compare(name, case, expected, got, tol)
    print(f"check {name}: all {len(cases)} cases passed")
    return len(cases)


def _compare(name: str, case: str, expected: Any, got: Any, tol: float) -> None:
    if expected is None or got is None or isinstance(expected, (set, frozenset)):
        same = expected is got if expected is None or got is None else _as_set(got) == expected
        if not same:
            raise CheckFailed(f"{name}, case '{case}': expected {_fmt(expected)}, got {_fmt(got)}")
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) < set(expected):
            raise CheckFailed(
                f"{name}, case '{case}': expected a dict with keys {sorted(expected)}, "
                f"got {_fmt(got)}"
            )
        for key in expected:
            _compare(name, f"{case}[{key!r}]", expected[key], got[key], tol)
        return
    if isinstance(expected, (tuple, list)) and not isinstance(expected, torch.Tensor):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise CheckFailed(
                f"{name}, case '{case}': expected a sequence of {len(expected)} items, "
                f"got {_fmt(got)}"
            )
        for k, (e, g) in enumerate(zip(expected, got)):
            _compare(name, f"{case}[{k}]", e, g, tol)
        return
    if (
        isinstance(got, torch.Tensor)
        and isinstance(expected, torch.Tensor)
        and got.shape != expected.shape
    ):
        raise CheckFailed(
            f"{name}, case '{case}': expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        )
    err = rel_error(expected, got)
    if not err <= tol:
        raise CheckFailed(
            f"{name}, case '{case}': expected {_fmt(expected)}, got {_fmt(got)} "
            f"(relative error {err:.2e} > {tol:g})"
        )


def _as_set(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        x = x.tolist()
    try:
        return {int(i) for i in x}
    except (TypeError, ValueError):
        return x


# ----------------------------------------------------------------------------------------------
# One check per exercise. Inputs are seeded, so a verdict is reproducible.


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def check_id_loss(student: Callable) -> None:
    """Label-smoothed ID loss, Eq. (9)-(10): ``student(logits, labels, epsilon)`` -> scalar."""
    g = _gen(0)
    cases = [
        (
            "random batch, eps=0.1",
            (torch.randn(6, 5, generator=g), torch.tensor([0, 1, 2, 3, 4, 0]), 0.1),
            {},
        ),
        (
            "eps=0 is plain cross-entropy",
            (torch.randn(4, 3, generator=g), torch.tensor([2, 0, 1, 2]), 0.0),
            {},
        ),
        ("confident logits", (10 * torch.eye(4), torch.tensor([0, 1, 2, 3]), 0.1), {}),
        ("wrong confident logits", (10 * torch.eye(3), torch.tensor([1, 2, 0]), 0.1), {}),
        ("one sample, many classes", (torch.randn(1, 50, generator=g), torch.tensor([7]), 0.3), {}),
    ]
    run_cases("id_loss", student, id_loss, cases)


def _hard_mining_features() -> tuple[torch.Tensor, torch.Tensor]:
    """A batch where the hardest positive/negative differ from the average ones."""
    feats = torch.tensor(
        [
            [0.0, 0.0],
            [0.1, 0.0],
            [2.0, 0.0],  # id 0: one far positive
            [0.5, 0.0],
            [3.0, 0.0],
            [3.1, 0.0],  # id 1: one close negative
            [0.0, 5.0],
            [0.2, 5.0],
            [0.1, 5.2],
        ]
    )  # id 2: well separated
    return feats, torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])


def check_triplet(student: Callable) -> None:
    """Batch-hard triplet loss, Eq. (11): ``student(features, labels, margin)`` -> scalar."""
    g = _gen(1)
    feats, labels = _hard_mining_features()
    cases = [
        (
            "random 3 ids x 2",
            (torch.randn(6, 8, generator=g), torch.tensor([0, 0, 1, 1, 2, 2]), 0.3),
            {},
        ),
        ("hardest positive and negative matter", (feats, labels, 0.3), {}),
        ("margin 0", (feats, labels, 0.0), {}),
        (
            "identical features give the margin",
            (torch.ones(4, 3), torch.tensor([0, 0, 1, 1]), 0.3),
            {},
        ),
        (
            "unordered labels",
            (torch.randn(8, 4, generator=g), torch.tensor([3, 1, 3, 0, 1, 0, 2, 2]), 0.5),
            {},
        ),
    ]
    run_cases("triplet", student, batch_hard_triplet, cases)


def check_cycle_loss(student: Callable) -> None:
    """Cycle loss, Eq. (6): ``student(X_R, X_R_rec, X_I, X_I_rec)`` -> scalar."""
    g = _gen(2)
    x_r, x_i = (
        torch.rand(2, 3, 8, 4, generator=g) * 2 - 1,
        torch.rand(2, 1, 8, 4, generator=g) * 2 - 1,
    )
    cases = [
        (
            "random images",
            (x_r, torch.rand(2, 3, 8, 4, generator=g), x_i, torch.rand(2, 1, 8, 4, generator=g)),
            {},
        ),
        ("perfect reconstructions", (x_r, x_r.clone(), x_i, x_i.clone()), {}),
        ("only the IR cycle is off", (x_r, x_r.clone(), x_i, x_i + 0.5), {}),
        ("RGB has 3 channels, IR 1", (x_r, x_r - 0.25, x_i, x_i), {}),
    ]
    run_cases("cycle_loss", student, cycle_loss, cases)


def check_fake_set(student: Callable) -> None:
    """The pairs D_I must call fake: ``student(X_I, X_I_fake, fmap_real, fmap_fake, joint)`` -> list
    of (image, feature map) pairs. ``joint=True``: the set M of Eq. (5); ``joint=False``: the
    ordinary D_I of TS-GAN_OD, which sees images alone (feature map None). Order does not matter."""
    g = _gen(3)
    named = {
        "X_I": torch.randn(2, 1, 8, 4, generator=g),
        "X_I'": torch.randn(2, 1, 8, 4, generator=g),
        "f(X_I)": torch.randn(2, 6, 2, 1, generator=g),
        "f(X_I')": torch.randn(2, 6, 2, 1, generator=g),
    }

    def name_of(t: Any) -> str:
        if t is None:
            return "None"
        for key, ref in named.items():
            if isinstance(t, torch.Tensor) and t.shape == ref.shape and torch.equal(t, ref):
                return key
        return "something else"

    args = [named[k] for k in ("X_I", "X_I'", "f(X_I)", "f(X_I')")]
    cases = [("ordinary D_I (TS-GAN_OD)", False), ("joint D_I, Eq. 5", True)]
    for case, joint in cases:
        reference = joint_fake_set(*args) if joint else [(args[1], None)]
        expected = sorted((name_of(x), name_of(f)) for x, f in reference)
        got = call_student("fake_set", student, *args, joint)
        pairs = sorted((name_of(x), name_of(f)) for x, f in got)
        if pairs != expected:
            shown = [", ".join(f"({x}, {f})" for x, f in ps) or "none" for ps in (expected, pairs)]
            raise CheckFailed(
                f"fake_set, case '{case}': expected the pairs {shown[0]}, got {shown[1]}. "
                "Every pair containing something generated is fake; the real pair "
                "(X_I, f(X_I)) is not."
            )
    print(f"check fake_set: all {len(cases)} cases passed")


def check_ts_losses(student: Callable) -> None:
    """Teacher-student losses, Eq. (13)-(16), with the training's reduction ``channel_sum`` (the
    squared distance between the C-dim feature vectors at each position, averaged over positions
    and images): ``student(fT_real_ir, fS_real_ir, fT_fake_ir, fS_fake_ir, fS_rgb, alpha_c,
    alpha_s)`` -> dict with real_ir, fake_ir, cd, total."""
    g = _gen(4)
    one = [torch.tensor([[[[a]], [[b]]]], dtype=torch.float32) for a, b in ((1, 2), (0, 0), (3, 1))]
    one += [torch.tensor([[[[1.0]], [[1.0]]]]), torch.tensor([[[[2.0]], [[0.0]]]])]
    grid = [torch.arange(4.0).reshape(1, 1, 2, 2) * (k + 1) for k in range(5)]
    maps = [torch.randn(2, 8, 4, 2, generator=g) for _ in range(5)]
    same = [maps[0], maps[0].clone(), maps[2], maps[2].clone(), maps[4]]
    cases = [
        ("one image, 2 channels, 1x1 map", (*one, 1.0, 1.0), {}),
        ("one image, 1 channel, 2x2 map", (*grid, 1.0, 1.0), {}),
        ("one image, 2 channels, 1x1 map, other weights", (*one, 1.0, 0.5), {}),
        ("random maps", (*maps, 0.006, 0.003), {}),
        ("student equals teacher on IR", (*same, 0.006, 0.003), {}),
    ]
    run_cases(
        "ts_losses",
        student,
        lambda *a: ts_losses(*a, which="all", reduction="channel_sum"),
        cases,
    )


def _one_query_reference(
    dist: torch.Tensor,
    q_pid: int,
    q_cam: int,
    g_pids: torch.Tensor,
    g_cams: torch.Tensor,
    max_rank: int = 10,
) -> tuple[np.ndarray, float] | None:
    q_pids, q_cams = torch.tensor([q_pid]), torch.tensor([q_cam])
    try:
        r = evaluate_rank(dist[None], q_pids, g_pids, q_cams, g_cams, "sysu", max_rank)
    except ValueError:  # no true match left: the evaluator skips the query
        return None
    return np.asarray(r["cmc"], dtype=np.float64), float(r["mAP"])


def check_cmc_ap(student: Callable) -> None:
    """CMC and AP of one query under the SYSU-MM01 rule:
    ``student(dist, q_pid, q_cam, g_pids, g_cams, max_rank)`` -> (cmc of length max_rank with 0/1
    entries, AP), or None when no gallery image of the query's identity is left after the camera
    rule (``tsgan.eval.evaluate_rank`` skips such a query: it counts in neither the CMC nor the
    mAP)."""
    g = _gen(5)
    g_pids = torch.tensor([1, 2, 1, 3, 2, 4, 1, 5])
    g_cams = torch.tensor([2, 1, 1, 4, 2, 5, 4, 1])
    dist = torch.rand(8, generator=g)
    order_first_cam2 = torch.tensor(
        [0.1, 0.5, 0.4, 0.2, 0.3, 0.6, 0.7, 0.8]
    )  # nearest: pid 1 in cam2
    two = (torch.tensor([1, 2]), torch.tensor([1, 1]))
    cases = [
        ("two images, match first", (torch.tensor([0.1, 0.2]), 1, 6, *two, 2), {}),
        ("two images, match second", (torch.tensor([0.3, 0.2]), 1, 6, *two, 2), {}),
        (
            "cam3 query, its only match in cam2: no valid match, skipped",
            (torch.tensor([0.1, 0.2]), 1, 3, torch.tensor([1, 2]), torch.tensor([2, 1]), 2),
            {},
        ),
        (
            "three images, identity counted once",
            (torch.tensor([0.1, 0.2, 0.3]), 1, 6, torch.tensor([2, 2, 1]), torch.ones(3).long(), 3),
            {},
        ),
        ("cam6 query, random distances", (dist, 1, 6, g_pids, g_cams, 10), {}),
        (
            "cam3 query: every cam2 image is removed",
            (order_first_cam2, 1, 3, g_pids, g_cams, 10),
            {},
        ),
        ("cam6 query: cam2 images count", (order_first_cam2, 1, 6, g_pids, g_cams, 10), {}),
        (
            "identity counted once in the CMC",
            (torch.tensor([0.1, 0.2, 0.9, 0.3, 0.25, 0.4, 0.5, 0.6]), 1, 6, g_pids, g_cams, 5),
            {},
        ),
        (
            "match at the last rank",
            (torch.tensor([0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.95, 0.6]), 1, 3, g_pids, g_cams, 8),
            {},
        ),
    ]
    run_cases("cmc_ap", student, _one_query_reference, cases)


def check_sysu_removed(student: Callable) -> None:
    """The SYSU-MM01 camera rule: ``student(q_pid, q_cam, g_pids, g_cams)`` -> bool tensor, True
    for each gallery image removed from this query's ranking (``tsgan.eval.metrics.keep_mask``)."""

    def reference(q_pid: int, q_cam: int, g_pids: torch.Tensor, g_cams: torch.Tensor):
        return ~keep_mask("sysu", torch.tensor([q_pid]), torch.tensor([q_cam]), g_pids, g_cams)[0]

    t = torch.tensor
    cases = [
        ("cam3 query, one cam2 image of its identity", (1, 3, t([1]), t([2])), {}),
        ("cam3 query, one cam2 image of another identity", (1, 3, t([2]), t([2])), {}),
        ("cam6 query, one cam2 image of its identity", (1, 6, t([1]), t([2])), {}),
        ("cam3 query, one cam1 image of its identity", (1, 3, t([1]), t([1])), {}),
        (
            "cam3 query, a gallery of every RGB camera",
            (1, 3, t([1, 2, 1, 3, 2, 1, 4, 5]), t([2, 1, 1, 4, 2, 5, 4, 2])),
            {},
        ),
        (
            "cam6 query, a gallery of every RGB camera",
            (1, 6, t([1, 2, 1, 3, 2, 1, 4, 5]), t([2, 1, 1, 4, 2, 5, 4, 2])),
            {},
        ),
    ]
    for case, args, _ in cases:
        expected = reference(*args)
        got = call_student("sysu_removed", student, *args)
        got = torch.as_tensor(got)
        if got.shape != expected.shape or not torch.equal(got.bool(), expected):
            raise CheckFailed(
                f"sysu_removed, case '{case}' (gallery pids {args[2].tolist()}, cams "
                f"{args[3].tolist()}): expected removed = {expected.tolist()}, "
                f"got {got.tolist()}"
            )
    print(f"check sysu_removed: all {len(cases)} cases passed")


def check_k_reciprocal(student: Callable) -> None:
    """The k-reciprocal set of step 2 of re-ranking: ``student(dist, p, k)`` -> the set of indices
    R(p, k) = {g in N(p, k) : p in N(g, k)}, N(x, k) the k + 1 nearest points of x in the (N, N)
    distance matrix ``dist`` (x itself included). Checked against
    ``tsgan.eval.reranking.neighbourhoods``."""
    line = torch.tensor([0.0, 1.0, 3.0])
    line = (line[:, None] - line[None]).abs()
    pts = torch.tensor([[0.0, 0], [1, 0], [0, 1.2], [5, 5], [5.5, 5], [2.2, 2.1]])
    chain = torch.cdist(pts, pts)
    g = _gen(6)
    cloud = torch.rand(12, 2, generator=g)
    cloud = torch.cdist(cloud, cloud)
    cases = [
        ("3 points on a line, p=2, k=1", (line, 2, 1)),
        ("3 points on a line, p=0, k=1", (line, 0, 1)),
        ("6 points, p=5, k=2", (chain, 5, 2)),
        ("6 points, p=0, k=2", (chain, 0, 2)),
        ("6 points, p=3, k=3", (chain, 3, 3)),
        ("12 random points, p=4, k=4", (cloud, 4, 4)),
    ]
    for case, (dist, p, k) in cases:
        expected = set(neighbourhoods(dist, k1=k)["reciprocal"][p])
        got = call_student("k_reciprocal", student, dist, p, k)
        if _as_set(got) != expected:
            shown = np.array2string(dist.numpy(), precision=2) if len(dist) <= 6 else ""
            raise CheckFailed(
                f"k_reciprocal, case '{case}': expected R(p, k) = {_fmt(expected)}, "
                f"got {_fmt(_as_set(got))}" + (f"\ndist =\n{shown}" if shown else "")
            )
    print(f"check k_reciprocal: all {len(cases)} cases passed")


def exercise_config(**overrides: Any) -> Config:
    """The model the Algorithm 1 exercises step (and the step-model tests): the cpu preset at
    32x16 with the smallest generators and discriminators, on the CPU (one step in a fraction of
    a second, no dataset needed); ``overrides``: dotted config fields, e.g.
    ``**{"train.amp": "bf16"}``."""
    small = {
        "data.height": 32,
        "data.width": 16,
        "model.gen_filters": 4,
        "model.gen_blocks": 1,
        "model.disc_filters": 4,
        "model.disc_layers": 1,
        "optim.gan_warmup_epochs": 0,  # Algorithm 1 as written: X_I' in line 3 from step 1
        "train.device": "cpu",
    }
    return get_config("cpu", {**small, **overrides})


def _tiny_tsgan(seed: int) -> TSGAN:
    """A TS-GAN of :func:`exercise_config` on the CPU, with a random teacher."""
    cfg = exercise_config()
    torch.manual_seed(seed)
    teacher = build_backbone(cfg.model, 3)
    return TSGAN(cfg, 3, torch.device("cpu"), teacher).train()


def check_algorithm1_step(student: Callable) -> None:
    """Two steps of Algorithm 1: ``student(model)`` drives a :class:`tsgan.methods.tsgan.TSGAN`
    whose input is set, through its phases (``forward``, ``zero_grad``, ``backward_G``,
    ``step("G")``, ...) and returns ``model.end_step()``; ``optimize_parameters`` is unavailable.
    After each step every network must hold the reference step's weights *and* gradients, and the
    returned losses must be the reference's. Two steps, because on fresh models the first step
    cannot tell a missing ``zero_grad`` (there is nothing to clear yet); the gradients, because a
    backward that reaches a network it must not (a line's loss backpropagated again after its
    step, say) leaves gradients there even when the weights still agree. Gradients the answer
    cleared after a step are accepted: clearing is harmless. A detach missing inside a phase
    cannot pass silently: line 1's backward has freed the generators' graph, so autograd stops
    with "backward through the graph a second time". The
    losses returned must be detached floats (``end_step``)."""
    mine, ref = _tiny_tsgan(0), _tiny_tsgan(0)
    for step in (1, 2):
        case = f"step {step} of 2"
        batch = random_batch(3, 2, 32, 16, step)
        mine.set_input(batch)
        ref.set_input(batch)
        torch.manual_seed(step)
        expected = ref.optimize_parameters()
        torch.manual_seed(step)
        got = call_student("algorithm1_step", student, mine)
        for name, net in ref.nets.items():
            mine_params = dict(mine.nets[name].named_parameters())
            for pname, p_ref in net.named_parameters():
                p_mine = mine_params[pname]
                if not torch.allclose(p_ref.float(), p_mine.float(), atol=1e-6):
                    raise CheckFailed(
                        f"algorithm1_step, case '{case}': after your step, {name}.{pname} "
                        "differs from the reference (max difference "
                        f"{(p_ref.float() - p_mine.float()).abs().max():.3g}). Algorithm 1 "
                        "updates G (lines 1-2), then the backbone (3-4), then D (5-7), each "
                        "after clearing its gradients (zero_grad) and its own backward."
                    )
                if p_mine.grad is None:  # cleared after its step: harmless
                    continue
                g_ref = torch.zeros_like(p_ref) if p_ref.grad is None else p_ref.grad
                g_mine = p_mine.grad
                if not torch.allclose(g_ref.float(), g_mine.float(), atol=1e-6):
                    raise CheckFailed(
                        f"algorithm1_step, case '{case}': after your step, the gradient of "
                        f"{name}.{pname} differs from the reference (max difference "
                        f"{(g_ref.float() - g_mine.float()).abs().max():.3g}): a line sent "
                        "gradients where it should not (a missing detach or frozen network, or a "
                        "backward after the step it feeds) or gradients of an earlier backward "
                        "were not cleared."
                    )
        if not isinstance(got, dict) or set(got) != set(expected):
            raise CheckFailed(
                f"algorithm1_step, case '{case}': expected the losses dict with keys "
                f"{sorted(expected)} (return model.end_step()), got {_fmt(got)}"
            )
        live = [k for k, v in got.items() if isinstance(v, torch.Tensor) and v.requires_grad]
        if live:
            raise CheckFailed(
                f"algorithm1_step, case '{case}': the losses {live} you return are tensors still "
                "attached to the step's graphs (a training loop that keeps them keeps every "
                "step's graph alive): return model.end_step(), which detaches them to floats"
            )
        for key in expected:
            _compare("algorithm1_step", f"{case}[{key!r}]", expected[key], got[key], 1e-5)
    print("check algorithm1_step: all 2 cases passed")


# The networks of one TS-GAN step, and the losses of Algorithm 1 whose reach the gradient-flow
# exercise asks for: row -> (line of Algorithm 1, the ``TSGAN.losses`` terms it sums, what it is).
NETWORKS = ("G_I", "G_R", "D_I", "D_R", "FE", "LE", "head", "teacher")
GRADIENT_ROWS = {
    "adv_I": ("1", ("G_adv_I",), "L_G^adv against D_I, Eq. 1"),
    "adv_R": ("1", ("G_adv_R",), "L_G^adv against D_R"),
    "cyc": ("1", ("G_cyc",), "L_cyc, Eq. 6"),
    "id": ("3", ("B_id",), "L_ID, Eq. 9-10"),
    "tri": ("3", ("B_tri",), "L_tri, Eq. 11"),
    "reid_gan": ("3", ("B_gan",), "L_ReID^GAN, Eq. 12"),
    "ts": ("3", ("B_ts",), "L_TS, Eq. 13-16"),
    "D_I": ("5-6", ("D_I_real", "D_I_fake"), "L_D of D_I, Eq. 2-5"),
    "D_R": ("5-6", ("D_R_real", "D_R_fake"), "L_D of D_R"),
}


def _network_parameters(model: TSGAN) -> dict[str, list[torch.Tensor]]:
    """The trainable parameters of each network of ``NETWORKS`` (the teacher has none)."""
    b = model.backbone
    groups = {name: list(model.nets[name].parameters()) for name in ("G_I", "G_R", "D_I", "D_R")}
    groups["FE"], groups["LE"] = list(b.FE.parameters()), list(b.LE.parameters())
    groups["head"] = list(b.bnneck.parameters()) + list(b.classifier.parameters())
    groups["teacher"] = list(model.nets["teacher"].parameters())
    return {n: [p for p in ps if p.requires_grad] for n, ps in groups.items()}


def gradient_table(model: TSGAN) -> dict[str, set[str]]:
    """For each row of ``GRADIENT_ROWS``, the networks its loss sends gradients to, measured with
    autograd: the lines of Algorithm 1 build their losses as in training (frozen networks,
    detached inputs), their backward passes are left out, and ``torch.autograd.grad`` asks each
    loss which parameters it reaches. A network is reached when any of its parameters is."""
    groups = _network_parameters(model)
    model.losses = {}
    model.backward = lambda loss: None  # keep the graphs; nothing is updated
    try:
        model.forward()
        model.backward_G()
        model.backward_B()
        model.backward_D()
    finally:
        del model.backward
    table = {}
    for row, (_, terms, _) in GRADIENT_ROWS.items():
        loss = sum(model.losses[t] for t in terms)
        table[row] = {
            net
            for net, params in groups.items()
            if params
            and any(
                g is not None
                for g in torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            )
        }
    return table


def check_gradient_flow(student: Callable) -> None:
    """Which networks each loss of Algorithm 1 reaches: ``student()`` -> {row: set of network
    names} for every row of ``GRADIENT_ROWS`` (names from ``NETWORKS``: FE and LE the student
    backbone's former and latter encoders, head its BN-neck and classifier, teacher the frozen
    FE_T). Compared row by row, in the order of Algorithm 1, with :func:`gradient_table`."""
    table = call_student("gradient_flow", student)
    if not isinstance(table, dict) or set(table) != set(GRADIENT_ROWS):
        keys = sorted(table) if isinstance(table, dict) else _fmt(table)
        raise CheckFailed(
            f"gradient_flow: expected a dict with the rows {list(GRADIENT_ROWS)}, got {keys}"
        )
    unknown = set().union(*map(_as_set_of_names, table.values())) - set(NETWORKS)
    if unknown:
        raise CheckFailed(
            f"gradient_flow: unknown network names {sorted(unknown)}; use those of {NETWORKS}"
        )
    model = _tiny_tsgan(0)
    model.set_input(random_batch(3, 2, 32, 16, 0))
    truth = gradient_table(model)
    for row, (line, _, what) in GRADIENT_ROWS.items():
        got = _as_set_of_names(table[row])
        if got != truth[row]:
            missing, extra = truth[row] - got, got - truth[row]
            raise CheckFailed(
                f"gradient_flow, row '{row}' (line {line}, {what}): expected "
                f"{_fmt(truth[row])}, got {_fmt(got)}"
                + (f"; also reached: {_fmt(missing)}" if missing else "")
                + (f"; not reached: {_fmt(extra)}" if extra else "")
            )
    print(f"check gradient_flow: all {len(GRADIENT_ROWS)} cases passed")


def _as_set_of_names(x: Any) -> set[str]:
    return {x} if isinstance(x, str) else set(x)


# ----------------------------------------------------------------------------------------------
# Exercises of notebooks 01, 03, 06 and 07, and the checked multiple-choice questions.


def _pixel_features_reference(images: np.ndarray) -> np.ndarray:
    """``tsgan.data.pixel_stats.pixel_features`` after the resize: (N, H, W, 3) -> (N, 3*H*W),
    each row centred and L2-normalised (a constant image stays all zeros)."""
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def check_pixel_features(student: Callable) -> None:
    """Notebook 01's raw-pixel features: ``student(images)`` with ``images`` an (N, H, W, 3) float
    array of resized pictures in [0, 1] -> (N, 3*H*W): each picture flattened, centred (its own
    mean subtracted) and divided by its L2 norm (an all-constant picture gives zeros)."""
    rng = np.random.default_rng(7)
    cases = [
        ("one 1x1 picture", (np.array([[[[0.2, 0.4, 0.9]]]], dtype=np.float32),), {}),
        ("a constant picture stays zero", (np.full((1, 2, 1, 3), 0.5, dtype=np.float32),), {}),
        ("two 2x1 pictures", (rng.random((2, 2, 1, 3), dtype=np.float32),), {}),
        ("five 8x4 pictures", (rng.random((5, 8, 4, 3), dtype=np.float32),), {}),
    ]
    run_cases("pixel_features", student, _pixel_features_reference, cases, tol=1e-4)


# The sources a loss may reach, for the adversarial-loss exercise: which of its inputs (and D_I's
# parameters) get a gradient tells whether the answer froze D_I and detached the images as
# Algorithm 1 does.
_ADV_KEYS = {
    "G": "L_G^adv of G_I, Eq. 1",
    "D_real": "L_D^real, Eq. 3",
    "D_fake": "L_D^fake, Eq. 4 (mean over the pairs of M)",
    "D": "L_D, Eq. 2",
    "reid_gan": "L_ReID^GAN, Eq. 12",
}


def _adversarial_reference(D_I, X_I, X_I_fake, f_real, f_fake, gan) -> dict[str, torch.Tensor]:
    """Eq. 1-4 and 12 as the training computes them (``tsgan.losses``)."""
    with frozen(D_I):
        G = gan(D_I(X_I_fake, f_fake), True)
    d = discriminator_loss(D_I, X_I, X_I_fake, f_real, f_fake, gan)
    reid = reid_gan_loss(D_I, X_I, X_I_fake, f_real, f_fake, gan)
    return {"G": G, "D_real": d["real"], "D_fake": d["fake"], "D": d["total"], "reid_gan": reid}


def _reached(loss: Any, sources: dict[str, list[torch.Tensor]]) -> set[str]:
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return set()
    names = list(sources)
    flat = [t for n in names for t in sources[n]]
    grads = torch.autograd.grad(loss, flat, retain_graph=True, allow_unused=True)
    out, k = set(), 0
    for n in names:
        part = grads[k : k + len(sources[n])]
        k += len(sources[n])
        if any(g is not None and bool(g.abs().sum() > 0) for g in part):
            out.add(n)
    return out


def check_adversarial_losses(student: Callable) -> None:
    """The adversarial losses around the joint discriminator D_I:
    ``student(D_I, X_I, X_I_fake, f_real, f_fake, gan)`` -> dict with ``G`` (Eq. 1: G_I wants
    D_I to call (X_I', f(X_I')) real), ``D_real`` (Eq. 3), ``D_fake`` (Eq. 4: the mean over the
    three pairs of M, Eq. 5), ``D`` (Eq. 2: their sum) and ``reid_gan`` (Eq. 12: the backbone
    wants D_I to call every pair of M real, mean over M). ``gan(logits, target_is_real)`` is the
    criterion. Checked on values and on what each loss reaches: D_I must be frozen in ``G`` and
    ``reid_gan`` (``tsgan.freeze.frozen``), the images detached in ``D_*`` and ``reid_gan``."""
    cases = []
    for case, n, mode, seed in (
        ("one image, least-squares GAN", 1, "lsgan", 8),
        ("three images, log loss (vanilla)", 3, "vanilla", 9),
    ):
        torch.manual_seed(seed)
        cases.append((case, n, GANLoss(mode), JointDiscriminator(1, 6, 4, 1), seed))
    for case, n, gan, D, seed in cases:
        g = _gen(seed)
        leaves = {
            "X_I": torch.rand(n, 1, 32, 16, generator=g) * 2 - 1,
            "X_I'": torch.rand(n, 1, 32, 16, generator=g) * 2 - 1,
            "f(X_I)": torch.randn(n, 6, 2, 1, generator=g),
            "f(X_I')": torch.randn(n, 6, 2, 1, generator=g),
        }
        leaves = {k: v.requires_grad_() for k, v in leaves.items()}
        args = (D, *leaves.values(), gan)
        sources = {**{k: [v] for k, v in leaves.items()}, "D_I": list(D.parameters())}
        expected = _adversarial_reference(*args)
        got = call_student("adversarial_losses", student, *args)
        if not isinstance(got, dict) or not set(_ADV_KEYS) <= set(got):
            raise CheckFailed(
                f"adversarial_losses, case '{case}': expected a dict with the keys "
                f"{list(_ADV_KEYS)}, got {_fmt(got if not isinstance(got, dict) else sorted(got))}"
            )
        if not all(p.requires_grad for p in D.parameters()):
            raise CheckFailed(
                f"adversarial_losses, case '{case}': D_I's parameters no longer require "
                "gradients after your function: freeze it inside a `with frozen(D_I):` block, "
                "which restores them"
            )
        for key, what in _ADV_KEYS.items():
            _compare(
                "adversarial_losses", f"{case}[{key!r}] ({what})", expected[key], got[key], 1e-5
            )
            want, have = _reached(expected[key], sources), _reached(got[key], sources)
            if want != have:
                raise CheckFailed(
                    f"adversarial_losses, case '{case}': your {key} ({what}) sends gradients to "
                    f"{_fmt(have)}; the training's reaches {_fmt(want)} (freeze D_I where the "
                    "other player is trained; detach the images where D_I is)"
                )
    print(f"check adversarial_losses: all {len(cases)} cases passed")


def _query_expansion_reference(V: torch.Tensor, dist: torch.Tensor, k2: int) -> torch.Tensor:
    """Step 4 of re-ranking as in ``tsgan.eval.reference.re_ranking``: row i of V replaced by the
    mean of the rows of its k2 nearest points (i itself first)."""
    nearest = torch.argsort(dist, dim=1, stable=True)[:, :k2]
    return V[nearest].mean(dim=1)


def check_query_expansion(student: Callable) -> None:
    """Local query expansion, step 4 of k-reciprocal re-ranking: ``student(V, dist, k2)`` -> V_qe,
    row i the mean of the rows V[j] over the k2 points j nearest to i in ``dist`` (i itself, at
    distance 0, included; k2 = 1 leaves V as it is). ``V``: (N, N) rows of Jaccard weights,
    ``dist``: (N, N) distances without ties."""
    line = torch.tensor([0.0, 1.0, 3.0])
    line = (line[:, None] - line[None]).abs()
    g = _gen(10)
    pts = torch.rand(6, 2, generator=g)
    six = torch.cdist(pts, pts)
    cloud = torch.rand(12, 3, generator=g)
    cloud = torch.cdist(cloud, cloud)

    def weights(n: int) -> torch.Tensor:
        v = torch.rand(n, n, generator=g) * (torch.rand(n, n, generator=g) < 0.5)
        v = v + torch.eye(n)
        return v / v.sum(dim=1, keepdim=True)

    cases = [
        ("3 points on a line, k2=2", (torch.eye(3), line, 2), {}),
        ("3 points on a line, k2=1 changes nothing", (weights(3), line, 1), {}),
        ("6 points, k2=3", (weights(6), six, 3), {}),
        ("12 points, k2=4", (weights(12), cloud, 4), {}),
    ]
    run_cases("query_expansion", student, _query_expansion_reference, cases)


def _paired_reference(records: list[dict], a: str, b: str, metric: str) -> tuple[float, ...]:
    d = paired_difference(*(_by_seed(records, row, metric) for row in (a, b)))
    return (d["mean"], *d["ci"])


def _by_seed(records: list[dict], row: str, metric: str) -> dict[int, float]:
    return {r["seed"]: float(r[metric]) for r in records if r["row"] == row}


def _results(path: Any = None) -> dict:
    path = REPO_ROOT / "results" / "ablation_cpu.json" if path is None else path
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_paired_difference(student: Callable, results: Any = None) -> None:
    """Reading an ablation: ``student(records, a, b, metric)`` -> (mean, low, high), the mean of
    the per-seed differences a - b of ``metric`` over the seeds both rows have, and its 95 %
    Student-t confidence interval. ``records``: the ``records`` list of an ablation results file
    (``results``: its path, the committed ``results/ablation_cpu.json`` by default), one dict per
    (row, seed) with the metrics. Any file of the same format works: the cases are a hand-made one
    and every pair of rows the file itself compares (its ``paired`` list)."""
    hand = [
        {"row": "A", "seed": 0, "R1": 30.0},
        {"row": "A", "seed": 1, "R1": 34.0},
        {"row": "A", "seed": 2, "R1": 35.0},
        {"row": "B", "seed": 0, "R1": 29.0},
        {"row": "B", "seed": 1, "R1": 31.0},
        {"row": "B", "seed": 2, "R1": 30.0},
        {"row": "B", "seed": 7, "R1": 90.0},  # B's extra seed has no partner: left out
    ]
    data = _results(results)
    cases = [("3 seeds by hand, B has an extra seed", (hand, "A", "B", "R1"), {})]
    for pair in data.get("paired", []):
        rows = (pair["a"], pair["b"], pair["metric"])
        if all(len(_by_seed(data["records"], r, pair["metric"])) for r in rows[:2]):
            cases.append((f"{rows[0]} - {rows[1]}, {rows[2]}", (data["records"], *rows), {}))
    run_cases("paired_difference", student, _paired_reference, cases, tol=1e-6)


def check_ablation_reading(
    answer: Any, a: str = "jd", b: str = "backbone", metric: str = "R1", results: Any = None
) -> None:
    """What the results file supports about rows ``a`` and ``b`` on ``metric``: ``answer`` is
    "a" (a beats b: the 95 % CI of a - b lies above 0), "b" (b beats a: it lies below 0) or "c"
    (the seeds cannot tell them apart: it contains 0, or there is no interval). Derived from the
    file each time, so it holds for a regenerated grid."""
    if answer is None:
        raise ExerciseNotDone("q_ablation_reading")
    data = _results(results)
    mean, low, high = _paired_reference(data["records"], a, b, metric)
    truth = "a" if low > 0 else "b" if high < 0 else "c"
    if str(answer).strip().lower() != truth:
        raise CheckFailed(
            f"q_ablation_reading: not {answer!r}. The paired difference {a} - {b} in {metric} is "
            f"{mean:+.2f} with 95 % CI [{low:+.2f}, {high:+.2f}]: read which side of 0 the "
            "whole interval lies on, not only the sign of the mean"
        )
    print("check q_ablation_reading: correct")


# Multiple-choice questions: the salted digest of the right letter, so the key is not readable
# from the package (the question and its options are in the notebook).
CHOICES: dict[str, tuple[str, str]] = {
    "q_modality": ("abcd", "9959d366fc10"),
    "q_student_init": ("abcd", "c68fe44786c9"),
}


def _choice_digest(name: str, letter: str) -> str:
    return hashlib.sha256(f"tsgan-course:{name}:{letter}".encode()).hexdigest()[:12]


def check_choice(name: str, answer: Any) -> None:
    """A checked multiple-choice question: ``answer`` one letter of the options the notebook
    lists; says "correct" or stops with a hint to re-read the section (not the right letter)."""
    if name not in CHOICES:
        raise KeyError(f"no multiple-choice question named {name!r}; known: {sorted(CHOICES)}")
    letters, digest = CHOICES[name]
    if answer is None:
        raise ExerciseNotDone(name)
    letter = str(answer).strip().lower()
    if letter not in letters:
        raise CheckFailed(f"{name}: answer with one letter of {', '.join(letters)}; got {answer!r}")
    if _choice_digest(name, letter) != digest:
        raise CheckFailed(
            f"{name}: ({letter}) is not the answer; re-read the section above the question"
        )
    print(f"check {name}: correct")
