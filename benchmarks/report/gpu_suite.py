"""The GPU suite's steps (``<name>.json``, ``<name>.status`` in a folder) as one JSON file,
``gpu_suite.json``, and a printed table; exits 1 when a step failed.

    python benchmarks/report/gpu_suite.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = [  # (step, label, key path in the step's JSON)
    ("train_fp32", "ResNet-50 256² fp32: bare step img/s", "bare_step_images_per_s"),
    ("train_fp32", "ResNet-50 256² fp32: fit() img/s", "fit_images_per_s"),
    ("train_bf16_cl", "bf16 + channels_last: bare step img/s", "bare_step_images_per_s"),
    ("train_bf16_cl", "bf16 + channels_last: fit() img/s", "fit_images_per_s"),
    ("train_bf16_cl_compile", "+ compile: bare step img/s", "bare_step_images_per_s"),
    ("train_bf16_cl_compile", "+ compile: fit() img/s", "fit_images_per_s"),
    ("input_pipeline", "input: uint8 cache TrainLoader img/s (cuda)",
     "cuda.cached_train_loader_img_s"),
    ("input_pipeline", "input: PIL DataLoader img/s (cuda)", "cuda.pil_dataloader_img_s"),
    ("eval_speed", "eval 1,678 × 11,579: rank_metrics s (cuda)", "results.cuda.rank_metrics_s"),
    ("eval_speed", "eval 1,678 × 11,579: rank_metrics s (cpu)", "results.cpu.rank_metrics_s"),
    ("eval_speed", "CPDM distances s (cuda)", "cpdm.cuda.cpdm_distmat_s"),
    ("eval_speed", "CPDM distances s (cpu)", "cpdm.cpu.cpdm_distmat_s"),
    ("notebook01", "notebook 01, standard preset: wall s", "wall_s"),
    ("notebook01", "notebook 01, standard preset: mAP", "mAP"),
]


def lookup(data, path: str):
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def collect(folder: Path) -> dict:
    steps = {}
    for status in sorted(folder.glob("*.status")):
        code, wall = status.read_text().split()
        text = status.with_suffix(".json").read_text(encoding="utf-8")
        try:
            result = json.loads(text) if text.strip() else None
        except ValueError:
            result = None
        steps[status.stem] = {"exit": int(code), "wall_s": int(wall), "result": result}
    return steps


def main() -> int:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        print("usage: gpu_suite.py OUT_DIR (a folder of <step>.json and <step>.status)",
              file=sys.stderr)
        return 2
    folder = Path(sys.argv[1])
    steps = collect(folder)
    (folder / "gpu_suite.json").write_text(json.dumps(steps, indent=2) + "\n", encoding="utf-8")
    for step, label, path in ROWS:
        value = lookup((steps.get(step) or {}).get("result"), path)
        shown = "—" if value is None else (f"{value:,.4g}" if isinstance(value, float) else value)
        print(f"{label:<48} {shown:>12}")
    failed = [name for name, s in steps.items() if s["exit"] != 0]
    for name in failed:
        print(f"step {name} failed (exit {steps[name]['exit']}); see {folder / (name + '.log')}")
    print(folder / "gpu_suite.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
