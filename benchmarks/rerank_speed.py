"""k-reciprocal re-ranking at VeRi-776 scale: 1,678 queries x 11,579 gallery images, 2,048-d
float32 features of 200 ids over 20 cameras (each id a cluster, each camera a shift), euclidean
distances, k1=20, k2=6, lambda=0.3. ``vreid_lite.metrics.re_ranking`` (torch) against the plain
numpy reference kept in tests/unit/metrics/reference_rerank.py, each in a fresh subprocess of
the same run: wall seconds, process CPU seconds (all threads; less disturbed by other load on
the machine), and the process's peak resident memory while re-ranking (the distance matrices
it is given included; ``peak_extra_gb`` is the rise above them).
``max_abs_diff`` compares the two results; ``mAP`` / ``rank1`` are of the plain and the
re-ranked distances.

    python benchmarks/rerank_speed.py [--scale 1.0] [--device cpu] [--budget-gb 1.0]
                                      [--threads N] [--only ours|reference]

``--scale 0.2`` is a quick run (both sizes scaled). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vreid_lite.metrics import compute_distmat, evaluate_rank, re_ranking

NUM_QUERY, NUM_GALLERY, DIM, NUM_IDS, NUM_CAMS = 1678, 11579, 2048, 200, 20
NOISE, CAMERA_SHIFT = 3.5, 0.6  # per dimension, against id centres of 1: plain mAP well below 1
REFERENCE = Path(__file__).resolve().parents[1] / "tests/unit/metrics/reference_rerank.py"


def make_problem(scale: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Distances between clustered features: id centres, a shift per camera, noise."""
    g = torch.Generator().manual_seed(seed)
    nq, ng = max(1, round(NUM_QUERY * scale)), max(1, round(NUM_GALLERY * scale))
    centres = torch.randn(NUM_IDS, DIM, generator=g)
    shifts = CAMERA_SHIFT * torch.randn(NUM_CAMS, DIM, generator=g)
    out = {}
    for split, n in (("q", nq), ("g", ng)):
        pids = torch.randint(0, NUM_IDS, (n,), generator=g)
        cams = torch.randint(0, NUM_CAMS, (n,), generator=g)
        out[f"{split}_feats"] = (centres[pids] + shifts[cams]
                                 + NOISE * torch.randn(n, DIM, generator=g))
        out[f"{split}_pids"], out[f"{split}_camids"] = pids, cams
    return out


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def worker(which: str, scale: float, device: str, budget: float, out_path: str) -> dict:
    """Re-ranks in this process; ``out_path`` receives the result."""
    p = make_problem(scale)
    q_g = compute_distmat(p["q_feats"], p["g_feats"])
    q_q = compute_distmat(p["q_feats"], p["q_feats"])
    g_g = compute_distmat(p["g_feats"], p["g_feats"])
    del p
    try:
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak-RSS count here
        reset = True
    except OSError:
        reset = False  # the peak then includes building the distances
    base = _status_kb("VmRSS")
    start, cpu_start = time.perf_counter(), time.process_time()
    if which == "ours":
        result = re_ranking(q_g.to(device), q_q.to(device), g_g.to(device),
                            memory_budget_gb=budget, verbose=False)
        if device == "cuda":
            torch.cuda.synchronize()
        result = result.cpu().numpy()
    else:
        spec = importlib.util.spec_from_file_location("reference_rerank", REFERENCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.reference_re_ranking(q_g.numpy(), q_q.numpy(), g_g.numpy())
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    np.save(out_path, result)
    peak = _status_kb("VmHWM")
    out = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
           "peak_rss_gb": round(peak / 2 ** 20, 3),
           "peak_extra_gb": round((peak - base) / 2 ** 20, 3),
           "peak_reset_before_call": reset, "inputs_checksum": float(q_g.double().sum())}
    if which == "ours" and device == "cuda":
        out["cuda_peak_gb"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 3)
    return out


def _run_worker(which: str, args: argparse.Namespace, out_path: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", which, "--scale", str(args.scale),
           "--device", args.device, "--budget-gb", str(args.budget_gb), "--out", out_path]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _scores(dist, p) -> dict:
    cmc, mean_ap, _ = evaluate_rank(dist, p["q_pids"], p["g_pids"], p["q_camids"], p["g_camids"])
    return {"mAP": round(mean_ap, 4), "rank1": round(float(cmc[0]), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--budget-gb", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch "
                        "(default: torch's choice); the numpy reference runs on one")
    parser.add_argument("--only", choices=("ours", "reference"), default=None)
    parser.add_argument("--worker", choices=("ours", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        print(json.dumps(worker(args.worker, args.scale, args.device, args.budget_gb, args.out)))
        return
    p = make_problem(args.scale)
    out = {"benchmark": "rerank_speed", "queries": p["q_feats"].shape[0],
           "gallery": p["g_feats"].shape[0], "dim": DIM, "k1": 20, "k2": 6,
           "lambda_value": 0.3, "device": args.device, "budget_gb": args.budget_gb,
           "torch": torch.__version__, "numpy": np.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "load_average_1min": round(os.getloadavg()[0], 2)}
    dist = compute_distmat(p["q_feats"], p["g_feats"])
    out["plain"] = _scores(dist, p)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("reference", "ours"):
            if args.only in (None, which):
                out[which] = _run_worker(which, args, f"{tmp}/{which}.npy")
                results[which] = np.load(f"{tmp}/{which}.npy")
                out[which].update(_scores(torch.from_numpy(results[which]), p))
    if len(results) == 2:
        if out["ours"]["inputs_checksum"] != out["reference"]["inputs_checksum"]:
            raise RuntimeError("the two subprocesses built different distance matrices")
        out["max_abs_diff"] = float(np.abs(results["ours"] - results["reference"]).max())
        out["speedup"] = round(out["reference"]["seconds"] / out["ours"]["seconds"], 2)
        out["cpu_speedup"] = round(out["reference"]["cpu_seconds"] / out["ours"]["cpu_seconds"], 2)
        out["peak_rss_ratio"] = round(out["reference"]["peak_rss_gb"]
                                      / out["ours"]["peak_rss_gb"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
