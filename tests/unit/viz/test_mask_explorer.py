"""MaskExplorer driven through its controls."""
import math

import numpy as np
import pytest
import torch

pytest.importorskip("ipywidgets")

from vreid_lite.viz.mask_explorer import TRUTH_TITLE, MaskExplorer, tint  # noqa: E402

N, H, W = 3, 16, 16


def _truth():
    truth = np.zeros((N, H, W), dtype=np.uint8)
    truth[:, :, :8] = 1        # front on the left half
    truth[:, :, 8:] = 3        # side on the right half
    truth[2, :, :8] = 2        # image 2: rear instead of front
    return truth


def _masks():
    good = torch.zeros(N, 3, 8, 8)
    good[:, 0, :, :4] = 1.0    # front: left half
    good[:, 2, :, 4:] = 1.0    # side: right half
    good[2, 1] = good[2, 0]    # image 2: the left half is rear
    good[2, 0] = 0.0
    flat = torch.full((N, 3, 8, 8), 0.5)  # every view 0.5 everywhere: nothing passes > 0.5
    return {"full": good, "recon": flat}


@pytest.fixture
def explorer():
    images = np.full((N, H, W, 3), 100, dtype=np.uint8)
    return MaskExplorer(images, _masks(), truth=_truth(), captions=["a", "b", "c"])


def test_initial_state_shows_the_first_combination(explorer):
    assert explorer.combination.value == "full"
    assert set(explorer.current_masks) == {"front", "rear", "side"}
    assert explorer.current_masks["front"].shape == (H, W)
    assert explorer.current_iou["front"] == pytest.approx(1.0)
    assert explorer.current_iou["side"] == pytest.approx(1.0)
    assert math.isnan(explorer.current_iou["rear"])
    assert [t for t, _ in explorer.panels][-1] == TRUTH_TITLE
    assert explorer.strip.value[:4] == b"\x89PNG"


def test_controls_change_the_state(explorer):
    explorer.combination.value = "recon"
    assert explorer.current_iou["front"] == pytest.approx(0.0)
    assert np.allclose(explorer.current_masks["side"], 0.5)
    explorer.combination.value = "full"
    explorer.image.value = 2
    assert explorer.current_iou["rear"] == pytest.approx(1.0)
    assert math.isnan(explorer.current_iou["front"])
    explorer.show_truth.value = False
    assert len(explorer.panels) == 4 and "c" in explorer.caption.value


def test_render_static_draws_a_row_per_combination(explorer):
    fig = explorer.render_static(0)
    assert len(fig.axes) == 2 * 5
    assert len(explorer.render_static(1, ["recon"]).axes) == 5


def test_without_truth_there_is_no_iou_and_no_truth_panel():
    images = np.zeros((N, H, W, 3), dtype=np.uint8)
    explorer = MaskExplorer(images, _masks())
    assert explorer.current_iou == {} and len(explorer.panels) == 4
    assert explorer.show_truth.disabled


def test_bad_inputs_are_named():
    images = np.zeros((N, H, W, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="masks\\['x'\\]"):
        MaskExplorer(images, {"x": torch.zeros(N, 2, 8, 8)})
    with pytest.raises(ValueError, match="truth"):
        MaskExplorer(images, _masks(), truth=np.zeros((N, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        MaskExplorer(images.astype(np.float32), _masks())


def test_tint_blends_by_the_mask():
    image = np.zeros((1, 2, 3), dtype=np.uint8)
    out = tint(image, np.array([[0.0, 1.0]]), (200, 100, 0), alpha=0.5)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [100, 50, 0]


def test_it_opens_on_the_full_combination_with_titled_panels():
    images = np.full((N, H, W, 3), 100, dtype=np.uint8)
    masks = _masks()
    explorer = MaskExplorer(images, {"recon": masks["recon"], "full": masks["full"]},
                            truth=_truth(), captions=["a", "b", "c"])
    assert explorer.combination.value == "full"
    titles = [t for t, _ in explorer.panels]
    assert titles == ["image: a", "front mask · IoU 1.00", "rear mask", "side mask · IoU 1.00",
                      TRUTH_TITLE]
    drawn = [ax.get_title() for ax in explorer.snapshot().axes]
    assert drawn == titles
    assert explorer.strip.value[:4] == b"\x89PNG"


def test_the_opening_combination_can_be_chosen_and_is_checked():
    images = np.zeros((N, H, W, 3), dtype=np.uint8)
    assert MaskExplorer(images, _masks(), combination="recon").combination.value == "recon"
    assert MaskExplorer(images, {"x": _masks()["recon"]}).combination.value == "x"
    with pytest.raises(ValueError, match="combination: expected one of"):
        MaskExplorer(images, _masks(), combination="nope")
