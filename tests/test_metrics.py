"""CMC / mAP / mINP under the SYSU-MM01, RegDB and LLCM rules: hand examples and a loop
reference."""

import numpy as np
import pytest
import torch

from tsgan.eval import evaluate_rank
from tsgan.eval.reference import evaluate_loop

# Five gallery images ranked by distance 0.1 .. 0.5 for one query of identity 1.
G_PIDS = np.array([1, 2, 1, 2, 1])
G_CAMS = np.array([2, 1, 1, 4, 5])
DIST = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])


def test_cam3_query_ignores_every_cam2_image_even_its_own_identity():
    # cam3 query: the cam2 image of identity 1 (rank 1) is removed -> list 2, 1, 2, 1.
    r = evaluate_rank(
        DIST, np.array([1]), G_PIDS, np.array([3]), G_CAMS, protocol="sysu", max_rank=5
    )
    np.testing.assert_allclose(r["cmc"], [0, 1, 1, 1, 1])
    assert r["mAP"] == pytest.approx((1 / 2 + 2 / 4) / 2)  # hits at ranks 2 and 4
    assert r["mINP"] == pytest.approx(2 / 4)  # 2 matches, last at rank 4
    assert r["num_valid"] == 1


def test_cam6_query_keeps_cam2_images():
    r = evaluate_rank(
        DIST, np.array([1]), G_PIDS, np.array([6]), G_CAMS, protocol="sysu", max_rank=5
    )
    np.testing.assert_allclose(r["cmc"], [1, 1, 1, 1, 1])
    assert r["mAP"] == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)
    assert r["mINP"] == pytest.approx(3 / 5)


def test_cam2_removal_hits_other_identities_too():
    # Identity 2's cam2 image at rank 1 is removed for a cam3 query, so identity 1 becomes rank 1.
    r = evaluate_rank(
        np.array([[0.1, 0.2]]), np.array([1]), np.array([2, 1]), np.array([3]), np.array([2, 1])
    )
    assert r["cmc"][0] == 1.0


def test_cmc_counts_each_identity_once_but_regdb_does_not():
    dist = np.array([[0.1, 0.2, 0.3]])
    g_pids, g_cams = np.array([2, 2, 1]), np.array([1, 1, 1])
    sysu = evaluate_rank(
        dist, np.array([1]), g_pids, np.array([6]), g_cams, protocol="sysu", max_rank=3
    )
    regdb = evaluate_rank(
        dist, np.array([1]), g_pids, np.array([6]), g_cams, protocol="regdb", max_rank=3
    )
    np.testing.assert_allclose(sysu["cmc"], [0, 1, 1])  # identities: 2, 1
    np.testing.assert_allclose(regdb["cmc"], [0, 0, 1])  # items: 2, 2, 1
    assert sysu["mAP"] == regdb["mAP"] == pytest.approx(1 / 3)


def test_llcm_removes_same_identity_same_camera_only():
    dist = np.array([[0.1, 0.2, 0.3]])
    g_pids, g_cams = np.array([1, 2, 1]), np.array([4, 4, 5])
    r = evaluate_rank(
        dist, np.array([1]), g_pids, np.array([4]), g_cams, protocol="llcm", max_rank=2
    )
    np.testing.assert_allclose(r["cmc"], [0, 1])  # list after removal: 2, 1
    assert r["mAP"] == pytest.approx(1 / 2)


def test_query_without_a_true_match_is_skipped():
    dist = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    # Query 2 (identity 1, cam3) has its only match in cam2: no valid match, skipped entirely.
    r = evaluate_rank(
        dist, np.array([2, 1]), np.array([3, 2, 1]), np.array([6, 3]), np.array([1, 1, 2])
    )
    assert r["num_valid"] == 1
    np.testing.assert_allclose(r["cmc"][:3], [0, 1, 1])
    assert r["mAP"] == pytest.approx(0.5)


def test_no_valid_query_at_all_is_a_clear_error():
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate_rank(np.array([[0.1]]), np.array([1]), np.array([2]), np.array([3]), np.array([1]))


def test_tiny_gallery_cmc_has_max_rank_entries():
    r = evaluate_rank(DIST, np.array([1]), G_PIDS, np.array([6]), G_CAMS, max_rank=20)
    assert r["cmc"].shape == (20,) and r["cmc"][-1] == 1.0


