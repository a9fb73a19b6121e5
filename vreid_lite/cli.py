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


def parse_value(text: str):
    """A ``-p NAME VALUE`` value as a YAML scalar (``3``, ``0.1``, ``true``, ``[64, 64]``,
    ``text``); ``none`` and ``null`` are None."""
    import yaml

    if text.strip().lower() in ("none", "null", "~"):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    plain = (bool, int, float, str, list, dict)
    return value if isinstance(value, plain) else text  # dates and the like stay text


def _run(args: argparse.Namespace) -> int:
    from vreid_lite.runs import run_notebook

    params = {name: parse_value(value) for name, value in (args.param or [])}
    folder, ok = run_notebook(args.notebook, params, tag=args.tag, runs_dir=args.runs_dir)
    if not ok:
        print(f"vreid: the notebook failed; see {folder / 'error.txt'}", file=sys.stderr)
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
    check.add_argument("kind", help="veri776 | vehicleid | veriwild | cityflow, or a recipe name / YAML")
    check.add_argument("root", nargs="?", default=None,
                       help="dataset folder (default: the recipe's root)")
    check.add_argument("--no-images", action="store_true", help="check listed files exist, do not decode them")
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
