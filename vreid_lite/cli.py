"""The ``vreid`` command: ``vreid data …``, ``vreid run …``, ``vreid sweep …``,
``vreid train …``, ``vreid export …``, ``vreid evaluate …``, ``vreid summary``,
``vreid snapshot``, ``vreid pretrain``.

Each sub-command imports its implementation lazily so ``vreid --help`` stays fast.
"""
from __future__ import annotations

import argparse
import sys

def _data_synth(args: argparse.Namespace) -> int:
    from vreid_lite.data.synthetic import render_dataset

    out = render_dataset(args.recipe, args.out, seed=args.seed, workers=args.workers)
    print(out)
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from vreid_lite.data.check import check_dataset

    print(check_dataset(args.kind, args.root, verify_images=not args.no_images))
    return 0


def _data_masks(args: argparse.Namespace) -> int:
    from vreid_lite.data.grabcut import make_masks

    print(make_masks(args.kind, args.root, margin=args.margin, iterations=args.iterations,
                     workers=args.workers, overwrite=args.overwrite))
    return 0


def _run(args: argparse.Namespace) -> int:
    """Each notebook in turn, in this one process (torch and papermill are imported once);
    a failed notebook does not stop the next. Parameters are checked against every notebook
    before the first starts."""
    from vreid_lite.runs import run_notebook
    from vreid_lite.runs.parameters import check_parameters, parse_value

    if args.resume is not None:
        return _resume(args)
    if not args.notebook:
        raise ValueError("vreid run needs a notebook, or --resume RUN_DIR")
    params = {name: parse_value(value) for name, value in (args.param or [])}
    for notebook in args.notebook:
        check_parameters(notebook, params)
    failed = 0
    for notebook in args.notebook:
        if len(args.notebook) > 1:
            print(f"== {notebook}", flush=True)
        folder, ok = run_notebook(notebook, params, tag=args.tag, runs_dir=args.runs_dir)
        if not ok:
            failed += 1
            print(f"vreid: the notebook failed; see {folder / 'error.txt'}", file=sys.stderr)
        print(folder, flush=True)
    if failed and len(args.notebook) > 1:
        print(f"vreid: {failed} of {len(args.notebook)} notebooks failed", file=sys.stderr)
    return 1 if failed else 0


def _resume(args: argparse.Namespace) -> int:
    from vreid_lite.runs.resume import resume_run

    if args.notebook or args.param or args.tag or args.runs_dir:
        raise ValueError("--resume takes the run folder alone: the run's notebook, parameters "
                         "and folder are those it started with")
    folder, ok = resume_run(args.resume)
    if not ok:
        print(f"vreid: the resumed run failed; see {folder / 'error.txt'}", file=sys.stderr)
    print(folder, flush=True)
    return 0 if ok else 1


def _train(args: argparse.Namespace) -> int:
    """One notebook's main model, trained in this process; under ``torchrun`` each process
    runs this and rank 0 alone writes the run folder."""
    from vreid_lite.runs.parameters import parse_value
    from vreid_lite.runs.train_run import train_run

    params = {name: parse_value(value) for name, value in (args.param or [])}
    folder, ok = train_run(args.notebook, params, tag=args.tag, runs_dir=args.runs_dir)
    if folder is None:
        return 0
    if not ok:
        print(f"vreid: training failed; see {folder / 'error.txt'}", file=sys.stderr)
    print(folder, flush=True)
    return 0 if ok else 1


def _export(args: argparse.Namespace) -> int:
    from vreid_lite.runs.export_run import export_run

    try:
        result = export_run(args.run_dir, out=args.out, fmt=args.format, opset=args.opset,
                            check_images=args.check_images)
    except ImportError as exc:  # the optional export packages are not installed
        print(f"vreid: error: {exc}", file=sys.stderr)
        return 2
    print(result["path"])
    shapes = ", ".join(f"{k} {v}" for k, v in result["outputs"].items())
    line = (f"checked on {result['checked_on']}: max |onnxruntime - torch| = "
            f"{result['max_abs_diff']:.2e} on L2-normalised embeddings ({shapes})")
    if "visibility_diff" in result:
        line += f"; visibility {result['visibility_diff']:.2e}"
    print(line, flush=True)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from vreid_lite.runs.evaluate_run import evaluate_run

    result = evaluate_run(args.run_dir, data_root=args.data_root, kind=args.kind,
                          device=args.device, options=_evaluate_options(args))
    print(json.dumps(result, indent=2))
    return 0


