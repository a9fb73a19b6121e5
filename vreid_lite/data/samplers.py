"""The P×K identity sampler: batches of P distinct identities with K images each."""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
import torch


class PKSampler(torch.utils.data.Sampler):
    """Batch sampler yielding lists of P·K dataset indices: P distinct identities, K images each.

    Each epoch every identity's images are put in a fresh random order and cut into chunks of K
    without replacement; the last partial chunk is padded with the identity's first images of
    that order (other images, so a chunk never repeats one). An identity with fewer than K
    images is sampled WITH replacement: its images, in random order, are repeated to fill K, so
    all of them appear and repeats are spread evenly.

    The chunks are laid out so that no batch holds an identity twice. Batches per epoch: the
    number of chunks divided by P, rounded down (the last incomplete batch is dropped), but
    - at most what keeps P distinct identities in every batch: an identity with more chunks
      than there are batches has its surplus chunks left out that epoch;
    - at least ceil(identities / P), so every identity appears in every epoch: when the chunks
      fall short of filling the batches, identities contribute extra chunks (continuing their
      order).
    Surplus or extra chunks are chosen at random, never removing an identity's only chunk.

    ``set_epoch(e)`` makes the batches a function of ``(seed, e)`` alone, so a resumed run replays
    the same batches. With ``world_size > 1`` rank ``r`` takes batches ``r::world_size`` of the
    epoch (the last ``batches % world_size`` are dropped so every rank has as many).
    """

    def __init__(self, labels: Sequence[int], p: int, k: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        if p < 1 or k < 1:
            raise ValueError(f"p={p}, k={k}; both must be at least 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank={rank}, world_size={world_size}; "
                             "expected 0 <= rank < world_size")
        labels = np.asarray([int(label) for label in labels])
        ids, group = np.unique(labels, return_inverse=True)
        if len(ids) < p:
            raise ValueError(f"the P×K sampler needs at least P={p} identities per batch but the "
                             f"labels hold only {len(ids)}; lower p or use more identities")
        self.p, self.k, self.seed = p, k, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._members = np.argsort(group, kind="stable")   # image indices, identity by identity
        self._group = group[self._members]                 # identity of each of those
        self._sizes = np.bincount(group)
        self._starts = np.cumsum(self._sizes) - self._sizes
        self._chunks = -(-self._sizes // k)
        self.batches_per_epoch = self._count_batches()
        if self.batches_per_epoch < world_size:
            raise ValueError(f"an epoch holds {self.batches_per_epoch} P×K batches, fewer than "
                             f"world_size={world_size}; lower p or k, or use fewer processes")

    def _count_batches(self) -> int:
        """Largest B with Σ min(chunks_i, B) ≥ P·B (distinct identities per batch), at least
        ceil(identities / P)."""
        lo, hi = 0, int(self._chunks.sum()) // self.p
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if np.minimum(self._chunks, mid).sum() >= self.p * mid:
                lo = mid
            else:
                hi = mid - 1
        return max(lo, math.ceil(len(self._sizes) / self.p))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.batches_per_epoch // self.world_size

    def _chunk_counts(self, rng: np.random.Generator) -> np.ndarray:
        """Chunks each identity contributes: at most one per batch, P·B in all."""
        b = self.batches_per_epoch
        counts = np.minimum(self._chunks, b)
        spare = int(counts.sum()) - self.p * b
        if spare > 0:  # drop surplus chunks, never an identity's last one
            pool = np.repeat(np.arange(len(counts)), counts - 1)
            counts -= np.bincount(rng.choice(pool, spare, replace=False), minlength=len(counts))
        elif spare < 0:  # add chunks, at most one per identity per batch
            pool = np.repeat(np.arange(len(counts)), b - counts)
            counts += np.bincount(rng.choice(pool, -spare, replace=False), minlength=len(counts))
        return counts

    def epoch_batches(self, epoch: int | None = None) -> list[list[int]]:
        """All batches of an epoch (every rank's), in order."""
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch]))
        b, k = self.batches_per_epoch, self.k
        counts = self._chunk_counts(rng)
        # every identity's images in a fresh random order, identities back to back
        shuffled = self._members[np.lexsort((rng.random(len(self._members)), self._group))]

        # Identities in random order, each one's chunks contiguous; chunk g goes to batch g % B,
        # so a run of at most B chunks never lands twice in the same batch.
        idents = rng.permutation(len(counts))
        per_chunk = np.repeat(idents, counts[idents])
        first = np.cumsum(counts[idents]) - counts[idents]
        nth = np.arange(len(per_chunk)) - np.repeat(first, counts[idents])
        slot = (nth[:, None] * k + np.arange(k)) % self._sizes[per_chunk][:, None]
        chunks = shuffled[self._starts[per_chunk][:, None] + slot]        # P·B × K
        batches = chunks.reshape(self.p, b, k).transpose(1, 0, 2).reshape(b, self.p * k)
        return batches[rng.permutation(b)].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.epoch_batches()
        usable = len(self) * self.world_size
        yield from batches[:usable][self.rank::self.world_size]
