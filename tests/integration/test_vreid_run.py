"""``vreid run``: a tiny notebook executed by papermill into a new run folder."""
import json
import re
import subprocess
import time
import sys
from pathlib import Path

import nbformat
import pytest

from vreid_lite.runs import load_runs


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('alpha: int = 1  # a number\nname: str = "x"\n'
                                       "run_dir: str | None = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny run"), params,
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def _vreid(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vreid_lite.cli", "run", *args],
                          capture_output=True, text=True, timeout=300)


def test_run_creates_a_complete_run_folder(tmp_path):
    nb = _notebook(tmp_path / "tiny.ipynb",
                   "import sys\nfrom vreid_lite.runs import record\n"
                   "record(run_dir, metrics={'value': alpha * 2, 'name': name},\n"
                   "       interpreter={'executable': sys.executable})")
    runs = tmp_path / "runs"
    done = _vreid(str(nb), "-p", "alpha", "3", "--tag", "t", "--runs-dir", str(runs))
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent == runs and re.fullmatch(r"\d{8}-\d{6}-tiny-t", folder.name)
    assert (folder / "status").read_text().strip() == "succeeded"
    assert json.loads((folder / "params.json").read_text()) == {"alpha": 3, "name": "x"}
    env = json.loads((folder / "env.json").read_text())
    assert {"python", "torch", "torchvision", "device", "cpu_count", "git", "time"} <= set(env)
    assert json.loads((folder / "metrics.json").read_text()) == {"value": 6, "name": "x"}
    # the notebook ran in this environment's interpreter
    ran_in = json.loads((folder / "interpreter.json").read_text())["executable"]
    assert Path(ran_in).resolve() == Path(sys.executable).resolve()
    out = nbformat.read(folder / "tiny.ipynb", as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "alpha = 3" in injected[0].source
    assert str(folder) in injected[0].source
    assert not (folder / "error.txt").exists()

    table = load_runs(runs)
    assert len(table) == 1 and table.iloc[0]["notebook"] == "tiny"
    assert table.iloc[0]["param.alpha"] == 3 and table.iloc[0]["value"] == 6


def test_failing_notebook_marks_the_run_failed_and_keeps_its_output(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", "raise ValueError(f'boom {alpha}')")
    runs = tmp_path / "runs"
    done = _vreid(str(nb), "--runs-dir", str(runs))
    assert done.returncode != 0
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent == runs
    assert (folder / "status").read_text().strip() == "failed"
    error = (folder / "error.txt").read_text()
    assert "ValueError" in error and "boom 1" in error
    out = nbformat.read(folder / "broken.ipynb", as_version=4)
    errors = [o for c in out.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError"
    assert not (folder / "metrics.json").exists()


def test_unknown_parameter_is_refused_before_any_folder_exists(tmp_path):
    nb = _notebook(tmp_path / "tiny.ipynb", "pass")
    done = _vreid(str(nb), "-p", "beta", "2", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "'beta'" in done.stderr and "alpha" in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_terminated_run_is_closed_as_interrupted_not_left_running(tmp_path):
    nb = _notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(120)")
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "vreid_lite.cli", "run", str(nb),
                             "--runs-dir", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    status = None
    while time.time() < deadline:  # wait until papermill is executing the sleeping cell
        folders = list(runs.glob("*-slow")) if runs.exists() else []
        executed = folders and (folders[0] / ".partial-slow.ipynb").exists()  # being saved
        if executed:
            status = folders[0] / "status"
            break
        time.sleep(0.2)
    assert status is not None, "the run never started executing"
    time.sleep(1.0)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert status.read_text().strip() == "interrupted"
    assert "interrupted" in (status.parent / "error.txt").read_text()
    assert "vreid: interrupted" in err
    assert (status.parent / "slow.ipynb").is_file()  # kept whole, under its own name
    assert not (status.parent / ".partial-slow.ipynb").exists()


def test_several_notebooks_run_in_order_and_a_failure_does_not_stop_the_rest(tmp_path):
    broken = _notebook(tmp_path / "broken.ipynb", "raise ValueError('boom')")
    tiny = _notebook(tmp_path / "tiny.ipynb",
                     "from vreid_lite.runs import record\nrecord(run_dir, metrics={'v': alpha})")
    runs = tmp_path / "runs"
    done = _vreid(str(broken), str(tiny), "-p", "alpha", "5", "--runs-dir", str(runs))
    assert done.returncode == 1
    assert "1 of 2 notebooks failed" in done.stderr
    folders = [Path(line) for line in done.stdout.splitlines() if line.startswith(str(runs))]
    assert [f.name.split("-")[-1] for f in folders] == ["broken", "tiny"]
    assert [(f / "status").read_text().strip() for f in folders] == ["failed", "succeeded"]
    assert json.loads((folders[1] / "metrics.json").read_text()) == {"v": 5}


def test_parameters_are_checked_against_every_notebook_before_any_runs(tmp_path):
    tiny = _notebook(tmp_path / "tiny.ipynb", "pass")
    other = tmp_path / "other.ipynb"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("gamma: int = 1\nrun_dir: str | None = None")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, other)
    done = _vreid(str(tiny), str(other), "-p", "alpha", "2", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2 and "other.ipynb" in done.stderr and "'alpha'" in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
