"""SPAN's mask losses (Eq. 1–3) against hand computations, the view rules, both criteria."""
import pytest
import torch

from vreid_lite.data.records import VIEWS
from vreid_lite.models.losses import batch_hard_triplet
from vreid_lite.metrics import pack_parts
from vreid_lite.models import ReIDOutput, build_criterion
from vreid_lite.models.span_losses import (area_loss, div_loss, foreground, max_area_ratios,
                                           recon_loss, semantic_labels)

FRONT_SIDE = VIEWS.index("front_side")

# One image, masks 2×2 (front, rear, side); foreground V = [[1, 1], [1, 0]], ‖V‖₁ = 3.
MASKS = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]],
                       [[0.0, 0.0], [0.5, 0.0]],
                       [[0.0, 0.5], [1.0, 1.0]]]])
FG = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]])
LABELS = torch.tensor([[1.0, 0.0, 1.0]])          # front-side: l = [1, 0, 1] (§3.1)
PART_LABEL_MASK = torch.tensor([[[[1, 3], [3, 0]]]], dtype=torch.uint8)


def test_semantic_labels_follow_the_views():
    labels, known = semantic_labels(torch.tensor([0, 1, 2, 3, 4, -1]))
    assert labels.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [0, 0, 0]]
    assert known.tolist() == [True] * 5 + [False]
    with pytest.raises(ValueError, match="index 5"):
        semantic_labels(torch.tensor([0, 5]))


def test_max_area_ratios():
    labels, _ = semantic_labels(torch.tensor([0, 3, 4]))
    expected = torch.tensor([[1, 0, 0], [0.7, 0, 0.7], [0, 0.7, 0.7]])
    torch.testing.assert_close(max_area_ratios(labels), expected)
    assert max_area_ratios(labels, two_view_ratio=0.5)[1].tolist() == [0.5, 0, 0.5]


def test_recon_loss_by_hand():
    # M_front + M_side = all ones; V − that = [[0, 0], [0, −1]]: MSE 1/4
    assert recon_loss(MASKS, FG, LABELS).item() == pytest.approx(0.25)
    # rear view only: V − M_rear = [[1, 1], [0.5, 0]]: (1 + 1 + 0.25) / 4
    assert recon_loss(MASKS, FG, torch.tensor([[0.0, 1.0, 0.0]])).item() == pytest.approx(0.5625)


def test_area_loss_by_hand():
    # areas 1.5, 0.5, 2.5 over ‖V‖₁ = 3 → 0.5, 1/6, 5/6 against a = 0.7, 0, 0.7
    expected = 0.0 + 1 / 6 + (5 / 6 - 0.7)
    assert area_loss(MASKS, FG, max_area_ratios(LABELS)).item() == pytest.approx(expected)


def test_div_loss_by_hand():
    # overlaps / ‖V‖₁: front·rear 0 (margin 0), front·side 0.25/3, rear·side 0.5/3 (margin 0.04)
    expected = 0.0 + (0.25 / 3 - 0.04) + (0.5 / 3 - 0.04)
    assert div_loss(MASKS, FG).item() == pytest.approx(expected)
    assert div_loss(MASKS, FG, adjacent_margin=0.2).item() == pytest.approx(0.0)


@pytest.mark.parametrize("scale, expected", [
    ("foreground", (0.25 / 3 - 0.04) + (0.5 / 3 - 0.04)),   # ÷ ‖V‖₁ = 3
    ("image", (0.25 / 4 - 0.04) + (0.5 / 4 - 0.04)),        # ÷ 4 mask pixels
    ("none", (0.25 - 0.04) + (0.5 - 0.04)),                 # Eq. 3's plain dot product
])
def test_div_loss_scales_the_overlap_as_asked(scale, expected):
    assert div_loss(MASKS, FG, scale=scale).item() == pytest.approx(expected)
    batch = {"masks": PART_LABEL_MASK, "views": torch.tensor([FRONT_SIDE])}
    terms = build_criterion("span_masks", div_scale=scale)(MASKS, batch)
    assert terms["div"].item() == pytest.approx(expected)
    assert terms["total"].item() == pytest.approx(0.25 + 0.5 * (1 / 6 + 5 / 6 - 0.7) + expected)


def test_div_loss_refuses_an_unknown_scale():
    with pytest.raises(ValueError, match="scale='pixels'"):
        div_loss(MASKS, FG, scale="pixels")
    with pytest.raises(ValueError, match="div_scale='pixels'"):
        build_criterion("span_masks", div_scale="pixels")


def test_foreground_treats_any_label_as_vehicle_and_averages_when_shrinking():
    labels = torch.tensor([[[[0, 1, 255, 255], [0, 0, 255, 255],
                             [3, 3, 0, 0], [3, 2, 0, 0]]]], dtype=torch.uint8)
    assert foreground(labels, (4, 4)).flatten().tolist() == \
        (labels > 0).float().flatten().tolist()
    assert foreground(labels, (2, 2))[0, 0].tolist() == [[0.25, 1.0], [1.0, 0.0]]


