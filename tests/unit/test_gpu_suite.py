"""The GPU suite refuses, in one line and with a non-zero exit, to run without CUDA; its report
gathers the steps into one JSON and fails when a step did."""
import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_without_cuda_the_suite_says_so_and_exits_non_zero(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "VREID_PYTHON": sys.executable,
           "OUT_DIR": str(tmp_path / "out")}
    done = subprocess.run(["bash", str(BENCHMARKS / "gpu_suite.sh")], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0]
    assert not (tmp_path / "out").exists()


def test_the_report_joins_the_steps_and_fails_when_one_did(tmp_path):
    (tmp_path / "eval_speed.json").write_text(json.dumps(
        {"results": {"cuda": {"rank_metrics_s": 0.25}}}))
    (tmp_path / "eval_speed.status").write_text("0 12\n")
    (tmp_path / "notebook01.json").write_text("")
    (tmp_path / "notebook01.status").write_text("124 300\n")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "report" / "gpu_suite.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "0.25" in done.stdout and "step notebook01 failed (exit 124)" in done.stdout
    joined = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert joined["eval_speed"] == {"exit": 0, "wall_s": 12,
                                    "result": {"results": {"cuda": {"rank_metrics_s": 0.25}}}}
    assert joined["notebook01"]["result"] is None
