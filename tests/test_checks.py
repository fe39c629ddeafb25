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


def plain_fake_set(X_I, X_I_fake, f_real, f_fake, joint):
    if not joint:
        return [(X_I_fake, None)]
    return [(X_I, f_fake), (X_I_fake, f_fake), (X_I_fake, f_real)]  # order differs on purpose


def loop_channel_sum(teacher, student):
    """Per image and position, the squared distance of the C-dim vectors; mean over the rest."""
    b, _, h, w = teacher.shape
    per_position = [
        sum(float(teacher[i, c, y, x] - student[i, c, y, x]) ** 2 for c in range(teacher.shape[1]))
        for i in range(b)
        for y in range(h)
        for x in range(w)
    ]
    return torch.tensor(sum(per_position) / len(per_position))


def plain_ts(fT_r, fS_r, fT_f, fS_f, fS_rgb, a_c, a_s, mse=loop_channel_sum):
    real, fake, cd = mse(fT_r, fS_r), mse(fT_f, fS_f), mse(fT_f, fS_rgb)
    return {"real_ir": real, "fake_ir": fake, "cd": cd, "total": a_c * cd + a_s * (real + fake)}


def loop_cmc_ap(dist, q_pid, q_cam, g_pids, g_cams, max_rank, camera_rule=True, skip=True):
    order = sorted(range(len(dist)), key=lambda j: float(dist[j]))
    if camera_rule and q_cam == 3:
        order = [j for j in order if int(g_cams[j]) != 2]
    ranked = [int(g_pids[j]) for j in order]
    if skip and q_pid not in ranked:
        return None
    ids, cmc = [], np.zeros(max_rank)
    for pid in ranked:
        if pid not in ids:
            ids.append(pid)
    first = ids.index(q_pid) if q_pid in ids else max_rank
    cmc[first:] = 1 if first < max_rank else 0
    hits, precisions = 0, []
    for r, pid in enumerate(ranked, start=1):
        if pid == q_pid:
            hits += 1
            precisions.append(hits / r)
    return cmc, float(np.mean(precisions)) if precisions else 0.0


def loop_removed(q_pid, q_cam, g_pids, g_cams, any_identity=True):
    """SYSU-MM01: a cam3 query loses every cam2 image (whatever its identity, unless not
    ``any_identity``: the plausible same-identity-only misreading)."""
    return torch.tensor(
        [
            q_cam == 3 and int(c) == 2 and (any_identity or int(p) == q_pid)
            for p, c in zip(g_pids, g_cams)
        ]
    )


def loop_k_reciprocal(dist, p, k, reciprocal=True):
    def nearest(x):  # the k + 1 nearest points of x, x included (no ties in the check's cases)
        return sorted(range(len(dist)), key=lambda j: float(dist[x, j]))[: k + 1]

    return {g for g in nearest(p) if not reciprocal or p in nearest(g)}


def table_by_hand():
    """Algorithm 1's gradient flow, read off the paper and tsgan/losses.py (not measured)."""
    return {
        "adv_I": {"G_I"},  # D_I and FE_S frozen: only what made X_I' learns
        "adv_R": {"G_R"},
        "cyc": {"G_I", "G_R"},
        "id": {"FE", "LE", "head"},
        "tri": {"FE", "LE"},  # on V, before the BN-neck
        "reid_gan": {"FE"},  # through the feature maps only: images detached, D_I frozen
        "ts": {"FE"},  # teacher fixed, FE_S(X_I') from the detached fakes
        "D_I": {"D_I"},
        "D_R": {"D_R"},
    }


@pytest.mark.parametrize(
    "check, solution",
    [
        (checks.check_id_loss, plain_id_loss),
        (checks.check_triplet, loop_triplet),
        (checks.check_cycle_loss, plain_cycle),
        (checks.check_fake_set, plain_fake_set),
        (checks.check_ts_losses, plain_ts),
        (checks.check_cmc_ap, loop_cmc_ap),
        (checks.check_sysu_removed, loop_removed),
        (checks.check_k_reciprocal, loop_k_reciprocal),
        (checks.check_gradient_flow, table_by_hand),
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
    ],
)
def test_checks_catch_plausible_wrong_answers(check, wrong, case):
    with pytest.raises(CheckFailed, match=case):
        check(wrong)


