"""Cross-modality identity sampler: every batch holds P identities x K (RGB, IR) pairs.

Only identities that have images in both modalities are drawn. For each chosen identity, K RGB
and K IR images are drawn without replacement, or with replacement when the identity has fewer
than K images of that modality; they are paired in order, so pair j is (rgb_j, ir_j) of the
same person. Batches are identity-major: the K pairs of the first identity, then the next, ...

Epoch length: ``batches_per_epoch`` batches per rank; 0 means "one pass over the RGB training
images across all ranks": ``max(1, n_rgb // (P * K * world_size))``.

Determinism and DDP: the batches of an epoch are a function of (seed, epoch) only. A global
sequence of ``world_size * batches_per_epoch`` batches is drawn and rank r takes batches r,
r + world_size, r + 2 * world_size, ...; ranks therefore never share a batch and together cover
the same sequence a single process would draw. ``set_epoch(epoch, start_batch)`` selects the
epoch and skips the first ``start_batch`` batches of this rank, so a resumed run continues exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
import torch


def indices_by_label(labels: Sequence[int]) -> dict[int, torch.Tensor]:
    """label -> int64 tensor of the positions holding it, in ascending order."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return {label: torch.tensor(idx, dtype=torch.long) for label, idx in groups.items()}


class CrossModalityBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Yields lists of P*K ``(i_rgb, i_ir)`` index pairs (see the module docstring).

    ``rgb_labels[i]`` / ``ir_labels[i]`` is the identity (label or pid) of RGB / IR image i.
    """

    def __init__(
        self,
        rgb_labels: Sequence[int],
        ir_labels: Sequence[int],
        P: int,
        K: int,
        batches_per_epoch: int = 0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if P < 1 or K < 1:
            raise ValueError(
                f"P and K must be positive (identities per batch, pairs per identity), got P={P}, "
                f"K={K}"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        self.rgb = indices_by_label(rgb_labels)
        self.ir = indices_by_label(ir_labels)
        self.identities = sorted(set(self.rgb) & set(self.ir))
        if len(self.identities) < P:
            raise ValueError(
                f"a batch needs P={P} identities with both RGB and IR images, but only "
                f"{len(self.identities)} have both (RGB: {len(self.rgb)}, IR: {len(self.ir)} "
                "identities); lower data.P or check the dataset."
            )
        self.P, self.K = P, K
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.batches_per_epoch = batches_per_epoch or max(
            1, len(rgb_labels) // (P * K * world_size)
        )
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch's sequence; skip this rank's first ``start_batch`` batches (exact
        resume)."""
        if not 0 <= start_batch <= self.batches_per_epoch:
            raise ValueError(
                f"start_batch must be in [0, {self.batches_per_epoch}], got {start_batch}"
            )
        self.epoch, self.start_batch = epoch, start_batch

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch

    def generator(self) -> torch.Generator:
        """The epoch's RNG, seeded from (seed, epoch) through numpy's SeedSequence (no
        collisions)."""
        return torch.Generator().manual_seed(
            int(np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)[0])
        )

    def draw(self, pool: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """K positions from ``pool``: without replacement when it holds at least K, else with."""
        if len(pool) >= self.K:
            return pool[torch.randperm(len(pool), generator=g)[: self.K]]
        return pool[torch.randint(len(pool), (self.K,), generator=g)]

    def global_batches(self) -> Iterator[list[tuple[int, int]]]:
        """All ``world_size * batches_per_epoch`` batches of the epoch, in order, for every rank
        alike."""
        g = self.generator()
        for _ in range(self.world_size * self.batches_per_epoch):
            batch = []
            for j in torch.randperm(len(self.identities), generator=g)[: self.P].tolist():
                label = self.identities[j]
                rgb, ir = self.draw(self.rgb[label], g), self.draw(self.ir[label], g)
                batch += list(zip(rgb.tolist(), ir.tolist()))
            yield batch

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        first = self.start_batch * self.world_size + self.rank
        for n, batch in enumerate(self.global_batches()):
            if n >= first and (n - self.rank) % self.world_size == 0:
                yield batch
