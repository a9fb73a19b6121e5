"""ANet's losses: L_VAN (Eq. 4), L_JM with the attribute-based triplet loss (Eq. 9), L (Eq. 10),
the Amelioration Constraint AC_ID / AC_tri (Eq. 11–12) and the step-2 loss L′ (Eq. 13)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.models.losses import Distance, batch_hard_triplet, cross_entropy_ls
from vreid_lite.metrics import get_distance
from vreid_lite.models.anet import ATTRIBUTES
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_criterion


def attribute_patterns(colors: torch.Tensor, vtypes: torch.Tensor, num_types: int) -> torch.Tensor:
    """The attribute pattern of each image, colour × m_type + type: one label per colour-type
    combination (∏ m_i patterns, §3.2); −1 where either attribute is missing (−1)."""
    if colors.shape != vtypes.shape or colors.dim() != 1:
        raise ValueError(f"expected 1-D colour and type labels of one length, got "
                         f"{tuple(colors.shape)} and {tuple(vtypes.shape)}")
    too_big = vtypes >= num_types
    if bool(too_big.any()):
        i = int(too_big.nonzero()[0])
        raise ValueError(f"image {i} has type {int(vtypes[i])}; expected −1 (missing) or a "
                         f"type index below {num_types}")
    known = (colors >= 0) & (vtypes >= 0)
    return torch.where(known, colors * num_types + vtypes, torch.full_like(colors, -1))


def attribute_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float,
                   name: str) -> torch.Tensor:
    """L_att^i: label-smoothed cross-entropy over the images whose attribute is labelled
    (label ≥ 0); images without a label back-propagate nothing (§4.2). A batch with no label
    gives a zero that still has a gradient."""
    known = labels >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    bad = known & (labels >= logits.shape[1])
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise ValueError(f"image {i} has {name} label {int(labels[i])}; expected −1 (missing) "
                         f"or a class below {logits.shape[1]}")
    return cross_entropy_ls(logits[known], labels[known], label_smoothing)


def pattern_triplet(g: torch.Tensor, patterns: torch.Tensor, margin: float | None,
                    distance: str | Distance = "euclidean") -> torch.Tensor:
    """L_tri^g, the attribute-based triplet loss (§3.2): batch-hard triplet on g = GAP(G) with
    attribute patterns as labels; images with a missing pattern (−1) take no part."""
    known = patterns >= 0
    if not bool(known.any()):
        return g.sum() * 0.0
    return batch_hard_triplet(g[known], patterns[known], margin, distance)


def hardest_pairs(dist: torch.Tensor, labels: torch.Tensor):
    """For each anchor, the index of its farthest positive and nearest negative under
    ``dist`` (N×N). Returns ``(anchors, positives, negatives)`` index tensors over the anchors
    that have both."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive, negative = same & ~eye, ~same
    kept = positive.any(1) & negative.any(1)
    anchors = kept.nonzero().flatten()
    pos = dist.masked_fill(~positive, float("-inf")).argmax(1)[anchors]
    neg = dist.masked_fill(~negative, float("inf")).argmin(1)[anchors]
    return anchors, pos, neg


def ac_id(f_logits: torch.Tensor, j_logits: torch.Tensor, pids: torch.Tensor,
          label_smoothing: float = 0.1) -> torch.Tensor:
    """AC_ID (Eq. 11), averaged over the batch: softplus(L_ID^j(I) − L_ID^f(I)) with each term
    the image's own (label-smoothed) identity cross-entropy."""
    ce_f = F.cross_entropy(f_logits, pids, reduction="none", label_smoothing=label_smoothing)
    ce_j = F.cross_entropy(j_logits, pids, reduction="none", label_smoothing=label_smoothing)
    return F.softplus(ce_j - ce_f).mean()


def ac_tri(f: torch.Tensor, j: torch.Tensor, pids: torch.Tensor, mine_on: str = "j",
           distance: str | Distance = "euclidean") -> torch.Tensor:
    """AC_tri (Eq. 12), averaged over the anchors: softplus(D(j_a, j_p) − D(f_a, f_p)) +
    softplus(D(f_a, f_n) − D(j_a, j_n)), with the same anchor, positive and negative for f and
    j. They are the hardest positive and negative under ``mine_on`` (``"j"``: the triplets of
    L_tri^j, the triplet loss L′ keeps; ``"f"``: those f's own triplet loss would pick).
    Anchors without a positive or a negative in the batch are left out."""
    if mine_on not in ("f", "j"):
        raise ValueError(f"mine_on={mine_on!r}; expected 'f' or 'j'")
    distance_fn = get_distance(distance)
    with torch.autocast(f.device.type, enabled=False):
        d_f = distance_fn(f.float(), f.float())
        d_j = distance_fn(j.float(), j.float())
    anchors, pos, neg = hardest_pairs((d_j if mine_on == "j" else d_f).detach(), pids)
    if anchors.numel() == 0:
        return (f.sum() + j.sum()) * 0.0
    closer = F.softplus(d_j[anchors, pos] - d_f[anchors, pos])
    farther = F.softplus(d_f[anchors, neg] - d_j[anchors, neg])
    return (closer + farther).mean()


