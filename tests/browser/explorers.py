"""The explorers on a notebook page (top-level widget views that hold controls), their
controls, and a fingerprint of what they show, so that a test can change a control and see the
view change."""
from __future__ import annotations

from dataclasses import dataclass

CONTROLS = (".widget-toggle-buttons, .widget-dropdown, .widget-select, .widget-checkbox, "
            ".widget-slider, button.widget-toggle-button")
"""Containers of the controls a person changes; everything else in an explorer is its view."""

_FIND = """(controls) => {
  const roots = Array.from(document.querySelectorAll(
      '.jp-NotebookPanel .jp-OutputArea-output > .jupyter-widgets'));
  return roots.map((root, i) => {
    const found = Array.from(root.querySelectorAll(controls))
      .filter(c => !c.parentElement.closest(controls));
    return {root: i, controls: found.length};
  });
}"""

_CONTROL = """([root, index, controls]) => {
  const roots = document.querySelectorAll(
      '.jp-NotebookPanel .jp-OutputArea-output > .jupyter-widgets');
  return Array.from(roots[root].querySelectorAll(controls))
    .filter(c => !c.parentElement.closest(controls))[index];
}"""

_DESCRIBE = """(c) => {
  const kinds = ['toggle-buttons', 'select-multiple', 'dropdown', 'select', 'checkbox',
                 'slider'];
  const kind = kinds.find(k => c.classList.contains('widget-' + k)) || 'toggle-button';
  const label = (c.querySelector('.widget-label')?.textContent || '').replace('\u200b', '')
    .trim() || c.querySelector('span[title]')?.title || c.textContent.trim();
  const select = c.querySelector('select');
  const options = select ? select.options.length
    : c.querySelectorAll('.widget-toggle-button').length;
  const disabled = !!(c.querySelector('select, input, button')?.disabled
    || c.querySelector('[disabled]'));
  return {kind, label, options, disabled};
}"""

_FINGERPRINT = """async ([root, controls]) => {
  const el = document.querySelectorAll(
      '.jp-NotebookPanel .jp-OutputArea-output > .jupyter-widgets')[root];
  const inControl = (n) => !!n.closest(controls) && el.contains(n.closest(controls));
  const hex = async (data) => Array.from(new Uint8Array(
      await crypto.subtle.digest('SHA-256', data)))
      .map(b => b.toString(16).padStart(2, '0')).join('');
  const copy = el.cloneNode(true);
  copy.querySelectorAll(controls).forEach(c => c.remove());
  const parts = [copy.textContent];
  for (const img of el.querySelectorAll('img')) {
    // a plotly figure holds an <img> for its static snapshot: its data stand for it below
    if (inControl(img) || img.closest('.js-plotly-plot') || !img.getAttribute('src')) continue;
    // its pixels, read from the page: fetching a blob URL that a redraw revoked meanwhile
    // would log an error in the console
    if (!img.complete || !img.naturalWidth) {
      parts.push('loading ' + img.src);
      continue;
    }
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    parts.push(await hex(context.getImageData(0, 0, canvas.width, canvas.height).data));
  }
  for (const plot of el.querySelectorAll('.js-plotly-plot')) {
    // plotly gives each drawn trace a random uid: left out, so a redraw of the same
    // figure is not a change
    parts.push(JSON.stringify(plot.data || null, (k, v) => k === 'uid' ? undefined : v));
  }
  return {digest: await hex(new TextEncoder().encode(parts.join('\\u0000'))),
          images: parts.length - 1, text: copy.textContent.length};
}"""


@dataclass
class Control:
    explorer: int           # index among the page's top-level widget views
    index: int              # index among that view's controls
    kind: str
    label: str
    options: int            # a dropdown's or toggle's choices; 0 for others
    disabled: bool

    @property
    def name(self) -> str:
        return f"{self.kind} '{self.label}'"


def explorer_roots(page) -> list[int]:
    """Indices of the top-level widget views that hold at least one control."""
    return [r["root"] for r in page.evaluate(_FIND, CONTROLS) if r["controls"]]


def handle(page, explorer: int, index: int):
    return page.evaluate_handle(_CONTROL, [explorer, index, CONTROLS]).as_element()


def root_handle(page, explorer: int):
    return page.evaluate_handle(
        "(i) => document.querySelectorAll("
        "'.jp-NotebookPanel .jp-OutputArea-output > .jupyter-widgets')[i]",
        explorer).as_element()


def controls_of(page, explorer: int) -> list[Control]:
    count = next(r["controls"] for r in page.evaluate(_FIND, CONTROLS) if r["root"] == explorer)
    return [Control(explorer, i, **handle(page, explorer, i).evaluate(_DESCRIBE))
            for i in range(count)]


def fingerprint(page, explorer: int) -> dict:
    """A digest of the explorer's view (text, image bytes, plotly data), controls left out."""
    return page.evaluate(_FINGERPRINT, [explorer, CONTROLS])


def change(page, control: Control):
    """Change ``control`` as a person would; returns (what was done, a function that changes
    it back). Raises ValueError when the control offers nothing else to choose."""
    el = handle(page, control.explorer, control.index)
    el.scroll_into_view_if_needed()
    if control.kind in ("dropdown", "select", "select-multiple"):
        if control.options < 2:
            raise ValueError(f"{control.name} has {control.options} option(s)")
        select = el.query_selector("select")
        chosen = select.evaluate(
            "s => Array.from(s.options).flatMap((o, i) => o.selected ? [i] : [])")
        if control.kind == "select-multiple":
            target = [0] if len(chosen) != 1 else list(range(control.options))
            action = f"chose {len(target)} of {control.options}"
        else:
            target = [((chosen or [-1])[0] + 1) % control.options]
            action = "chose '" + select.evaluate("(s, i) => s.options[i].textContent",
                                                  target[0]) + "'"
        select.select_option(index=target)
        return action, lambda: select.select_option(index=chosen)
    if control.kind == "toggle-buttons":
        active = el.query_selector(".widget-toggle-button.mod-active")
        others = el.query_selector_all(".widget-toggle-button:not(.mod-active)")
        if not others:
            raise ValueError(f"{control.name} has {control.options} option(s)")
        others[0].click()
        return f"pressed '{others[0].text_content().strip()}'", active.click
    if control.kind in ("checkbox", "toggle-button"):
        target = el.query_selector("input") or el
        target.click()
        return "clicked", target.click
    if control.kind == "slider":
        slider = el.query_selector(".noUi-handle")
        at_max = slider.evaluate("h => parseFloat(h.getAttribute('aria-valuenow'))"
                                 " >= parseFloat(h.getAttribute('aria-valuemax'))")
        key, back = ("ArrowLeft", "ArrowRight") if at_max else ("ArrowRight", "ArrowLeft")
        slider.focus()
        page.keyboard.press(key)

        def undo():
            slider.focus()
            page.keyboard.press(back)
        return f"pressed {key}", undo
    raise ValueError(f"{control.name}: no way to change this kind of control")
