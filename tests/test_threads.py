"""tsgan.threads: the package's small kernels run on one thread, large products on the caller's
count, and the caller's setting comes back afterwards."""

import numpy as np
import pytest
import torch

from tsgan import threads
from tsgan.eval import (
    euclidean_distance,
    evaluate_rank,
    metrics,
    rerank,
    rerank_features,
    reranking,
    reranking_search,
)


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_limit_restores_the_callers_count_also_on_error(two_threads):
    with threads.limit_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        assert threads.caller_threads() == 2
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), threads.limit_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_nested_blocks_go_back_up_to_the_callers_count_never_above(two_threads):
    with threads.limit_threads(1):
        with threads.limit_threads(threads.threads_for(flop=threads.PARALLEL_MIN_FLOP)) as n:
            assert n == 2 == torch.get_num_threads()
        assert torch.get_num_threads() == 1
        with threads.limit_threads(threads.threads_for(elements=10)) as n:
            assert n == 1
    torch.set_num_threads(1)  # a caller who asks for one thread keeps one
    with threads.limit_threads(8) as n:
        assert n == 1 == torch.get_num_threads()


def test_threads_for_follows_the_size():
    assert threads.threads_for(flop=threads.PARALLEL_MIN_FLOP - 1) == 1
    assert threads.threads_for(elements=threads.PARALLEL_MIN_ELEMENTS - 1) == 1
    big = threads.threads_for(elements=threads.PARALLEL_MIN_ELEMENTS)
    assert big == threads.caller_threads() == torch.get_num_threads()


def record(monkeypatch, module, name, seen):
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_evaluation_and_reranking_kernels_run_on_one_thread(two_threads, monkeypatch):
    seen = {"metrics": [], "rerank": [], "blocks": [], "after": []}
    record(monkeypatch, metrics, "_block_metrics", seen["metrics"])
    record(monkeypatch, reranking, "_expanded_sets", seen["rerank"])
    record(monkeypatch, reranking_search, "_squared_distances", seen["blocks"])
    record(monkeypatch, reranking, "_jaccard_mix", seen["after"])
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(90, 8))).float()
    qf, gf = x[:30], x[30:]
    dist = euclidean_distance(qf, gf)
    evaluate_rank(dist, np.arange(30) % 5, np.arange(60) % 5, np.full(30, 3), np.full(60, 1))
    rerank(dist, euclidean_distance(qf, qf), euclidean_distance(gf, gf))
    assert seen["metrics"] and set(seen["metrics"]) == {1}
    assert seen["rerank"] and set(seen["rerank"]) == {1}
    # the distance blocks get the caller's threads when they are large enough
    monkeypatch.setattr(threads, "PARALLEL_MIN_FLOP", 1)
    seen["rerank"].clear()
    rerank_features(qf, gf, symmetric=True)
    assert seen["blocks"] and set(seen["blocks"]) == {2}
    assert set(seen["rerank"]) == set(seen["after"]) == {1}
    # the default block search: its column blocks too
    seen["rerank"].clear(), seen["after"].clear()
    columns = []
    record(monkeypatch, reranking_search._FeatureDistance, "squared_columns_as_rows", columns)
    rerank_features(qf, gf)
    assert columns and set(columns) == {2}
    assert set(seen["rerank"]) == set(seen["after"]) == {1}
    assert torch.get_num_threads() == 2
