"""``vreid sweep``: a real tiny sweep of a throwaway notebook, resumed and partly failing."""
import json
import subprocess
import sys

import nbformat

from vreid_lite.runs import load_runs


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("alpha: int = 1  # a number\nseed: int = 0\n"
                                       "run_dir: str | None = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from vreid_lite.runs import record\n"
        "if alpha == 2:\n    raise ValueError('alpha 2 is broken')\n"
        "record(run_dir, metrics={'value': 10 * alpha + seed})")]
    nbformat.write(nb, path)
    return path


def _sweep(*args):
    return subprocess.run([sys.executable, "-m", "vreid_lite.cli", "sweep", *args],
                          capture_output=True, text=True, timeout=600)


def test_sweep_runs_resumes_and_reports_failures(tmp_path):
    nb, runs = _notebook(tmp_path / "tiny.ipynb"), tmp_path / "runs"

    first = _sweep(str(nb), "--grid", "alpha=1,2", "--runs-dir", str(runs))
    assert first.returncode == 1, first.stderr
    progress = [line for line in first.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 2
    assert progress[0].startswith("[1/2] tiny alpha=1: succeeded")
    assert progress[1].startswith("[2/2] tiny alpha=2: failed") and "alpha 2 is broken" in \
        progress[1]
    table = load_runs(runs)
    assert sorted(table["status"]) == ["failed", "succeeded"]
    ok = table[table["status"] == "succeeded"].iloc[0]
    assert ok["value"] == 10 and ok["param.alpha"] == 1
    assert ok["folder"].endswith("-tiny-sweep-alpha1")

    # re-run: the finished run is skipped, the failed one tried again (and fails again)
    second = _sweep(str(nb), "--grid", "alpha=1,2", "--runs-dir", str(runs))
    assert second.returncode == 1
    assert "[1/2] tiny alpha=1: skipped" in second.stdout
    assert len(load_runs(runs)) == 3

    # seed 0 with alpha=1 has the same complete parameters as the first run: skipped
    third = _sweep(str(nb), "-p", "alpha", "1", "--seeds", "2", "--runs-dir", str(runs))
    assert third.returncode == 0, third.stdout + third.stderr
    assert "[1/2] tiny seed=0: skipped" in third.stdout
    assert "[2/2] tiny seed=1: succeeded" in third.stdout
    table = load_runs(runs)
    assert len(table) == 4
    done = table[table["status"] == "succeeded"].sort_values("value")
    assert list(done["value"]) == [10, 11]
    params = json.loads((runs / done.iloc[1]["folder"] / "params.json").read_text())
    assert params == {"alpha": 1, "seed": 1}


def test_sweep_refuses_an_unknown_parameter_before_running(tmp_path):
    nb = _notebook(tmp_path / "tiny.ipynb")
    done = _sweep(str(nb), "--grid", "beta=1,2", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2 and "'beta'" in done.stderr
    assert not (tmp_path / "runs").exists()
