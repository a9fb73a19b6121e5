"""Normalised batches back to pictures."""
import numpy as np
import pytest
import torch

from vreid_lite.data.transforms import normalize
from vreid_lite.viz.batch_images import batch_figure, denormalize, denormalize_to_uint8


def _images(n=6, h=8, w=4):
    return torch.randint(0, 256, (n, 3, h, w), generator=torch.Generator().manual_seed(0),
                         dtype=torch.uint8)


def test_denormalize_undoes_normalize():
    images = _images()
    back = denormalize(normalize(images))
    assert back.dtype == torch.float32 and back.min() >= 0 and back.max() <= 1
    assert torch.allclose(back * 255, images.float(), atol=1e-3)
    assert torch.allclose(denormalize(normalize(images).bfloat16()), back, atol=2e-2)


def test_denormalize_to_uint8_gives_the_channels_last_images():
    images = _images()
    shown = denormalize_to_uint8(normalize(images))
    assert shown.dtype == np.uint8
    assert np.array_equal(shown, images.permute(0, 2, 3, 1).numpy())


def test_batch_figure_puts_an_identity_in_each_column():
    p, k, h, w = 3, 2, 8, 4
    images = torch.zeros(p * k, 3, h, w, dtype=torch.uint8)
    for i in range(p):
        images[i * k:(i + 1) * k, 0] = 80 * (i + 1)      # identity i: red 80·(i+1)
    fig = batch_figure(normalize(images), p, k, title="batch")
    grid = fig.axes[0].images[0].get_array()
    assert grid.shape[:2] == (k * (h + 2) + 2, p * (w + 2) + 2)
    for i in range(p):
        column = grid[2:, 2 + i * (w + 2) + w // 2, 0]
        assert np.allclose(column[column < 1], 80 * (i + 1) / 255, atol=1e-3)
    assert fig.axes[0].get_title() == "batch"
    with pytest.raises(ValueError, match="3×3 = 9 images"):
        batch_figure(normalize(images), 3, 3)
