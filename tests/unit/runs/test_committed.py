"""``committed_copy``: an executed notebook made ready to commit."""
import json

import pytest

from vreid_lite.runs.committed import committed_copy


def _executed(path):
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "a = 1",
                     "outputs": [], "execution_count": 1},
                    {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                     "source": "a = 2", "outputs": [], "execution_count": 2},
                    {"cell_type": "markdown", "metadata": {}, "source": "é ‖"}],
          "metadata": {"kernelspec": {"name": "vreid-lite"},
                       "papermill": {"parameters": {"a": 2}, "duration": 3.0},
                       "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_the_copy_drops_what_the_run_injected_and_the_widget_state(tmp_path):
    out = committed_copy(_executed(tmp_path / "run.ipynb"), tmp_path / "nb.ipynb")
    text = out.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert [c["source"] for c in nb["cells"]] == ["a = 1", "é ‖"]
    assert nb["metadata"]["papermill"] == {"parameters": {}, "duration": 3.0}
    assert "widgets" not in nb["metadata"]
    assert nb["metadata"]["kernelspec"] == {"name": "vreid-lite"}
    assert "é ‖" in text and text.endswith("}\n")   # as the committed notebooks are written


def test_in_place_and_bad_input(tmp_path):
    path = _executed(tmp_path / "nb.ipynb")
    assert committed_copy(path) == path
    assert "widgets" not in json.loads(path.read_text(encoding="utf-8"))["metadata"]
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.ipynb: expected a notebook"):
        committed_copy(bad)
