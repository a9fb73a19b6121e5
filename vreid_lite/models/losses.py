"""The losses every criterion shares: label-smoothed cross-entropy, batch-hard triplet, and the
identity labels a criterion reads from a batch."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from vreid_lite.metrics import get_distance
from vreid_lite.models.output import ReIDOutput

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy_ls(logits: torch.Tensor, targets: torch.Tensor,
                     epsilon: float = 0.1) -> torch.Tensor:
    """Cross-entropy against (1 − ε)·one-hot + ε/C (Szegedy et al. 2016); equals
    ``F.cross_entropy(logits, targets, label_smoothing=ε)``."""
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"expected logits B×C and targets B, got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    n = logits.size(1)
    if targets.numel():
        low, high = torch.aminmax(targets)
        if int(low) < 0 or int(high) >= n:
            raise ValueError(f"targets range [{int(low)}, {int(high)}] outside the {n} classes "
                             f"[0, {n - 1}]; labels must be contiguous 0-based ids")
    log_probs = logits.log_softmax(dim=1)
    nll = -log_probs.gather(1, targets.long()[:, None]).squeeze(1)
    uniform = -log_probs.mean(dim=1)
    return ((1.0 - epsilon) * nll + epsilon * uniform).mean()


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor,
                       margin: float | None = 0.3, distance: str | Distance = "euclidean",
                       return_stats: bool = False):
    """Batch-hard triplet loss (Hermans et al. 2017, "In defense of the triplet loss").

    ``distance``: a name from ``vreid_lite.metrics.DISTANCES`` (``"euclidean"``, ``"cosine"``)
    or a callable ``(x, y) → pairwise distance matrix``. Features are B×D, or B×… for a
    callable or a part-aware name (``"cpdm"`` takes ``pack_parts(feats, areas)``, B×4×(d+1)).

    For each anchor: the farthest same-label sample (itself excluded) and the nearest
    other-label sample; loss max(0, d_ap − d_an + margin), or log(1 + exp(d_ap − d_an)) when
    ``margin`` is None (soft margin). Anchors lacking a positive or a negative in the batch are
    left out of the mean; if none is left the loss is a zero that still has a gradient.

    ``return_stats=True`` also returns the fraction of the kept anchors whose triplet is
    active (d_ap − d_an + margin > 0; for the soft margin, d_ap > d_an).
    """
    distance_fn = get_distance(distance)
    any_shape = callable(distance) or getattr(distance_fn, "part_aware", False)
    if features.dim() < 1 or (features.dim() != 2 and not any_shape) \
            or labels.shape != features.shape[:1]:
        shape = "B×…" if any_shape else "B×D"
        raise ValueError(f"expected features {shape} and labels B, got {tuple(features.shape)} "
                         f"and {tuple(labels.shape)}")
    with torch.autocast(features.device.type, enabled=False):  # distances in float32
        features = features.float()
        dist = distance_fn(features, features)
    if dist.shape != (len(labels), len(labels)):
        raise ValueError(f"distance returned shape {tuple(dist.shape)}; expected "
                         f"{len(labels)}×{len(labels)}")
    same = labels[:, None] == labels[None, :]
    self_pair = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive, negative = same & ~self_pair, ~same
    kept = positive.any(1) & negative.any(1)
    if not bool(kept.any()):
        zero = features.sum() * 0.0
        return (zero, zero.detach()) if return_stats else zero
    d_ap = dist.masked_fill(~positive, float("-inf")).amax(1)[kept]
    d_an = dist.masked_fill(~negative, float("inf")).amin(1)[kept]
    gap = d_ap - d_an
    if margin is None:
        loss, active = F.softplus(gap).mean(), gap > 0
    else:
        loss, active = F.relu(gap + margin).mean(), gap + margin > 0
    return (loss, active.float().mean()) if return_stats else loss


def identity_labels(output: ReIDOutput, batch: dict) -> torch.Tensor:
    """``batch["pids"]`` on the logits' device, after checking a criterion can use the pair:
    the batch has identity labels and the model, in train mode, gave logits."""
    if "pids" not in batch:
        raise KeyError(f"batch has no 'pids' (identity labels); keys: {sorted(batch)}")
    if output.logits is None:
        raise ValueError("output has no logits: the model is in eval mode; call model.train()")
    return batch["pids"].to(output.logits.device)
