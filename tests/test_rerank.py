"""The fast re-ranking against the straightforward dense original (tsgan.eval.reference)."""

import json

import numpy as np
import pytest
import torch

from tsgan.eval import euclidean_distance, evaluate_rank, rerank, rerank_features
from tsgan.eval.reference import euclidean, re_ranking
from tsgan.eval.reranking import neighbourhoods as rerank_neighbourhoods


def clustered(rng, n, dim, spread=0.3):
    """Features around a few centres, so that k-reciprocal sets and their expansion are
    non-trivial."""
    centres = rng.normal(size=(max(2, n // 6), dim))
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + spread * rng.normal(size=(n, dim)), labels


def distances(q, g):
    return euclidean(q, g), euclidean(q, q), euclidean(g, g)


@pytest.mark.parametrize(
    "nq,ng,k1,k2,lam",
    [
        (5, 7, 20, 6, 0.3),  # fewer images than k1: every set is the whole set
        (40, 70, 20, 6, 0.3),
        (150, 250, 20, 6, 0.3),
        (60, 90, 7, 1, 0.5),  # k2 = 1: no query expansion; odd k1 (round(3.5) = 4)
        (60, 90, 5, 3, 0.0),
    ],
)
def test_equals_the_original_algorithm(nq, ng, k1, k2, lam):
    rng = np.random.default_rng(nq * 1000 + ng)
    x, _ = clustered(rng, nq + ng, 16)
    q_g, q_q, g_g = distances(x[:nq], x[nq:])
    expected = re_ranking(q_g, q_q, g_g, k1, k2, lam)
    got = rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_=lam)
    assert (
        isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == (nq, ng)
    )  # as the original
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_same_metrics_as_the_original():
    rng = np.random.default_rng(7)
    x, labels = clustered(rng, 300, 16, spread=0.6)
    nq = 100
    q_g, q_q, g_g = distances(x[:nq], x[nq:])
    cams_q, cams_g = np.full(nq, 6), np.full(300 - nq, 1)
    ours = evaluate_rank(rerank(q_g, q_q, g_g), labels[:nq], labels[nq:], cams_q, cams_g)
    ref = evaluate_rank(re_ranking(q_g, q_q, g_g), labels[:nq], labels[nq:], cams_q, cams_g)
    np.testing.assert_array_equal(ours["cmc"], ref["cmc"])
    assert ours["mAP"] == pytest.approx(ref["mAP"], abs=1e-9)
    assert ours["mINP"] == pytest.approx(ref["mINP"], abs=1e-9)


def test_tensor_in_tensor_out_same_dtype_and_device():
    rng = np.random.default_rng(3)
    x, _ = clustered(rng, 60, 8)
    q_g, q_q, g_g = (torch.from_numpy(a).float() for a in distances(x[:20], x[20:]))
    out = rerank(q_g, q_q, g_g)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.device == q_g.device
    expected = re_ranking(q_g.numpy(), q_q.numpy(), g_g.numpy())
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_asymmetric_inputs_follow_the_original_transpose():
    # The original normalises columns and transposes; with a non-symmetric g_g that matters.
    rng = np.random.default_rng(4)
    x, _ = clustered(rng, 80, 8)
    q_g, q_q, g_g = distances(x[:30], x[30:])
    g_g = g_g * (1 + 0.05 * rng.random(g_g.shape))
    np.testing.assert_allclose(rerank(q_g, q_q, g_g), re_ranking(q_g, q_q, g_g), atol=1e-5)


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError, match=r"expected q_g \(q, g\), q_q \(q, q\) and g_g \(g, g\)"):
        rerank(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="k1 >= 1"):
        rerank(np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((4, 4)), k1=0)


def test_neighbourhoods_match_the_definition():
    rng = np.random.default_rng(5)
    x, _ = clustered(rng, 40, 2)
    dist = euclidean(x, x)
    k1 = 6
    sets = rerank_neighbourhoods(dist, k1=k1)
    top = np.argsort(dist**2 / (dist**2).max(0), axis=0).T[:, : k1 + 1]  # rows of the original's M
    for i in range(40):
        assert sets["nearest"][i] == top[i].tolist()
        assert set(sets["reciprocal"][i]) == {j for j in top[i] if i in top[j]}
        assert set(sets["reciprocal"][i]) <= set(sets["expanded"][i])


@pytest.mark.parametrize("chunk", [2, 4, 8])
def test_chunked_neighbour_search_equals_the_original(monkeypatch, chunk):
    # Large inputs take the chunked search (no transposes); small chunks route this small case
    # there.
    from tsgan.eval import reranking_search

    monkeypatch.setattr(reranking_search, "_CHUNK", chunk)
    calls = []
    chunked = reranking_search._neighbours_chunked
    monkeypatch.setattr(
        reranking_search, "_neighbours_chunked", lambda *a: calls.append(1) or chunked(*a)
    )
    rng = np.random.default_rng(chunk)
    x, _ = clustered(rng, 830, 16)
    q_g, q_q, g_g = distances(x[:130], x[130:])
    g_g = g_g * (1 + 0.05 * rng.random(g_g.shape))  # not symmetric: columns, not rows, count
    np.testing.assert_allclose(rerank(q_g, q_q, g_g), re_ranking(q_g, q_q, g_g), atol=1e-5, rtol=0)
    assert calls == [1]


def test_chunked_and_dense_neighbour_search_agree_on_mass_ties(monkeypatch):
    # Integer distances tie everywhere: the chunked search must fall back to whole-column sorts
    # (crowded columns, ties at the K-th place) and still order ties by index, as the dense one
    # does.
    from tsgan.eval import reranking_search

    monkeypatch.setattr(reranking_search, "_CHUNK", 4)
    monkeypatch.setattr(reranking_search, "_MAX_CANDIDATES", 40)
    rng = np.random.default_rng(11)
    pts = rng.integers(0, 4, size=(300, 2)).astype(np.float64)
    q_g, q_q, g_g = (torch.from_numpy(a) for a in distances(pts[:120], pts[120:]))
    D = reranking_search._FullDistance(q_g, q_q, g_g)
    whole_columns = []
    entries = reranking_search._FullDistance.entries
    monkeypatch.setattr(
        reranking_search._FullDistance,
        "entries",
        lambda self, r, c: whole_columns.append(len(r)) or entries(self, r, c),
    )
    chunked = reranking_search._neighbours_chunked(D, 21)
    assert sum(whole_columns) > 0  # the fallback ran
    dense = reranking_search._neighbours_dense(D, 21)
    for a, b in zip(chunked, dense):
        assert torch.equal(a, b)
    full = torch.cat([torch.cat([q_q, q_g], 1), torch.cat([q_g.T, g_g], 1)])
    m = (full**2).float()
    m = (m / m.max(0).values).T
    stable = torch.from_numpy(np.argsort(m.numpy(), axis=1, kind="stable")[:, :21])
    assert torch.equal(dense[0], stable)


@pytest.mark.parametrize("width", [1, 3, 1000])
def test_jaccard_padding_width_does_not_change_the_result(monkeypatch, width):
    # The inverted index keeps L entries per column in a padded table and pairs the rest one by one:
    # any L (all overflow, some, none) must give the original's distances.
    from tsgan.eval import reranking_sets

    monkeypatch.setattr(reranking_sets, "_table_width", lambda hits: width)
    rng = np.random.default_rng(21)
    x, _ = clustered(rng, 200, 16)
    q_g, q_q, g_g = distances(x[:80], x[80:])
    np.testing.assert_allclose(rerank(q_g, q_q, g_g), re_ranking(q_g, q_q, g_g), atol=1e-5, rtol=0)


def test_table_width_balances_padding_and_overflow():
    from tsgan.eval.reranking_sets import _table_width

    hits = torch.tensor([30] * 100 + [200])  # one crowded column: pad to ~32, spill the rest
    assert _table_width(hits) == 32
    brute = min(
        range(8, 216, 8), key=lambda w: len(hits) * w + 3 * int((hits - w).clamp(min=0).sum())
    )
    assert _table_width(hits) == brute
    assert _table_width(torch.zeros(5, dtype=torch.long)) == 8


@pytest.mark.parametrize("block", [64, 1 << 26])
def test_block_sizes_do_not_change_the_result(monkeypatch, block):
    # Blocks are cache-sized on CPU and 64x larger on a GPU; tiny and huge blocks give the same
    # answer.
    from tsgan.eval import reranking_search, reranking_sets

    for module in (reranking_search, reranking_sets):  # each reads the block size it imported
        monkeypatch.setattr(module, "_cache_elements", lambda t: block)
    monkeypatch.setattr(reranking_search, "_CHUNK", 4)
    rng = np.random.default_rng(block % 97)
    x, _ = clustered(rng, 830, 16)
    q_g, q_q, g_g = distances(x[:300], x[300:])
    np.testing.assert_allclose(rerank(q_g, q_q, g_g), re_ranking(q_g, q_q, g_g), atol=1e-5, rtol=0)


@pytest.mark.parametrize("chunk", [32, 2])  # the dense and the chunked neighbour search
def test_nan_distances_are_reported(monkeypatch, chunk):
    from tsgan.eval import reranking_search

    monkeypatch.setattr(reranking_search, "_CHUNK", chunk)
    rng = np.random.default_rng(8)
    x, _ = clustered(rng, 330, 8)
    q_g, q_q, g_g = distances(x[:130], x[130:])
    g_g[5, 7] = np.nan
    with pytest.raises(ValueError, match=r"finite distances.*NaN or inf \(first: column 137\)"):
        rerank(q_g, q_q, g_g)


def feature_case(seed, nq, ng, dim=16, duplicates=0):
    """float32 features around identity centres; the last ``duplicates`` gallery rows repeat
    earlier rows (exact ties in every column of D), and query 0's identity appears nowhere in the
    gallery."""
    rng = np.random.default_rng(seed)
    x, labels = clustered(rng, nq + ng, dim, spread=0.5)
    labels[0] = labels.max() + 1
    x = torch.nn.functional.normalize(torch.from_numpy(x).float(), dim=1)
    if duplicates:
        x[-duplicates:] = x[nq : nq + duplicates]
        labels[-duplicates:] = labels[nq : nq + duplicates]
    return x[:nq], x[nq:], labels[:nq], labels[nq:]


def caller_distances(qf, gf):
    """The three matrices exactly as the evaluation builds them (tsgan.eval.report)."""
    return euclidean_distance(qf, gf), euclidean_distance(qf, qf), euclidean_distance(gf, gf)


@pytest.mark.parametrize(
    "nq,ng,dim,dups,block",
    [
        (5, 7, 8, 0, 0),  # fewer images than k1
        (60, 140, 16, 20, 0),  # exact ties: 20 gallery images duplicated
        (60, 140, 16, 20, 1),  # one column per block
        (150, 250, 64, 10, 3),  # tiny blocks
        (150, 250, 64, 10, 10**6),  # one block holds all of D
    ],
)
@pytest.mark.parametrize("symmetric", [False, True])
def test_features_path_equals_rerank_and_the_original(nq, ng, dim, dups, block, symmetric):
    qf, gf, q_ids, g_ids = feature_case(nq + ng + dups, nq, ng, dim, dups)
    dists = caller_distances(qf, gf)
    fast = rerank(*dists)
    got = rerank_features(qf, gf, block_rows=block, symmetric=symmetric)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.shape == (nq, ng)
    assert (got - fast).abs().max() <= 1e-5
    # Exact ties (duplicated gallery rows): the original's unstable argsort orders them by CPU, so
    # the reference there is the original with ties in index order (a stable sort).
    original = re_ranking(*(d.numpy() for d in dists), kind="stable" if dups else "quicksort")
    np.testing.assert_allclose(got.numpy(), original, atol=1e-5, rtol=0)
    cams_q, cams_g = np.full(nq, 6), np.full(ng, 1)
    ours = evaluate_rank(got, q_ids, g_ids, cams_q, cams_g)
    for other in (fast, original):
        ref = evaluate_rank(other, q_ids, g_ids, cams_q, cams_g)
        np.testing.assert_array_equal(ours["cmc"], ref["cmc"])
        assert (ours["mAP"], ours["mINP"], ours["num_valid"]) == (
            ref["mAP"],
            ref["mINP"],
            ref["num_valid"],
        )
    assert ours["num_valid"] < nq  # query 0 has no true match and is skipped


def test_features_path_numpy_float64_and_parameters():
    qf, gf, _, _ = feature_case(1, 30, 50, 8)
    q64, g64 = qf.double().numpy(), gf.double().numpy()
    got = rerank_features(q64, g64, k1=7, k2=1, lambda_=0.5)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    expected = re_ranking(euclidean(q64, g64), euclidean(q64, q64), euclidean(g64, g64), 7, 1, 0.5)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_features_path_rejects_bad_input():
    with pytest.raises(
        ValueError, match=r"query_feats \(q, d\) and gallery_feats \(g, d\) with the same d"
    ):
        rerank_features(np.zeros((3, 4)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="finite features"):
        rerank_features(np.full((3, 4), np.nan), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="k1 >= 1"):
        rerank_features(np.zeros((3, 4)), np.zeros((5, 4)), k1=0)


def test_feature_distance_blocks_round_like_the_callers_matrices():
    # Every block of columns of D built from features equals, bit for bit, the same columns of
    # [[q_q, q_g], [q_g^T, g_g]] from euclidean_distance (the norms are added in the caller's
    # order).
    from tsgan.eval import reranking_search

    qf, gf, _, _ = feature_case(2, 70, 130, 256)
    full = reranking_search._FullDistance(*caller_distances(qf, gf))
    feats = reranking_search._FeatureDistance(qf, gf)
    for s, e in ((0, 70), (70, 200), (10, 40), (100, 164)):
        assert torch.equal(feats.squared_columns_as_rows(s, e), full.squared_columns_as_rows(s, e))
    # single entries (for the weights, which use the square) come from a dot product, not the
    # matrix product: equal to rounding (a zero distance can come out as sqrt(rounding) ~ 1e-3)
    rows, cols = torch.randint(0, 200, (2, 500))
    torch.testing.assert_close(
        feats.entries(rows, cols) ** 2, full.entries(rows, cols) ** 2, rtol=0, atol=1e-6
    )


def test_rerank_path_takes_features_when_the_matrices_would_not_fit():
    from tsgan.eval.reranking_memory import rerank_path

    gb = 2**30
    assert (
        rerank_path(3803, 3010, 4, available=24 * gb)[0] == "matrices"
    )  # SYSU multi-shot: ~0.3 GB
    path, why = rerank_path(11659, 82161, 4, available=24 * gb)  # MSMT17: g x g alone is 27 GB
    assert path == "features" and "would need ~" in why
    assert rerank_path(100, 100, 4, available=100_000)[0] == "features"  # a tiny budget forces it


def test_evaluate_command_reranks_from_features_when_memory_is_short(tmp_path, capsys, monkeypatch):
    # The same command twice: with plenty of memory (matrices) and with almost none (features).
    # It says which path it took, and both give the same numbers.
    from fakes import make_sysu_tree

    from tsgan.__main__ import main
    from tsgan.config import get_config
    from tsgan.engine.checkpoint import save_checkpoint
    from tsgan.eval import reranking_memory
    from tsgan.models import build_backbone

    tree = make_sysu_tree(tmp_path / "sysu", [1], [2, 3], [5, 6, 8], images_per_cam=3, size=(8, 4))
    cfg = get_config(
        "cpu",
        {
            "data.dataset": "sysu",
            "data.root": str(tree),
            "data.height": 8,
            "data.width": 4,
            "data.cache": False,
            "model.arch": "resnet18",
            "model.pretrained": "",
        },
    )
    net = build_backbone(cfg.model, num_classes=2)
    ckpt = save_checkpoint(
        tmp_path / "model.pt",
        {"config": cfg.to_dict(), "num_classes": 2, "models": {"backbone": net.state_dict()}},
    )
    reports = {}
    for memory, path in ((2**40, "matrices"), (1000, "features")):
        monkeypatch.setattr(reranking_memory, "available_memory", lambda memory=memory: memory)
        out = tmp_path / f"{path}.json"
        assert (
            main(
                [
                    "evaluate",
                    "--checkpoint",
                    str(ckpt),
                    "--trials",
                    "2",
                    "--rerank",
                    "--device",
                    "cpu",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        printed = capsys.readouterr().out
        assert f"re-ranking of all-search single-shot took the {path} path" in printed
        reports[path] = json.loads(out.read_text())["results"]
    assert [r["trials"] for r in reports["matrices"]] == [r["trials"] for r in reports["features"]]
    assert list(reports["features"][1]["rerank_path"]) == ["features"]


def integer_features(seed, nq, ng, high, dim=8):
    """float32 features with integer entries below ``high``: every dot product is exact in float32
    or rounded once (12-bit entries, dim 2), whatever the summation order, so the test does not
    depend on the CPU's matrix product. Distances tie exactly (small ``high``) or nearly (large
    ``high``: sums beyond 2^24 round, so the order in which the norms are added matters, and
    squared distances a few units apart round together after sqrt, squaring and division)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, high, (nq + ng, dim), generator=g).float()
    x[-10:] = x[nq : nq + 10]  # duplicated gallery rows: exact ties in every column
    return x[:nq], x[nq:]


def division_ties():
    """1-d features where query 0 (at 0) sees 60 gallery points one float32 step apart: their
    D^2 differ, but divided by the column maximum (2.45^2) many pairs become equal M, and the
    farther of such a pair has the smaller index, one such pair at the 21st place: keeping the 21
    smallest D^2 and ordering them by M afterwards would keep the wrong one of the pair. The
    search must notice and rank that column from M."""
    step = np.float32(2**-23)
    cluster = (np.float32(1.8) + np.arange(4, 64, dtype=np.float32) * step)[::-1]
    queries = np.concatenate([[0.0], np.linspace(2.0, 2.4, 29)])
    gallery = np.concatenate([cluster, np.linspace(1.9, 2.4, 40), [2.45]])
    x = torch.from_numpy(np.concatenate([queries, gallery]).astype(np.float32))[:, None]
    return x[:30], x[30:]


SEARCH_CASES = {  # exact ties; near-ties; rounding beyond 2^24; ties made by the division
    "ties": lambda seed: integer_features(seed, 70, 130, 3, 8),
    "near": lambda seed: integer_features(seed, 70, 130, 1400, 8),
    "rounding": lambda seed: integer_features(seed, 70, 130, 4000, 2),
    "division": lambda seed: division_ties(),
}


@pytest.mark.parametrize("case", SEARCH_CASES)
@pytest.mark.parametrize("slack", [0, 1, 8])  # 0: every column takes the whole-column fallback
@pytest.mark.parametrize("rows", [7, 64, 0])
def test_symmetric_search_equals_the_full_column_search(monkeypatch, case, slack, rows):
    # rerank_features computes each dot product once and reads it as a column and as a row of D;
    # its neighbours, maxima and M[:q, q:] must be those of the search over whole columns of D
    # (the same rounding, ties by index), and those of a stable sort of the caller's M.
    from tsgan.eval import reranking_search

    monkeypatch.setattr(reranking_search, "_SLACK", slack)
    recomputed = []
    recompute = reranking_search._recompute_columns
    monkeypatch.setattr(
        reranking_search, "_recompute_columns", lambda *a: recomputed.append(1) or recompute(*a)
    )
    qf, gf = SEARCH_CASES[case](slack)
    nq = len(qf)
    D = reranking_search._FeatureDistance(qf, gf)
    got = reranking_search._neighbours_symmetric(D, 21, rows)
    want = reranking_search._neighbours_dense(D, 21, rows)
    for a, b in zip(got, want):
        assert torch.equal(a, b)
    assert recomputed or slack > 0  # with no slack every column is unsure
    q_g, q_q, g_g = caller_distances(qf, gf)
    full = torch.cat([torch.cat([q_q, q_g], 1), torch.cat([q_g.T, g_g], 1)])
    m = full**2
    m = (m / m.max(0).values).T
    stable = torch.from_numpy(np.argsort(m.numpy(), axis=1, kind="stable")[:, :21])
    assert torch.equal(got[0], stable)
    assert torch.equal(got[2], m[:nq, nq:])
    # every D^2 the search kept (the weights read them) rounds like the caller's matrices
    kept_rows, kept_d2 = D.known
    assert torch.equal(kept_d2, (full**2).T.gather(1, kept_rows))


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("high,dim", [(3, 8), (1400, 8), (4000, 2)])
def test_features_path_equals_the_matrix_path_on_ties_and_near_ties(high, dim, symmetric):
    # The whole re-ranking from features against rerank on the caller's three matrices (equal: with
    # integer features every distance is exact, so both see the same M and the same neighbours)
    # and against the original with ties in index order (within 1e-6: float32 sums in another
    # order).
    qf, gf = integer_features(high, 60, 140, high, dim)
    dists = caller_distances(qf, gf)
    got = rerank_features(qf, gf, symmetric=symmetric)
    assert torch.equal(got, rerank(*dists))
    original = torch.from_numpy(re_ranking(*(d.numpy() for d in dists), kind="stable"))
    assert (got - original).abs().max() <= 1e-6
