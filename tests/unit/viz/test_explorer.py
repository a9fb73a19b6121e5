"""The explorers' base class and shared helpers."""
import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

widgets = pytest.importorskip("ipywidgets")

from vreid_lite.viz.explorer import (Explorer, as_numpy, close_widgets, figure_png,  # noqa: E402
                                     image_bytes, index_slider, show_image)


class Counter(Explorer):
    """Counts its draws; ``lazy`` leaves the first one to the first use of ``widget``."""

    def __init__(self, lazy: bool = False) -> None:
        self.slider = index_slider(5, "n")
        self.draws, self.summaries = 0, 0
        super().__init__(widgets.VBox([self.slider]), controls=(self.slider,))
        if not lazy:
            self.refresh()

    def draw(self) -> None:
        self.draws += 1

    def draw_summary(self) -> None:
        self.summaries += 1


def test_as_numpy_takes_tensors_arrays_and_sequences():
    assert as_numpy(torch.tensor([1.5, 2.5], requires_grad=True)).tolist() == [1.5, 2.5]
    bf16 = as_numpy(torch.tensor([0.5, 2.0], dtype=torch.bfloat16))
    assert bf16.dtype == np.float32 and bf16.tolist() == [0.5, 2.0]
    assert as_numpy(torch.tensor([1, 2]), float).dtype == np.float64
    assert as_numpy([[1, 2], [3, 4]], np.int64).shape == (2, 2)
    array = np.arange(3)
    assert as_numpy(array) is array


def test_a_control_change_redraws():
    explorer = Counter()
    assert explorer.draws == 1
    explorer.slider.value = 3
    assert explorer.draws == 2
    assert explorer.show() is explorer.widget and explorer.draws == 2


def test_a_lazy_explorer_draws_when_first_shown():
    explorer = Counter(lazy=True)
    explorer.slider.value = 2
    assert (explorer.draws, explorer.summaries) == (0, 1)
    explorer.widget
    explorer.widget
    assert explorer.draws == 1


def test_changes_held_do_not_redraw():
    explorer = Counter()
    with explorer.holding_changes():
        explorer.slider.value = 1
        explorer.slider.value = 4
    assert explorer.draws == 1
    explorer.slider.value = 0
    assert explorer.draws == 2


def test_close_widgets_closes_the_whole_tree():
    inner = widgets.HTML("x")
    tree = widgets.VBox([widgets.HBox([inner])])
    close_widgets(tree)
    assert tree.comm is None and inner.comm is None


def test_image_bytes_and_figure_png_decode_to_the_image():
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[:, :3] = (255, 0, 0)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image_bytes(image)))), image)
    assert Image.open(io.BytesIO(image_bytes(Image.fromarray(image), "jpeg"))).format == "JPEG"
    fig = Figure(figsize=(2, 1))
    show_image(fig.subplots(), image, frame="#ff0000")
    assert Image.open(io.BytesIO(figure_png(fig, dpi=50))).size == (100, 50)
