"""Parameter values are checked against the parameters cell's declared types, and the kit's
ranges, before any run folder is made."""
import subprocess
import sys

import pytest
from conftest import write_notebook

from vreid_lite.runs.parameters import check_parameters, declared_types, parse_value
from vreid_lite.runs.sweep import plan_sweep

CELL = """preset: str = "quick"  # a name
seed: int = 0
epochs: int | None = None
fc_epochs: int | None = 0
ratio: float = 0.7
flag: bool = True
size: tuple[int, int] = (64, 64)
top_k: int = 8
untyped = 3
"""


@pytest.fixture
def notebook(tmp_path):
    return write_notebook(tmp_path / "typed.ipynb", CELL, "print(seed)")


def test_the_declared_types_are_read(notebook):
    types = declared_types(notebook)
    assert types["epochs"] == "int | None" and types["size"] == "tuple[int, int]"
    assert "untyped" not in types


@pytest.mark.parametrize("name, text", [("seed", "1"), ("epochs", "none"), ("epochs", "3"),
                                         ("fc_epochs", "0"), ("ratio", "1"), ("ratio", "1e-3"),
                                         ("flag", "false"), ("size", "[32, 32]"),
                                         ("untyped", "anything"), ("top_k", "1")])
def test_values_that_fit_pass(notebook, name, text):
    check_parameters(notebook, {name: parse_value(text)})


@pytest.mark.parametrize("name, text, message", [
    ("epochs", "abc", r"epochs = 'abc' \(str\); its parameters cell declares epochs: int \| None"),
    ("epochs", "0", "epochs = 0: expected at least 1"),
    ("epochs", "-3", "epochs = -3: expected at least 1"),
    ("fc_epochs", "-1", "fc_epochs = -1: expected 0 or more"),
    ("seed", "1.5", r"seed = 1.5 \(float\)"),
    ("flag", "3", r"flag = 3 \(int\); its parameters cell declares flag: bool"),
    ("ratio", "true", r"ratio = True \(bool\)"),
    ("preset", "5", r"preset = 5 \(int\)"),
    ("size", "64", r"size = 64 \(int\)"),
    ("top_k", "0", "top_k = 0: expected at least 1"),
])
def test_values_that_do_not_fit_name_the_notebook_parameter_and_value(notebook, name, text,
                                                                       message):
    with pytest.raises(ValueError, match=message) as info:
        check_parameters(notebook, {name: parse_value(text)})
    assert "typed.ipynb" in str(info.value)


def test_a_sweep_checks_every_grid_value_before_it_plans(notebook):
    with pytest.raises(ValueError, match="epochs = 0"):
        plan_sweep(notebook, {}, {"epochs": [2, 0]})
    _, runs = plan_sweep(notebook, {}, {"epochs": [2, 3]})
    assert len(runs) == 2


def test_the_cli_refuses_a_bad_value_before_making_a_folder(notebook, tmp_path):
    runs_dir = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "vreid_lite.cli", "run", str(notebook),
                           "-p", "epochs", "abc", "--runs-dir", str(runs_dir)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "epochs = 'abc'" in done.stderr and "Traceback" not in done.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