@register_criterion("anet")
class ANetCriterion(nn.Module):
    """L = L_JM + λ·L_VAN (Eq. 10), step 1 of the training; for VAN alone (no j in the
    output), L_VAN.

    L_VAN = L_tri^f + L_ID^f + λ_A Σ_i L_att^i (Eq. 4); L_JM = L_tri^j + L_ID^j + λ_G L_tri^g
    (Eq. 9). §4.2: λ = λ_A = λ_G = 1, label-smoothed cross-entropy and batch-hard triplets
    (Bag of Tricks, margin 0.3 as the kit's baseline). The paper does not give the margin of
    the attribute-based triplet loss; ``pattern_margin`` defaults to the identity margin.
    Images with a missing colour or type (−1) are left out of that attribute's L_att and of
    L_tri^g only (§4.2); every identity loss uses every image.

    Returns the terms ``ce_f``, ``triplet_f``, ``att_color``, ``att_type``, (``ce_j``,
    ``triplet_j``, ``triplet_g``,) ``van``, (``jm``) and ``total``.
    """

    def __init__(self, lam: float = 1.0, lambda_a: float = 1.0, lambda_g: float = 1.0,
                 label_smoothing: float = 0.1, margin: float | None = 0.3,
                 pattern_margin: float | None = 0.3, distance: str | Distance = "euclidean"):
        super().__init__()
        self.lam, self.lambda_a, self.lambda_g = lam, lambda_a, lambda_g
        self.label_smoothing = label_smoothing
        self.margin, self.pattern_margin = margin, pattern_margin
        self.distance = distance

    def _check(self, output: ReIDOutput, batch: dict) -> torch.Tensor:
        missing = [k for k in ("pids", *ATTRIBUTES.values()) if k not in batch]
        if missing:
            raise KeyError(f"batch has no {missing} (ANet needs identity, colour and type "
                           f"labels; −1 marks a missing attribute); keys: {sorted(batch)}")
        if output.logits is None or "f_logits" not in output.aux:
            raise ValueError("output has no logits: the model is in eval mode; call model.train()")
        return batch["pids"].to(output.logits.device)

    def identity_terms(self, output: ReIDOutput, pids: torch.Tensor, which: str):
        ce = cross_entropy_ls(output.aux[f"{which}_logits"], pids, self.label_smoothing)
        triplet = batch_hard_triplet(output.aux[which], pids, self.margin, self.distance)
        return ce, triplet

    def attribute_terms(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        return {f"att_{name}": attribute_loss(output.aux[f"{name}_logits"],
                                              batch[key].to(output.logits.device),
                                              self.label_smoothing, name)
                for name, key in ATTRIBUTES.items()}

    def joint_terms(self, output: ReIDOutput, batch: dict, pids: torch.Tensor):
        ce_j, triplet_j = self.identity_terms(output, pids, "j")
        dev = output.logits.device
        patterns = attribute_patterns(batch["colors"].to(dev), batch["vtypes"].to(dev),
                                      output.aux["type_logits"].shape[1])
        triplet_g = pattern_triplet(output.aux["g"], patterns, self.pattern_margin,
                                    self.distance)
        return {"ce_j": ce_j, "triplet_j": triplet_j, "triplet_g": triplet_g,
                "jm": triplet_j + ce_j + self.lambda_g * triplet_g}

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        pids = self._check(output, batch)
        ce_f, triplet_f = self.identity_terms(output, pids, "f")
        terms = {"ce_f": ce_f, "triplet_f": triplet_f, **self.attribute_terms(output, batch)}
        attributes = sum(v for k, v in terms.items() if k.startswith("att_"))
        terms["van"] = triplet_f + ce_f + self.lambda_a * attributes
        if "j" not in output.aux:  # VAN alone
            terms["total"] = terms["van"]
            return terms
        terms.update(self.joint_terms(output, batch, pids))
        terms["total"] = terms["jm"] + self.lam * terms["van"]
        return terms


@register_criterion("anet_ac")
class ANetACCriterion(ANetCriterion):
    """L′ = L + AC_tri + AC_ID − λ(L_tri^f + L_ID^f) (Eq. 13), step 2 of the training (with the
    backbone frozen): the losses on f are off, the Amelioration Constraint on.

    Computed as L_JM + λ·λ_A Σ_i L_att^i + AC_tri + AC_ID, which is Eq. 13 with the f terms
    cancelled exactly. ``ce_f`` and ``triplet_f`` are still returned, for monitoring, but are
    not part of ``total``. AC_tri uses the triplets of L_tri^j (``ac_mine_on="j"``) — see
    :func:`ac_tri`. Missing attribute labels do not affect AC (§4.2).
    Returns the step-1 terms plus ``ac_id`` and ``ac_tri``.
    """

    def __init__(self, lam: float = 1.0, lambda_a: float = 1.0, lambda_g: float = 1.0,
                 label_smoothing: float = 0.1, margin: float | None = 0.3,
                 pattern_margin: float | None = 0.3, distance: str | Distance = "euclidean",
                 ac_mine_on: str = "j"):
        super().__init__(lam, lambda_a, lambda_g, label_smoothing, margin, pattern_margin,
                         distance)
        if ac_mine_on not in ("f", "j"):
            raise ValueError(f"ac_mine_on={ac_mine_on!r}; expected 'f' or 'j'")
        self.ac_mine_on = ac_mine_on

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        pids = self._check(output, batch)
        if "j" not in output.aux:
            raise ValueError("the Amelioration Constraint compares j with f; the model has no "
                             "Joint Module (joint=False)")
        with torch.no_grad():
            ce_f, triplet_f = self.identity_terms(output, pids, "f")
        terms = {"ce_f": ce_f, "triplet_f": triplet_f, **self.attribute_terms(output, batch)}
        attributes = sum(v for k, v in terms.items() if k.startswith("att_"))
        terms.update(self.joint_terms(output, batch, pids))
        terms["ac_id"] = ac_id(output.aux["f_logits"], output.aux["j_logits"], pids,
                               self.label_smoothing)
        terms["ac_tri"] = ac_tri(output.aux["f"], output.aux["j"], pids, self.ac_mine_on,
                                 self.distance)
        terms["total"] = (terms["jm"] + self.lam * self.lambda_a * attributes
                          + terms["ac_tri"] + terms["ac_id"])
        return terms
