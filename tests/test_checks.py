"""The exercise checks accept independent correct solutions and catch plausible wrong ones."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tsgan import checks
from tsgan.checks import CheckFailed, ExerciseNotDone


# --- independent, plainly written solutions (what a good student writes) ---------------------
def plain_id_loss(logits, labels, epsilon=0.1):
    n = logits.shape[1]
    q = torch.full_like(logits, epsilon / n)
    q[torch.arange(len(labels)), labels] = 1 - (n - 1) / n * epsilon
    return -(q * logits.log_softmax(1)).sum(1).mean()


def loop_triplet(features, labels, margin=0.3):
    d = torch.cdist(features, features)
    total = 0.0
    for a in range(len(labels)):
        pos = max(d[a, p] for p in range(len(labels)) if labels[p] == labels[a])
        neg = min(d[a, n] for n in range(len(labels)) if labels[n] != labels[a])
        total = total + torch.clamp(margin + pos - neg, min=0)
    return total / len(labels)


def plain_cycle(X_R, X_R_rec, X_I, X_I_rec):
    return (X_R - X_R_rec).abs().mean() + (X_I - X_I_rec).abs().mean()


def plain_fake_set(X_I, X_I_fake, f_real, f_fake):
    return [(X_I, f_fake), (X_I_fake, f_fake), (X_I_fake, f_real)]  # order differs on purpose


def plain_ts(fT_r, fS_r, fT_f, fS_f, fS_rgb, a_c, a_s):
    real, fake, cd = F.mse_loss(fS_r, fT_r), F.mse_loss(fS_f, fT_f), F.mse_loss(fS_rgb, fT_f)
    return {"real_ir": real, "fake_ir": fake, "cd": cd, "total": a_c * cd + a_s * (real + fake)}


def loop_cmc_ap(dist, q_pid, q_cam, g_pids, g_cams, max_rank, camera_rule=True):
    order = sorted(range(len(dist)), key=lambda j: float(dist[j]))
    if camera_rule and q_cam == 3:
        order = [j for j in order if int(g_cams[j]) != 2]
    ranked = [int(g_pids[j]) for j in order]
    ids, cmc = [], np.zeros(max_rank)
    for pid in ranked:
        if pid not in ids:
            ids.append(pid)
    first = ids.index(q_pid)
    cmc[first:] = 1 if first < max_rank else 0
    hits, precisions = 0, []
    for r, pid in enumerate(ranked, start=1):
        if pid == q_pid:
            hits += 1
            precisions.append(hits / r)
    return cmc, float(np.mean(precisions))


@pytest.mark.parametrize(
    "check, solution",
    [
        (checks.check_id_loss, plain_id_loss),
        (checks.check_triplet, loop_triplet),
        (checks.check_cycle_loss, plain_cycle),
        (checks.check_fake_set, plain_fake_set),
        (checks.check_ts_losses, plain_ts),
        (checks.check_cmc_ap, loop_cmc_ap),
    ],
)
def test_checks_accept_independent_solutions(check, solution, capsys):
    check(solution)
    assert re.fullmatch(r"check \w+: all \d+ cases passed\n", capsys.readouterr().out)


# --- plausible wrong answers ------------------------------------------------------------------
def triplet_without_mining(features, labels, margin=0.3):
    d = torch.cdist(features, features)
    same = labels[:, None] == labels[None]
    pos = (d * same).sum(1) / (same.sum(1) - 1)
    neg = (d * ~same).sum(1) / (~same).sum(1)
    return torch.clamp(margin + pos - neg, min=0).mean()


@pytest.mark.parametrize(
    "check, wrong, case",
    [
        (checks.check_triplet, triplet_without_mining, "random 3 ids x 2"),
        (
            checks.check_id_loss,
            lambda logits, labels, epsilon: F.cross_entropy(logits, labels),
            "random batch",
        ),
        (checks.check_cycle_loss, lambda a, b, c, d: (a - b).abs().mean(), "random images"),
        (checks.check_fake_set, lambda X, Xf, f, ff: [(Xf, ff), (X, f), (X, ff)], "Eq. 5"),
        (
            checks.check_ts_losses,
            lambda a, b, c, d, e, ac, as_: plain_ts(a, b, c, d, e, as_, ac),
            "random maps",
        ),
        (checks.check_cmc_ap, lambda *a: loop_cmc_ap(*a, camera_rule=False), "cam3 query"),
    ],
)
def test_checks_catch_plausible_wrong_answers(check, wrong, case):
    with pytest.raises(CheckFailed, match=case):
        check(wrong)


def test_unfinished_exercise_gives_the_helpful_message():
    def stub(*args, **kwargs):
        raise ExerciseNotDone("triplet")

    with pytest.raises(ExerciseNotDone, match="Exercise 'triplet' is not done yet"):
        checks.check_triplet(stub)


def plain_algorithm1(model):
    model.forward()
    model.backward_G()
    model.step("G")
    model.backward_B()
    model.step("B")
    model.backward_D()
    model.step("D")
    return model.end_step()


def backbone_first(model):
    model.forward()
    model.backward_B()  # the backbone updated before G: G's adversarial loss then sees the new FE_S
    model.step("B")
    model.backward_G()
    model.step("G")
    model.backward_D()
    model.step("D")
    return model.end_step()


def test_algorithm1_check_accepts_the_plain_sequence_and_catches_a_reordering(capsys):
    checks.check_algorithm1_step(plain_algorithm1)
    assert capsys.readouterr().out == "check algorithm1_step: all 2 cases passed\n"
    with pytest.raises(CheckFailed, match="differs from the reference"):
        checks.check_algorithm1_step(backbone_first)
