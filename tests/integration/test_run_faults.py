"""Runs that meet real faults leave a truthful record: a file-size limit standing in for a
full disk, a kill -9 of the running process, a runs folder that cannot be one."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import write_notebook

from vreid_lite.runs import load_runs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals and rlimits")


def notebook(path, code):
    return write_notebook(path, "run_dir: str | None = None", code)


def vreid(*args, **options):
    return subprocess.Popen([sys.executable, "-m", "vreid_lite.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **options)


def limit_file_size(limit_bytes):
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def test_a_notebook_too_big_for_the_disk_fails_with_a_whole_record(tmp_path):
    source = notebook(tmp_path / "big.ipynb", "print('x' * 400_000)")
    runs = tmp_path / "runs"
    proc = vreid("run", source, "--runs-dir", runs, preexec_fn=limit_file_size(200_000))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    (folder,) = runs.iterdir()
    assert (folder / "status").read_text().strip() == "failed"
    assert "File too large" in (folder / "error.txt").read_text()
    assert not (folder / "big.ipynb").exists()  # whole or absent: it could not be whole
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    assert "finished" in json.loads((folder / "run.json").read_text())


def test_a_killed_run_shows_as_stale(tmp_path):
    source = notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(120)")
    runs = tmp_path / "runs"
    proc = vreid("run", source, "--runs-dir", runs, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            folders = list(runs.iterdir()) if runs.is_dir() else []
            if folders and (folders[0] / "status").is_file():
                break
            time.sleep(0.2)
        (folder,) = runs.iterdir()
        assert load_runs(runs)["status"].tolist() == ["running"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert (folder / "status").read_text().strip() == "running"  # nothing closed it
        assert load_runs(runs)["status"].tolist() == ["stale"]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the orphaned kernel too
        except ProcessLookupError:
            pass


def test_a_runs_folder_that_is_a_file_is_a_one_line_error(tmp_path):
    source = notebook(tmp_path / "t.ipynb", "x = 1")
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    proc = vreid("run", source, "--runs-dir", blocker)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.startswith("vreid: error:") and "Traceback" not in err and str(blocker) in err
