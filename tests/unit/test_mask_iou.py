"""Per-view mask IoU against hand-counted examples."""
import math

import pytest
import torch

from vreid_lite.metrics import mask_iou_summary, mask_ious

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
