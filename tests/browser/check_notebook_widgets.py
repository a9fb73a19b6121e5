"""Each notebook with widgets, opened in JupyterLab in headless Chromium and run from the menu:
every explorer control changes its view, every plotly figure draws its data, nothing is left
loading, no cell fails and the browser console stays free of errors.

A temporary copy of the notebooks is run, so the committed ones are never modified; data is
read from (and, the first time, rendered into) the kit's data folder. Screenshots and a JSON
report go to ``<runs>/browser/``. ``VREID_BROWSER_NOTEBOOKS`` (paths, space-separated) narrows
the notebooks to run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from vreid_lite.paths import REPO_ROOT, data_home, runs_home

from .explorers import change, controls_of, explorer_roots, fingerprint, root_handle
from .figures import (figure_problems, figures, plotly_outputs, saved_output_problems,
                      stuck_outputs)
from .lab_page import LabNotebook
from .lab_server import LabServer

NOTEBOOK_GLOB = "0[0-7]_*.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RUN_TIMEOUT_S = 1800          # one notebook at the quick preset: about a minute on two cores
CHANGE_TIMEOUT_S = 120        # one control's redraw
QUIET_S = 10                  # an idle kernel and an unchanged view this long: no change comes


def saved_outputs(path: Path) -> list[tuple[int, dict]]:
    """(cell index, output data) of every output saved in the notebook file."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, out.get("data", {})) for i, c in enumerate(cells) for out in c.get("outputs", ())]


def has_widgets(path: Path) -> bool:
    return any(WIDGET_MIME in data for _, data in saved_outputs(path))


