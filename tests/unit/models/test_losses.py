"""Cross-entropy with label smoothing, batch-hard triplet, the baseline criterion."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vreid_lite.models.baseline import BaselineCriterion
from vreid_lite.models.losses import batch_hard_triplet, cross_entropy_ls
from vreid_lite.models import ReIDOutput, build_criterion

# Four 2-D points, ids A A B B:
#   x0=(0,0) A   x1=(3,0) A   x2=(0,1) B   x3=(3,4) B
# Euclidean: d01=3  d02=1  d03=5  d12=√10≈3.162  d13=4  d23=√18≈4.243
#   anchor 0: d_ap=3     d_an=min(1, 5)=1         gap  2
#   anchor 1: d_ap=3     d_an=min(√10, 4)=√10     gap  3−√10 ≈ −0.162
#   anchor 2: d_ap=√18   d_an=min(1, √10)=1       gap  √18−1
#   anchor 3: d_ap=√18   d_an=min(5, 4)=4         gap  √18−4
# Manhattan: d01=3 d02=1 d03=7 d12=4 d13=4 d23=6 → gaps 2, −1, 5, 2
POINTS = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
IDS = torch.tensor([0, 0, 1, 1])
GAPS = [2.0, 3.0 - math.sqrt(10), math.sqrt(18) - 1.0, math.sqrt(18) - 4.0]


def test_cross_entropy_ls_equals_torch_label_smoothing():
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 5), torch.tensor([0, 4, 2, 2, 1, 3])
    for eps in (0.0, 0.1, 0.3):
        expected = F.cross_entropy(logits, targets, label_smoothing=eps)
        assert torch.allclose(cross_entropy_ls(logits, targets, eps), expected, atol=1e-6)


def test_cross_entropy_ls_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match="outside the 3 classes"):
        cross_entropy_ls(torch.zeros(2, 3), torch.tensor([0, 3]))


@pytest.mark.parametrize("margin", [0.3, 0.0])
def test_batch_hard_triplet_matches_hand_computation(margin):
    loss, active = batch_hard_triplet(POINTS, IDS, margin=margin, return_stats=True)
    terms = [max(0.0, g + margin) for g in GAPS]
    assert loss.item() == pytest.approx(sum(terms) / 4, abs=1e-5)
    assert active.item() == pytest.approx(sum(g + margin > 0 for g in GAPS) / 4)


def test_batch_hard_triplet_soft_margin():
    loss, active = batch_hard_triplet(POINTS, IDS, margin=None, return_stats=True)
    expected = sum(math.log1p(math.exp(g)) for g in GAPS) / 4
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    assert active.item() == pytest.approx(0.75)


def test_batch_hard_triplet_uses_a_distance_callable():
    calls = []

    def manhattan(x, y):
        calls.append(x.shape)
        return (x[:, None, :] - y[None, :, :]).abs().sum(-1)

    loss = batch_hard_triplet(POINTS, IDS, margin=0.3, distance=manhattan)
    assert calls == [(4, 2)]
    assert loss.item() == pytest.approx((2.3 + 0.0 + 5.3 + 2.3) / 4, abs=1e-5)
    with pytest.raises(ValueError, match="unknown distance"):
        batch_hard_triplet(POINTS, IDS, distance="chebyshev")


def test_anchors_without_positive_are_left_out():
    # x4 is the only one of its id, far from everyone: its anchor has no positive and it is
    # nobody's hardest negative, so the loss stays the four-point one.
    points = torch.cat([POINTS, torch.tensor([[50.0, 50.0]])])
    ids = torch.cat([IDS, torch.tensor([7])])
    expected = batch_hard_triplet(POINTS, IDS)
    assert torch.allclose(batch_hard_triplet(points, ids), expected)


def test_no_valid_anchor_gives_zero_loss_with_gradient():
    feats = torch.randn(3, 4, requires_grad=True)
    loss, active = batch_hard_triplet(feats, torch.tensor([0, 1, 2]), return_stats=True)
    assert loss.item() == 0.0 and active.item() == 0.0
    loss.backward()
    assert feats.grad is not None and torch.count_nonzero(feats.grad) == 0
    same = batch_hard_triplet(torch.randn(3, 4), torch.tensor([5, 5, 5]))  # no negatives
    assert same.item() == 0.0


@pytest.mark.parametrize("margin", [0.3, None])
def test_duplicate_points_give_finite_gradients(margin):
    base = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [0.5, -1.0]])
    feats = base.clone().requires_grad_(True)  # rows 0,1 same id; row 2 another id, same place
    loss = batch_hard_triplet(feats, torch.tensor([0, 0, 1, 1]), margin=margin)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(feats.grad).all()


def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match="features B×D"):
        batch_hard_triplet(torch.randn(4, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="distance returned"):
        batch_hard_triplet(POINTS, IDS, distance=lambda x, y: x)


def test_baseline_criterion_combines_weighted_terms():
    torch.manual_seed(0)
    feat = POINTS.clone().requires_grad_(True)
    logits = torch.randn(4, 3, requires_grad=True)
    out = ReIDOutput(embedding=feat, logits=logits, aux={"feat": feat})
    criterion = build_criterion("baseline", ce_weight=0.5, triplet_weight=2.0, margin=0.3)
    assert isinstance(criterion, BaselineCriterion) and criterion.ce_weight == 0.5
    terms = criterion(out, {"pids": IDS})
    assert set(terms) == {"ce", "triplet", "total"}
    ce = F.cross_entropy(logits, IDS, label_smoothing=0.1)
    assert torch.allclose(terms["ce"], ce)
    assert torch.allclose(terms["triplet"], batch_hard_triplet(POINTS, IDS, margin=0.3))
    assert torch.allclose(terms["total"], 0.5 * terms["ce"] + 2.0 * terms["triplet"])
    terms["total"].backward()
    assert logits.grad is not None and feat.grad is not None


def test_baseline_criterion_explains_bad_input():
    out = ReIDOutput(embedding=POINTS, logits=None, aux={"feat": POINTS})
    with pytest.raises(ValueError, match="eval mode"):
        BaselineCriterion()(out, {"pids": IDS})
    with pytest.raises(KeyError, match="pids"):
        BaselineCriterion()(out, {"labels": IDS})
