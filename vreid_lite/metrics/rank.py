"""Ranking metrics: CMC, mAP and mINP, with the VeRi same-camera junk rule.

Definitions (per query, over its ranked gallery with junk removed):
  CMC@k — 1 if a true match is within the first k items, averaged over queries;
  AP    — mean over the true matches of the precision at each true match's rank;
  INP   — (number of true matches) / (rank of the hardest true match), from
          Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook",
          TPAMI 2021; mINP is its mean.
VeRi rule: gallery items with the query's id AND camera are junk (removed before ranking).
Queries left without a true match are excluded from every mean.
Ties: the ranking is a stable sort, so among equal distances the lower gallery index ranks first.
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch

from vreid_lite.metrics.distances import DistanceFn, compute_distmat

_CHUNK_ELEMENTS = 1 << 22  # queries per chunk = this // gallery size (~100 MB of work tensors)
_BLOCK_ELEMENTS = 1 << 25  # rank_metrics computes distances this many at a time (128 MB fp32)
_SAME_SIZE_INT = {torch.float64: torch.int64, torch.float32: torch.int32,
                  torch.float16: torch.int16, torch.bfloat16: torch.int16}


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    arr = np.asarray(x)
    # pandas hands out read-only views; torch warns on those, so copy them once
    return torch.as_tensor(arr if arr.flags.writeable else arr.copy())


def _as_ids(x: Any, n: int, name: str, device: torch.device) -> torch.Tensor:
    try:
        t = _as_tensor(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a 1-D array of integer ids ({exc})") from None
    if t.dim() != 1 or t.shape[0] != n:
        raise ValueError(f"{name}: expected a 1-D array of {n} integers (one per "
                         f"{'row' if name.startswith('q') else 'column'} of distmat), "
                         f"got shape {tuple(t.shape)}")
    if t.is_floating_point():
        bad = torch.nonzero(t != t.round()).flatten()
        if bad.numel():
            i = int(bad[0])
            raise ValueError(f"{name}[{i}] = {t[i].item()!r}; expected an integer id")
    elif t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name}: expected integer ids, got dtype {t.dtype}")
    return t.to(device=device, dtype=torch.int64)


def _chunk_size(chunk_size: int | None, num_gallery: int) -> int:
    if chunk_size is None:
        return max(1, _CHUNK_ELEMENTS // max(num_gallery, 1))
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size: expected a positive integer or None, got {chunk_size!r}")
    return int(chunk_size)


def _match_ranks(dist: torch.Tensor, good: torch.Tensor,
                 non_negative: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and 1-based rank (float64) of every true match, row by row, ranks ascending."""
    # Non-negative IEEE floats (+inf included) order exactly like their bit patterns read as
    # integers, and sorting integers is markedly faster on CPU.
    keys = dist.view(_SAME_SIZE_INT[dist.dtype]) if non_negative else dist
    order = torch.sort(keys, dim=1, stable=True).indices
    rows, cols = good.gather(1, order).nonzero(as_tuple=True)  # row-major order
    return rows, (cols + 1).double()


