"""``ProgressBar``: tqdm's bar (a widget in a notebook, text elsewhere) whose saved notebook
output ends as the bar ended."""
from __future__ import annotations

from tqdm.auto import tqdm
from tqdm.notebook import tqdm_notebook

IN_NOTEBOOK = issubclass(tqdm, tqdm_notebook)
"""tqdm.auto chose the widget bar: this process is a notebook's kernel with ipywidgets."""


class ProgressBar(tqdm):
    """``tqdm.auto.tqdm``, taking the same arguments. In a notebook the bar's widget is shown
    under a display id and closing the bar updates that display. The saved output's text,
    which a page without widgets shows, then reads the final count (``fit: 100%| 240/240``)
    instead of the ``0%`` of the moment the bar first appeared."""

    def __init__(self, *args, **kwargs) -> None:
        self._handle = None
        if IN_NOTEBOOK:
            kwargs["display"] = False
        super().__init__(*args, **kwargs)
        if IN_NOTEBOOK and not self.disable:
            from IPython.display import display

            self._handle = display(self.container, display_id=True)
            self.displayed = True

    def close(self) -> None:
        super().close()
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            widget_bundle = self.container._repr_mimebundle_  # None once the widget is closed
            bundle = widget_bundle() if widget_bundle is not None else {}
            bundle["text/plain"] = self.container.__repr__(pretty=True)  # █ rather than #
            handle.update(bundle, raw=True)