def test_mask_criterion_sums_the_terms_with_the_paper_weights():
    batch = {"masks": PART_LABEL_MASK, "views": torch.tensor([FRONT_SIDE])}
    terms = build_criterion("span_masks")(MASKS, batch)
    recon, area, div = 0.25, 1 / 6 + 5 / 6 - 0.7, 0.25 - 0.08
    assert terms["recon"].item() == pytest.approx(recon)
    assert terms["area"].item() == pytest.approx(area)
    assert terms["div"].item() == pytest.approx(div)
    assert terms["total"].item() == pytest.approx(recon + 0.5 * area + div)


@pytest.mark.parametrize("use_area, use_div", [(False, False), (False, True), (True, False)])
def test_switched_off_terms_are_reported_but_not_trained(use_area, use_div):
    masks = MASKS.clone().requires_grad_(True)
    batch = {"masks": PART_LABEL_MASK, "views": torch.tensor([FRONT_SIDE])}
    terms = build_criterion("span_masks", use_area=use_area, use_div=use_div)(masks, batch)
    expected = 0.25 + (0.5 * terms["area"].item() if use_area else 0) + \
        (terms["div"].item() if use_div else 0)
    assert terms["total"].item() == pytest.approx(expected)
    assert terms["area"].requires_grad == use_area and terms["div"].requires_grad == use_div


def test_unknown_views_are_left_out():
    criterion = build_criterion("span_masks")
    masks = torch.cat([MASKS, torch.rand(1, 3, 2, 2)])
    batch = {"masks": PART_LABEL_MASK.repeat(2, 1, 1, 1), "views": torch.tensor([FRONT_SIDE, -1])}
    both = criterion(masks, batch)
    alone = criterion(MASKS, {"masks": PART_LABEL_MASK, "views": torch.tensor([FRONT_SIDE])})
    for key in alone:
        assert both[key].item() == pytest.approx(alone[key].item())
    masks = torch.rand(2, 3, 2, 2, requires_grad=True)
    none = criterion(masks, {"masks": batch["masks"], "views": torch.tensor([-1, -1])})
    assert none["total"].item() == 0.0
    none["total"].backward()
    assert masks.grad is not None


def test_mask_criterion_reads_maps_and_names_missing_keys():
    maps = {f"mask/{p}": MASKS[:, i:i + 1] for i, p in enumerate(("front", "rear", "side"))}
    out = ReIDOutput(embedding=torch.zeros(1, 4), maps=maps)
    batch = {"masks": PART_LABEL_MASK, "views": torch.tensor([FRONT_SIDE])}
    assert build_criterion("span_masks")(out, batch)["recon"].item() == pytest.approx(0.25)
    with pytest.raises(KeyError, match="masks"):
        build_criterion("span_masks")(MASKS, {"views": torch.tensor([FRONT_SIDE])})
    with pytest.raises(KeyError, match="mask/rear"):
        build_criterion("span_masks")(ReIDOutput(embedding=torch.zeros(1, 4), maps={}), batch)


def _part_output(n=8, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(n, 4, d, generator=g)
    parts = torch.rand(n, 3, generator=g)
    visibility = torch.cat([torch.ones(n, 1), parts / parts.sum(1, keepdim=True)], 1)
    return ReIDOutput(embedding=feat, logits=torch.randn(n, 3, generator=g),
                      aux={"feat": feat}, visibility=visibility)


def test_feature_criterion_uses_cpdm_on_packed_parts_or_the_concatenation():
    out = _part_output()
    pids = torch.arange(4).repeat_interleave(2) % 3
    batch = {"pids": pids}
    cpdm = build_criterion("span")(out, batch)
    expected = batch_hard_triplet(pack_parts(out.aux["feat"], out.visibility), pids, 0.3, "cpdm")
    assert cpdm["triplet"].item() == pytest.approx(expected.item())
    euc = build_criterion("span", distance="euclidean")(out, batch)
    expected = batch_hard_triplet(out.aux["feat"].flatten(1), pids, 0.3, "euclidean")
    assert euc["triplet"].item() == pytest.approx(expected.item())
    assert cpdm["total"].item() == pytest.approx(cpdm["ce"].item() + cpdm["triplet"].item())


def test_feature_criterion_rejects_cpdm_without_part_features():
    out = _part_output()
    fused = ReIDOutput(embedding=out.embedding.flatten(1), logits=out.logits,
                       aux={"feat": out.aux["feat"].flatten(1)})
    with pytest.raises(ValueError, match="aggregation='cat'"):
        build_criterion("span")(fused, {"pids": torch.zeros(8, dtype=torch.long)})
