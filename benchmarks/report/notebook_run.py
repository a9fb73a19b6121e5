"""A notebook run (``vreid run``) as one JSON object: its wall time, status and retrieval
figures, for the GPU suite.

    python benchmarks/report/notebook_run.py 01_baseline -p preset standard -p epochs 4
"""
from __future__ import annotations

import argparse
import json
import sys

from vreid_lite.runs import load_runs, run_notebook
from vreid_lite.runs.folder import read_json
from vreid_lite.runs.parameters import parse_value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    args = parser.parse_args()
    params = {name: parse_value(value) for name, value in (args.param or [])}
    folder, ok = run_notebook(args.notebook, params, tag="gpu-suite", progress=False)
    row = load_runs(folder).iloc[0]
    run = read_json(folder / "run.json")
    print(json.dumps({
        "benchmark": "notebook_run", "notebook": run["stem"], "params": params,
        "status": row["status"], "wall_s": run.get("duration_s"), "device": row["device"],
        **{k: float(row[k]) for k in ("mAP", "rank1", "mINP") if k in row},
        "folder": str(folder),
    }, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
