"""What the interactive explorers share: the :class:`Explorer` base (a widget tree redrawn when a
control changes, shown in a notebook) and the helpers they all use to turn values, images and
figures into something a widget or an axis shows."""
from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)
SNAPSHOT_DPI = 100
"""Resolution of the picture an explorer leaves in a notebook's saved output."""


def as_numpy(values: Any, dtype: Any = None) -> np.ndarray:
    """``values`` (a tensor on any device, an array or a sequence) as a numpy array, converted
    to ``dtype`` when given."""
    if torch.is_tensor(values):
        values = values.detach().cpu()
        if values.is_floating_point() and values.dtype not in _NUMPY_FLOATS:
            values = values.float()                      # numpy has no bfloat16
        values = values.numpy()
    return np.asarray(values, dtype=dtype)


def index_slider(n: int, description: str, value: int = 0):
    """A slider over the indices 0 … n−1 that reports a value once released (each change
    redraws)."""
    import ipywidgets as widgets

    return widgets.IntSlider(value=value, min=0, max=n - 1, description=description,
                             continuous_update=False)


def toggle_buttons(options: Sequence[Any], description: str, **kwargs: Any):
    """``ToggleButtons`` whose description sits on the buttons' row: in JupyterLab 4 the
    default layout puts it on a line of its own, apart from its buttons."""
    import ipywidgets as widgets

    return widgets.ToggleButtons(options=options, description=description,
                                 layout=widgets.Layout(display="flex", flex_flow="row nowrap",
                                                       align_items="center"), **kwargs)


def close_widgets(widget) -> None:
    """Close ``widget`` and every widget inside it: a kernel keeps each widget until closed."""
    for child in getattr(widget, "children", ()):
        close_widgets(child)
    widget.close()


def image_bytes(image: np.ndarray | Image.Image, format: str = "png") -> bytes:
    """An RGB image (H×W×3 uint8 or PIL) encoded as PNG or JPEG, for ``widgets.Image``."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    if format == "jpeg":
        image.save(buf, format="JPEG", quality=85)       # photos: a fraction of PNG's size
    else:
        image.save(buf, format="PNG")
    return buf.getvalue()


def figure_png(figure: Figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes, for ``widgets.Image``."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def fixed_image(value: bytes, size: tuple[int, int], format: str = "png"):
    """An image widget drawn at ``size`` = (width, height) pixels, aspect kept: neither a
    crowded row nor a taller neighbour shrinks or stretches it."""
    import ipywidgets as widgets

    w, h = size
    return widgets.Image(value=value, format=format, width=w, height=h,
                         layout=widgets.Layout(width=f"{w}px", height=f"{h}px",
                                               min_width=f"{w}px", flex="0 0 auto",
                                               object_fit="contain"))


def fixed_tile(value: bytes, size: tuple[int, int], caption: str, colour: str,
               format: str = "jpeg"):
    """:func:`fixed_image` with an HTML ``caption`` below it in ``colour``; each of the
    caption's lines (split by ``<br>``) stays whole, the tile widening when a line needs it."""
    import ipywidgets as widgets

    label = widgets.HTML(f"<div style='font-size:11px;line-height:1.25;color:{colour};"
                         f"white-space:nowrap'>{caption}</div>")
    return widgets.VBox([fixed_image(value, size, format), label],
                        layout=widgets.Layout(margin="2px 4px 2px 2px", flex="0 0 auto"))


def show_image(ax, image: Any, frame: str | None = None, frame_width: float = 3) -> None:
    """Draw ``image`` on ``ax`` without ticks, framed in colour ``frame`` when given."""
    ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    if frame is not None:
        for spine in ax.spines.values():
            spine.set_color(frame)
            spine.set_linewidth(frame_width)


class Explorer:
    """Base of the interactive explorers.

    A subclass builds its controls and its widget tree (``view``) and passes them to
    ``__init__``: a change of any control's value then calls ``on_change``. It writes ``draw``
    (redraw the tree for the controls' current values) and ``render_static`` (the same view as
    a matplotlib Figure). Displayed, an explorer leaves both the widget and a picture of it
    (``snapshot``) in the notebook, so a page that keeps no widgets still shows the view as it
    was. Most explorers call ``refresh()`` at the end of ``__init__``; one whose drawing is
    costly leaves that to the first use of ``widget`` and meanwhile keeps only
    ``draw_summary`` up to date.
    """

    def __init__(self, view, controls: Sequence[Any] = ()) -> None:
        self._view = view
        self._drawn = False
        self._quiet = False
        for control in controls:
            control.observe(self.on_change, names="value")

    @property
    def widget(self):
        """The whole interactive view (drawn now if it has not been yet)."""
        if not self._drawn:
            self.refresh()
        return self._view

    def show(self):
        """The widget (display it, or leave it as a cell's last expression)."""
        return self.widget

    def snapshot(self) -> Figure | None:
        """The view on show as a matplotlib Figure (None: nothing to draw); by default
        ``render_static()`` for the controls' current values."""
        return self.render_static()

    def describe(self) -> str:
        """One line saying what the view is, for pages that show only text."""
        return (f"{type(self).__name__}: an interactive view; run the notebook to use its "
                "controls")

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict[str, Any]:
        """The widget view, a PNG of :meth:`snapshot` and :meth:`describe`'s line.

        A live notebook draws the widget; a page without its widgets (a notebook viewer, a
        notebook not yet trusted or run) falls back to the picture, not the widget's repr."""
        view = self.widget
        bundle = dict(view._repr_mimebundle_(**kwargs) or {}) if view.comm is not None else {}
        figure = self.snapshot()
        if figure is not None:
            png = figure_png(figure, dpi=SNAPSHOT_DPI)
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = self.describe()
        return bundle

    def refresh(self) -> None:
        """Redraw the view for the controls' current values."""
        self._drawn = True
        self.draw()

    def draw(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define draw()")

    def render_static(self) -> Figure:
        raise NotImplementedError(f"{type(self).__name__} does not define render_static()")

    def draw_summary(self) -> None:
        """What an explorer not yet drawn keeps up to date as its controls change."""

    def on_change(self, change: dict | None = None) -> None:
        if self._quiet:
            return
        if self._drawn:
            self.refresh()
        else:
            self.draw_summary()

    @contextlib.contextmanager
    def holding_changes(self) -> Iterator[None]:
        """Set several controls without each change redrawing."""
        was, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = was
