"""The VehicleID test protocol: one random gallery image per id, the rest are queries, repeated.

Liu et al. (VehicleID, CVPR 2016) draw the gallery at random and average over repeats; the draw
itself is not published, so ours is seeded and reproducible: repeat ``r`` uses a generator seeded
with ``(seed, r)`` and picks, for each id in ascending id order, the j-th of that id's images in
input order. Interleaving ids differently in the input therefore selects the same images.
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch

from vreid_lite.metrics.distances import DistanceFn
from vreid_lite.metrics.retrieval import Option, retrieval_metrics


def _as_pids(pids: Any) -> np.ndarray:
    p = pids.detach().cpu().numpy() if isinstance(pids, torch.Tensor) else np.asarray(pids)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pids: expected a non-empty 1-D array of ids, got shape {p.shape}")
    if not np.issubdtype(p.dtype, np.integer):
        if np.issubdtype(p.dtype, np.floating) and np.all(p == np.round(p)):
            p = p.astype(np.int64)
        else:
            raise ValueError(f"pids: expected integer ids, got dtype {p.dtype}")
    if (p < 0).any():
        i = int(np.flatnonzero(p < 0)[0])
        raise ValueError(f"pids[{i}] = {p[i]}; expected a labelled id (>= 0)")
    return p.astype(np.int64)


def _check_seed(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return int(value)


def vehicleid_gallery_split(pids: Any, repeat: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(query_idx, gallery_idx)``: ascending int64 index arrays into ``pids``.

    Exactly one gallery image per id; every other image is a query (ids with a single image
    contribute a gallery distractor and no query).
    """
    p = _as_pids(pids)
    rng = np.random.default_rng([_check_seed(seed, "seed"), _check_seed(repeat, "repeat")])
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    pick = rng.integers(0, counts)                          # one draw per id, ascending ids
    by_id = np.argsort(inverse, kind="stable")              # grouped by id, input order within
    starts = np.cumsum(counts) - counts
    gallery = np.sort(by_id[starts + pick])
    is_query = np.ones(p.size, dtype=bool)
    is_query[gallery] = False
    return np.flatnonzero(is_query).astype(np.int64), gallery.astype(np.int64)


def _take(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, torch.Tensor):
        return x[torch.as_tensor(idx, device=x.device)]
    return np.asarray(x)[idx]


def vehicleid_protocol(feats: Any, pids: Any, repeats: int = 10, seed: int = 0,
                       distance: Union[str, DistanceFn] = "euclidean",
                       max_rank: int = 50, rerank: Option = None,
                       query_expansion: Option = None) -> dict[str, Any]:
    """Mean (and population std) of mAP / rank-1 / rank-5 over ``repeats`` gallery draws.

    No camera filtering. ``rerank`` / ``query_expansion``: as :func:`retrieval_metrics`, applied
    to each draw's query and gallery. Returns ``mAP``, ``rank1``, ``rank5``, ``cmc`` (mean curve),
    ``mAP_std``, ``rank1_std``, ``rank5_std`` and ``per_repeat`` (one dict per draw).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats: expected a positive integer, got {repeats!r}")
    p = _as_pids(pids)
    n = feats.shape[0] if hasattr(feats, "shape") else len(feats)
    if n != p.size:
        raise ValueError(f"feats has {n} rows but pids has {p.size} ids; expected one id per row")
    per_repeat = []
    for r in range(int(repeats)):
        q_idx, g_idx = vehicleid_gallery_split(p, r, seed)
        if q_idx.size == 0:
            raise ValueError("every id has a single image, so no query is left; the VehicleID "
                             "protocol needs ids with at least two images")
        m = retrieval_metrics(_take(feats, q_idx), _take(feats, g_idx), p[q_idx], p[g_idx],
                              distance=distance, remove_same_camera=False, max_rank=max_rank,
                              rerank=rerank, query_expansion=query_expansion)
        per_repeat.append({"repeat": r, "mAP": m["mAP"], "rank1": m["rank1"],
                           "rank5": m["rank5"], "cmc": m["cmc"], "num_query": int(q_idx.size),
                           "num_gallery": int(g_idx.size)})
    out: dict[str, Any] = {}
    for key in ("mAP", "rank1", "rank5"):
        values = np.array([d[key] for d in per_repeat])
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std())
    out["cmc"] = [float(v) for v in np.mean([d["cmc"] for d in per_repeat], axis=0)]
    out["per_repeat"] = per_repeat
    return out