def _evaluate_options(args: argparse.Namespace) -> dict:
    """``vreid evaluate``'s options for ``vreid_lite.engine.evaluate``: a flag added to the
    ``evaluate`` parser is passed on here, by its keyword name."""
    from vreid_lite.metrics.alpha_qe import query_expansion_options
    from vreid_lite.metrics.rerank import rerank_options

    options = {k: v for k, v in {"distance": args.distance}.items() if v is not None}
    if args.rerank:
        options["rerank"] = rerank_options(k1=args.k1, k2=args.k2, lambda_value=args.lambda_value)
    if args.qe:
        options["query_expansion"] = query_expansion_options(top_k=args.qe_k, alpha=args.qe_alpha)
    return options


def _sweep(args: argparse.Namespace) -> int:
    from vreid_lite.runs.parameters import parse_value
    from vreid_lite.runs.sweep import parse_grid, run_sweep

    params = {name: parse_value(value) for name, value in (args.param or [])}
    report = run_sweep(args.notebook, params, parse_grid(args.grid or []), seeds=args.seeds,
                       runs_dir=args.runs_dir, tag=args.tag)
    return 0 if report.ok else 1


def _summary(args: argparse.Namespace) -> int:
    from vreid_lite.runs.summary import export_explorer_html, write_summary

    missing = None
    if args.html:
        try:
            print(export_explorer_html(args.runs_dir))
        except FileNotFoundError as exc:  # still write the summary, which says what ran
            missing = exc
    print(write_summary(args.runs_dir))
    if missing is not None:
        print(f"vreid: error: {missing}", file=sys.stderr)
        return 1
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from vreid_lite.pretraining import pretrain

    given = {k: v for k, v in (("out_dir", args.out), ("recipe", args.recipe),
                               ("epochs", args.epochs)) if v is not None}
    weights = pretrain(seed=args.seed, device=args.device, **given)
    print(weights)
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    from vreid_lite.runs.snapshot import SNAPSHOT_DIR, snapshot_runs

    written = snapshot_runs(args.src, args.dst or SNAPSHOT_DIR, notebooks=args.notebook,
                            preset=args.preset)
    print(f"{len(written)} run(s) copied into {args.dst or SNAPSHOT_DIR}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vreid", description="vehicle re-identification kit")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="render, read and check datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", help="render a synthetic dataset in the VeRi-776 layout")
    synth.add_argument("recipe", help="recipe name (data_recipes/<name>.yaml) or YAML path")
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--seed", type=int, default=None, help="override the recipe's seed")
    synth.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    synth.set_defaults(func=_data_synth)

    check = dsub.add_parser("check", help="validate a dataset and print a summary")
    check.add_argument("kind", help="veri776 | vehicleid | veriwild | cityflow, or a recipe name / YAML")
    check.add_argument("root", nargs="?", default=None,
                       help="dataset folder (default: the recipe's root)")
    check.add_argument("--no-images", action="store_true", help="check listed files exist, do not decode them")
    check.set_defaults(func=_data_check)

    masks = dsub.add_parser("masks", help="GrabCut foreground masks for SPAN (masks/<split>/)")
    masks.add_argument("kind", help="veri776 (synthetic sets ship part masks already)")
    masks.add_argument("root", help="dataset folder")
    masks.add_argument("--margin", type=float, default=0.02,
                       help="initial rectangle inset, a fraction of each side (default 0.02)")
    masks.add_argument("--iterations", type=int, default=5, help="GrabCut rounds (default 5)")
    masks.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    masks.add_argument("--overwrite", action="store_true", help="replace existing masks")
    masks.set_defaults(func=_data_masks)

    run = sub.add_parser("run", help="execute notebooks with papermill, each into a new run "
                         "folder")
    run.add_argument("notebook", nargs="*",
                     help="notebook path or name (e.g. 01_baseline); several run in order")
    run.add_argument("--resume", metavar="RUN_DIR", default=None,
                     help="continue a failed, interrupted or dead run in its folder, from its "
                     "checkpoints")
    _add_run_folder_options(run)
    run.set_defaults(func=_run)

    train = sub.add_parser("train", help="train a notebook's main model outside Jupyter, "
                           "into a run folder (under torchrun: on several processes)")
    train.add_argument("notebook", help="01_baseline | 02_scan | 03_mvan, or the model name "
                       "(baseline | scan | mvan)")
    _add_run_folder_options(train)
    train.set_defaults(func=_train)

    export = sub.add_parser("export", help="write a run's trained model as an ONNX embedding "
                            "network and check it against PyTorch")
    export.add_argument("run_dir", help="run folder (or a stage folder inside it)")
    export.add_argument("--format", default="onnx", choices=["onnx"])
    export.add_argument("--out", default=None,
                        help="output file (default: model.onnx beside the checkpoint)")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default 20)")
    export.add_argument("--check-images", type=int, default=8,
                        help="test images the check runs both models on (default 8)")
    export.set_defaults(func=_export)

    evaluate = sub.add_parser("evaluate", help="re-score a run's trained model on its test set "
                              "and print the metrics as JSON")
    evaluate.add_argument("run_dir", help="run folder (or a stage folder inside it)")
    evaluate.add_argument("--data-root", default=None,
                          help="dataset folder (default: the run's data_root, or its preset's "
                          "synthetic set)")
    evaluate.add_argument("--kind", default=None, help="dataset format (default: the run's)")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--distance", default=None,
                          help="euclidean | cosine | cpdm … (default: cpdm for part models, "
                          "else euclidean)")
    evaluate.add_argument("--rerank", action="store_true",
                          help="score the k-reciprocal re-ranked distances (Zhong et al. 2017)")
    evaluate.add_argument("--k1", type=int, default=20, help="re-ranking: k-reciprocal neighbours")
    evaluate.add_argument("--k2", type=int, default=6, help="re-ranking: local query expansion")
    evaluate.add_argument("--lambda", dest="lambda_value", type=float, default=0.3,
                          help="re-ranking: weight of the original distance")
    evaluate.add_argument("--qe", action="store_true",
                          help="alpha-weighted query expansion before ranking")
    evaluate.add_argument("--qe-k", type=int, default=5, help="query expansion: neighbours")
    evaluate.add_argument("--qe-alpha", type=float, default=3.0,
                          help="query expansion: similarity exponent (0 = plain average)")
    evaluate.set_defaults(func=_evaluate)

    sweep = sub.add_parser("sweep", help="run every combination of a parameter grid, resumably")
    sweep.add_argument("notebook", help="notebook path or name (e.g. 01_baseline)")
    sweep.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                       help="fixed notebook parameter (value parsed as in `vreid run`)")
    sweep.add_argument("--grid", action="append", metavar="NAME=V1,V2",
                       help="swept parameter and its values (each parsed as a -p value)")
    sweep.add_argument("--seeds", type=int, default=None,
                       help="repeat every combination with seed 0 … N-1")
    sweep.add_argument("--tag", default=None, help="prefix of the run folders' tag (sweep)")
    sweep.add_argument("--runs-dir", default=None, help="runs folder (default: ./runs)")
    sweep.set_defaults(func=_sweep)

    summary = sub.add_parser("summary", help="write <runs>/summary.md from the run folders")
    summary.add_argument("--runs-dir", default=None, help="runs folder (default: ./runs)")
    summary.add_argument("--html", action="store_true",
                         help="also export the latest executed 06_ablation_explorer to HTML")
    summary.set_defaults(func=_summary)

    pre = sub.add_parser("pretrain", help="pretrain quick_net on a large synthetic set whose "
                         "identities are disjoint from the evaluation sets")
    pre.add_argument("--out", default=None, help="default: results/pretrained (the shipped file)")
    pre.add_argument("--recipe", default=None, help="default: synth_pretrain")
    pre.add_argument("--epochs", type=int, default=None, help="default: the shipped file's")
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--device", default="auto")
    pre.set_defaults(func=_pretrain)

    snap = sub.add_parser("snapshot", help="copy run records (no checkpoints or notebooks) "
                          "into results/quick_runs or another folder")
    snap.add_argument("src", help="runs folder to copy from")
    snap.add_argument("dst", nargs="?", default=None, help="default: results/quick_runs")
    snap.add_argument("--notebook", action="append", default=None,
                      help="only runs of this notebook stem (repeatable)")
    snap.add_argument("--preset", default=None, help="only runs with this preset parameter")
    snap.set_defaults(func=_snapshot)
    return parser


def _add_run_folder_options(parser) -> None:
    """The options ``run`` and ``train`` share: parameters, tag and runs folder."""
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="notebook parameter (value parsed as YAML: 3, 0.1, true, none, "
                        "text)")
    parser.add_argument("--tag", default=None, help="suffix of the run folder name")
    parser.add_argument("--runs-dir", default=None, help="runs folder (default: ./runs)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # DatasetError is a ValueError
        print(f"vreid: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only or misplaced runs folder …
        print(f"vreid: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a run (see runs.runner)
        folder = getattr(exc, "folder", None)
        where = (f"; {folder} is marked interrupted (continue it with: vreid run --resume "
                 f"{folder})" if folder is not None else "")
        print(f"vreid: interrupted{where}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
