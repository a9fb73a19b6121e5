"""Evaluation: distances, ranking metrics (CMC, mAP, mINP) and the VehicleID protocol."""
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
from vreid_lite.metrics.rank import evaluate_rank, rank_metrics
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
    "pointing_hit",
    "rank_correlations",
    "rank_metrics",
    "register_distance",
    "summarize_cam_scores",
    "summarize_mask_ious",
    "top_region_ious",
    "unpack_parts",
    "vehicleid_gallery_split",
    "vehicleid_protocol",
]
