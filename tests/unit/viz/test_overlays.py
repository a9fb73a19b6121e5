import numpy as np
import pytest

from vreid_lite.data.marks import scale_boxes
from vreid_lite.viz.overlays import (MARK_COLOR, PART_COLORS, draw_boxes, overlay_heatmap,
                                     overlay_mask)


def _image(h=12, w=16, value=100):
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_overlay_mask_keeps_shape_and_dtype():
    mask = np.zeros((12, 16), dtype=np.uint8)
    mask[2:5, 3:9] = 1
    out = overlay_mask(_image(), mask)
    assert out.shape == (12, 16, 3)
    assert out.dtype == np.uint8


def test_overlay_mask_colours_only_labelled_pixels():
    image = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    mask = np.zeros((12, 16), dtype=np.uint8)
    mask[1:4, 2:6] = 1
    mask[6:9, 8:12] = 2
    mask[10:, :5] = 3
    out = overlay_mask(image, mask, alpha=0.5)
    background = mask == 0
    assert np.array_equal(out[background], image[background])
    for label in (1, 2, 3):
        where = mask == label
        expected = np.rint(0.5 * image[where].astype(float) + 0.5 * np.array(PART_COLORS[label]))
        assert np.array_equal(out[where], expected.astype(np.uint8))


def test_overlay_mask_alpha_one_paints_the_part_colour():
    mask = np.zeros((12, 16), dtype=np.uint8)
    mask[4:6, 4:6] = 3
    out = overlay_mask(_image(), mask, alpha=1.0)
    assert (out[4:6, 4:6] == np.array(PART_COLORS[3], dtype=np.uint8)).all()


def test_overlay_mask_does_not_modify_its_input():
    image = _image()
    mask = np.ones((12, 16), dtype=np.uint8)
    overlay_mask(image, mask)
    assert (image == 100).all()


def test_overlay_mask_rejects_mismatched_or_unknown_masks():
    with pytest.raises(ValueError, match="expected shape"):
        overlay_mask(_image(), np.zeros((5, 5), dtype=np.uint8))
    bad = np.zeros((12, 16), dtype=np.uint8)
    bad[0, 0] = 7
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        overlay_mask(_image(), bad)
    with pytest.raises(ValueError, match="uint8"):
        overlay_mask(np.zeros((12, 16, 3), dtype=np.float32), np.zeros((12, 16)))


def test_draw_boxes_outlines_exactly_the_box_border():
    out = draw_boxes(_image(value=0), [[3, 2, 9, 7]])
    painted = (out == np.array(MARK_COLOR, dtype=np.uint8)).all(axis=2)
    expected = np.zeros((12, 16), dtype=bool)
    expected[2, 3:9] = expected[6, 3:9] = True     # top and bottom rows (y1 exclusive)
    expected[2:7, 3] = expected[2:7, 8] = True     # left and right columns (x1 exclusive)
    assert np.array_equal(painted, expected)


def test_draw_boxes_thickness_and_colour():
    out = draw_boxes(_image(value=0), [[0, 0, 6, 6]], color=(1, 2, 3), thickness=2)
    painted = (out == np.array([1, 2, 3], dtype=np.uint8)).all(axis=2)
    assert painted[:6, :6].sum() == 36 - 4  # a 6×6 box, a 2×2 hole in the middle
    assert not painted[2:4, 2:4].any()
    assert not painted[6:, :].any() and not painted[:, 6:].any()


def test_draw_boxes_clips_to_the_image_and_rejects_empty_boxes():
    out = draw_boxes(_image(value=0), [[10, 8, 40, 40]])
    painted = (out == np.array(MARK_COLOR, dtype=np.uint8)).all(axis=2)
    assert painted[8, 10:].all() and painted[8:, 10].all()
    assert painted.sum() == 6 + 4 - 1
    with pytest.raises(ValueError, match="box 1"):
        draw_boxes(_image(), [[0, 0, 2, 2], [5, 5, 5, 9]])


def test_scale_boxes_follows_the_resize():
    assert scale_boxes([[10, 20, 30, 40]], (100, 200), (50, 50)) == [[2.5, 10.0, 7.5, 20.0]]


def test_overlay_heatmap_resizes_the_map_and_keeps_dtype():
    heat = np.zeros((3, 4), dtype=np.float32)
    heat[0, 0] = 1.0
    out = overlay_heatmap(_image(), heat, alpha=0.5)
    assert out.shape == (12, 16, 3) and out.dtype == np.uint8
    assert not np.array_equal(out[0, 0], out[-1, -1])
    with pytest.raises(ValueError, match="2-D"):
        overlay_heatmap(_image(), np.zeros((2, 2, 2)))