def with_real_pair(X, Xf, f, ff, joint):
    return [(Xf, ff), (X, f), (X, ff)] if joint else [(Xf, None)]


def without_the_ordinary_case(X, Xf, f, ff, joint):
    return [(Xf, ff), (Xf, f), (X, ff)]


def ts_mean(*args):
    return plain_ts(*args, mse=F.mse_loss)


def ts_swapped_weights(a, b, c, d, e, ac, as_):
    return plain_ts(a, b, c, d, e, as_, ac)


def cmc_ap_without_rule(*args):
    return loop_cmc_ap(*args, camera_rule=False)


def cmc_ap_scoring_zero(*args):
    return loop_cmc_ap(*args, skip=False)  # counts an unanswerable query as a miss


def removed_same_identity_only(*args):
    return loop_removed(*args, any_identity=False)


def nearest_not_reciprocal(dist, p, k):
    return loop_k_reciprocal(dist, p, k, reciprocal=False)


def table_backbone_in_line_1():
    return {**table_by_hand(), "adv_I": {"G_I", "FE"}}  # forgets frozen(backbone) in line 1


def table_ts_reaching_le():
    return {**table_by_hand(), "ts": {"FE", "LE"}}


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        # each message: the smallest failing case, with the expected and the obtained value
        (
            checks.check_fake_set,
            with_real_pair,
            r"case 'joint D_I, Eq. 5': expected the pairs \(X_I, f\(X_I'\)\), \(X_I', "
            r"f\(X_I'\)\), \(X_I', f\(X_I\)\), got \(X_I, f\(X_I'\)\), \(X_I, f\(X_I\)\), "
            r"\(X_I', f\(X_I'\)\)\.",
        ),
        (
            checks.check_fake_set,
            without_the_ordinary_case,
            r"case 'ordinary D_I \(TS-GAN_OD\)': expected the pairs \(X_I', None\), got "
            r"\(X_I, f\(X_I'\)\), ",
        ),
        (
            checks.check_ts_losses,
            ts_mean,
            r"case 'one image, 2 channels, 1x1 map\['real_ir'\]': expected 5\.?, got 2\.5",
        ),
        (
            checks.check_ts_losses,
            ts_swapped_weights,
            r"case 'one image, 2 channels, 1x1 map, other weights\['total'\]': "
            r"expected 6\.5, got 10\.?",
        ),
        (
            checks.check_cmc_ap,
            cmc_ap_without_rule,
            r"case 'cam3 query, its only match in cam2: no valid match, skipped': expected None, "
            r"got \(array",
        ),
        (
            checks.check_cmc_ap,
            cmc_ap_scoring_zero,
            r"case 'cam3 query, its only match in cam2: no valid match, skipped': expected None",
        ),
        (
            checks.check_sysu_removed,
            removed_same_identity_only,
            r"case 'cam3 query, one cam2 image of another identity' \(gallery pids \[2\], cams "
            r"\[2\]\): expected removed = \[True\], got \[False\]",
        ),
        (
            checks.check_k_reciprocal,
            nearest_not_reciprocal,
            r"case '3 points on a line, p=2, k=1': expected R\(p, k\) = \{2\}, got \{1, 2\}",
        ),
        (
            checks.check_gradient_flow,
            table_backbone_in_line_1,
            r"row 'adv_I' \(line 1, L_G\^adv against D_I, Eq. 1\): expected \{G_I\}, got "
            r"\{FE, G_I\}; not reached: \{FE\}",
        ),
        (
            checks.check_gradient_flow,
            table_ts_reaching_le,
            r"row 'ts' \(line 3, L_TS, Eq. 13-16\): expected \{FE\}, got \{FE, LE\}; "
            r"not reached: \{LE\}",
        ),
    ],
)
def test_teaching_checks_name_the_smallest_failing_case(check, wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check(wrong)


def test_gradient_flow_check_names_missing_rows_and_unknown_networks():
    with pytest.raises(CheckFailed, match=r"expected a dict with the rows \['adv_I'"):
        checks.check_gradient_flow(lambda: {"adv_I": {"G_I"}})
    with pytest.raises(CheckFailed, match=r"unknown network names \['backbone'\]"):
        checks.check_gradient_flow(lambda: {**table_by_hand(), "id": {"backbone"}})


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
