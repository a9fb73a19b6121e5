"""Every paper notebook can be resumed: it declares ``resume`` and hands it to each training
call that checkpoints into the run folder."""
import ast

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from vreid_lite.runs.parameters import NOTEBOOKS_DIR, notebook_parameters

TRAINING_NOTEBOOKS = ["01_baseline", "02_scan", "03_mvan", "04_span_cpdm", "05_anet",
                      "07_beyond_the_papers"]
CHECKPOINT_KEYWORDS = ("checkpoint_dir", "run_dir")  # fit_preset / fit, train_model


def checkpointing_calls(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = TransformerManager().transform_cell(cell.source)  # magics become calls
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Call):
                keywords = {k.arg: k.value for k in node.keywords}
                targets = [keywords.get(k) for k in CHECKPOINT_KEYWORDS]
                if any(isinstance(t, ast.Name) and t.id == "run_dir" for t in targets):
                    yield ast.unparse(node.func), keywords.get("resume")


@pytest.mark.parametrize("stem", TRAINING_NOTEBOOKS)
def test_training_notebooks_resume_every_checkpointed_stage(stem):
    path = NOTEBOOKS_DIR / f"{stem}.ipynb"
    assert notebook_parameters(path).get("resume") is False
    calls = list(checkpointing_calls(path))
    assert calls, f"{stem} checkpoints nothing into its run folder"
    for name, resume in calls:
        assert isinstance(resume, ast.Name) and resume.id == "resume", \
            f"{stem}: {name}(…=run_dir) without resume=resume"