class _RankTally:
    """Sums of per-query statistics, accumulated chunk by chunk on the distances' device."""

    def __init__(self, max_rank: int, device: torch.device):
        self.max_rank = max_rank
        self.first_hits = torch.zeros(max_rank + 1, dtype=torch.int64, device=device)
        self.ap_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.inp_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.num_valid = torch.zeros((), dtype=torch.int64, device=device)

    def add(self, dist: torch.Tensor, q_pids: torch.Tensor, g_pids: torch.Tensor,
            q_camids: torch.Tensor | None, g_camids: torch.Tensor | None, offset: int) -> None:
        dist = dist.detach()
        if not dist.is_floating_point():
            dist = dist.double()
        lowest, highest = torch.aminmax(dist)
        if not (bool(torch.isfinite(lowest)) and bool(torch.isfinite(highest))):
            i, j = (int(v) for v in torch.nonzero(~torch.isfinite(dist))[0])
            raise ValueError(f"distmat[{offset + i}, {j}] = {dist[i, j].item()}; "
                             "expected finite distances")
        non_negative = bool(lowest > 0) or (bool(lowest == 0) and not bool(dist.signbit().any()))
        same_id = q_pids[:, None] == g_pids[None, :]
        if q_camids is not None:
            junk = same_id & (q_camids[:, None] == g_camids[None, :])
            good = same_id & ~junk
            # Distances are finite, so +inf puts junk after every valid item: a true match's
            # position in the sorted row is then its rank among the valid items.
            dist = dist.masked_fill(junk, float("inf"))
        else:
            good = same_id
        rows, ranks = _match_ranks(dist, good, non_negative)
        num_good = torch.bincount(rows, minlength=dist.shape[0])
        starts = torch.cumsum(num_good, 0) - num_good
        nth_match = (torch.arange(rows.numel(), device=rows.device) - starts[rows] + 1).double()
        has = num_good > 0
        count = num_good[has]
        first = ranks[starts[has]].long()
        hardest = ranks[starts[has] + count - 1]
        self.ap_sum += (nth_match / ranks / num_good[rows]).sum()  # each query's AP, summed
        self.inp_sum += (count / hardest).sum()
        self.num_valid += has.sum()
        self.first_hits += torch.bincount(first.clamp(max=self.max_rank + 1) - 1,
                                          minlength=self.max_rank + 1)

    def add_chunked(self, dist: torch.Tensor, q_pids: torch.Tensor, g_pids: torch.Tensor,
                    q_camids: torch.Tensor | None, g_camids: torch.Tensor | None, step: int,
                    offset: int = 0) -> None:
        for s in range(0, dist.shape[0], step):
            e = min(s + step, dist.shape[0])
            self.add(dist[s:e], q_pids[s:e], g_pids, None if q_camids is None else q_camids[s:e],
                     g_camids, offset + s)

    def result(self, remove_same_camera: bool) -> tuple[np.ndarray, float, float]:
        n = int(self.num_valid)
        if n == 0:
            rule = (" after removing gallery items with the query's id and camera"
                    if remove_same_camera else "")
            raise ValueError("no query has a true match in the gallery" + rule + "; CMC, mAP and "
                             "mINP are undefined. Check that query and gallery ids overlap"
                             + (", or pass remove_same_camera=False for a dataset without "
                                "cameras" if remove_same_camera else "") + ".")
        hits = self.first_hits[: self.max_rank].cpu().numpy()
        cmc = np.cumsum(hits).astype(np.float64) / n
        return cmc, float(self.ap_sum) / n, float(self.inp_sum) / n


def _check_max_rank(max_rank: int) -> int:
    if isinstance(max_rank, bool) or int(max_rank) != max_rank or max_rank < 1:
        raise ValueError(f"max_rank: expected a positive integer, got {max_rank!r}")
    return int(max_rank)


def _prepare_ids(q_pids, g_pids, q_camids, g_camids, nq, ng, device, remove_same_camera):
    qp = _as_ids(q_pids, nq, "q_pids", device)
    gp = _as_ids(g_pids, ng, "g_pids", device)
    if not remove_same_camera:
        return qp, gp, None, None
    if q_camids is None or g_camids is None:
        raise ValueError("q_camids and g_camids are required when remove_same_camera=True "
                         "(pass remove_same_camera=False for a dataset without cameras)")
    return qp, gp, _as_ids(q_camids, nq, "q_camids", device), _as_ids(g_camids, ng, "g_camids",
                                                                      device)


