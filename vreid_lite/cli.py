"""The ``vreid`` command: ``vreid data …``, ``vreid run …``.

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


def _run(args: argparse.Namespace) -> int:
    from vreid_lite.runs import run_notebook

    params = {name: value for name, value in (args.param or [])}
    folder, ok = run_notebook(args.notebook, params, tag=args.tag, runs_dir=args.runs_dir)
    print(folder)
    return 0 if ok else 1


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
    check.add_argument("kind", help="veri776 | vehicleid | veriwild | cityflow, or a recipe name")
    check.add_argument("root", help="dataset folder")
    check.add_argument("--no-images", action="store_true", help="skip opening every image")
    check.set_defaults(func=_data_check)

    run = sub.add_parser("run", help="execute a notebook with papermill into a new run folder")
    run.add_argument("notebook", help="notebook path or name (e.g. 01_baseline)")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="notebook parameter (value parsed as YAML: 3, 0.1, true, none, text)")
    run.add_argument("--tag", default=None, help="suffix of the run folder name")
    run.add_argument("--runs-dir", default=None, help="runs folder (default: ./runs)")
    run.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # DatasetError is a ValueError
        print(f"vreid: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
