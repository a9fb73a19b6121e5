"""``vreid train`` resolves a notebook or model name to its trainer and checks parameters as
``vreid run`` does, refusing what it cannot train before any folder is made."""
import subprocess
import sys

import pytest

from vreid_lite.runs.parameters import notebook_parameters, resolve_notebook
from vreid_lite.runs.train_run import check_train_parameters, resolve_trainer
from vreid_lite.runs.trainers import COMMON, TRAINERS


@pytest.mark.parametrize("stem", sorted(TRAINERS))
def test_every_honoured_parameter_is_declared_by_its_notebook(stem):
    declared = notebook_parameters(resolve_notebook(stem))
    missing = set(COMMON + TRAINERS[stem].parameters) - set(declared)
    assert not missing, f"{stem} no longer declares {sorted(missing)}"


@pytest.mark.parametrize("name", ["baseline", "01_baseline", "01"])
def test_a_model_or_notebook_name_finds_the_trainer(name):
    source, trainer = resolve_trainer(name)
    assert source.stem == "01_baseline" and trainer.model == "baseline"


def test_parameters_are_the_notebooks_defaults_overridden():
    _, _, full = check_train_parameters("scan", {"epochs": 1, "use_cab": False})
    assert full["epochs"] == 1 and full["use_cab"] is False
    assert full["preset"] == "quick" and full["reduction"] == 16
    assert "ablation" not in full and "run_dir" not in full


@pytest.mark.parametrize("notebook, params, culprit", [
    ("04_span_cpdm", {}, "cannot train 04_span_cpdm"),
    ("baseline", {"epochs": "many"}, "epochs = 'many'"),
    ("baseline", {"epochs": 0}, "expected at least 1"),
    ("baseline", {"learning_rate": 0.1}, "no parameter named 'learning_rate'"),
    ("baseline", {"compare_scratch": False}, "does not take 'compare_scratch'"),
    ("baseline", {"run_dir": "/tmp/x"}, "run_dir is chosen by the runner"),
])
def test_bad_input_is_refused_naming_the_culprit(notebook, params, culprit):
    with pytest.raises(ValueError, match=culprit.replace("(", r"\(")):
        check_train_parameters(notebook, params)


def test_the_command_refuses_in_one_line_with_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vreid_lite.cli", "train", "scan",
                           "-p", "reduction", "half", "--runs-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "reduction = 'half'" in lines[0]
    assert not any(tmp_path.iterdir())
