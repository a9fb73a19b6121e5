"""Evaluation: distances, ranking metrics (CMC, mAP, mINP) and the VehicleID protocol."""
from vreid_lite.metrics.distances import (
    DISTANCES,
    DistanceFn,
    compute_distmat,
    cosine_distance,
    euclidean_distance,
    get_distance,
    register_distance,
)
from vreid_lite.metrics.rank import evaluate_rank, rank_metrics
from vreid_lite.metrics.vehicleid import vehicleid_gallery_split, vehicleid_protocol

__all__ = [
    "DISTANCES",
    "DistanceFn",
    "compute_distmat",
    "cosine_distance",
    "euclidean_distance",
    "evaluate_rank",
    "get_distance",
    "rank_metrics",
    "register_distance",
    "vehicleid_gallery_split",
    "vehicleid_protocol",
]
