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


def algorithm1(model, skip_zero_grad="", order="GBD", relog=False, live=False, clear=False):
    """Algorithm 1 through the phases; the arguments make the mutations the check must catch
    (``clear``: gradients cleared after each step instead of before each backward, a correct
    variant)."""
    model.forward()
    for line in order:
        if line not in skip_zero_grad and not clear:
            model.zero_grad(line)
        getattr(model, f"backward_{line}")()
        model.step(line)
        if clear:
            model.zero_grad(line)
    if relog:  # line 1 recomputed "for the log" with its backward: gradients G must not hold
        model.forward()
        model.backward_G()
    return dict(model.losses) if live else model.end_step()


def test_algorithm1_check_accepts_the_plain_sequence(capsys):
    checks.check_algorithm1_step(algorithm1)
    checks.check_algorithm1_step(lambda model: algorithm1(model, clear=True))
    assert capsys.readouterr().out == "check algorithm1_step: all 2 cases passed\n" * 2


@pytest.mark.parametrize(
    "mutation, message",
    [
        # a missing zero_grad only shows on the second step: the first starts from no gradients
        ({"skip_zero_grad": "G"}, "step 2 of 2': after your step, G_I.* differs"),
        ({"skip_zero_grad": "B"}, "step 2 of 2': after your step, backbone.* differs"),
        ({"skip_zero_grad": "D"}, "step 2 of 2': after your step, D_I.* differs"),
        # the backbone before G: G's adversarial loss sees the updated FE_S
        ({"order": "BGD"}, "step 1 of 2': after your step, G_I.* differs"),
        # a backward after the step: the weights agree, the gradients left in G do not
        ({"relog": True}, "step 1 of 2': after your step, the gradient of G_I"),
        # the losses returned as live tensors (not detached by end_step)
        ({"live": True}, "still attached to the step's graphs"),
    ],
)
def test_algorithm1_check_catches_each_mutation(mutation, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_algorithm1_step(lambda model: algorithm1(model, **mutation))


def test_a_detach_missing_inside_a_phase_cannot_pass_silently():
    """Without the detaches of line 5-6, D's backward runs into line 1's freed generator graph."""
    from unittest import mock

    def no_detach(model):
        model.forward()
        for line in "GBD":
            model.zero_grad(line)
            if line == "D":
                with mock.patch.object(torch.Tensor, "detach", lambda self: self):
                    model.backward_D()
            else:
                getattr(model, f"backward_{line}")()
            model.step(line)
        return model.end_step()

    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        checks.check_algorithm1_step(no_detach)


# --- the package's reference is unavailable to the answer ----------------------------------------


def test_an_answer_that_calls_the_reference_fails_saying_so():
    from tsgan import losses
    from tsgan.eval import metrics
    from tsgan.eval.metrics import keep_mask  # bound in this module's globals, as in a notebook

    def removed_by_import(q_pid, q_cam, g_pids, g_cams):
        return ~keep_mask("sysu", torch.tensor([q_pid]), torch.tensor([q_cam]), g_pids, g_cams)[0]

    def removed_by_module(q_pid, q_cam, g_pids, g_cams):
        m = metrics.keep_mask("sysu", torch.tensor([q_pid]), torch.tensor([q_cam]), g_pids, g_cams)
        return ~m[0]

    def removed_swallowing(q_pid, q_cam, g_pids, g_cams):
        try:
            return removed_by_module(q_pid, q_cam, g_pids, g_cams)
        except Exception:  # the answer hides the refusal and falls back to the right rule
            return (g_cams == 2) & (q_cam == 3)

    for answer in (removed_by_import, removed_by_module, removed_swallowing):
        with pytest.raises(checks.ReferenceUsed, match="tsgan.eval.metrics.keep_mask"):
            checks.check_sysu_removed(answer)
    cases = [
        (checks.check_id_loss, lambda lg, y, e: losses.id_loss(lg, y, e), "id_loss"),
        (checks.check_k_reciprocal, lambda d, p, k: set(_nbh(d, k)[p]), "neighbourhoods"),
        (checks.check_ts_losses, lambda *a: losses.ts_losses(*a, "all", "channel_sum"), "ts_lo"),
        (checks.check_algorithm1_step, lambda m: m.optimize_parameters(), "optimize_parameters"),
        (checks.check_gradient_flow, lambda: checks.gradient_table(None), "gradient_table"),
    ]
    for check, answer, name in cases:
        with pytest.raises(checks.ReferenceUsed, match=name):
            check(answer)
    # and everything is back in place afterwards: the references work, the checks still pass
    assert metrics.keep_mask is keep_mask and checks.keep_mask is keep_mask
    checks.check_sysu_removed(lambda q, c, p, g: (g == 2) & (c == 3))
    checks.check_id_loss(plain_id_loss)


def _nbh(dist, k):
    from tsgan.eval.reranking import neighbourhoods

    return neighbourhoods(dist, k1=k)["reciprocal"]


# --- the exercises of notebooks 01, 03, 06, 07 and the questions --------------------------------


def plain_pixel_features(images):
    out = []
    for im in np.asarray(images, dtype=np.float64):
        v = im.ravel() - im.mean()
        n = np.sqrt((v**2).sum())
        out.append(v / n if n > 0 else v)
    return np.array(out)


def test_pixel_features_check_and_its_mutations():
    checks.check_pixel_features(plain_pixel_features)
    not_centred = lambda x: F.normalize(torch.as_tensor(x).flatten(1), dim=1)  # noqa: E731
    with pytest.raises(CheckFailed, match="case 'one 1x1 picture'"):
        checks.check_pixel_features(not_centred)
    with pytest.raises(CheckFailed, match="case 'one 1x1 picture'"):  # centred, not normalised
        checks.check_pixel_features(
            lambda x: x.reshape(len(x), -1) - x.mean(axis=(1, 2, 3))[:, None]
        )
    with (
        pytest.raises(CheckFailed, match="a constant picture stays zero"),
        np.errstate(all="ignore"),
    ):
        checks.check_pixel_features(  # 0 / 0 = nan
            lambda x: (
                (v := x.reshape(len(x), -1) - x.reshape(len(x), -1).mean(1, keepdims=True))
                / np.linalg.norm(v, axis=1, keepdims=True)
            )
        )


def test_pixel_features_reference_is_the_package_function(synthetic_sysu):
    """The check's reference is what tsgan.data.pixel_stats.pixel_features computes after the
    resize, on real generated pictures."""
    from tsgan.data.pixel_stats import load_resized, pixel_features
    from tsgan.data.sysu import read_sysu

    # read, never ensure: get_dataset would regenerate the shared session tree at default size
    samples = read_sysu(synthetic_sysu).subset("test", "ir")[:7]
    ours = checks._pixel_features_reference(load_resized(samples, (32, 16)))
    np.testing.assert_allclose(ours, pixel_features(samples), atol=1e-6)


def plain_adversarial(D_I, X_I, X_I_fake, f_real, f_fake, gan, mutate=""):
    from tsgan.freeze import frozen

    def det(t):
        return t if mutate == "no detach" else t.detach()

    if mutate == "G not frozen":
        G = gan(D_I(X_I_fake, f_fake), True)
    else:
        with frozen(D_I):
            G = gan(D_I(X_I_fake, f_fake), True)
    xr, xf = X_I.detach(), X_I_fake.detach()
    if mutate == "reid images attached":
        xr, xf = X_I, X_I_fake
    M = [(xf, f_fake), (xf, f_real), (xr, f_fake)]
    with frozen(D_I):
        reid = sum(gan(D_I(x, f), True) for x, f in M) / 3
    real = gan(D_I(det(X_I), det(f_real)), True)
    pairs = M[:1] if mutate == "fake image only" else M
    fake = sum(gan(D_I(det(x), det(f)), False) for x, f in pairs) / len(pairs)
    if mutate == "swapped targets":
        real, fake = gan(D_I(det(X_I), det(f_real)), False), fake
    return {"G": G, "D_real": real, "D_fake": fake, "D": real + fake, "reid_gan": reid}


@pytest.mark.parametrize(
    "mutate, message",
    [
        ("G not frozen", r"your G \(.* sends gradients to \{D_I, X_I', f\(X_I'\)\}"),
        ("no detach", r"your D_real \(.* sends gradients to \{D_I, X_I, f\(X_I\)\}"),
        ("reid images attached", r"your reid_gan \(.* sends gradients to \{X_I, X_I'"),
        ("fake image only", r"\['D_fake'\]"),
        ("swapped targets", r"\['D_real'\]"),
    ],
)
def test_adversarial_losses_check_catches_each_mutation(mutate, message):
    checks.check_adversarial_losses(plain_adversarial)
    with pytest.raises(CheckFailed, match=message):
        checks.check_adversarial_losses(lambda *a: plain_adversarial(*a, mutate=mutate))


def loop_query_expansion(V, dist, k2):
    out = torch.zeros_like(V)
    for i in range(len(V)):
        order = sorted(range(len(V)), key=lambda j: float(dist[i, j]))[:k2]
        out[i] = sum(V[j] for j in order) / k2
    return out


def test_query_expansion_check_and_its_mutations():
    checks.check_query_expansion(loop_query_expansion)
    without_self = lambda V, d, k2: V[torch.argsort(d, 1)[:, 1 : k2 + 1]].mean(1)  # noqa: E731
    summed = lambda V, d, k2: V[torch.argsort(d, 1)[:, :k2]].sum(1)  # noqa: E731
    columns = lambda V, d, k2: V.T[torch.argsort(d, 1)[:, :k2]].mean(1)  # noqa: E731
    for wrong, case in ((without_self, "3 points"), (summed, "3 points"), (columns, "3 points")):
        with pytest.raises(CheckFailed, match=f"case '{case}"):
            checks.check_query_expansion(wrong)


def plain_paired(records, a, b, metric, quantile=None, paired=True, swap=False):
    from scipy import stats

    if swap:
        a, b = b, a
    A = {r["seed"]: r[metric] for r in records if r["row"] == a}
    B = {r["seed"]: r[metric] for r in records if r["row"] == b}
    if not paired:  # difference of the means over each row's own seeds
        mean = np.mean(list(A.values())) - np.mean(list(B.values()))
        return mean, mean - 1, mean + 1
    d = np.array([A[s] - B[s] for s in sorted(set(A) & set(B))])
    q = stats.t.ppf(0.975, len(d) - 1) if quantile is None else quantile
    h = q * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - h, d.mean() + h


def test_paired_difference_check_and_its_mutations():
    checks.check_paired_difference(plain_paired)
    for kwargs in ({"quantile": 1.96}, {"paired": False}, {"swap": True}):
        with pytest.raises(CheckFailed, match="case '3 seeds by hand"):
            checks.check_paired_difference(lambda *a, kw=kwargs: plain_paired(*a, **kw))


def _results_file(tmp_path, jd, backbone):
    import json

    recs = [{"row": "jd", "seed": s, "R1": v} for s, v in enumerate(jd)]
    recs += [{"row": "backbone", "seed": s, "R1": v} for s, v in enumerate(backbone)]
    path = tmp_path / "ablation.json"
    path.write_text(
        json.dumps({"records": recs, "paired": [{"a": "jd", "b": "backbone", "metric": "R1"}]})
    )
    return path


def test_ablation_reading_follows_the_file_not_the_sign_of_the_mean(tmp_path):
    """A file where jd's mean is higher but the interval holds 0: 'c', not 'a'; one where jd is
    higher on every seed: 'a'; lower on every seed: 'b'. The paired-difference check runs on each
    file too (its cases come from the file)."""
    straddles = _results_file(tmp_path, [30.0, 40.0, 29.0], [31.0, 33.0, 30.0])
    checks.check_ablation_reading("c", results=straddles)
    with pytest.raises(CheckFailed, match=r"95 % CI \[-"):
        checks.check_ablation_reading("a", results=straddles)
    checks.check_paired_difference(plain_paired, results=straddles)
    above = tmp_path / "above"
    above.mkdir()
    checks.check_ablation_reading(
        "a", results=_results_file(above, [35.0, 36.0, 37.5], [30, 31, 32])
    )
    below = tmp_path / "below"
    below.mkdir()
    checks.check_ablation_reading(
        "b", results=_results_file(below, [25.0, 26.0, 27.5], [30, 31, 32])
    )
    with pytest.raises(CheckFailed):
        checks.check_ablation_reading("a", results=below / "ablation.json")
    with pytest.raises(ExerciseNotDone):
        checks.check_ablation_reading(None)


def test_choice_questions():
    checks.check_choice("q_modality", "c")
    checks.check_choice("q_student_init", " B ")
    with pytest.raises(CheckFailed, match=r"\(a\) is not the answer"):
        checks.check_choice("q_modality", "a")
    with pytest.raises(CheckFailed, match="answer with one letter"):
        checks.check_choice("q_modality", "e")
    with pytest.raises(ExerciseNotDone, match="'q_student_init' is not done"):
        checks.check_choice("q_student_init", None)
    # the key is not stored in the clear: no letter appears next to the question's name
    assert all(len(digest) == 12 for _, digest in checks.CHOICES.values())
