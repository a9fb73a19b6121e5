"""Seconds to evaluate a VeRi-776-sized test set: 1,678 queries x 11,579 gallery images,
2,048-d float32 features, 776 ids over 20 cameras (random). Distances and ranking are timed
separately (and ``rank_metrics``, which fuses both chunk by chunk); the best of ``--repeats``
runs is reported, on CPU and on CUDA when present. ``*_cpu_s`` are process CPU seconds (all
threads), a figure that other load on the machine disturbs less than wall-clock time.

Section ``cpdm``: SPAN's part-aware distance on 4 x 512-d part features with area ratios
(the same 2,048 numbers per image), against the euclidean distance on their concatenation
measured in the same run (``cpdm_to_euclidean`` is the ratio of the distance times).

    python benchmarks/eval_speed.py [--repeats 3] [--devices cpu,cuda] [--threads N]
                                    [--sections euclidean,cpdm]

Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from vreid_lite.metrics import (
    area_ratios, compute_distmat, evaluate_rank, pack_parts, rank_metrics,
)

NUM_QUERY, NUM_GALLERY, DIM, NUM_IDS, NUM_CAMS = 1678, 11579, 2048, 776, 20
PARTS, PART_DIM = 4, 512


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


def make_part_problem(problem: dict[str, torch.Tensor], seed: int = 1) -> dict[str, torch.Tensor]:
    """The same features seen as 4 x 512-d parts, with area ratios of random part masks (a
    part is unseen with probability 1/3, as in a two-view image)."""
    g = torch.Generator().manual_seed(seed)
    out = dict(problem)
    for split, n in (("q", NUM_QUERY), ("g", NUM_GALLERY)):
        masks = torch.rand(n, 3, 8, 8, generator=g) * (torch.rand(n, 3, 1, 1, generator=g) > 1 / 3)
        out[f"{split}_areas"] = area_ratios(masks)
        out[f"{split}_parts"] = problem[f"{split}_feats"].view(n, PARTS, PART_DIM)
    return out


def time_cpdm(problem: dict[str, torch.Tensor], device: str, repeats: int) -> dict:
    p = {k: v.to(device) for k, v in make_part_problem(problem).items()}
    q_packed = pack_parts(p["q_parts"], p["q_areas"])
    g_packed = pack_parts(p["g_parts"], p["g_areas"])
    best = dict.fromkeys(("cpdm_distmat_s", "euclidean_concat_distmat_s", "cpdm_rank_metrics_s",
                          "cpdm_distmat_cpu_s"), float("inf"))
    for _ in range(repeats + 1):  # the first run warms up kernels and allocators
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        dist = compute_distmat(q_packed, g_packed, "cpdm")
        _sync(device)
        t1, c1 = time.perf_counter(), time.process_time()
        del dist
        dist = compute_distmat(p["q_feats"], p["g_feats"], "euclidean")
        _sync(device)
        t2 = time.perf_counter()
        del dist
        metrics = rank_metrics(q_packed, g_packed, p["q_pids"], p["g_pids"], p["q_camids"],
                               p["g_camids"], distance="cpdm")
        _sync(device)
        t3 = time.perf_counter()
        for key, value in (("cpdm_distmat_s", t1 - t0), ("euclidean_concat_distmat_s", t2 - t1),
                           ("cpdm_rank_metrics_s", t3 - t2), ("cpdm_distmat_cpu_s", c1 - c0)):
            best[key] = min(best[key], value)
    best = {k: round(v, 4) for k, v in best.items()}
    best["cpdm_to_euclidean"] = round(best["cpdm_distmat_s"] / best["euclidean_concat_distmat_s"],
                                      3)
    best.update(mAP=round(metrics["mAP"], 5), rank1=round(metrics["rank1"], 5))
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
    parser.add_argument("--sections", default="euclidean,cpdm", help="comma list of "
                        "euclidean (the 2,048-d evaluation) and cpdm (SPAN's part distance)")
    args = parser.parse_args()
    sections = args.sections.split(",")
    unknown = sorted(set(sections) - {"euclidean", "cpdm"})
    if unknown:
        parser.error(f"--sections: unknown {unknown}; expected euclidean and/or cpdm")
    if args.threads:
        torch.set_num_threads(args.threads)
    problem = make_problem()
    out = {"benchmark": "eval_speed", "queries": NUM_QUERY, "gallery": NUM_GALLERY, "dim": DIM,
           "ids": NUM_IDS, "cameras": NUM_CAMS, "repeats": args.repeats,
           "torch": torch.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
           "results": {}}
    if "cpdm" in sections:
        out.update(parts=PARTS, part_dim=PART_DIM, cpdm={})
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            for section, key in (("euclidean", "results"), ("cpdm", "cpdm")):
                if section in sections:
                    out[key]["cuda"] = None
            continue
        if "euclidean" in sections:
            out["results"][device] = time_device(problem, device, args.repeats)
        if "cpdm" in sections:
            out["cpdm"][device] = time_cpdm(problem, device, args.repeats)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
