"""GPU memory each paper notebook's heaviest training stage needs at a preset's real batch,
estimated on a CPU from parameter counts and a forward pass, printed as a Markdown table.

    python benchmarks/gpu_memory_estimate.py [--preset standard] [--json out.json]

Per stage: weights fp32 (4 B per parameter) + gradients and Adam's two moments (4 + 8 B per
trainable parameter) + the tensors autograd saves for the backward pass, counted with
``torch.autograd.graph.saved_tensors_hooks`` (each storage once) during a training-mode forward
under bf16 autocast at batches of 2 and 4, and extended linearly to P×K (so the batch-free
part, e.g. bf16 copies of the weights, is counted once) + the input batch.

Limits: the CPU's autocast casts the same convolutions and matrix products as CUDA's, but not
every op alike; cuDNN workspaces, the CUDA context (about 0.5 GiB, outside PyTorch's allocator),
the caching allocator's fragmentation and the criterion (P×K × P×K distances) are not counted;
other models a notebook keeps (ablation rows, the scratch twin) add their weights only. Compare
``torch.cuda.max_memory_allocated()`` of a real run: this is a sizing guide, not a guarantee.
"""
from __future__ import annotations

import argparse
import json

import torch

from vreid_lite.config import get_preset
from vreid_lite.models import build_model

GIB = 1024 ** 3
NUM_CLASSES = 576  # the standard set's training identities (VeRi-776 has as many)


def stages(backbone: str):
    """``(notebook, stage, build)``: the training stages measured, one model each."""
    def span_masks():
        model = build_model("span", NUM_CLASSES, backbone=backbone, pretrained=None)
        model.freeze_masks(False)
        return model.mask_net

    return [
        ("01_baseline", "baseline", lambda: build_model(
            "baseline", NUM_CLASSES, backbone=backbone, pretrained=None)),
        ("02_scan", "SCAN", lambda: build_model(
            "scan", NUM_CLASSES, backbone=backbone, pretrained=None)),
        ("03_mvan", "M-Net +GLAM", lambda: build_model(
            "mvan", NUM_CLASSES, backbone=backbone, pretrained=None, branch_after=4)),
        ("04_span_cpdm", "step one (masks)", span_masks),
        ("04_span_cpdm", "step two (parts)", lambda: build_model(
            "span", NUM_CLASSES, backbone=backbone, pretrained=None)),
        ("05_anet", "ANet step 1", lambda: build_model(
            "anet", NUM_CLASSES, backbone=backbone, pretrained=None)),
    ]


def saved_bytes(model: torch.nn.Module, batch: int, image_size) -> int:
    """Bytes of the distinct storages autograd saves in one training forward of ``batch``."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    model.train()
    images = torch.randn(batch, 3, *image_size)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast("cpu", dtype=torch.bfloat16):
        model(images)
    return sum(storages.values())


def estimate(build, batch: int, image_size) -> dict:
    torch.manual_seed(0)
    model = build()
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    a2, a4 = (saved_bytes(model, b, image_size) for b in (2, 4))
    per_image = (a4 - a2) / 2
    activations = a2 + per_image * (batch - 2)
    states = 4 * params + 12 * trainable
    inputs = batch * 3 * image_size[0] * image_size[1] * 4
    return {"params_M": params / 1e6, "trainable_M": trainable / 1e6,
            "weights_grads_adam_GiB": states / GIB, "activations_GiB": activations / GIB,
            "activations_per_image_MiB": per_image / 1024 ** 2,
            "total_GiB": (states + activations + inputs) / GIB}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="standard")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    cfg = get_preset(args.preset)
    batch, size = cfg.data.p * cfg.data.k, cfg.data.image_size
    rows = []
    for notebook, stage, build in stages(cfg.backbone):
        rows.append({"notebook": notebook, "stage": stage, **estimate(build, batch, size)})
    print(f"preset {cfg.name}: {cfg.backbone}, P×K = {cfg.data.p}×{cfg.data.k} = {batch}, "
          f"{size[0]}×{size[1]}, bf16 autocast\n")
    print("| notebook | stage | parameters (trainable) | weights + grads + Adam | "
          "activations | estimate |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['notebook']} | {r['stage']} | {r['params_M']:.1f} M "
              f"({r['trainable_M']:.1f} M) | {r['weights_grads_adam_GiB']:.2f} GiB | "
              f"{r['activations_GiB']:.1f} GiB | {r['total_GiB']:.1f} GiB |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"preset": cfg.name, "batch": batch, "image_size": list(size),
                       "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
