"""Saliency maps against the renderer's truth on hand-made maps: mass on the vehicle, mass on the
marks, the pointing game, and images without marks."""
import math

import numpy as np
import pytest
import torch

from vreid_lite.metrics.cam_scores import (SCORE_KEYS, cam_scores, pointing_hit,
                                           summarize_cam_scores)

H = W = 20
BOX = [4, 4, 8, 8]  # 16 pixels of 400


def vehicle() -> torch.Tensor:
    """One mask: the vehicle is the left half (label 3)."""
    mask = torch.zeros(1, H, W, dtype=torch.uint8)
    mask[0, :, : W // 2] = 3
    return mask


def test_all_mass_in_the_mask_scores_one():
    heat = torch.zeros(1, H, W)
    heat[0, 5:15, 2:8] = 1.0
    scores = cam_scores(heat, vehicle(), [[BOX]], [(H, W)])
    assert scores["vehicle_share"][0] == pytest.approx(1.0)
    assert scores["vehicle_chance"][0] == pytest.approx(0.5)


def test_a_uniform_map_scores_the_chance_of_each_measure():
    scores = cam_scores(torch.ones(1, H, W), vehicle(), [[BOX]], [(H, W)])
    assert scores["vehicle_share"][0] == pytest.approx(scores["vehicle_chance"][0])
    assert scores["mark_share"][0] == pytest.approx(16 / 400)
    assert scores["mark_chance"][0] == pytest.approx(16 / 400)
    assert scores["pointing"][0] == pytest.approx(scores["pointing_chance"][0])


def test_all_mass_on_the_mark_scores_one():
    heat = torch.zeros(1, H, W)
    heat[0, 4:8, 4:8] = 1.0
    scores = cam_scores(heat, vehicle(), [[BOX]], [(H, W)])
    assert scores["mark_share"][0] == pytest.approx(1.0)
    assert scores["pointing"][0] == 1.0


def test_the_pointing_game_asks_where_the_maximum_is():
    heat = torch.zeros(H, W)
    heat[10, 10] = 1.0  # outside the box, 3 pixels right of and below its last pixel (7, 7)
    assert pointing_hit(heat, [BOX], (H, W)) == (0.0, pytest.approx(16 / 400))
    assert pointing_hit(heat, [BOX], (H, W), tolerance=2)[0] == 0.0
    hit, chance = pointing_hit(heat, [BOX], (H, W), tolerance=3)
    assert hit == 1.0 and chance == pytest.approx(10 * 10 / 400)
    tied = torch.zeros(H, W)
    tied[5, 5] = tied[15, 15] = 1.0  # two maxima, one on the mark
    assert pointing_hit(tied, [BOX], (H, W))[0] == pytest.approx(0.5)


def test_a_small_map_is_spread_over_the_original_image():
    heat = torch.zeros(1, 5, 5)
    heat[0, 1, 1] = 1.0  # the cell over pixels 4..7 of a 20×20 image
    scores = cam_scores(heat, vehicle(), [[BOX]], [(H, W)])
    assert scores["pointing"][0] == 1.0
    assert scores["mark_share"][0] > 0.3 > scores["mark_chance"][0]


def test_floor_removes_a_constant_base():
    heat = torch.full((1, H, W), 0.5)
    heat[0, 4:8, 4:8] = 1.0
    with_base = cam_scores(heat, vehicle(), [[BOX]], [(H, W)])
    floored = cam_scores(heat, vehicle(), [[BOX]], [(H, W)], floor=0.5)
    assert with_base["mark_share"][0] < 0.1
    assert floored["mark_share"][0] == pytest.approx(1.0)


def test_images_without_marks_are_counted_and_left_out_of_the_mark_means():
    heat = torch.zeros(3, H, W)
    heat[0, 4:8, 4:8] = 1.0   # on the mark
    heat[1, 15:, 15:] = 1.0   # off the mark, off the vehicle
    heat[2, :, :10] = 1.0     # no marks on this image
    masks = vehicle().expand(3, H, W)
    scores = cam_scores(heat, masks, [[BOX], [BOX], []], [(H, W)] * 3)
    assert math.isnan(scores["mark_share"][2]) and math.isnan(scores["pointing"][2])
    summary = summarize_cam_scores(scores)
    assert (summary["images"], summary["marked_images"], summary["unmarked_images"]) == (3, 2, 1)
    assert summary["pointing"] == pytest.approx(0.5)
    assert summary["mark_share"] == pytest.approx(0.5)
    assert summary["vehicle_share"] == pytest.approx((1 + 0 + 1) / 3)


def test_no_marked_image_gives_nan_mark_means():
    summary = summarize_cam_scores(cam_scores(torch.ones(1, H, W), vehicle(), [[]], [(H, W)]))
    assert summary["marked_images"] == 0
    assert math.isnan(summary["mark_share"]) and math.isnan(summary["pointing_chance"])
    assert set(SCORE_KEYS) <= set(summary)


@pytest.mark.parametrize("heats, boxes, sizes, message", [
    (torch.ones(2, H, W), [[BOX]], [(H, W)] * 2, "one of each per map"),
    (torch.full((1, H, W), float("nan")), [[BOX]], [(H, W)], "NaN"),
    (torch.ones(H, W), [[BOX]], [(H, W)], "N×h×w"),
])
def test_bad_input_raises(heats, boxes, sizes, message):
    with pytest.raises(ValueError, match=message):
        cam_scores(heats, vehicle().expand(len(heats) if heats.dim() == 3 else 1, H, W),
                   boxes, sizes)


def test_negative_tolerance_and_missing_keys_raise():
    with pytest.raises(ValueError, match="tolerance"):
        pointing_hit(torch.ones(H, W), [BOX], (H, W), tolerance=-1)
    with pytest.raises(ValueError, match="missing"):
        summarize_cam_scores({"vehicle_share": np.ones(1)})