@pytest.mark.parametrize("protocol", ["sysu", "regdb", "llcm"])
def test_matches_loop_reference_on_random_data(protocol):
    rng = np.random.default_rng(1)
    nq, ng = 60, 90
    q_pids, g_pids = rng.integers(0, 18, nq), rng.integers(0, 15, ng)  # some query ids are absent
    q_cams = rng.choice([3, 6], nq) if protocol == "sysu" else rng.integers(1, 4, nq)
    g_cams = rng.choice([1, 2, 4, 5], ng) if protocol == "sysu" else rng.integers(1, 4, ng)
    dist = rng.random((nq, ng))
    ours = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, protocol=protocol)
    cmc, m_ap, m_inp, n_valid = evaluate_loop(dist, q_pids, g_pids, q_cams, g_cams, protocol)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-12)
    assert ours["mAP"] == pytest.approx(m_ap, abs=1e-12)
    assert ours["mINP"] == pytest.approx(m_inp, abs=1e-12)
    assert ours["num_valid"] == n_valid < nq


def test_torch_inputs_give_the_numpy_result():
    rng = np.random.default_rng(2)
    dist, qp, gp = rng.random((20, 30)), rng.integers(0, 5, 20), rng.integers(0, 5, 30)
    qc, gc = rng.choice([3, 6], 20), rng.choice([1, 2, 4, 5], 30)
    a = evaluate_rank(dist, qp, gp, qc, gc)
    b = evaluate_rank(*(torch.from_numpy(x) for x in (dist, qp, gp, qc, gc)))
    np.testing.assert_array_equal(a["cmc"], b["cmc"])
    assert a["mAP"] == b["mAP"] and a["mINP"] == b["mINP"]


def test_bad_inputs_say_what_was_expected():
    with pytest.raises(ValueError, match="protocol must be one of"):
        evaluate_rank(DIST, [1], G_PIDS, [3], G_CAMS, protocol="market")
    with pytest.raises(ValueError, match="g_pids must be 1-D with one entry per distmat columns"):
        evaluate_rank(DIST, [1], G_PIDS[:4], [3], G_CAMS)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rank(np.full((1, 5), np.nan), [1], G_PIDS, [3], G_CAMS)


def test_ties_are_broken_by_gallery_order_like_a_stable_sort():
    rng = np.random.default_rng(3)
    dist = rng.integers(0, 4, size=(50, 40)).astype(np.float64)  # many equal distances
    qp, gp = rng.integers(0, 6, 50), rng.integers(0, 6, 40)
    qc, gc = rng.choice([3, 6], 50), rng.choice([1, 2, 4, 5], 40)
    ours = evaluate_rank(dist, qp, gp, qc, gc)
    cmc, m_ap, m_inp, _ = evaluate_loop(dist, qp, gp, qc, gc)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-12)
    assert ours["mAP"] == pytest.approx(m_ap, abs=1e-12) and ours["mINP"] == pytest.approx(
        m_inp, abs=1e-12
    )


def test_trial_distances_equal_one_product_per_trial():
    # Two query sets, interleaved, galleries overlapping: each trial gets exactly its own (q, g)
    # distances.
    from tsgan.eval import euclidean_distance
    from tsgan.eval.report import trial_distances

    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(60, 8, generator=gen, dtype=torch.float64)
    qa, qb = torch.arange(0, 10), torch.tensor([12, 11, 10])
    rows = [
        (qa, torch.tensor([30, 20, 25])),
        (qb, torch.tensor([40, 41])),
        (qa, torch.tensor([25, 59, 31, 20])),
        (qb, torch.tensor([41])),
    ]
    got = list(trial_distances(feats, rows))
    assert len(got) == len(rows)
    for (qi, gi), dist in zip(rows, got):
        expected = torch.cdist(feats[qi], feats[gi])
        assert dist.shape == (len(qi), len(gi))
        torch.testing.assert_close(dist, expected, atol=1e-10, rtol=0)
        torch.testing.assert_close(
            dist, euclidean_distance(feats[qi], feats[gi]), atol=1e-12, rtol=0
        )


