"""Automatic checks for the course exercises (see ``tsgan.assignments`` and docs/TEACHING.md).

Each ``check_*`` function runs the student's function and the package's reference on seeded
inputs and edge cases, and either prints a one-line verdict or raises :class:`CheckFailed` naming
the case that failed with the expected and the obtained value. A stub that was never filled in
raises :class:`ExerciseNotDone`, which the checks turn into a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .config import get_config
from .eval import evaluate_rank
from .losses import batch_hard_triplet, cycle_loss, id_loss, ts_losses
from .methods.tsgan import TSGAN
from .models import build_backbone


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


def _fmt(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
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
        try:
            got = student(*args, **kwargs)
        except ExerciseNotDone as err:
            raise ExerciseNotDone(err.name if err.name != "exercise" else name) from None
        _compare(name, case, expected, got, tol)
    print(f"check {name}: all {len(cases)} cases passed")
    return len(cases)


def _compare(name: str, case: str, expected: Any, got: Any, tol: float) -> None:
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
    """The joint discriminator's fake set M, Eq. (5):
    ``student(X_I, X_I_fake, fmap_real, fmap_fake)`` -> list of (image, feature map) pairs. The
    order of the pairs does not matter."""
    g = _gen(3)
    named = {
        "X_I": torch.randn(2, 1, 8, 4, generator=g),
        "X_I'": torch.randn(2, 1, 8, 4, generator=g),
        "f(X_I)": torch.randn(2, 6, 2, 1, generator=g),
        "f(X_I')": torch.randn(2, 6, 2, 1, generator=g),
    }
    expected = {("X_I'", "f(X_I')"), ("X_I'", "f(X_I)"), ("X_I", "f(X_I')")}

    def name_of(t: Any) -> str:
        for key, ref in named.items():
            if isinstance(t, torch.Tensor) and t.shape == ref.shape and torch.equal(t, ref):
                return key
        return "something else"

    try:
        got = student(named["X_I"], named["X_I'"], named["f(X_I)"], named["f(X_I')"])
    except ExerciseNotDone:
        raise ExerciseNotDone("fake_set") from None
    pairs = [(name_of(x), name_of(f)) for x, f in got]
    if len(pairs) != 3 or set(pairs) != expected:
        raise CheckFailed(
            f"fake_set, case 'Eq. 5': expected the pairs {sorted(expected)}, got {pairs}. "
            "Every pair containing something generated is fake; the real pair (X_I, f(X_I)) is not."
        )
    print("check fake_set: all 1 cases passed")


def check_ts_losses(student: Callable) -> None:
    """Teacher-student losses, Eq. (13)-(16) with mean squared errors:
    ``student(fT_real_ir, fS_real_ir, fT_fake_ir, fS_fake_ir, fS_rgb, alpha_c, alpha_s)`` -> dict
    with real_ir, fake_ir, cd, total."""
    g = _gen(4)
    maps = [torch.randn(2, 8, 4, 2, generator=g) for _ in range(5)]
    same = [maps[0], maps[0].clone(), maps[2], maps[2].clone(), maps[4]]
    cases = [
        ("random maps", (*maps, 0.006, 0.003), {}),
        ("student equals teacher on IR", (*same, 0.006, 0.003), {}),
        ("other weights", (*maps, 1.0, 0.5), {}),
    ]
    run_cases("ts_losses", student, lambda *a: ts_losses(*a, which="all", reduction="mean"), cases)


def _one_query_reference(
    dist: torch.Tensor,
    q_pid: int,
    q_cam: int,
    g_pids: torch.Tensor,
    g_cams: torch.Tensor,
    max_rank: int = 10,
) -> tuple[np.ndarray, float]:
    r = evaluate_rank(
        dist[None], torch.tensor([q_pid]), g_pids, torch.tensor([q_cam]), g_cams, "sysu", max_rank
    )
    return np.asarray(r["cmc"], dtype=np.float64), float(r["mAP"])


def check_cmc_ap(student: Callable) -> None:
    """CMC and AP of one query under the SYSU-MM01 rule:
    ``student(dist, q_pid, q_cam, g_pids, g_cams, max_rank)`` -> (cmc of length max_rank with 0/1
    entries, AP)."""
    g = _gen(5)
    g_pids = torch.tensor([1, 2, 1, 3, 2, 4, 1, 5])
    g_cams = torch.tensor([2, 1, 1, 4, 2, 5, 4, 1])
    dist = torch.rand(8, generator=g)
    order_first_cam2 = torch.tensor(
        [0.1, 0.5, 0.4, 0.2, 0.3, 0.6, 0.7, 0.8]
    )  # nearest: pid 1 in cam2
    cases = [
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


def _tiny_tsgan(seed: int):
    """A TS-GAN small enough to step in a fraction of a second, with a random teacher."""
    cfg = get_config(
        "cpu",
        {
            "data.height": 32,
            "data.width": 16,
            "model.gen_filters": 4,
            "model.gen_blocks": 1,
            "model.disc_filters": 4,
            "model.disc_layers": 1,
            "train.device": "cpu",
        },
    )
    torch.manual_seed(seed)
    teacher = build_backbone(cfg.model, 3)
    return TSGAN(cfg, 3, torch.device("cpu"), teacher).train()


def _tiny_batch(seed: int) -> dict[str, torch.Tensor]:
    g = _gen(seed)
    ir = torch.rand(6, 1, 32, 16, generator=g).expand(-1, 3, -1, -1).contiguous()
    return {
        "rgb": torch.rand(6, 3, 32, 16, generator=g),
        "ir": ir,
        "label": torch.tensor([0, 0, 1, 1, 2, 2]),
    }


def check_algorithm1_step(student: Callable) -> None:
    """One step of Algorithm 1: ``student(model)`` drives a :class:`tsgan.methods.tsgan.TSGAN` whose
    input is set, through its phases (``forward``, ``backward_G``, ``step("G")``, ...) and returns
    ``model.end_step()``. Every network must end with the reference step's weights."""
    for case, seed in (("first step", 0), ("another seed", 1)):
        mine, ref = _tiny_tsgan(seed), _tiny_tsgan(seed)
        batch = _tiny_batch(seed)
        mine.set_input(batch)
        ref.set_input(batch)
        torch.manual_seed(seed)
        expected = ref.optimize_parameters()
        torch.manual_seed(seed)
        try:
            got = student(mine)
        except ExerciseNotDone:
            raise ExerciseNotDone("algorithm1_step") from None
        for name, net in ref.nets.items():
            for (pname, p_ref), p_mine in zip(
                net.state_dict().items(), mine.nets[name].state_dict().values()
            ):
                if not torch.allclose(p_ref.float(), p_mine.float(), atol=1e-6):
                    raise CheckFailed(
                        f"algorithm1_step, case '{case}': after your step, {name}.{pname} "
                        "differs from the reference "
                        f"(max difference {(p_ref.float() - p_mine.float()).abs().max():.3g}). "
                        "Algorithm 1 updates "
                        "G (lines 1-2), then the backbone (3-4), then D (5-7), "
                        "each after its own backward."
                    )
        if not isinstance(got, dict) or set(got) != set(expected):
            raise CheckFailed(
                f"algorithm1_step, case '{case}': expected the losses dict with keys "
                f"{sorted(expected)} "
                f"(return model.end_step()), got {_fmt(got)}"
            )
    print("check algorithm1_step: all 2 cases passed")
