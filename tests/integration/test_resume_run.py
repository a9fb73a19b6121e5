"""A run stopped for real (Ctrl-C, SIGTERM, kill -9) is closed truthfully and `vreid run
--resume` finishes it in its folder with the uninterrupted run's result."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import write_notebook

from vreid_lite.runs import load_runs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")

PARAMETERS = "run_dir: str | None = None\nresume: bool = False"
TRAINING = """
import time
import torch
from torch import nn
from vreid_lite.engine import fit
from vreid_lite.runs import record

torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
images = torch.randn(32, 3, 2, 2, generator=torch.Generator().manual_seed(1))
labels = torch.arange(32) % 4
loader = [{"images": images[i:i + 8], "labels": labels[i:i + 8]} for i in range(0, 32, 8)]


def criterion(out, batch):
    return {"total": nn.functional.cross_entropy(out, batch["labels"])}


history = fit(model, criterion, loader, epochs=5, lr=0.05, device="cpu", seed=0,
              checkpoint_dir=run_dir, resume=resume, progress=False,
              log_fn=lambda record: time.sleep(1.0))
record(run_dir, metrics={"weights": [p.flatten().tolist() for p in model.parameters()],
                         "losses": history.series("total")})
"""


def vreid(*args):
    return subprocess.Popen([sys.executable, "-m", "vreid_lite.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_notebook(tmp_path_factory.mktemp("nb") / "train.ipynb", PARAMETERS, TRAINING)


@pytest.fixture(scope="module")
def uninterrupted(source, tmp_path_factory):
    runs = tmp_path_factory.mktemp("whole")
    code, out, err = finish(vreid("run", source, "--runs-dir", runs))
    assert code == 0, err
    (folder,) = runs.iterdir()
    return json.loads((folder / "metrics.json").read_text())


def stop_after_first_checkpoint(source, runs, signum):
    proc = vreid("run", source, "--runs-dir", runs)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not list(runs.glob("*/checkpoint.pt")):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        os.kill(proc.pid, signum)
        code, _, err = finish(proc, timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # an orphaned kernel after kill -9
        except ProcessLookupError:
            pass
    (folder,) = runs.iterdir()
    return folder, code, err


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, "interrupted"),
                                            (signal.SIGTERM, "interrupted"),
                                            (signal.SIGKILL, "stale")])
def test_a_stopped_run_resumes_to_the_uninterrupted_result(source, uninterrupted, tmp_path,
                                                           signum, status):
    folder, code, err = stop_after_first_checkpoint(source, tmp_path, signum)
    assert load_runs(tmp_path)["status"].tolist() == [status]
    if signum != signal.SIGKILL:
        assert code == 130
        (line,) = err.strip().splitlines()[-1:]
        assert "Traceback" not in err and "ZMQError" not in err, err
        assert line == (f"vreid: interrupted; {folder} is marked interrupted (continue it "
                        f"with: vreid run --resume {folder})")
        assert (folder / "error.txt").read_text().startswith("interrupted")
        assert not (folder / "metrics.json").exists()

    code, out, err = finish(vreid("run", "--resume", folder))
    assert code == 0, err
    assert out.strip() == str(folder)
    assert (folder / "status").read_text().strip() == "succeeded"
    assert json.loads((folder / "metrics.json").read_text()) == uninterrupted
    run = json.loads((folder / "run.json").read_text())
    assert [a["status"] for a in run["attempts"]] == [status]
    assert not (folder / "error.txt").exists()
    if signum != signal.SIGKILL:
        assert (folder / "attempts" / "1" / "error.txt").read_text().startswith("interrupted")
        assert (folder / "attempts" / "1" / "train.ipynb").is_file()


def test_a_succeeded_run_is_not_resumed(source, tmp_path):
    code, out, _ = finish(vreid("run", source, "--runs-dir", tmp_path))
    assert code == 0
    folder = out.strip().splitlines()[-1]
    code, _, err = finish(vreid("run", "--resume", folder))
    assert code == 2 and err.strip() == (f"vreid: error: {folder} is succeeded: there is "
                                         "nothing to resume")


def test_a_sweep_resumes_its_interrupted_run_in_place(source, uninterrupted, tmp_path):
    folder, code, _ = stop_after_first_checkpoint(source, tmp_path, signal.SIGTERM)
    assert code == 130
    code, out, err = finish(vreid("sweep", source, "--runs-dir", tmp_path))
    assert code == 0, err
    assert f"resuming {folder.name}, left interrupted" in out
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [folder.name]
    assert json.loads((folder / "metrics.json").read_text()) == uninterrupted
