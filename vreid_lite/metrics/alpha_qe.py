"""α-weighted query expansion (αQE) and its database-side form (αDBA), from Radenović, Tolias
and Chum, "Fine-tuning CNN Image Retrieval with No Human Annotation", TPAMI 2019, which generalise
average query expansion (Chum et al., ICCV 2007; the case ``alpha = 0``).

Query side (always): each L2-normalised query ``q`` becomes ``q + Σ s_i^α g_i`` over its
``top_k`` most similar gallery features ``g_i`` (cosine similarity ``s_i``, negative ones
counted as 0), normalised again. Database side (``expand_gallery=True``, before the queries):
each gallery feature is replaced the same way by itself and its ``top_k`` most similar other
gallery features. Defaults ``top_k=5, alpha=3.0`` are our choice for re-id galleries, where an
identity has only a handful of images per camera.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

def query_expansion_options(top_k: int = 5, alpha: float = 3.0,
                            expand_gallery: bool = False) -> dict[str, Any]:
    """Checked keyword arguments for :func:`query_expansion`, e.g. from command-line flags."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k: expected a positive integer, got {top_k!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
            or not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha: expected a finite exponent >= 0, got {alpha!r}")
    if not isinstance(expand_gallery, bool):
        raise ValueError(f"expand_gallery: expected True or False, got {expand_gallery!r}")
    return {"top_k": top_k, "alpha": float(alpha), "expand_gallery": expand_gallery}


def _features(x: Any, name: str) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    if t.dim() != 2 or t.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D [N, D] feature matrix (query "
                         f"expansion averages feature vectors), got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name}: expected floating-point features, got dtype {t.dtype}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: row {int((~torch.isfinite(t)).any(1).nonzero()[0])} is not "
                         "finite; expected finite features")
    return F.normalize(t.detach().to(torch.promote_types(t.dtype, torch.float32)), dim=1)


def _expand(x: torch.Tensor, pool: torch.Tensor, top_k: int, alpha: float,
            skip_self: bool, chunk_size: int) -> torch.Tensor:
    """``x`` (normalised) expanded by its ``top_k`` most similar rows of ``pool``; with
    ``skip_self`` row ``i`` of ``x`` is row ``i`` of ``pool`` and is not its own neighbour."""
    k = min(top_k, pool.shape[0] - int(skip_self))
    out = torch.empty_like(x)
    for s in range(0, x.shape[0], chunk_size):
        e = min(s + chunk_size, x.shape[0])
        sim = x[s:e] @ pool.T
        if skip_self:
            sim[torch.arange(e - s), torch.arange(s, e)] = -float("inf")
        if k > 0:
            top, idx = sim.topk(k, dim=1)
            weights = top.clamp_min(0.0).pow(alpha)
            out[s:e] = x[s:e] + torch.einsum("qk,qkd->qd", weights, pool[idx])
        else:
            out[s:e] = x[s:e]
    return F.normalize(out, dim=1)


@torch.no_grad()
def query_expansion(q_feats: Any, g_feats: Any, top_k: int = 5, alpha: float = 3.0, *,
                    expand_gallery: bool = False,
                    chunk_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """``(query, gallery)`` features after αQE (and αDBA with ``expand_gallery``), both
    L2-normalised and at least float32, on the input device; rank them with any distance
    (euclidean and cosine then order alike)."""
    opts = query_expansion_options(top_k, alpha, expand_gallery)
    q, g = _features(q_feats, "query features"), _features(g_feats, "gallery features")
    if q.shape[1] != g.shape[1] or q.device != g.device:
        raise ValueError(f"query features {tuple(q.shape)} on {q.device} and gallery features "
                         f"{tuple(g.shape)} on {g.device}: expected the same size D and device")
    dtype = torch.promote_types(q.dtype, g.dtype)
    q, g = q.to(dtype), g.to(dtype)
    if opts["expand_gallery"]:
        g = _expand(g, g, opts["top_k"], opts["alpha"], True, chunk_size)
    return _expand(q, g, opts["top_k"], opts["alpha"], False, chunk_size), g