@pytest.mark.parametrize("protocol", ["sysu", "regdb", "llcm"])
def test_rows_with_ties_take_the_sorted_path_and_the_others_do_not(monkeypatch, protocol):
    # Ranks come from counting, not sorting; a row where a kept item ties with a true match is
    # sorted in full (stable), so ties keep gallery order. Rows without ties must not be sorted.
    from tsgan.eval import metrics

    rng = np.random.default_rng(4)
    nq, ng = 40, 60
    qp, gp = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    qc = rng.choice([3, 6], nq) if protocol == "sysu" else rng.integers(1, 4, nq)
    gc = rng.choice([1, 2, 4, 5], ng) if protocol == "sysu" else rng.integers(1, 4, ng)
    dist = rng.random((nq, ng))
    for i in range(0, nq, 4):  # every 4th row: a non-match copies a true match's distance
        m, o = np.flatnonzero(gp == qp[i]), np.flatnonzero(gp != qp[i])
        dist[i, o[:2]] = dist[i, m[len(m) // 2]]
    dist[1, 5] = dist[1, 7]  # a tie between two items of other identities: no sort needed
    sorted_rows = []
    full_sort = metrics._block_metrics_sorted
    monkeypatch.setattr(
        metrics,
        "_block_metrics_sorted",
        lambda d, *a: sorted_rows.append(len(d)) or full_sort(d, *a),
    )
    ours = evaluate_rank(dist, qp, gp, qc, gc, protocol=protocol)
    cmc, m_ap, m_inp, n_valid = evaluate_loop(dist, qp, gp, qc, gc, protocol)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-12)
    assert ours["mAP"] == pytest.approx(m_ap, abs=1e-12) and ours["mINP"] == pytest.approx(
        m_inp, abs=1e-12
    )
    assert ours["num_valid"] == n_valid
    assert 0 < sum(sorted_rows) <= nq // 4


@pytest.mark.parametrize("protocol", ["sysu", "regdb", "llcm"])
@pytest.mark.parametrize("levels", [4, 0])  # integer distances (ties everywhere); untied
def test_query_groups_and_blocks_equal_the_loop(monkeypatch, protocol, levels):
    # sysu scores the cam3 and the other queries as two groups (cam2 items +inf for the first),
    # in blocks of a few rows; the per-query results go back to the query order. Against the
    # loop, on tied and untied distances, with a query whose whole gallery is removed (all cam2).
    from tsgan.eval import metrics

    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", 7 * 40)  # blocks of 7 rows
    rng = np.random.default_rng(levels + len(protocol))
    nq, ng = 45, 40
    qp, gp = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    qc = rng.choice([3, 6], nq) if protocol == "sysu" else rng.integers(1, 4, nq)
    gc = rng.choice([1, 2, 4, 5], ng) if protocol == "sysu" else rng.integers(1, 4, ng)
    dist = rng.integers(0, levels, (nq, ng)).astype(np.float64) if levels else rng.random((nq, ng))
    before = dist.copy()
    ours = evaluate_rank(dist, qp, gp, qc, gc, protocol=protocol)
    assert np.array_equal(dist, before)  # the input is never written to
    cmc, m_ap, m_inp, n_valid = evaluate_loop(dist, qp, gp, qc, gc, protocol)
    np.testing.assert_allclose(ours["cmc"], cmc, atol=1e-12)
    assert ours["mAP"] == pytest.approx(m_ap, abs=1e-12)
    assert ours["mINP"] == pytest.approx(m_inp, abs=1e-12)
    assert ours["num_valid"] == n_valid


def test_a_cam3_query_facing_only_cam2_images_is_skipped():
    dist = np.array([[0.2, 0.1], [0.4, 0.3]])
    r = evaluate_rank(dist, np.array([1, 1]), np.array([1, 2]), np.array([3, 6]), np.array([2, 2]))
    assert r["num_valid"] == 1 and r["cmc"][0] == 0.0  # query 2 (cam6): identity 2 comes first
    assert r["mAP"] == pytest.approx(1 / 2)


def test_sorted_rows_are_row_major_for_a_transposed_input():
    # A transposed distance matrix (what a caller's ``.T`` gives) sorts into a row-major table:
    # torch.searchsorted warns on stderr (a notebook cell's output) and copies a non-contiguous one.
    from tsgan.eval.metrics import _sorted_values

    x = torch.rand(7, 5).T
    out = _sorted_values(x)
    assert out.is_contiguous() and torch.equal(out, torch.sort(x, dim=1).values)
