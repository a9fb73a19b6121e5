"""Two sweeps started together over one runs folder run each run once, and a claim left by a
killed sweep does not block the next."""
import json
import os
import subprocess
import sys

from conftest import write_notebook

from vreid_lite.runs.run_claims import CLAIMS_DIR, claim_run, process_alive, release_run
from vreid_lite.runs.table import load_runs


def test_two_sweeps_at_once_run_every_run_once(tmp_path):
    notebook = write_notebook(tmp_path / "pair.ipynb", "seed: int = 0\nrun_dir: str | None = None",
                              "import time\ntime.sleep(2)")
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "vreid_lite.cli", "sweep", str(notebook), "--seeds", "2",
               "--runs-dir", str(runs)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=600) for p in (first, second)]
    table = load_runs(runs)
    assert len(table) == 2, outs  # 2 keys, 2 folders: nothing ran twice
    assert sorted(table["param.seed"]) == [0, 1]
    assert set(table["status"]) == {"succeeded"}
    assert not list((runs / CLAIMS_DIR).iterdir())  # every claim released


def test_a_claim_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / CLAIMS_DIR).mkdir()
    stale = tmp_path / CLAIMS_DIR / "k1"
    stale.write_text(json.dumps({"host": os.uname().nodename, "pid": dead.pid}))
    assert not process_alive(os.uname().nodename, dead.pid)
    mine = claim_run(tmp_path, "k1")
    assert mine == stale and json.loads(stale.read_text())["pid"] == os.getpid()
    assert claim_run(tmp_path, "k1") is None  # held by a live process: this one
    release_run(mine)
    assert not stale.exists()
