"""Pairwise distances between query and gallery features, and the registry that names them.

A distance function maps ``(q: Tensor[Nq, ...], g: Tensor[Ng, ...], **kwargs)`` to a
``Tensor[Nq, Ng]``. The built-in ones take ``[N, D]`` features; others (SPAN's CPDM) may take
richer per-item features, e.g. part features that carry their own area ratios.
"""
from __future__ import annotations

from typing import Any, Callable, Union

import numpy as np
import torch
import torch.nn.functional as F

DistanceFn = Callable[..., torch.Tensor]


def _as_features(x: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    if t.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D [N, D] feature matrix, got shape {tuple(t.shape)}")
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name}: expected numeric features, got dtype {t.dtype}")
    # At least float32 (float64 stays float64): half-precision expansion loses too much.
    return t.to(torch.promote_types(t.dtype, torch.float32))


def _check_pair(q: torch.Tensor, g: torch.Tensor) -> None:
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"feature sizes differ: query D={q.shape[1]}, gallery D={g.shape[1]}")
    if q.device != g.device:
        raise ValueError(f"query features on {q.device}, gallery features on {g.device}")


def euclidean_distance(q: Any, g: Any) -> torch.Tensor:
    """True (not squared) L2 distances, ``[Nq, Ng]``.

    Uses ``|q|² + |g|² − 2 q·gᵀ`` in (at least) float32 with autocast off; rounding can make the
    squared distance slightly negative, so it is clamped at 0 before the square root, and exact
    zeros get a zero gradient instead of an infinite one (safe inside a triplet loss).
    """
    q, g = _as_features(q, "query features"), _as_features(g, "gallery features")
    _check_pair(q, g)
    dtype = torch.promote_types(q.dtype, g.dtype)
    with torch.autocast(device_type=q.device.type, enabled=False):
        q, g = q.to(dtype), g.to(dtype)
        sq = torch.addmm((g * g).sum(1).unsqueeze(0), q, g.T, alpha=-2.0)  # |g|² − 2 q·g
        if not (torch.is_grad_enabled() and (q.requires_grad or g.requires_grad)):
            return sq.add_((q * q).sum(1, keepdim=True)).clamp_min_(0.0).sqrt_()  # in place
        sq = (sq + (q * q).sum(1, keepdim=True)).clamp_min(0.0)
        return torch.where(sq > 0, sq.clamp_min(torch.finfo(dtype).tiny).sqrt(),
                           torch.zeros_like(sq))


def cosine_distance(q: Any, g: Any) -> torch.Tensor:
    """``1 − cos(q, g)`` of L2-normalised features, ``[Nq, Ng]``, in [0, 2].

    A zero feature vector normalises to zero and so sits at distance 1 from everything.
    """
    q, g = _as_features(q, "query features"), _as_features(g, "gallery features")
    _check_pair(q, g)
    dtype = torch.promote_types(q.dtype, g.dtype)
    with torch.autocast(device_type=q.device.type, enabled=False):
        qn = F.normalize(q.to(dtype), dim=1)
        gn = F.normalize(g.to(dtype), dim=1)
        return 1.0 - qn @ gn.T


DISTANCES: dict[str, DistanceFn] = {
    "euclidean": euclidean_distance,
    "cosine": cosine_distance,
}
"""Named distances; ``register_distance`` adds more (SPAN adds ``"cpdm"``)."""


def register_distance(name: str, fn: DistanceFn, *, overwrite: bool = False) -> DistanceFn:
    """Add ``fn`` to ``DISTANCES`` under ``name``; refuses to replace an existing name unless
    ``overwrite=True``. Returns ``fn`` so it can decorate a definition."""
    if not callable(fn):
        raise TypeError(f"distance {name!r}: expected a callable, got {type(fn).__name__}")
    if name in DISTANCES and DISTANCES[name] is not fn and not overwrite:
        raise ValueError(f"distance {name!r} is already registered; pass overwrite=True to replace it")
    DISTANCES[name] = fn
    return fn


def get_distance(name_or_fn: Union[str, DistanceFn]) -> DistanceFn:
    """The distance function for a registered name, or ``name_or_fn`` itself if callable."""
    if callable(name_or_fn):
        return name_or_fn
    if isinstance(name_or_fn, str):
        if name_or_fn in DISTANCES:
            return DISTANCES[name_or_fn]
        raise ValueError(f"unknown distance {name_or_fn!r}; expected one of {sorted(DISTANCES)} "
                         "or a callable (q, g) -> [Nq, Ng] distances")
    raise TypeError(f"distance: expected a name or a callable, got {type(name_or_fn).__name__}")


def compute_distmat(q_feats: Any, g_feats: Any, distance: Union[str, DistanceFn] = "euclidean",
                    chunk_size: int = 4096, **kwargs: Any) -> torch.Tensor:
    """``[Nq, Ng]`` distances, computed ``chunk_size`` queries at a time on the features' device.

    ``kwargs`` go unchanged to every call of the distance function; anything that belongs to
    individual items must travel inside the features so chunking slices it with them.
    Numpy inputs are accepted and converted to tensors.
    """
    fn = get_distance(distance)
    if chunk_size is None or int(chunk_size) < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    q = q_feats if isinstance(q_feats, torch.Tensor) else torch.as_tensor(np.asarray(q_feats))
    g = g_feats if isinstance(g_feats, torch.Tensor) else torch.as_tensor(np.asarray(g_feats))
    if q.dim() == 0 or g.dim() == 0:
        raise ValueError("features: expected [N, ...] arrays, got a scalar")
    chunk_size = int(chunk_size)
    if q.shape[0] <= chunk_size:
        out = fn(q, g, **kwargs)
    else:
        out = torch.cat([fn(q[s:s + chunk_size], g, **kwargs)
                         for s in range(0, q.shape[0], chunk_size)])
    if out.shape != (q.shape[0], g.shape[0]):
        raise ValueError(f"distance {getattr(fn, '__name__', fn)!r} returned shape "
                         f"{tuple(out.shape)}; expected ({q.shape[0]}, {g.shape[0]})")
    return out
