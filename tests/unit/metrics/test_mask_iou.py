"""Per-view mask IoU against hand-counted examples."""
import math

import pytest
import torch

from vreid_lite.metrics import mask_iou_summary, mask_ious, mask_overlaps

# image 0: front top-left 2×2, side the right half, no rear (12 foreground pixels)
# image 1: rear top-left 2×2, side the right half, no front
LABELS = torch.tensor([
    [[1, 1, 3, 3], [1, 1, 3, 3], [0, 0, 3, 3], [0, 0, 3, 3]],
    [[2, 2, 3, 3], [2, 2, 3, 3], [0, 0, 3, 3], [0, 0, 3, 3]],
], dtype=torch.uint8)


def _pred():
    corner = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # bilinear to 4×4, > 0.5: the 2×2 corner
    pred = torch.zeros(2, 3, 2, 2)
    pred[0, 0] = corner          # front exactly right
    pred[0, 1] = 0.9             # rear everywhere on an image without rear
    pred[0, 2] = 0.9             # side everywhere: 8 of 16 pixels right
    pred[1, 1] = corner          # rear exactly right
    return pred


def test_per_image_iou_by_hand():
    iou, present, area = mask_ious(_pred(), LABELS)
    assert present.tolist() == [[True, False, True], [False, True, True]]
    assert iou[0, 0].item() == pytest.approx(1.0)
    assert math.isnan(iou[0, 1].item()) and math.isnan(iou[1, 0].item())
    assert iou[0, 2].item() == pytest.approx(0.5)
    assert iou[1, 1].item() == pytest.approx(1.0)
    assert iou[1, 2].item() == pytest.approx(0.0)      # nothing predicted where side is
    assert area[0, 1].item() == pytest.approx(16 / 12)  # 16 pixels over 12 of foreground


def test_summary_averages_over_images_that_show_the_view():
    out = mask_iou_summary(_pred(), LABELS.unsqueeze(1))
    assert out["iou/front"] == pytest.approx(1.0) and out["images/front"] == 1
    assert out["iou/rear"] == pytest.approx(1.0) and out["images/rear"] == 1
    assert out["iou/side"] == pytest.approx(0.25) and out["images/side"] == 2
    assert out["mask_iou"] == pytest.approx((1.0 + 1.0 + 0.25) / 3)
    assert out["absent_area/rear"] == pytest.approx(16 / 12)
    assert out["absent_area/front"] == pytest.approx(0.0)
    assert math.isnan(out["absent_area/side"])          # every image shows a side


def test_pooled_iou_counts_mask_painted_on_absent_views():
    inter, union = mask_overlaps(_pred(), LABELS)
    # image 0: front 4/4, rear 0/16 (all painted, none there), side 8/16
    # image 1: front 0/0 (nothing either way), rear 4/4, side 0/8 (nothing predicted)
    assert inter.tolist() == [[4, 0, 8], [0, 4, 0]]
    assert union.tolist() == [[4, 16, 16], [0, 4, 8]]
    out = mask_iou_summary(_pred(), LABELS)
    assert out["pooled_iou/front"] == pytest.approx(4 / 4)
    assert out["pooled_iou/rear"] == pytest.approx(4 / 20)   # the leak on image 0 counts
    assert out["iou/rear"] == pytest.approx(1.0)             # ... where the per-image IoU ignores it
    assert out["pooled_iou/side"] == pytest.approx(8 / 24)
    assert out["pooled_mask_iou"] == pytest.approx((1 + 0.2 + 1 / 3) / 3)


def test_pooled_iou_of_a_view_nobody_shows_or_predicts_is_nan():
    pred = torch.zeros(2, 3, 2, 2)
    out = mask_iou_summary(pred, LABELS)
    assert out["pooled_iou/front"] == 0.0 and out["pooled_mask_iou"] == 0.0
    labels = torch.zeros_like(LABELS)
    labels[:, :, 2:] = 3   # side only
    out = mask_iou_summary(pred, labels)
    assert math.isnan(out["pooled_iou/front"]) and math.isnan(out["pooled_iou/rear"])
    assert out["pooled_mask_iou"] == 0.0


def test_a_view_no_image_shows_is_nan_and_left_out_of_the_mean():
    labels = LABELS[:1]
    out = mask_iou_summary(_pred()[:1], labels)
    assert math.isnan(out["iou/rear"]) and out["images/rear"] == 0
    assert out["mask_iou"] == pytest.approx((1.0 + 0.5) / 2)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="N×3×h×w"):
        mask_ious(torch.zeros(2, 2, 4, 4), LABELS)
    with pytest.raises(ValueError, match="value 7"):
        mask_ious(torch.zeros(2, 3, 4, 4), torch.full((2, 4, 4), 7, dtype=torch.uint8))
    with pytest.raises(ValueError, match="for 2 images"):
        mask_ious(torch.zeros(2, 3, 4, 4), LABELS[:1])


def test_a_sliver_below_min_share_counts_as_absent():
    labels = torch.full((1, 10, 10), 3, dtype=torch.uint8)
    labels[0, 0, 0] = 1                                  # front: 1 % of the foreground
    pred = torch.zeros(1, 3, 10, 10)
    _, present, _ = mask_ious(pred, labels)
    assert present.tolist() == [[False, False, True]]
    iou, present, _ = mask_ious(pred, labels, min_share=0.0)
    assert present.tolist() == [[True, False, True]] and iou[0, 0].item() == 0.0
