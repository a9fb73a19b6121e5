"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal
Encoding", CVPR 2017) of query × gallery distances.

:func:`re_ranking` takes the three distance matrices as the widely used ``re_ranking(q_g_dist,
q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3)`` code does and returns what it returns,
within float32 rounding: that code squares the distances before normalising them, and so do
we. Ties among distances go to the lower index. It runs in torch on the inputs' device (or
``device``), ranks only the nearest neighbours of each item, keeps the k-reciprocal encodings
as sparse rows and works in chunks sized by ``memory_budget_gb``.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Iterator, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from vreid_lite.metrics.distances import DistanceFn, compute_distmat
from vreid_lite.metrics.rerank_distances import PooledDistances
from vreid_lite.metrics.rerank_steps import (encode, expanded_sets, jaccard_to_gallery,
                                             local_expansion, nearest_neighbours, reciprocal)

LARGE_RUN = 5000
"""From this many items (queries + gallery), ``verbose=None`` prints an estimate and progress."""
_ENTRY_BYTES = 12   # per distance entry being ranked, besides the entry itself (top-k, flags)
_SPARSE_BYTES = 96  # per expanded sparse entry (indices, values, sort and gather buffers)
_SET_BYTES = 64     # per (k1 + 1)(k1/2 + 1) candidate of one item's expanded set
_TIME_FACTOR = 2.0  # whole run / ranking pass, measured by benchmarks/rerank_speed.py on CPU


def _as_matrix(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                       or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name}: expected a numeric distance matrix, got dtype {arr.dtype}")
        x = torch.as_tensor(arr if arr.flags.writeable else arr.copy())
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"{name}: expected real distances, got dtype {x.dtype}")
    if x.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D distance matrix, got shape {tuple(x.shape)}")
    return x.detach()


def _check_inputs(q_g: Any, q_q: Any, g_g: Any) -> tuple[torch.Tensor, ...]:
    q_g, q_q, g_g = _as_matrix(q_g, "q_g"), _as_matrix(q_q, "q_q"), _as_matrix(g_g, "g_g")
    q, g = q_g.shape
    if q == 0 or g == 0:
        raise ValueError(f"q_g: expected at least one query and one gallery item, got shape "
                         f"{(q, g)}")
    for name, m, size, what in (("q_q", q_q, q, "queries"), ("g_g", g_g, g, "gallery items")):
        if tuple(m.shape) != (size, size):
            raise ValueError(f"{name}: expected a square ({size}, {size}) matrix ({size} {what}, "
                             f"as q_g of shape {(q, g)} says), got {tuple(m.shape)}")
    return q_g, q_q, g_g


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def rerank_options(k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
                   memory_budget_gb: float | None = None) -> dict[str, Any]:
    """Checked keyword arguments for :func:`re_ranking`, e.g. from command-line flags;
    ``evaluate(…, rerank=rerank_options(k1=…))`` takes them as they are."""
    lam = float(lambda_value)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda_value: expected a weight in [0, 1], got {lambda_value!r}")
    out = {"k1": _check_int(k1, "k1"), "k2": _check_int(k2, "k2"), "lambda_value": lam}
    if memory_budget_gb is not None:
        if not float(memory_budget_gb) > 0:
            raise ValueError(f"memory_budget_gb: expected a positive size, got "
                             f"{memory_budget_gb!r}")
        out["memory_budget_gb"] = float(memory_budget_gb)
    return out


