"""The explorers' base class and shared helpers."""
import base64
import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

widgets = pytest.importorskip("ipywidgets")

from vreid_lite.viz.explorer import (SNAPSHOT_DPI, Explorer, as_numpy,  # noqa: E402
                                     close_widgets, figure_png, fixed_image, image_bytes,
                                     index_slider, show_image, toggle_buttons)


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


class Drawn(Counter):
    """A Counter that draws its slider's value as a figure."""

    def render_static(self) -> Figure:
        fig = Figure(figsize=(2, 1))
        fig.suptitle(f"n = {self.slider.value}")
        return fig


def test_the_display_bundle_holds_the_widget_a_picture_and_a_line_of_text():
    explorer = Drawn()
    explorer.slider.value = 4
    bundle = explorer._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == explorer.widget.model_id
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert png.format == "PNG" and png.size == (2 * SNAPSHOT_DPI, SNAPSHOT_DPI)
    assert bundle["text/plain"].startswith("Drawn:")
    assert "VBox" not in bundle["text/plain"]


def test_without_a_picture_the_bundle_keeps_the_widget_and_the_text():
    explorer = Counter()
    explorer.snapshot = lambda: None
    bundle = explorer._repr_mimebundle_()
    assert "image/png" not in bundle
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "text/plain"}


def test_fixed_image_keeps_its_size():
    image = fixed_image(image_bytes(np.zeros((30, 50, 3), np.uint8)), (50, 30))
    assert (image.width, image.height) == ("50", "30")
    assert (image.layout.width, image.layout.height) == ("50px", "30px")
    assert image.layout.flex == "0 0 auto" and image.layout.object_fit == "contain"


def test_toggle_buttons_keep_their_label_on_their_row():
    buttons = toggle_buttons(["a", "b"], "pick", value="b")
    assert buttons.value == "b" and buttons.description == "pick"
    assert buttons.layout.flex_flow == "row nowrap"
