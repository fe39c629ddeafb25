"""CrossModalityBatchSampler: batch composition, epoch length, determinism, DDP sharding, exact
resume."""

from __future__ import annotations

from collections import Counter

import pytest

from tsgan.data.sampler import CrossModalityBatchSampler

# identity 7 has only RGB images, 8 only IR; identity 3 has a single IR image
RGB = [0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 7, 7, 4, 4, 4, 5, 5, 5]
IR = [0, 0, 1, 1, 1, 2, 2, 2, 3, 8, 8, 4, 4, 5, 5, 5]


def test_batch_composition() -> None:
    P, K = 3, 2
    sampler = CrossModalityBatchSampler(RGB, IR, P, K, batches_per_epoch=50, seed=1)
    seen = Counter()
    for batch in sampler:
        assert len(batch) == P * K
        labels = [RGB[i] for i, _ in batch]
        assert labels == [IR[j] for _, j in batch], "every pair is one identity"
        # identity-major: P distinct identities, each as K consecutive pairs
        blocks = [labels[k * K : (k + 1) * K] for k in range(P)]
        assert all(len(set(b)) == 1 for b in blocks) and len({b[0] for b in blocks}) == P
        for k in range(P):
            rgb_idx = [i for i, _ in batch[k * K : (k + 1) * K]]
            ir_idx = [j for _, j in batch[k * K : (k + 1) * K]]
            assert len(set(rgb_idx)) == K  # every identity has >= K RGB images: no repeats
            if blocks[k][0] != 3:
                assert len(set(ir_idx)) == K
            else:
                assert ir_idx == [8] * K  # a single IR image: drawn with replacement
        seen.update(b[0] for b in blocks)
    assert set(seen) == {0, 1, 2, 3, 4, 5}, "only identities with both modalities, and all of them"


def test_epoch_length() -> None:
    assert len(CrossModalityBatchSampler(RGB, IR, 2, 2)) == len(RGB) // 4 == 5
    assert len(CrossModalityBatchSampler(RGB, IR, 2, 2, world_size=2, rank=1)) == len(RGB) // 8 == 2
    assert len(list(CrossModalityBatchSampler(RGB, IR, 2, 2, batches_per_epoch=7))) == 7
    assert len(list(CrossModalityBatchSampler(RGB, IR, 6, 4))) == 1  # never an empty epoch


def test_same_seed_same_sequence_epochs_differ() -> None:
    a = CrossModalityBatchSampler(RGB, IR, 2, 2, batches_per_epoch=10, seed=5)
    b = CrossModalityBatchSampler(RGB, IR, 2, 2, batches_per_epoch=10, seed=5)
    assert list(a) == list(b)
    assert list(a) == list(a), "iterating twice gives the same epoch"
    epoch0 = list(a)
    a.set_epoch(1)
    assert list(a) != epoch0
    assert list(CrossModalityBatchSampler(RGB, IR, 2, 2, batches_per_epoch=10, seed=6)) != epoch0


def test_ddp_ranks_get_disjoint_interleaved_shares() -> None:
    world, n = 3, 6
    ranks = [
        CrossModalityBatchSampler(
            RGB, IR, 2, 2, batches_per_epoch=n, seed=2, rank=r, world_size=world
        )
        for r in range(world)
    ]
    for s in ranks:
        s.set_epoch(4)
    shares = [list(s) for s in ranks]
    assert all(len(share) == n for share in shares)
    # interleaving the shares rebuilds the one global sequence, so no batch is given to two ranks
    interleaved = [shares[k % world][k // world] for k in range(world * n)]
    assert interleaved == list(ranks[0].global_batches())
    as_tuples = [tuple(b) for share in shares for b in share]
    assert len(set(as_tuples)) == len(as_tuples)
    # the global sequence depends on (seed, epoch, world_size) only, not on the rank that draws it
    assert list(ranks[1].global_batches()) == interleaved


def test_set_epoch_start_batch_resumes_exactly() -> None:
    s = CrossModalityBatchSampler(RGB, IR, 2, 2, batches_per_epoch=8, seed=3, rank=1, world_size=2)
    s.set_epoch(2)
    full = list(s)
    s.set_epoch(2, start_batch=5)
    assert len(s) == 3 and list(s) == full[5:]
    with pytest.raises(ValueError, match=r"start_batch must be in \[0, 8\]"):
        s.set_epoch(2, start_batch=9)


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(
        ValueError, match="P=7 identities with both RGB and IR images, but only 6 have both"
    ):
        CrossModalityBatchSampler(RGB, IR, 7, 2)
    with pytest.raises(ValueError, match="rank must be in"):
        CrossModalityBatchSampler(RGB, IR, 2, 2, rank=2, world_size=2)
    with pytest.raises(ValueError, match="P and K must be positive"):
        CrossModalityBatchSampler(RGB, IR, 2, 0)
