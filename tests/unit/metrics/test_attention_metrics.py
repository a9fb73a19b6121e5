"""Share of attention mass on identity-mark boxes: hand-made maps, then a model's maps."""
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vreid_lite.data.records import Record
from vreid_lite.metrics import MarkShare, mark_attention_share, mark_attention_shares
from vreid_lite.data.marks import records_with_marks
from vreid_lite.engine.maps import collect_maps, model_mark_shares
from vreid_lite.metrics.attention import boxes_mask
from vreid_lite.models import ReIDOutput, build_model


def test_all_mass_inside_one_box():
    heat = np.zeros((4, 4))
    heat[1:3, 1:3] = 1.0
    result = mark_attention_share(heat, [[1, 1, 3, 3]], (4, 4))
    assert isinstance(result, MarkShare)
    assert result.share == pytest.approx(1.0)
    assert result.chance == pytest.approx(4 / 16)


def test_hand_counted_share_and_chance():
    heat = np.array([[1.0, 1.0, 1.0, 1.0],
                     [1.0, 3.0, 1.0, 1.0],
                     [1.0, 1.0, 1.0, 1.0],
                     [1.0, 1.0, 1.0, 1.0]])
    # the box covers pixels (row 1, cols 0..1) and (row 2, cols 0..1): 3 + 1 + 1 + 1 of 18
    share, chance = mark_attention_share(heat, [[0, 1, 2, 3]], (4, 4))
    assert share == pytest.approx(6 / 18)
    assert chance == pytest.approx(4 / 16)


def test_uniform_map_scores_the_chance_level_at_any_resolution():
    for shape in [(4, 4), (2, 3), (1, 1)]:
        share, chance = mark_attention_share(torch.full(shape, 0.7), [[2, 1, 6, 5]], (8, 10))
        assert chance == pytest.approx(16 / 80)
        assert share == pytest.approx(chance)


def test_floor_measures_only_the_attention_above_it():
    heat = torch.full((1, 1, 4, 4), 0.5)
    heat[0, 0, 0, 0] = 1.0
    raw = mark_attention_share(heat, [[0, 0, 1, 1]], (4, 4))
    lifted = mark_attention_share(heat, [[0, 0, 1, 1]], (4, 4), floor=0.5)
    assert raw.share == pytest.approx(1.0 / 8.5)
    assert lifted.share == pytest.approx(1.0)
    flat = mark_attention_share(torch.full((4, 4), 0.5), [[0, 0, 2, 2]], (4, 4), floor=0.5)
    assert flat.share == pytest.approx(flat.chance) and flat.chance == pytest.approx(0.25)


def test_overlapping_boxes_count_once_and_are_clipped():
    mask = boxes_mask([[0, 0, 3, 2], [1, 0, 4, 2], [3, 3, 9, 9]], (4, 4))
    assert mask.sum() == 8 + 1
    assert mark_attention_share(np.ones((4, 4)), [[-5, -5, 2, 2]], (4, 4)).chance == \
        pytest.approx(4 / 16)


def test_map_is_spread_over_a_non_square_image():
    # a 1×2 map: left half hot, right half cold, on a 10×20 image; box on the left quarter
    heat = torch.tensor([[1.0, 0.0]])
    share, chance = mark_attention_share(heat, [[0, 0, 5, 10]], (10, 20))
    assert chance == pytest.approx(0.25)
    # bilinear spreading: columns 0-4 stay 1, 5-14 fall linearly to 0, 15-19 are 0
    assert share == pytest.approx(5 / 10)


def test_no_boxes_scores_zero():
    assert mark_attention_share(np.ones((3, 3)), [], (3, 3)) == (0.0, 0.0)


def test_batch_version_matches_single_maps():
    heats = torch.rand(3, 1, 5, 5)
    boxes = [[[0, 0, 2, 2]], [[1, 1, 4, 5], [0, 0, 1, 1]], []]
    sizes = [(5, 5), (10, 6), (5, 5)]
    shares, chances = mark_attention_shares(heats, boxes, sizes, floor=0.1)
    for i in range(3):
        one = mark_attention_share(heats[i], boxes[i], sizes[i], floor=0.1)
        assert shares[i] == pytest.approx(one.share) and chances[i] == pytest.approx(one.chance)


@pytest.mark.parametrize("heat, boxes, size, message", [
    (np.ones((2, 3, 3)), [[0, 0, 1, 1]], (3, 3), "one map"),
    (np.array([[np.nan, 1.0]]), [[0, 0, 1, 1]], (3, 3), "NaN"),
    (np.ones((3, 3)), [[2, 0, 1, 1]], (3, 3), "box 0: expected x0 < x1"),
    (np.ones((3, 3)), [[0, 0, 1]], (3, 3), r"box 0: expected \[x0, y0, x1, y1\]"),
    (np.ones((3, 3)), [[0, 0, 1, 1]], (0, 3), "image_size"),
])
def test_bad_input_is_named(heat, boxes, size, message):
    with pytest.raises(ValueError, match=message):
        mark_attention_share(heat, boxes, size)


def test_batch_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 maps but 1 box lists"):
        mark_attention_shares(torch.ones(2, 1, 3, 3), [[]], [(3, 3), (3, 3)])


# ---------------------------------------------------------------- on a model's maps

class LeftHalfAttention(nn.Module):
    """A 4×4 'sab' map: 1 on the left two columns, 0.5 (the floor) on the right two."""

    def forward(self, images):
        sab = torch.full((len(images), 1, 4, 4), 0.5)
        sab[..., :2] = 1.0
        return ReIDOutput(embedding=images.mean((2, 3)), maps={"sab": sab})


@pytest.fixture
def records(tmp_path):
    out = []
    for i in range(3):
        path = tmp_path / f"000{i}_c001_0_0.jpg"
        Image.new("RGB", (40, 20), (40 * i, 90, 160)).save(path)  # 20 high, 40 wide
        out.append(Record(str(path), i, 1))
    return out


def test_model_shares_map_boxes_from_the_original_image(records):
    marks = {records[0].name: [{"kind": "side_stripe", "box": [0, 0, 20, 20]}],
             records[1].name: [{"kind": "rear_decal", "box": [20, 0, 40, 20]}],
             records[2].name: []}
    shown = records_with_marks(records, marks)
    assert shown == records[:2]
    shares, chances = model_mark_shares(LeftHalfAttention(), shown, marks, (8, 8), device="cpu")
    # left half: columns 0-14 of 40 keep 1, 15-24 fade linearly: 18.75 of 20 above the floor
    assert shares == pytest.approx([18.75 / 20, 1.25 / 20])
    assert chances == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match=f"{records[2].name}: no visible mark"):
        model_mark_shares(LeftHalfAttention(), records, marks, (8, 8), device="cpu")


def test_collect_maps_keeps_order_and_mode(records):
    torch.manual_seed(0)
    model = build_model("scan", 3, backbone="quick_net", pretrained=False).train()
    maps = collect_maps(model, records, (32, 64), names=("sab", "cab"), device="cpu",
                        batch_size=2)
    assert model.training
    assert maps["sab"].shape == (3, 1, 4, 8) and maps["cab"].shape == (3, 256)
    one = collect_maps(model, records[2:], (32, 64), device="cpu")
    assert torch.allclose(one["sab"][0], maps["sab"][2], atol=1e-6)
    assert set(one) == {"sab", "cab", "feature"}
    with pytest.raises(KeyError, match="no map 'lam'"):
        collect_maps(model, records, (32, 64), names=("lam",), device="cpu")
