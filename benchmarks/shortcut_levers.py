"""Does the quick-preset baseline match vehicles or scenes? Each lever's effect on notebook 01's
baseline, seed by seed, printed as JSON (and as a Markdown table with ``--markdown``).

For each row: render its synthetic set, train the baseline with the quick preset (as notebook 01
does), then measure mAP and rank-1, the feature energy's share on the vehicle against the
vehicle's area share (``foreground_share``), and the own-camera share of the top 5 against its
expected share (``camera_bias``), with the wall time of training + evaluation.

    python benchmarks/shortcut_levers.py [--seeds 0 1 2] [--rows before after] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from vreid_lite.config import get_preset
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.data.synthetic.recipe import load_recipe
from vreid_lite.engine.activation import shortcut_report
from vreid_lite.engine.evaluate import evaluate
from vreid_lite.experiment import train_model

# name → (recipe changes, preset changes, model options, description); every row starts from
# the synth_quick recipe and the quick preset as they are now; "before" undoes every lever, and
# each row after it adds one.
OLD_TRAINING = {"bg_swap": 0.0, "epochs": 12, "lr": 1e-3}
ROWS: dict[str, tuple[dict, dict, dict, str]] = {
    "before": ({"scenes": 0}, OLD_TRAINING, {"pretrained": None, "padding_mode": "zeros"},
               "the quick preset before: one scene per camera, zero padding, from scratch, "
               "12 epochs at 1e-3"),
    "scenes": ({"scenes": 64}, OLD_TRAINING, {"pretrained": None, "padding_mode": "zeros"},
               "+ backgrounds drawn per image from 64 scenes shared by all cameras"),
    "swap": ({"scenes": 64}, {**OLD_TRAINING, "bg_swap": 0.5},
             {"pretrained": None, "padding_mode": "zeros"},
             "+ mask-guided background swap (p = 0.5; not kept)"),
    "replicate": ({"scenes": 64}, OLD_TRAINING, {"pretrained": None},
                  "scenes + replicate padding in quick_net"),
    "pretrained": ({"scenes": 64}, OLD_TRAINING, {},
                   "+ synthetic pretraining (the shipped weights), still 12 epochs at 1e-3"),
    "after": ({}, {}, {}, "the quick preset now: + fine-tuning 9 epochs at 3.5e-4"),
}


def run_row(name: str, seed: int, workdir: Path) -> dict:
    recipe_changes, preset_changes, model_options, _ = ROWS[name]
    recipe, _ = load_recipe("synth_quick")
    recipe = {**recipe, **recipe_changes, "name": f"bench_{name}"}
    root = render_dataset(recipe, workdir / recipe["name"], progress=False)
    data = load_dataset("veri776", str(root))
    preset = get_preset("quick", **preset_changes)
    start = time.perf_counter()
    model, _, metrics = train_model("baseline", preset, device="cpu", seed=seed, data=data,
                                    model_options=model_options, progress=False)
    ev = evaluate(model, data, image_size=preset.data.image_size, device="cpu",
                  return_features=True)
    train_s = time.perf_counter() - start
    report = shortcut_report(model, data, ev["features"], preset.data.image_size, device="cpu")
    return {"row": name, "seed": seed, "mAP": metrics["mAP"], "rank1": metrics["rank1"],
            **report,
            "epochs": preset.train.epochs, "train_eval_s": round(train_s, 1)}


def summarize(results: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["row"] for r in results):
        rows = [r for r in results if r["row"] == name]
        summary = {"row": name, "seeds": len(rows), "what": ROWS[name][3]}
        for key in ("mAP", "rank1", "foreground_ratio", "camera_ratio", "train_eval_s"):
            values = [r[key] for r in rows]
            summary[key] = statistics.mean(values)
            summary[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(summary)
    return out


def markdown(summary: list[dict]) -> str:
    lines = ["| lever | mAP | rank-1 | fg mass ÷ area | own-camera top-5 ÷ expected | train+eval s |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['row']}: {s['what']} | {s['mAP']:.1%} ± {s['mAP_std']:.1%} | "
                     f"{s['rank1']:.1%} ± {s['rank1_std']:.1%} | {s['foreground_ratio']:.2f} | "
                     f"{s['camera_ratio']:.2f} | {s['train_eval_s']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.rows:
            for seed in args.seeds:
                results.append(run_row(name, seed, Path(tmp)))
                print(json.dumps(results[-1]), flush=True)
    summary = summarize(results)
    print(json.dumps({"summary": summary}, indent=1))
    if args.markdown:
        print(markdown(summary))


if __name__ == "__main__":
    main()