def evaluate_rank(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any = None,
                  g_camids: Any = None, max_rank: int = 50, chunk_size: int | None = None,
                  remove_same_camera: bool = True) -> tuple[np.ndarray, float, float]:
    """``(cmc, mAP, mINP)`` from a ``[Nq, Ng]`` distance matrix (tensor on any device, or numpy).

    ``cmc`` is a float array of length ``max_rank``; past the valid gallery size it repeats its
    last value. ``remove_same_camera=False`` skips the junk rule (VehicleID; camids may be None).
    Work runs on the distances' device, ``chunk_size`` queries at a time (None: sized from Ng).
    """
    max_rank = _check_max_rank(max_rank)
    dist = _as_tensor(distmat)
    if dist.dim() != 2 or dist.shape[0] == 0 or dist.shape[1] == 0:
        raise ValueError(f"distmat: expected a non-empty [Nq, Ng] matrix, got shape "
                         f"{tuple(dist.shape)}")
    nq, ng = dist.shape
    qp, gp, qc, gc = _prepare_ids(q_pids, g_pids, q_camids, g_camids, nq, ng, dist.device,
                                  remove_same_camera)
    tally = _RankTally(max_rank, dist.device)
    tally.add_chunked(dist, qp, gp, qc, gc, _chunk_size(chunk_size, ng))
    return tally.result(remove_same_camera)


def rank_metrics(q_feats: Any, g_feats: Any, q_pids: Any, g_pids: Any, q_camids: Any = None,
                 g_camids: Any = None, distance: Union[str, DistanceFn] = "euclidean",
                 remove_same_camera: bool = True, max_rank: int = 50,
                 chunk_size: int | None = None) -> dict[str, Any]:
    """Distances + ranking, block by block over the queries (no gradients are recorded).

    Distances are computed ~32 M entries at a time, so a large test set never holds its whole
    distance matrix.

    Returns python floats in [0, 1]: ``mAP``, ``mINP``, ``rank1``, ``rank5``, ``rank10`` and
    ``cmc`` (a list of ``max_rank`` floats).
    """
    max_rank = _check_max_rank(max_rank)
    q = _as_tensor(q_feats)
    g = _as_tensor(g_feats)
    if q.dim() == 0 or g.dim() == 0 or q.shape[0] == 0 or g.shape[0] == 0:
        raise ValueError(f"features: expected non-empty [N, ...] arrays, got query shape "
                         f"{tuple(q.shape)} and gallery shape {tuple(g.shape)}")
    nq, ng = q.shape[0], g.shape[0]
    qp, gp, qc, gc = _prepare_ids(q_pids, g_pids, q_camids, g_camids, nq, ng, q.device,
                                  remove_same_camera)
    step = _chunk_size(chunk_size, ng)
    block = max(step, _BLOCK_ELEMENTS // ng)  # big matrix products run faster than thin ones
    tally = _RankTally(max(max_rank, 10), q.device)
    for s in range(0, nq, block):
        e = min(s + block, nq)
        with torch.no_grad():
            dist = compute_distmat(q[s:e], g, distance, chunk_size=e - s)
        tally.add_chunked(dist, qp[s:e], gp, None if qc is None else qc[s:e], gc, step, s)
    return _summary(*tally.result(remove_same_camera), max_rank)


def _summary(cmc: np.ndarray, mean_ap: float, mean_inp: float, max_rank: int) -> dict[str, Any]:
    return {"mAP": mean_ap, "mINP": mean_inp, "rank1": float(cmc[0]), "rank5": float(cmc[4]),
            "rank10": float(cmc[9]), "cmc": [float(v) for v in cmc[:max_rank]]}


def distmat_metrics(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any = None,
                    g_camids: Any = None, remove_same_camera: bool = True,
                    max_rank: int = 50) -> dict[str, Any]:
    """:func:`rank_metrics`' dictionary from a ready ``[Nq, Ng]`` distance matrix (a re-ranked
    one, say), by :func:`evaluate_rank`."""
    max_rank = _check_max_rank(max_rank)
    result = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max(max_rank, 10),
                           remove_same_camera=remove_same_camera)
    return _summary(*result, max_rank)
