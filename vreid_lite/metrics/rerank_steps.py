"""The steps of k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017) on sparse rows.

Item ``i``'s k-reciprocal encoding ``V[i]`` is non-zero only on its expanded k-reciprocal
set ``R*(i, k1)``, a few dozen of the ``N = q + g`` items, so ``V`` is held as
compressed sparse rows; only the ``k`` nearest neighbours of each item are ever ranked. Every
step works on row chunks whose size the caller derives from a memory budget.

Ties in the ranking go to the lower index (a stable sort), so the result is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from vreid_lite.metrics.rerank_distances import PooledDistances

ChunkPlan = Callable[[torch.Tensor], Iterator[tuple[int, int]]]


@dataclass
class SparseRows:
    """Compressed sparse rows of an ``N × N`` matrix: row ``i`` holds ``cols[ptr[i]:ptr[i+1]]``
    (ascending) with ``vals`` alongside."""
    ptr: torch.Tensor
    cols: torch.Tensor
    vals: torch.Tensor

    @classmethod
    def from_sorted(cls, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor,
                    n: int) -> "SparseRows":
        counts = torch.bincount(rows, minlength=n)
        ptr = torch.zeros(n + 1, dtype=torch.int64, device=rows.device)
        torch.cumsum(counts, 0, out=ptr[1:])
        return cls(ptr, cols, vals)

    def counts(self) -> torch.Tensor:
        return self.ptr[1:] - self.ptr[:-1]


def expand_segments(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The elements of segments ``[starts[s], starts[s] + counts[s])``, concatenated in
    segment order."""
    if counts.numel() == 0:
        return counts.new_zeros(0)
    ends = torch.cumsum(counts, 0)
    shift = torch.repeat_interleave(ends - counts - starts, counts, output_size=int(ends[-1]))
    return torch.arange(shift.numel(), device=counts.device) - shift


