"""ANet's losses: attribute patterns, the Amelioration Constraint against hand computations,
L and L′, and missing attribute labels (ignored by the attribute losses only)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vreid_lite.models import build_criterion, build_model
from vreid_lite.models.anet_losses import (ac_id, ac_tri, attribute_loss, attribute_patterns,
                                           pattern_triplet)

PIDS = torch.tensor([0, 0, 1, 1, 2, 2])


def test_attribute_patterns_are_colour_type_combinations():
    colors = torch.tensor([0, 0, 3, 3, 1, -1, 2])
    vtypes = torch.tensor([0, 4, 0, 4, 2, 1, -1])
    patterns = attribute_patterns(colors, vtypes, num_types=5)
    assert patterns.tolist() == [0, 4, 15, 19, 7, -1, -1]
    # every (colour, type) pair of a 3×5 grid gets its own label in [0, 15)
    c, t = torch.meshgrid(torch.arange(3), torch.arange(5), indexing="ij")
    grid = attribute_patterns(c.flatten(), t.flatten(), 5)
    assert sorted(grid.tolist()) == list(range(15))


def test_attribute_patterns_reject_type_outside_the_classes():
    with pytest.raises(ValueError, match="image 1 has type 5"):
        attribute_patterns(torch.tensor([0, 1]), torch.tensor([0, 5]), num_types=5)


def test_ac_id_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    f_logits, j_logits = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    eps = 0.1
    expected = 0.0
    for i in range(6):
        def ce(logits):
            logp = torch.log_softmax(logits[i], 0)
            return -((1 - eps) * logp[PIDS[i]] + eps / 3 * logp.sum())
        expected += math.log(1 + math.exp(float(ce(j_logits) - ce(f_logits))))
    assert float(ac_id(f_logits, j_logits, PIDS, eps)) == pytest.approx(expected / 6, rel=1e-5)


def _hand_ac_tri(f, j, pids, mine_on):
    def d(x, a, b):
        return float((x[a] - x[b]).norm())
    mined = j if mine_on == "j" else f
    total, anchors = 0.0, 0
    for a in range(len(pids)):
        pos = [b for b in range(len(pids)) if b != a and pids[b] == pids[a]]
        neg = [b for b in range(len(pids)) if pids[b] != pids[a]]
        if not pos or not neg:
            continue
        p = max(pos, key=lambda b: d(mined, a, b))
        n = min(neg, key=lambda b: d(mined, a, b))
        total += math.log(1 + math.exp(d(j, a, p) - d(f, a, p)))
        total += math.log(1 + math.exp(d(f, a, n) - d(j, a, n)))
        anchors += 1
    return total / anchors


@pytest.mark.parametrize("mine_on", ["j", "f"])
def test_ac_tri_matches_hand_computation(mine_on):
    g = torch.Generator().manual_seed(1)
    f, j = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    pids = torch.tensor([0, 0, 1, 1, 2, 3])  # id 3 has no positive: not an anchor
    assert float(ac_tri(f, j, pids, mine_on)) == pytest.approx(
        _hand_ac_tri(f, j, pids, mine_on), rel=1e-5)


def test_ac_tri_rewards_j_that_separates_better_than_f():
    f = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    pids = torch.tensor([0, 0, 1, 1])
    better = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 5.0], [0.1, 5.0]])
    worse = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 0.2], [3.0, 0.2]])
    assert float(ac_tri(f, better, pids)) < float(ac_tri(f, f, pids)) < float(ac_tri(f, worse, pids))
    assert float(ac_tri(f, f, pids)) == pytest.approx(2 * math.log(2))


def test_attribute_loss_ignores_missing_labels_and_their_gradient():
    logits = torch.randn(5, 4, requires_grad=True)
    labels = torch.tensor([1, -1, 3, -1, 0])
    loss = attribute_loss(logits, labels, 0.1, "color")
    known = labels >= 0
    expected = F.cross_entropy(logits[known], labels[known], label_smoothing=0.1)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()
    assert torch.all(logits.grad[~known] == 0) and torch.all(logits.grad[known].abs().sum(1) > 0)


def test_attribute_loss_with_no_label_is_a_zero_with_a_gradient():
    logits = torch.randn(3, 4, requires_grad=True)
    loss = attribute_loss(logits, torch.full((3,), -1), 0.1, "type")
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None


def test_attribute_loss_names_a_bad_label():
    with pytest.raises(ValueError, match="image 2 has color label 7"):
        attribute_loss(torch.randn(3, 4), torch.tensor([0, 1, 7]), 0.1, "color")


def test_pattern_triplet_leaves_out_images_without_a_pattern():
    g = torch.randn(6, 3, requires_grad=True)
    patterns = torch.tensor([0, 0, 1, 1, -1, -1])
    loss = pattern_triplet(g, patterns, 0.3)
    loss.backward()
    assert torch.all(g.grad[4:] == 0)
    moved = g.detach().clone()
    moved[4:] += 100.0  # images without a pattern can be anywhere
    assert pattern_triplet(moved, patterns, 0.3).item() == pytest.approx(loss.item())


def _batch(colors, vtypes):
    torch.manual_seed(0)
    return {"images": torch.randn(6, 3, 32, 32), "pids": PIDS,
            "colors": torch.tensor(colors), "vtypes": torch.tensor(vtypes)}


@pytest.mark.parametrize("criterion_name", ["anet", "anet_ac"])
def test_missing_labels_change_the_attribute_terms_only(criterion_name):
    torch.manual_seed(0)
    model = build_model("anet", 3, backbone="quick_net", pretrained=False, num_colors=4,
                        num_types=5).train()
    criterion = build_criterion(criterion_name)
    full = _batch([0, 0, 1, 1, 2, 3], [1, 1, 2, 2, 0, 4])
    partial = _batch([0, -1, 1, 1, -1, 3], [1, 1, -1, 2, 0, 4])
    with torch.no_grad():
        out = model(full["images"])  # one output scored against both label sets
    a, b = criterion(out, full), criterion(out, partial)
    for key in ("ce_f", "triplet_f", "ce_j", "triplet_j") + (
            ("ac_id", "ac_tri") if criterion_name == "anet_ac" else ()):
        assert float(a[key]) == pytest.approx(float(b[key])), key
    for key in ("att_color", "att_type", "triplet_g"):
        assert float(a[key]) != pytest.approx(float(b[key])), key


def test_step1_total_is_eq10_and_step2_total_is_eq13():
    torch.manual_seed(0)
    model = build_model("anet", 3, backbone="quick_net", pretrained=False, num_colors=4,
                        num_types=5).train()
    batch = _batch([0, 0, 1, 1, 2, 3], [1, 1, 2, 2, 0, 4])
    with torch.no_grad():
        out = model(batch["images"])
    lam = 0.5
    t = build_criterion("anet", lam=lam, lambda_a=2.0, lambda_g=3.0)(out, batch)
    van = t["triplet_f"] + t["ce_f"] + 2.0 * (t["att_color"] + t["att_type"])  # Eq. 4
    jm = t["triplet_j"] + t["ce_j"] + 3.0 * t["triplet_g"]  # Eq. 9
    assert float(t["total"]) == pytest.approx(float(jm + lam * van), rel=1e-6)  # Eq. 10
    s = build_criterion("anet_ac", lam=lam, lambda_a=2.0, lambda_g=3.0)(out, batch)
    eq13 = t["total"] + s["ac_tri"] + s["ac_id"] - lam * (t["triplet_f"] + t["ce_f"])
    assert float(s["total"]) == pytest.approx(float(eq13), rel=1e-5)


def test_van_alone_is_trained_with_l_van():
    torch.manual_seed(0)
    model = build_model("anet", 3, backbone="quick_net", pretrained=False, num_colors=4,
                        num_types=5, joint=False).train()
    batch = _batch([0, 0, 1, 1, 2, 3], [1, 1, 2, 2, 0, 4])
    with torch.no_grad():
        t = build_criterion("anet")(model(batch["images"]), batch)
    assert "triplet_g" not in t and float(t["total"]) == pytest.approx(float(t["van"]))
    with pytest.raises(ValueError, match="no Joint Module"):
        build_criterion("anet_ac")(model(batch["images"]), batch)


def test_criterion_names_missing_batch_keys():
    model = build_model("anet", 3, backbone="quick_net", pretrained=False).train()
    batch = {"images": torch.randn(2, 3, 32, 32), "pids": torch.tensor([0, 1])}
    with pytest.raises(KeyError, match="colors"):
        build_criterion("anet")(model(batch["images"]), batch)