def _budget_chunks(costs: torch.Tensor, budget: float, fixed: float = 0.0
                  ) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, stop)`` row ranges whose summed ``costs + fixed`` (bytes per row)
    stay within ``budget``; a range always holds at least one row."""
    total = torch.cumsum(costs.detach().double().cpu() + fixed, 0)
    start, n = 0, total.numel()
    while start < n:
        base = float(total[start - 1]) if start else 0.0
        stop = max(start + 1, int(torch.searchsorted(total, base + budget, right=True)))
        yield start, min(stop, n)
        start = stop


def _row_ranges(n: int, split: int, rows: int) -> list[tuple[int, int]]:
    """Ranges of at most ``rows`` rows that do not cross ``split``."""
    return [(s, min(s + rows, stop)) for begin, stop in ((0, split), (split, n))
            for s in range(begin, stop, rows)]


def _announce(ranges: list, then) -> Iterator[tuple[int, int]]:
    for i, r in enumerate(ranges):
        yield r
        if i == 0:
            then()


@torch.no_grad()
def re_ranking(q_g: Any, q_q: Any, g_g: Any, k1: int = 20, k2: int = 6,
               lambda_value: float = 0.3, *, device: Union[str, torch.device, None] = None,
               memory_budget_gb: float = 1.0, verbose: bool | None = None) -> torch.Tensor:
    """Re-ranked ``(q, g)`` float32 distances from query–gallery ``q_g``, query–query ``q_q``
    and gallery–gallery ``g_g`` distances (tensors on any device, or numpy arrays).

    ``k1``: size of the k-reciprocal neighbourhoods; ``k2``: neighbours averaged in the local
    query expansion (1 = none); ``lambda_value``: weight of the original distance against the
    Jaccard distance. Computed on ``device`` (default: ``q_g``'s). ``memory_budget_gb`` bounds
    the working buffers besides the inputs and the result; the sparse encodings come on top
    (at most ``(q+g) · (k1+1)(k1/2+2) · k2`` entries, a few dozen per item in practice).
    ``verbose``: print a time and memory estimate and show progress (None: from
    :data:`LARGE_RUN` items on). An item whose distances are all zero keeps them at zero
    (where the reference code divides 0 by 0).
    """
    opts = rerank_options(k1, k2, lambda_value, memory_budget_gb)
    k1, k2, lam, budget = opts["k1"], opts["k2"], opts["lambda_value"], opts["memory_budget_gb"]
    q_g, q_q, g_g = _check_inputs(q_g, q_q, g_g)
    dist = PooledDistances(q_g, q_q, g_g, torch.device(device) if device is not None
                           else q_g.device)
    n, q, g = dist.n, dist.q, dist.g
    loud = n >= LARGE_RUN if verbose is None else bool(verbose)
    budget_bytes = budget * 2 ** 30
    k_forward, k_half = min(k1 + 1, n), min(round(k1 / 2) + 1, n)  # round: half to even
    ranks = _ranked(dist, min(n, max(k_forward, k2)), budget_bytes, loud,
                    sparse_bytes=n * k_forward * (k_half + 1) * k2 * 12)
    set_rows = max(1, int(budget_bytes // (_SET_BYTES * k_forward * k_half)))
    forward, half = ranks[:, :k_forward], ranks[:, :k_half]
    rows_of, cols_of = expanded_sets(forward, reciprocal(forward, set_rows), half,
                                     reciprocal(half, set_rows), set_rows)
    v = encode(dist, rows_of, cols_of)
    del rows_of, cols_of
    if k2 != 1:
        v = local_expansion(v, ranks[:, :min(k2, n)],
                            lambda work: _budget_chunks(work * _SPARSE_BYTES, budget_bytes))
    del ranks
    out = torch.empty((q, g), dtype=torch.float32, device=dist.device)
    jaccard = jaccard_to_gallery(v, q, lambda work: _budget_chunks(
        work * _SPARSE_BYTES, budget_bytes, fixed=16.0 * g))  # + the query's row of results
    for s, e, jac in tqdm(jaccard, desc="re-ranking: jaccard", disable=not loud):
        torch.add(jac.mul_(1.0 - lam), dist.query_gallery(s, e).mul_(lam), out=out[s:e])
    return out


def _ranked(dist: PooledDistances, k: int, budget_bytes: float, loud: bool,
            sparse_bytes: float) -> torch.Tensor:
    """:func:`nearest_neighbours` over row chunks within the budget; when ``loud``, prints an
    estimate once the first chunk is done and shows progress."""
    row_bytes = dist.n * (dist.dtype.itemsize + _ENTRY_BYTES)
    rows = max(1, int(budget_bytes // row_bytes))
    ranges = _row_ranges(dist.n, dist.q, rows)
    started = time.perf_counter()

    def estimate() -> None:
        seconds = (time.perf_counter() - started) * dist.n / (ranges[0][1] - ranges[0][0])
        rows_now = max(stop - start for start, stop in ranges)
        work = (rows_now * row_bytes + sparse_bytes) / 2 ** 30
        tqdm.write(f"re_ranking: {dist.q} queries x {dist.g} gallery on {dist.device}: about "
                   f"{seconds * _TIME_FACTOR:.0f} s, working memory at most {work:.2f} GB "
                   f"(ranking {rows_now} rows at a time + sparse encodings), result "
                   f"{dist.q * dist.g * 4 / 2 ** 30:.2f} GB", file=sys.stderr)

    chunks = _announce(ranges, estimate if loud else lambda: None)
    ranks = nearest_neighbours(dist, k, tqdm(chunks, total=len(ranges), disable=not loud,
                                             desc="re-ranking: neighbours"))
    dist.release()
    return ranks


def rerank_distmat(q_feats: Any, g_feats: Any, distance: Union[str, DistanceFn] = "euclidean",
                   **options: Any) -> torch.Tensor:
    """:func:`re_ranking` of the three distance matrices of ``q_feats`` and ``g_feats`` under
    ``distance`` (any :func:`compute_distmat` distance, e.g. ``"cpdm"`` on packed parts).
    ``options``: :func:`re_ranking`'s keywords."""
    with torch.no_grad():
        q_g = compute_distmat(q_feats, g_feats, distance)
        q_q = compute_distmat(q_feats, q_feats, distance)
        g_g = compute_distmat(g_feats, g_feats, distance)
    return re_ranking(q_g, q_q, g_g, **options)
