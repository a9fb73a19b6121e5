"""Average precision of each query, for looking at failures one query at a time.

The same definition as :mod:`vreid_lite.metrics.rank` (the VeRi junk rule, ties broken by gallery
order), kept per query instead of averaged, and optionally restricted to some of the true
matches: ``counted`` marks the (query, gallery) pairs that count, and a true match outside it is
set aside like junk. That is how "AP over same-view matches" is read: the cross-view matches are
neither rewarded nor penalised, the wrong identities still are.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _array(values: Any, dtype: Any = None) -> np.ndarray:
    if torch.is_tensor(values):
        values = values.detach().float().cpu() if values.is_floating_point() else values.cpu()
    return np.asarray(values, dtype=dtype)


def _ids(values: Any, n: int, name: str) -> np.ndarray:
    ids = _array(values)
    if ids.shape != (n,):
        side = "row" if name[0] == "q" else "column"
        raise ValueError(f"{name}: expected {n} ids (one per {side} of distmat), got shape "
                         f"{ids.shape}")
    return ids.astype(np.int64)


def query_average_precisions(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any = None,
                             g_camids: Any = None, counted: Any = None) -> np.ndarray:
    """AP of every query (a float array; NaN where no counted true match is left).

    ``q_camids``/``g_camids`` ``None`` skips the same-camera junk rule (VehicleID).
    ``counted``: an optional ``[Nq, Ng]`` boolean array of the pairs whose true matches count.
    """
    dist = _array(distmat, np.float64)
    if dist.ndim != 2 or 0 in dist.shape:
        raise ValueError(f"distmat: expected a non-empty [Nq, Ng] matrix, got shape {dist.shape}")
    if not np.isfinite(dist).all():
        i, j = np.argwhere(~np.isfinite(dist))[0]
        raise ValueError(f"distmat[{i}, {j}] = {dist[i, j]}; expected finite distances")
    nq, ng = dist.shape
    match = _ids(q_pids, nq, "q_pids")[:, None] == _ids(g_pids, ng, "g_pids")[None, :]
    aside = np.zeros_like(match)
    if q_camids is not None or g_camids is not None:
        if q_camids is None or g_camids is None:
            raise ValueError("q_camids and g_camids: give both or neither")
        aside = match & (_ids(q_camids, nq, "q_camids")[:, None]
                         == _ids(g_camids, ng, "g_camids")[None, :])
    if counted is not None:
        counted = _array(counted, bool)
        if counted.shape != (nq, ng):
            raise ValueError(f"counted: expected shape {(nq, ng)}, got {counted.shape}")
        aside = aside | (match & ~counted)
    order = np.argsort(dist, axis=1, kind="stable")
    hit = np.take_along_axis(match & ~aside, order, axis=1)
    kept = ~np.take_along_axis(aside, order, axis=1)
    position = np.cumsum(kept, axis=1)              # rank among the items not set aside
    precision = np.cumsum(hit, axis=1) / np.maximum(position, 1)
    n_hits = hit.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_hits > 0, (precision * hit).sum(axis=1) / n_hits, np.nan)
