"""Evaluation: distances, ranking metrics (CMC, mAP, mINP), the VehicleID protocol, k-reciprocal
re-ranking and query expansion."""
from vreid_lite.metrics.alpha_qe import query_expansion, query_expansion_options
from vreid_lite.metrics.attention import MarkShare, mark_attention_share, mark_attention_shares
from vreid_lite.metrics.attributes import (attribute_accuracies, attribute_accuracy,
                                            attribute_confusion, attribute_labels)
from vreid_lite.metrics.cam_scores import cam_scores, pointing_hit, summarize_cam_scores
from vreid_lite.metrics.cpdm import (
    area_ratios,
    cpdm_distance,
    cpdm_weights,
    pack_parts,
    unpack_parts,
)
from vreid_lite.metrics.distances import (
    DISTANCES,
    DistanceFn,
    compute_distmat,
    cosine_distance,
    euclidean_distance,
    get_distance,
    register_distance,
)
from vreid_lite.metrics.map_agreement import (map_agreement, rank_correlations,
                                              top_region_ious)
from vreid_lite.metrics.mask_iou import (mask_iou_summary, mask_ious, mask_overlaps,
                                         mask_scores, summarize_mask_ious)
from vreid_lite.metrics.rank import distmat_metrics, evaluate_rank, rank_metrics
from vreid_lite.metrics.rerank import re_ranking, rerank_distmat, rerank_options
from vreid_lite.metrics.retrieval import (resolve_query_expansion, resolve_rerank,
                                         retrieval_metrics)
from vreid_lite.metrics.shortcuts import (CameraBias, ForegroundShare, camera_bias,
                                          foreground_share, foreground_shares)
from vreid_lite.metrics.vehicleid import vehicleid_gallery_split, vehicleid_protocol

__all__ = [
    "DISTANCES",
    "CameraBias",
    "DistanceFn",
    "ForegroundShare",
    "MarkShare",
    "area_ratios",
    "attribute_accuracies",
    "attribute_accuracy",
    "attribute_confusion",
    "attribute_labels",
    "cam_scores",
    "camera_bias",
    "compute_distmat",
    "cosine_distance",
    "cpdm_distance",
    "cpdm_weights",
    "distmat_metrics",
    "euclidean_distance",
    "evaluate_rank",
    "foreground_share",
    "foreground_shares",
    "get_distance",
    "map_agreement",
    "mark_attention_share",
    "mark_attention_shares",
    "mask_iou_summary",
    "mask_ious",
    "mask_overlaps",
    "mask_scores",
    "pack_parts",
    "query_expansion",
    "query_expansion_options",
    "pointing_hit",
    "rank_correlations",
    "rank_metrics",
    "re_ranking",
    "register_distance",
    "rerank_distmat",
    "rerank_options",
    "resolve_query_expansion",
    "resolve_rerank",
    "retrieval_metrics",
    "summarize_cam_scores",
    "summarize_mask_ious",
    "top_region_ious",
    "unpack_parts",
    "vehicleid_gallery_split",
    "vehicleid_protocol",
]
