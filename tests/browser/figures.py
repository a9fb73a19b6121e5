"""What a person sees of a notebook's outputs: every plotly figure drawn with its data, and no
output left loading or showing an error in place of a widget or figure."""
from __future__ import annotations

import re

_FIGURES = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .js-plotly-plot'))
  .map(plot => {
    const out = plot.closest('.jp-OutputArea-output');
    return {
      title: plot.querySelector('.gtitle')?.textContent || '',
      svg: plot.querySelectorAll('svg.main-svg').length,
      traces: (plot.data || []).length,
      drawn: plot.querySelectorAll(
          '.cartesianlayer .trace, .heatmaplayer .hm, .polarlayer .trace, .pielayer .trace, '
          + '.barlayer .trace, .scatterlayer .trace, .imagelayer image').length,
      text: (out || plot).textContent,
      in_widget: !!plot.closest('.jupyter-widgets'),
    };
  })"""

_PLOTLY_OUTPUTS = """() => document.querySelectorAll(
  '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.plotly.v1+json"]'
).length"""

_STUCK = ("Loading widget", "Error displaying widget", "Loading...", "Error rendering",
          "Javascript Error", "Model not found")

_OUTPUT_TEXTS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel .jp-OutputArea-output')).map(o => o.textContent)"""


def figures(page) -> list[dict]:
    """Each plotly figure on the page: its title, SVG layers, traces in its data and drawn."""
    return page.evaluate(_FIGURES)


def plotly_outputs(page) -> int:
    """Cell outputs whose type is plotly's, drawn or not."""
    return page.evaluate(_PLOTLY_OUTPUTS)


def figure_problems(page) -> list[str]:
    """What is wrong with the page's figures; empty when every one drew its data."""
    problems = []
    for i, f in enumerate(figures(page)):
        name = f"figure {i} '{f['title']}'"
        if not f["svg"]:
            problems.append(f"{name}: no SVG")
        if not f["traces"] or not f["drawn"]:
            problems.append(f"{name}: {f['traces']} traces in its data, {f['drawn']} drawn")
        for word in ("Loading", "Error", "error"):
            if word in f["text"]:
                problems.append(f"{name}: its output says '{word}'")
    return problems


def stuck_outputs(page) -> list[str]:
    """Outputs that still load, or show an error instead of a widget or figure."""
    return [f"output says '{word}': {text[:160]!r}" for text in page.evaluate(_OUTPUT_TEXTS)
            for word in _STUCK if word in text]


_SAVED_OUTPUTS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel .jp-OutputArea-output')).map(o => ({
    text: o.textContent,
    images: Array.from(o.querySelectorAll('img')).filter(i => i.naturalWidth > 0).length}))"""

WIDGET_REPR = re.compile(r"\b\w+\(children=\(")
"""The text a widget falls back to without its kernel or saved state: ``VBox(children=(…``."""


def saved_output_problems(page, pictures: int) -> list[str]:
    """Before the notebook runs: no output shows a widget's repr, nothing is stuck loading or
    failing, and at least ``pictures`` outputs show an image (the explorers' saved pictures
    and the saved figures)."""
    outputs = page.evaluate(_SAVED_OUTPUTS)
    problems = [f"before running, an output shows a widget's repr: {o['text'][:120]!r}"
                for o in outputs if WIDGET_REPR.search(o["text"])]
    problems += [f"before running, {p}" for p in stuck_outputs(page)]
    shown = sum(o["images"] > 0 for o in outputs)
    if shown < pictures:
        problems.append(f"before running, {shown} outputs show an image; the notebook saved "
                        f"{pictures} pictures")
    return problems
