"""Training input throughput: the uint8 cache + on-device augmentation of ``TrainLoader`` against
streaming from disk and a plain PIL + torchvision-transforms ``DataLoader``.

Writes generated JPEGs to a temporary folder and prints one JSON object of images/second
(steady state: one warm-up epoch, then ``--epochs`` timed epochs), on CPU and on CUDA when present.

    python benchmarks/input_pipeline.py --n 1000 --size 128 --workers 4
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import TrainLoader
from vreid_lite.data.records import Record
from vreid_lite.data.samplers import PKSampler


def write_images(folder: Path, n: int, size: int, per_id: int) -> list[Record]:
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        coarse = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        path = folder / f"{i:06d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        records.append(Record(str(path), pid=i // per_id, camid=i % 8))
    return records


class PILDataset(torch.utils.data.Dataset):
    """The usual per-item pipeline: PIL decode, then torchvision transforms on each image."""

    def __init__(self, records: list[Record], size: int):
        pad = round(size / 16)
        self.records = records
        self.transform = T.Compose([
            T.Resize((size, size)), T.RandomHorizontalFlip(), T.Pad(pad), T.RandomCrop(size),
            T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
            T.RandomErasing(p=0.5, scale=(0.02, 0.4), ratio=(0.3, 3.3)),
        ])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        r = self.records[i]
        with Image.open(r.path) as im:
            image = self.transform(im.convert("RGB"))
        return image, r.pid


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(epoch_fn, epochs: int, device: torch.device) -> float:
    epoch_fn(0)  # warm-up: worker start, allocator, caches
    sync(device)
    start, count = time.perf_counter(), 0
    for e in range(1, epochs + 1):
        count += epoch_fn(e)
    sync(device)
    return round(count / (time.perf_counter() - start), 1)


def train_loader_epoch(loader: TrainLoader):
    def run(epoch: int) -> int:
        loader.set_epoch(epoch)
        return sum(len(b["indices"]) for b in loader)
    return run


def pil_epoch(loader, sampler: PKSampler, device: torch.device):
    def run(epoch: int) -> int:
        sampler.set_epoch(epoch)
        n = 0
        for images, _ in loader:
            n += len(images.to(device, non_blocking=True))
        return n
    return run


def measure(records, args, device: torch.device) -> dict[str, float]:
    size = (args.size, args.size)
    cached = ReIDImageDataset(records, size, cache="on", progress=False)
    streamed = ReIDImageDataset(records, size, cache="off", progress=False)
    out = {"cached_train_loader_img_s": images_per_second(
        train_loader_epoch(TrainLoader(cached, args.p, args.k, device=device)),
        args.epochs, device)}
    out["streaming_train_loader_img_s"] = images_per_second(
        train_loader_epoch(TrainLoader(streamed, args.p, args.k, device=device,
                                       workers=args.workers)), args.epochs, device)
    sampler = PKSampler([r.pid for r in records], args.p, args.k)
    pil = torch.utils.data.DataLoader(
        PILDataset(records, args.size), batch_sampler=sampler, num_workers=args.workers,
        pin_memory=device.type == "cuda", persistent_workers=args.workers > 0)
    out["pil_dataloader_img_s"] = images_per_second(pil_epoch(pil, sampler, device),
                                                    args.epochs, device)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images to generate")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--per-id", type=int, default=8, help="images per identity")
    parser.add_argument("--p", type=int, default=16)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="DataLoader workers for the streaming paths")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads of the main process (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        records = write_images(Path(tmp), args.n, args.size, args.per_id)
        start = time.perf_counter()
        ReIDImageDataset(records, (args.size, args.size), cache="on", progress=False)
        decode = round(args.n / (time.perf_counter() - start), 1)
        result = {
            "images": args.n, "image_size": args.size, "batch": args.p * args.k,
            "workers": args.workers, "cpu_threads": torch.get_num_threads(),
            "cache_decode_img_s": decode,
            "cpu": measure(records, args, torch.device("cpu")),
        }
        if torch.cuda.is_available():
            result["cuda"] = measure(records, args, torch.device("cuda"))
            result["cuda_device"] = torch.cuda.get_device_name()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
