"""Seconds to evaluate a VeRi-776-sized test set: 1,678 queries x 11,579 gallery images,
2,048-d float32 features, 776 ids over 20 cameras (random). Distances and ranking are timed
separately (and ``rank_metrics``, which fuses both chunk by chunk); the best of ``--repeats``
runs is reported, on CPU and on CUDA when present. ``*_cpu_s`` are process CPU seconds (all
threads), a figure that other load on the machine disturbs less than wall-clock time.

    python benchmarks/eval_speed.py [--repeats 3] [--devices cpu,cuda] [--threads N]

Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from vreid_lite.metrics import compute_distmat, evaluate_rank, rank_metrics

NUM_QUERY, NUM_GALLERY, DIM, NUM_IDS, NUM_CAMS = 1678, 11579, 2048, 776, 20


def make_problem(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "q_feats": torch.randn(NUM_QUERY, DIM, generator=g),
        "g_feats": torch.randn(NUM_GALLERY, DIM, generator=g),
        "q_pids": torch.randint(0, NUM_IDS, (NUM_QUERY,), generator=g),
        "g_pids": torch.randint(0, NUM_IDS, (NUM_GALLERY,), generator=g),
        "q_camids": torch.randint(0, NUM_CAMS, (NUM_QUERY,), generator=g),
        "g_camids": torch.randint(0, NUM_CAMS, (NUM_GALLERY,), generator=g),
    }


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_device(problem: dict[str, torch.Tensor], device: str, repeats: int) -> dict:
    p = {k: v.to(device) for k, v in problem.items()}
    best = dict.fromkeys(("distmat_s", "evaluate_rank_s", "total_s", "rank_metrics_s",
                          "distmat_cpu_s", "evaluate_rank_cpu_s"), float("inf"))
    for _ in range(repeats + 1):  # the first run warms up kernels and allocators
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        dist = compute_distmat(p["q_feats"], p["g_feats"], "euclidean")
        _sync(device)
        t1, c1 = time.perf_counter(), time.process_time()
        cmc, mean_ap, mean_inp = evaluate_rank(dist, p["q_pids"], p["g_pids"], p["q_camids"],
                                               p["g_camids"], max_rank=50)
        _sync(device)
        t2, c2 = time.perf_counter(), time.process_time()
        del dist
        rank_metrics(p["q_feats"], p["g_feats"], p["q_pids"], p["g_pids"], p["q_camids"],
                     p["g_camids"])
        _sync(device)
        t3 = time.perf_counter()
        for key, value in (("distmat_s", t1 - t0), ("evaluate_rank_s", t2 - t1),
                           ("total_s", t2 - t0), ("rank_metrics_s", t3 - t2),
                           ("distmat_cpu_s", c1 - c0), ("evaluate_rank_cpu_s", c2 - c1)):
            best[key] = min(best[key], value)
    best = {k: round(v, 4) for k, v in best.items()}
    best.update(mAP=round(mean_ap, 5), rank1=round(float(cmc[0]), 5),
                mINP=round(mean_inp, 5))
    if device == "cuda":
        best["name"] = torch.cuda.get_device_name()
    else:
        best["threads"] = torch.get_num_threads()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", default="cpu,cuda", help="comma list; cuda is skipped "
                        "when unavailable")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: "
                        "torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    problem = make_problem()
    out = {"benchmark": "eval_speed", "queries": NUM_QUERY, "gallery": NUM_GALLERY, "dim": DIM,
           "ids": NUM_IDS, "cameras": NUM_CAMS, "repeats": args.repeats,
           "torch": torch.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
           "results": {}}
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            out["results"]["cuda"] = None
            continue
        out["results"][device] = time_device(problem, device, args.repeats)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
