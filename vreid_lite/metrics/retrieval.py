"""Ranking metrics of features with the optional post-processing steps: α-weighted query
expansion of the features, then k-reciprocal re-ranking of their distances.

Each option is ``None``/``False`` (off), ``True`` (its defaults) or a dict of its keywords
(:func:`rerank_options`, :func:`query_expansion_options`). With both off this is exactly
:func:`rank_metrics`.
"""
from __future__ import annotations

from typing import Any, Callable, Union

from vreid_lite.metrics.distances import DistanceFn, get_distance
from vreid_lite.metrics.alpha_qe import query_expansion as expand_queries
from vreid_lite.metrics.alpha_qe import query_expansion_options
from vreid_lite.metrics.rank import distmat_metrics, rank_metrics
from vreid_lite.metrics.rerank import rerank_distmat, rerank_options

Option = Union[None, bool, dict]


def _resolve(value: Option, make: Callable[..., dict], name: str) -> dict | None:
    if value is None or value is False:
        return None
    if value is True:
        return make()
    if isinstance(value, dict):
        try:
            return make(**value)
        except TypeError as exc:
            raise ValueError(f"{name}: {exc}") from None
    raise TypeError(f"{name}: expected None, a bool or a dict of options, got "
                    f"{type(value).__name__}")


def resolve_rerank(value: Option) -> dict | None:
    """``re_ranking``'s keywords for a ``rerank`` option, or None when it is off."""
    return _resolve(value, rerank_options, "rerank")


def resolve_query_expansion(value: Option) -> dict | None:
    """``query_expansion``'s keywords for a ``query_expansion`` option, or None when off."""
    return _resolve(value, query_expansion_options, "query_expansion")


def retrieval_metrics(q_feats: Any, g_feats: Any, q_pids: Any, g_pids: Any,
                      q_camids: Any = None, g_camids: Any = None,
                      distance: Union[str, DistanceFn] = "euclidean",
                      remove_same_camera: bool = True, max_rank: int = 50,
                      rerank: Option = None, query_expansion: Option = None) -> dict[str, Any]:
    """:func:`rank_metrics`' dictionary after the requested post-processing."""
    rr, qe = resolve_rerank(rerank), resolve_query_expansion(query_expansion)
    if qe is not None:
        if getattr(get_distance(distance), "part_aware", False):
            raise ValueError(f"query_expansion averages feature vectors; the part-aware distance "
                             f"{distance!r} ranks packed part features with their area ratios, "
                             "which cannot be averaged. Use rerank, or a plain distance.")
        q_feats, g_feats = expand_queries(q_feats, g_feats, **qe)
    if rr is None:
        return rank_metrics(q_feats, g_feats, q_pids, g_pids, q_camids, g_camids,
                            distance=distance, remove_same_camera=remove_same_camera,
                            max_rank=max_rank)
    dist = rerank_distmat(q_feats, g_feats, distance, **rr)
    return distmat_metrics(dist, q_pids, g_pids, q_camids, g_camids, remove_same_camera, max_rank)
