"""foreground_share and camera_bias: the two shortcut measures."""
import numpy as np
import pytest
import torch

from vreid_lite.metrics import camera_bias, foreground_share, foreground_shares


def _half_masks(n=2, size=8):
    masks = torch.zeros(n, size, size, dtype=torch.uint8)
    masks[:, :, : size // 2] = 1  # the vehicle fills the left half
    return masks


def test_uniform_map_scores_the_vehicle_area():
    fg = foreground_share(torch.ones(2, 4, 4), _half_masks())
    assert fg.area == pytest.approx(0.5)
    assert fg.share == pytest.approx(0.5)
    assert fg.ratio == pytest.approx(1.0)


def test_map_on_the_vehicle_scores_above_chance_and_on_background_below():
    on = torch.zeros(2, 8, 8)
    on[:, :, :4] = 1.0
    assert foreground_share(on, _half_masks()).ratio == pytest.approx(2.0)
    assert foreground_share(1.0 - on, _half_masks()).ratio == pytest.approx(0.0)


def test_low_resolution_maps_are_spread_over_the_mask():
    coarse = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # left column of a 2×2 map
    shares, areas = foreground_shares(coarse, _half_masks(1, 16)[:, None])
    assert areas[0] == pytest.approx(0.5)
    assert shares[0] > 0.75


def test_an_empty_map_scores_its_area():
    shares, areas = foreground_shares(torch.zeros(1, 4, 4), _half_masks(1))
    assert shares[0] == pytest.approx(areas[0])


@pytest.mark.parametrize("maps, masks, match", [
    (torch.ones(2, 4, 4), torch.ones(3, 4, 4), "same N"),
    (-torch.ones(1, 4, 4), torch.ones(1, 4, 4), "negative"),
    (torch.full((1, 4, 4), float("nan")), torch.ones(1, 4, 4), "NaN"),
])
def test_bad_maps_are_refused(maps, masks, match):
    with pytest.raises(ValueError, match=match):
        foreground_share(maps, masks)


def test_camera_bias_counts_own_camera_items_after_removing_junk():
    # one query (pid 1, camera 1); gallery: a junk copy, two other vehicles under camera 1, and
    # the true match plus one more vehicle under camera 2
    g_pids = [1, 2, 3, 1, 4]
    g_cams = [1, 1, 1, 2, 2]
    dist = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    bias = camera_bias(dist, [1], g_pids, [1], g_cams, k=2)
    assert bias.own_topk == pytest.approx(1.0)        # the two camera-1 strangers lead
    assert bias.expected == pytest.approx(2 / 4)      # 2 of the 4 non-junk items are camera 1
    assert bias.ratio == pytest.approx(2.0)
    fair = camera_bias(torch.tensor([[0.0, 0.3, 0.4, 0.1, 0.2]]), [1], g_pids, [1], g_cams, k=2)
    assert fair.own_topk == pytest.approx(0.0)


def test_camera_bias_with_k_beyond_the_gallery_uses_what_is_left():
    bias = camera_bias(np.zeros((1, 3)), [1], [1, 2, 3], [1], [1, 1, 2], k=10)
    assert bias.own_topk == pytest.approx(0.5)  # 2 items left after junk, one from camera 1
    assert bias.expected == pytest.approx(0.5)


def test_camera_bias_refuses_mismatched_ids_and_bad_k():
    with pytest.raises(ValueError, match="g_camids"):
        camera_bias(torch.zeros(1, 3), [1], [1, 2, 3], [1], [1, 2])
    with pytest.raises(ValueError, match="k must be"):
        camera_bias(torch.zeros(1, 3), [1], [1, 2, 3], [1], [1, 2, 3], k=0)
