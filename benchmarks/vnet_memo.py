"""Seconds per MVAN ablation row with its own copy of the frozen V-Net against one sharing the
V-Net (and its remembered outputs) of a row trained before it, printed as JSON.

Notebook 03 trains its rows this way: every row sees the same batches beside the same frozen
V-Net, so from the second row on each batch's viewpoint is remembered, not computed. Both
timed rows train the same variant from the same seed; their weights must come out equal.

    python benchmarks/vnet_memo.py [--epochs 2] [--variant +GAM]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from vreid_lite.config import get_preset
from vreid_lite.experiment import load_data, make_loaders
from vreid_lite.pipelines.mvan import train_mvan


def timed_row(variant, data, loader, num_classes, preset, **vnet):
    start = time.perf_counter()
    run = train_mvan(variant, data, loader, num_classes, preset, device="cpu",
                     progress=False, **vnet)
    return time.perf_counter() - start, run.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--variant", default="+GAM")
    args = parser.parse_args()
    preset = get_preset("quick", epochs=args.epochs)
    data = load_data(preset, None, None)
    loader, num_classes = make_loaders(data, preset, "cpu", seed=0, progress=False)
    # the first row trains the V-Net, freezes it and fills its memo with this stream's batches
    _, first = timed_row("+GLAM", data, loader, num_classes, preset)
    vnet = first.vnet
    copy_s, copied = timed_row(args.variant, data, loader, num_classes, preset,
                               vnet_state=vnet.state_dict())
    hits_before = vnet.memo.hits
    shared_s, shared = timed_row(args.variant, data, loader, num_classes, preset, vnet=vnet)
    theirs = copied.state_dict()
    same = all(torch.equal(v, theirs[k]) for k, v in shared.state_dict().items())
    print(json.dumps({
        "benchmark": "vnet_memo", "device": "cpu", "threads": torch.get_num_threads(),
        "variant": args.variant, "epochs": args.epochs, "batches_per_epoch": len(loader),
        "row_own_vnet_s": round(copy_s, 2), "row_shared_vnet_s": round(shared_s, 2),
        "speedup": round(copy_s / shared_s, 2), "memo_hits": vnet.memo.hits - hits_before,
        "same_weights": same}, indent=2))


if __name__ == "__main__":
    main()