def listed_notebooks() -> list[Path]:
    named = os.environ.get("VREID_BROWSER_NOTEBOOKS", "").split()
    paths = [REPO_ROOT / n for n in named] or sorted((REPO_ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    return [p for p in paths if not p.is_file() or has_widgets(p)]


NOTEBOOKS = listed_notebooks()


def test_notebooks_with_widgets_are_listed():
    missing = [str(p) for p in NOTEBOOKS if not p.is_file()]
    assert not missing, f"VREID_BROWSER_NOTEBOOKS names notebooks that do not exist: {missing}"
    assert NOTEBOOKS, f"no notebook matching notebooks/{NOTEBOOK_GLOB} has widget outputs"


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = runs_home() / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, shots):
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO_ROOT / "notebooks", root / "notebooks")
    # a fresh, empty runs folder: notebook 06 then shows the committed snapshot, the same
    # on every machine, and nothing run here lands among the user's runs
    env = {"VREID_DATA_DIR": str(data_home()), "VREID_RUNS_DIR": str(root / "runs")}
    # a SIGTERM (a CI time limit) then still stops the server through the finally below
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with LabServer(root / "notebooks", root / "server", env) as server:
            yield server
    finally:
        signal.signal(signal.SIGTERM, previous)
    shutil.copy(server.log_path, shots / "jupyter-lab.log")


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package "
                    "(make test-browser does, as root), or set CHROMIUM to a Chromium binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    yield page
    context.close()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def failed_cells(saved: dict) -> list[str]:
    found = []
    for i, cell in enumerate(saved["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        errors = [f"{o['ename']}: {o['evalue']}" for o in cell.get("outputs", ())
                  if o["output_type"] == "error"]
        if errors or cell.get("execution_count") is None:
            found.append(f"cell {i}: " + ("; ".join(errors) or "did not run"))
    return found


def view_changes(page, lab_nb, explorer: int, before: str) -> bool:
    """Whether the explorer's view comes to differ from ``before``: waits for the change
    while the kernel works, and until the kernel has been idle a while without one."""
    start = time.monotonic()
    while time.monotonic() - start < CHANGE_TIMEOUT_S:
        if fingerprint(page, explorer)["digest"] != before:
            lab_nb.wait_idle(CHANGE_TIMEOUT_S)
            return fingerprint(page, explorer)["digest"] != before
        if time.monotonic() - start > QUIET_S and lab_nb.kernel_status() == "idle":
            return False
        time.sleep(0.5)
    return False


def exercise_explorer(page, lab_nb, explorer: int, stem: str, shots: Path) -> list[dict]:
    """Change each control of one explorer, and change it back before the next one (so each
    is tried from the state the notebook left); what was done and whether the view changed."""
    results = []
    for control in controls_of(page, explorer):
        entry = {"control": control.name}
        if control.disabled:
            entry.update(action="disabled: left alone", changed=None)
            results.append(entry)
            continue
        before = fingerprint(page, explorer)["digest"]
        try:
            entry["action"], undo = change(page, control)
        except ValueError as exc:
            entry.update(action=f"nothing to change ({exc})", changed=None)
            results.append(entry)
            continue
        entry["changed"] = view_changes(page, lab_nb, explorer, before)
        root_handle(page, explorer).screenshot(
            path=shots / f"{stem}-explorer{explorer}-{control.index:02d}-{slug(control.label)}.png")
        undo()
        lab_nb.wait_idle(CHANGE_TIMEOUT_S)
        entry["restored"] = fingerprint(page, explorer)["digest"] == before
        results.append(entry)
    return results


def run_and_check(page, lab_nb, stem: str, shots: Path):
    """Run the notebook from the menu, then exercise and inspect it; (seconds, explorers'
    results, figures, problems)."""
    lab_nb.open()   # as saved, before running: pictures where explorers stand
    saved = saved_outputs(lab_nb.path)
    pictures = sum("image/png" in data for _, data in saved)  # figures and explorers' views
    problems = [f"{stem} {p}" for p in saved_output_problems(page, pictures)]
    cells = page.query_selector_all(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    explorer_cells = sorted({i for i, data in saved if {WIDGET_MIME, "image/png"} <= set(data)})
    for i in explorer_cells:
        area = cells[i].query_selector(".jp-OutputArea")
        area.scroll_into_view_if_needed()
        area.screenshot(path=shots / f"{stem}-saved-cell{i:02d}.png")
    seconds = lab_nb.run_all(RUN_TIMEOUT_S)
    problems += [f"{stem} {p}" for p in failed_cells(lab_nb.save())]
    page.screenshot(path=shots / f"{stem}.png")
    explorers = {}
    for explorer in explorer_roots(page):
        explorers[explorer] = exercise_explorer(page, lab_nb, explorer, stem, shots)
        problems += [f"{stem} explorer {explorer}: {r['control']} {r['action']}, the view did "
                     "not change" for r in explorers[explorer] if r["changed"] is False]
    for i, handle in enumerate(page.query_selector_all(".jp-NotebookPanel .js-plotly-plot")):
        handle.scroll_into_view_if_needed()
        handle.screenshot(path=shots / f"{stem}-figure{i:02d}.png")
    drawn = figures(page)
    problems += [f"{stem} {p}" for p in figure_problems(page) + stuck_outputs(page)]
    if plotly_outputs(page) > sum(not f["in_widget"] for f in drawn):
        problems.append(f"{stem}: {plotly_outputs(page)} plotly outputs, "
                        f"{sum(not f['in_widget'] for f in drawn)} drawn")
    problems += [f"{stem} console: {e}" for e in page.console_errors]
    return seconds, explorers, drawn, problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_widgets_respond_in_jupyterlab(notebook, lab, page, shots, capsys):
    stem = notebook.stem
    path = lab.root / notebook.name
    lab_nb = LabNotebook(page, lab.url, lab.root, path)
    try:
        seconds, explorers, drawn, problems = run_and_check(page, lab_nb, stem, shots)
        cpu = lab.kernel_cpu_seconds()
        lab_nb.close()
    finally:
        lab.shutdown_kernels()

    report = {"notebook": stem, "run_s": round(seconds, 1), "kernel_cpu_s": cpu,
              "load_average": os.getloadavg()[0], "explorers": explorers,
              "figures": drawn, "problems": problems}
    for f in report["figures"]:
        f.pop("text")
    (shots / f"{stem}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    controls = [r for rs in explorers.values() for r in rs]
    with capsys.disabled():
        print(f"\n{stem}: ran in {seconds:.0f} s (kernel CPU {cpu or 0:.0f} s); "
              f"{len(explorers)} explorer(s), "
              f"{sum(bool(r['changed']) for r in controls)} of {len(controls)} controls changed "
              f"the view; {len(drawn)} plotly figure(s)")
    assert not problems, "\n".join(problems)


HARNESS_CELLS = (
    "import ipywidgets as widgets\nimport plotly.graph_objects as go",
    "dead = widgets.Dropdown(options=['a', 'b'], description='dead')\n"
    "widgets.VBox([dead, widgets.HTML('never redrawn')])",
    "live = widgets.Dropdown(options=['a', 'b'], description='live')\n"
    "shown = widgets.HTML('a')\n"
    "live.observe(lambda change: setattr(shown, 'value', change['new']), names='value')\n"
    "widgets.VBox([live, shown])",
    "go.Figure(layout_title_text='empty')",
    "go.Figure(go.Scatter(y=[1, 3, 2]), layout_title_text='three points')",
)


def test_the_checks_catch_a_dead_control_and_an_empty_figure(lab, page, shots):
    """The harness itself: a saved widget repr, a control that redraws nothing and a figure
    without data are reported; a control that redraws and a figure with data are not."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in HARNESS_CELLS])
    nb.cells[0].outputs = [nbformat.v4.new_output(  # saved as a widget without its picture
        "display_data", {"text/plain": "VBox(children=(IntSlider(value=71),))"})]
    nb.metadata["kernelspec"] = {"name": "vreid-lite", "display_name": "vreid-lite",
                                 "language": "python"}
    path = lab.root / "harness_check.ipynb"
    nbformat.write(nb, str(path))
    try:
        *_, problems = run_and_check(page, LabNotebook(page, lab.url, lab.root, path),
                                     "harness", shots)
    finally:
        lab.shutdown_kernels()
    assert [p for p in problems if "before running" in p and "widget's repr" in p], problems
    assert [p for p in problems if "dead" in p and "did not change" in p], problems
    assert [p for p in problems if "'empty'" in p and "0 traces" in p], problems
    assert not [p for p in problems if "live" in p or "three points" in p], problems
