"""Images/s of ``fit()`` on the preset's cached synthetic set against the bare training step
on random tensors (same model, optimizer, batch size and precision), printed as JSON.

The ratio shows what the input pipeline and the loop's bookkeeping cost: near 1 means the
network, not the kit, sets the pace.

    python benchmarks/train_throughput.py --preset quick [--device auto] [--epochs 2]
        [--backbone resnet50] [--image-size 256] [--pk 16x4] [--no-amp] [--no-compile]
        [--no-channels-last]

``--amp`` / ``--compile`` default to the preset's; the other flags replace the preset's
backbone, image side and P×K (the images are the preset's synthetic set, resized).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import time

import torch

from vreid_lite.config import get_preset
from vreid_lite.engine import choose_device, fit, seed_everything
from vreid_lite.experiment import load_data, make_loaders
from vreid_lite.models import build_criterion, build_model


def bare_images_per_s(model, criterion, batch_size: int, image_size, num_classes: int, k: int,
                      device: torch.device, amp: bool, compile: bool, steps: int, lr: float,
                      weight_decay: float, channels_last: bool = True) -> float:
    """Forward, loss, backward and Adam step on one random batch held on the device."""
    h, w = image_size
    images = torch.randn(batch_size, 3, h, w, device=device)
    pids = torch.arange(batch_size, device=device) // k % num_classes  # P ids × K images
    cuda = device.type == "cuda"
    if cuda and channels_last:
        model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    batch = {"images": images, "pids": pids}
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda and amp \
        else contextlib.nullcontext
    model.train()
    forward = torch.compile(model) if compile else model

    def step():
        with autocast():
            losses = criterion(forward(images), batch)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()

    for _ in range(3):  # warm-up: allocator, kernels, autotuning
        step()
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def with_overrides(preset, args):
    """``preset`` with the backbone, image side, P×K, AMP and compile the flags give."""
    data, train = preset.data, preset.train
    if args.image_size is not None:
        data = dataclasses.replace(data, image_size=(args.image_size, args.image_size))
    if args.pk is not None:
        try:
            p, k = (int(n) for n in args.pk.lower().split("x"))
        except ValueError:
            raise SystemExit(f"--pk {args.pk!r}: expected PxK, e.g. 16x4") from None
        data = dataclasses.replace(data, p=p, k=k)
    given = {k: v for k, v in (("amp", args.amp), ("compile", args.compile)) if v is not None}
    return dataclasses.replace(preset, backbone=args.backbone or preset.backbone, data=data,
                               train=dataclasses.replace(train, **given))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick", choices=["quick", "standard"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=2,
                        help="epochs of fit(); the first is reported apart as warm-up")
    parser.add_argument("--model", default="baseline")
    parser.add_argument("--backbone", default=None, help="default: the preset's")
    parser.add_argument("--image-size", type=int, default=None, help="square side in pixels")
    parser.add_argument("--pk", default=None, help="P×K batch as PxK, e.g. 16x4")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    preset = with_overrides(get_preset(args.preset), args)
    device = choose_device(args.device)
    seed_everything(0)
    data = load_data(preset)
    loader, num_classes = make_loaders(data, preset, device, progress=False)
    model = build_model(args.model, num_classes, **({"backbone": preset.backbone}
                                                     if args.model == "baseline" else {}))
    bare_model = copy.deepcopy(model).to(device)
    criterion = build_criterion(args.model)
    batch_size = preset.data.p * preset.data.k
    amp = preset.train.amp

    history = fit(model, criterion, loader, epochs=args.epochs, lr=preset.train.lr,
                  weight_decay=preset.train.weight_decay, warmup_epochs=0, device=device,
                  amp=amp, compile=preset.train.compile, channels_last=args.channels_last,
                  progress=False)
    rates = history.series("images_per_s")
    fit_rate = rates[-1] if len(rates) == 1 else sum(rates[1:]) / len(rates[1:])
    bare_rate = bare_images_per_s(bare_model, criterion, batch_size, preset.data.image_size,
                                  num_classes, preset.data.k, device, amp,
                                  preset.train.compile, steps=len(loader), lr=preset.train.lr,
                                  weight_decay=preset.train.weight_decay,
                                  channels_last=args.channels_last)
    print(json.dumps({
        "benchmark": "train_throughput", "preset": args.preset, "model": args.model,
        "backbone": preset.backbone, "device": str(device), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "batch_size": batch_size,
        "image_size": list(preset.data.image_size), "steps_per_epoch": len(loader),
        "epochs": args.epochs, "amp": amp and device.type == "cuda",
        "channels_last": args.channels_last and device.type == "cuda",
        "compile": preset.train.compile,
        "fit_images_per_s": round(fit_rate, 2),
        "fit_images_per_s_first_epoch": round(rates[0], 2),
        "bare_step_images_per_s": round(bare_rate, 2),
        "fit_over_bare": round(fit_rate / bare_rate, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
