"""What an executed notebook keeps of a progress bar and of an explorer, as a page without a
kernel sees them: the bar's final count, and the explorer's picture rather than its repr."""
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from vreid_lite.runs.committed import committed_copy

BODY = '''
import ipywidgets as widgets
from matplotlib.figure import Figure
from vreid_lite.engine.progress import ProgressBar
from vreid_lite.viz.explorer import Explorer, index_slider

bar = ProgressBar(total=12, desc="fit", unit="step")
for _ in range(12):
    bar.update(1)
bar.close()


class Tiny(Explorer):
    def __init__(self):
        self.slider = index_slider(3, "n")
        super().__init__(widgets.VBox([self.slider]), controls=(self.slider,))
        self.refresh()

    def draw(self):
        pass

    def render_static(self):
        return Figure(figsize=(1, 1))


Tiny()
'''


def _run(tmp_path: Path) -> dict:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("run_dir: str | None = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nbformat.write(nb, tmp_path / "saved.ipynb")
    done = subprocess.run([sys.executable, "-m", "vreid_lite.cli", "run",
                           str(tmp_path / "saved.ipynb"), "--runs-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    return committed_copy(folder / "saved.ipynb", tmp_path / "committed.ipynb")


def test_saved_outputs_read_finished_and_show_pictures(tmp_path):
    path = _run(tmp_path)
    outputs = nbformat.read(path, as_version=4).cells[-1].outputs
    bars = [o for o in outputs if o.get("data", {}).get("text/plain", "").startswith("fit:")]
    assert len(bars) == 1 and "100%" in bars[0]["data"]["text/plain"]
    assert "12/12" in bars[0]["data"]["text/plain"]
    (explorer,) = [o for o in outputs if "image/png" in o.get("data", {})]
    assert "application/vnd.jupyter.widget-view+json" in explorer["data"]
    assert explorer["data"]["text/plain"].startswith("Tiny: an interactive view")
    html, _ = HTMLExporter().from_filename(str(path))
    assert explorer["data"]["image/png"].replace("\n", "") in html
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert "fit: 100%" in html