def _stable_key(values: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """``bits · 2³² + column``: non-negative float32 values order like their bit patterns, so
    this unique key orders (value, column) pairs exactly as a stable sort does."""
    return values.view(torch.int32).to(torch.int64).bitwise_left_shift_(32).bitwise_or_(columns)


def nearest_neighbours(dist: PooledDistances, k: int,
                       chunks: Iterator[tuple[int, int]]) -> torch.Tensor:
    """``(N, k)`` indices of each item's k nearest items, nearest first, ties to the lower
    index. A plain top-k picks them; rows where a value equal to the k-th is left out (only
    there can ties change which items are picked) are picked again by stable keys, and ties
    among the picked are put in column order."""
    ranks = torch.empty((dist.n, k), dtype=torch.int64, device=dist.device)
    for start, stop in chunks:
        rows = dist.rows(start, stop)
        if k < rows.shape[1]:  # the (k+1)-th smallest equal to the k-th: a tie is cut
            values, picked = rows.topk(k + 1, dim=1, largest=False, sorted=True)
            left_out = values[:, k] == values[:, k - 1]
            values, picked = values[:, :k], picked[:, :k]
        else:
            values, picked = rows.topk(k, dim=1, largest=False, sorted=True)
            left_out = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
        if bool(left_out.any()):
            tied = rows[left_out]
            columns = torch.arange(tied.shape[1], device=tied.device)
            picked[left_out] = _stable_key(tied, columns).topk(k, dim=1, largest=False).indices
            values[left_out] = tied.gather(1, picked[left_out])
        del rows
        ranks[start:stop] = picked.gather(1, _stable_key(values, picked).argsort(dim=1))
    return ranks


def reciprocal(forward: torch.Tensor, rows_per_chunk: int) -> torch.Tensor:
    """``forward`` (N, k): each item's k nearest. True where item ``i``'s neighbour
    ``forward[i, a]`` has ``i`` among its own k nearest: the k-reciprocal set ``R(i, k)``."""
    mask = torch.empty(forward.shape, dtype=torch.bool, device=forward.device)
    for s in range(0, forward.shape[0], rows_per_chunk):
        e = min(s + rows_per_chunk, forward.shape[0])
        me = torch.arange(s, e, device=forward.device)[:, None, None]
        mask[s:e] = (forward[forward[s:e]] == me).any(dim=2)
    return mask


def expanded_sets(forward: torch.Tensor, recip: torch.Tensor, half: torch.Tensor,
                  half_recip: torch.Tensor, rows_per_chunk: int) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    """``R*(i, k1)`` = ``R(i, k1)`` joined with each candidate's ``R(c, k1/2)`` that
    shares more than 2/3 of its items with ``R(i, k1)``. Returns ``(rows, cols)`` of every
    member, row-major with ascending columns."""
    n = forward.shape[0]
    all_rows, all_cols = [], []
    for s in range(0, n, rows_per_chunk):
        e = min(s + rows_per_chunk, n)
        f, m = forward[s:e], recip[s:e]
        core = torch.where(m, f, n).sort(dim=1).values                 # R(i, k1), padded
        cand, cand_in = half[f], half_recip[f]                        # (r, k1, k1/2)
        flat = cand.flatten(1)
        at = torch.searchsorted(core, flat).clamp_max_(core.shape[1] - 1)
        in_r = (core.gather(1, at) == flat).view_as(cand)
        shared = (in_r & cand_in).sum(dim=2).double()
        accept = m & (shared > (2.0 / 3.0) * cand_in.sum(dim=2).double())
        members = torch.cat([core, torch.where(accept[..., None] & cand_in, cand, n).flatten(1)],
                            dim=1)
        members = members.sort(dim=1).values
        keep = members < n
        keep[:, 1:] &= members[:, 1:] != members[:, :-1]
        all_rows.append(torch.arange(s, e, device=f.device)[:, None].expand_as(members)[keep])
        all_cols.append(members[keep])
    return torch.cat(all_rows), torch.cat(all_cols)


def encode(dist: PooledDistances, rows: torch.Tensor, cols: torch.Tensor) -> SparseRows:
    """The k-reciprocal encoding with Gaussian weights: ``V[i, j] = exp(-O[i, j])``,
    normalised per row."""
    weights = torch.exp(-dist.entries(rows, cols))
    sums = torch.zeros(dist.n, dtype=weights.dtype, device=weights.device)
    sums.index_add_(0, rows, weights)
    return SparseRows.from_sorted(rows, cols, weights / sums[rows], dist.n)


def local_expansion(v: SparseRows, neighbours: torch.Tensor, chunks: ChunkPlan) -> SparseRows:
    """Local query expansion: ``V[i]`` becomes the mean of ``V`` over ``neighbours[i]``
    (item ``i``'s k2 nearest)."""
    n, k2 = neighbours.shape
    sizes = v.counts()[neighbours]                                      # (N, k2)
    out_rows, out_cols, out_vals = [], [], []
    for s, e in chunks(sizes.sum(dim=1)):
        counts = sizes[s:e].flatten()
        source = expand_segments(v.ptr[neighbours[s:e].flatten()], counts)
        owner = torch.arange(s * n, e * n, n, device=counts.device)
        key = torch.repeat_interleave(owner, counts.view(e - s, k2).sum(dim=1),
                                      output_size=source.numel()) + v.cols[source]
        unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
        total = torch.zeros(unique.numel(), dtype=v.vals.dtype, device=v.vals.device)
        total.index_add_(0, inverse, v.vals[source])
        out_rows.append(torch.div(unique, n, rounding_mode="floor"))
        out_cols.append(unique % n)
        out_vals.append(total / k2)
    return SparseRows.from_sorted(torch.cat(out_rows), torch.cat(out_cols), torch.cat(out_vals), n)


def jaccard_to_gallery(v: SparseRows, q: int, chunks: ChunkPlan) -> Iterator[tuple[int, int,
                                                                                  torch.Tensor]]:
    """The Jaccard distance ``1 − Σ min(V[i], V[j]) / Σ max(V[i], V[j])`` between each query
    ``i`` and each gallery item ``j``, written ``1 − s / (2 − s)`` with ``s = Σ min`` since
    every row of ``V`` sums to 1. Only items that share a non-zero column meet: ``s`` is
    accumulated through the gallery rows of each column (an inverted index). Yields
    ``(start, stop, distances)`` for query row chunks."""
    n = v.ptr.numel() - 1
    g = n - q
    first = int(v.ptr[q])
    g_rows = torch.repeat_interleave(torch.arange(q, n, device=v.ptr.device), v.counts()[q:])
    g_cols = v.cols[first:]
    order = torch.argsort(g_cols, stable=True)
    by_col_rows, by_col_vals = g_rows[order] - q, v.vals[first:][order]
    col_counts = torch.bincount(g_cols, minlength=n)
    col_ptr = torch.cumsum(col_counts, 0) - col_counts
    del g_rows, g_cols, order
    query_counts = v.counts()[:q]
    row_of = torch.repeat_interleave(torch.arange(q, device=v.ptr.device), query_counts)
    work = torch.zeros(q, dtype=torch.int64, device=v.ptr.device)
    work.index_add_(0, row_of, col_counts[v.cols[:first]])  # gallery entries each query meets
    for s, e in chunks(work):
        lo, hi = int(v.ptr[s]), int(v.ptr[e])
        cols = v.cols[lo:hi]
        counts = col_counts[cols]
        source = expand_segments(col_ptr[cols], counts)
        size = source.numel()
        flat = torch.repeat_interleave((row_of[lo:hi] - s) * g, counts, output_size=size)
        flat += by_col_rows[source]
        mins = torch.repeat_interleave(v.vals[lo:hi], counts, output_size=size)
        torch.minimum(mins, by_col_vals[source], out=mins)
        del source
        shared = torch.zeros((e - s) * g, dtype=mins.dtype, device=mins.device)
        shared.index_add_(0, flat, mins)
        del flat, mins
        shared = shared.view(e - s, g)
        denominator = 2.0 - shared
        yield s, e, shared.div_(denominator).neg_().add_(1.0)
