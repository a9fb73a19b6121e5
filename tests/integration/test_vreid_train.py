"""``vreid train`` trains a notebook's model outside Jupyter into a run folder that
``load_runs`` reads like a notebook run's, alone or as two gloo processes under torchrun."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vreid_lite.experiment import as_preset, load_data
from vreid_lite.runs import load_runs

TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.fixture(scope="module", autouse=True)
def rendered():
    load_data(as_preset("quick"))  # rendered once here, not by two ranks at a time


def _finished(runs: Path, done: subprocess.CompletedProcess) -> Path:
    assert done.returncode == 0, done.stderr[-2000:]
    folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    assert done.stdout.strip().splitlines()[-1] == str(folders[0])
    table = load_runs(runs)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["notebook"] == "01_baseline" and row["status"] == "succeeded"
    assert row["param.epochs"] == 1 and 0 < row["mAP"] <= 1
    history = json.loads((folders[0] / "history.json").read_text())
    assert len(history["epochs"]) == 1
    return folders[0]


@pytest.mark.slow
def test_train_writes_a_succeeded_run_folder(tmp_path):
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "vreid_lite.cli", "train", "baseline",
                           "-p", "epochs", "1", "-p", "device", "cpu", "--runs-dir", str(runs)],
                          capture_output=True, text=True, timeout=600)
    folder = _finished(runs, done)
    assert {"run.json", "params.json", "env.json", "status", "metrics.json",
            "history.json"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "run.json").read_text())["world_size"] == 1


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun is not beside this interpreter")
def test_two_gloo_processes_write_one_folder(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2",
                           "-m", "vreid_lite.train", "01_baseline", "-p", "epochs", "1",
                           "-p", "device", "cpu", "--runs-dir", str(runs)],
                          capture_output=True, text=True, timeout=600, env=env)
    folder = _finished(runs, done)
    assert json.loads((folder / "run.json").read_text())["world_size"] == 2
