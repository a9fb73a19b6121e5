"""Throughput of the synthetic renderer: images per second at a given size, all steps included
(planning, drawing, JPEG + mask PNG encoding, writing files and annotations). Prints JSON."""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time

from vreid_lite.data.synthetic import render_dataset


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the render workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=2000, help="about this many images")
    parser.add_argument("--size", type=int, default=128, help="long side of every image, pixels")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--per-id", type=int, default=65, help="images per identity (VeRi-776: ~65)")
    parser.add_argument("--dir", default=None, help="where the temporary folder goes (default: system temp)")
    args = parser.parse_args()
    ids = max(2, round(args.images / args.per_id))
    recipe = {"name": "render_speed", "train_ids": max(1, ids - ids // 4), "test_ids": max(1, ids // 4),
              "images_per_id": [args.per_id, args.per_id], "cameras_per_id": [4, 13],
              "image_size": [args.size, args.size]}
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        start, cpu0 = time.perf_counter(), _cpu_seconds()
        out = render_dataset(recipe, os.path.join(tmp, "set"), workers=workers, progress=False)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu0
        counts = json.loads((out / "synth_recipe.json").read_text())["counts"]
    images = counts["train"] + counts["test"]
    print(json.dumps({
        "benchmark": "render_speed", "image_size": args.size, "workers": workers, "images": images,
        "query_copies": counts["query"], "seconds": round(seconds, 3),
        "images_per_s": round(images / seconds, 1), "cpu_seconds": round(cpu, 3),
        "images_per_cpu_s": round(images / cpu, 1), "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2), "folder": args.dir or tempfile.gettempdir(),
    }))


if __name__ == "__main__":
    main()
