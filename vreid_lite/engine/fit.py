"""``fit``: the training loop every notebook and every training stage uses, and
``train_one_epoch``, the step it repeats."""
from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vreid_lite.engine import distributed
from vreid_lite.engine.checkpoint import (CHECKPOINT_NAME, load_checkpoint, restore_rng_states,
                                          rng_states, save_checkpoint)
from vreid_lite.engine.compiled import CompiledOrEager
from vreid_lite.engine.device import choose_device, gpu_path_on, seed_everything
from vreid_lite.engine.history import History, to_plain
from vreid_lite.engine.meter import LossMeter
from vreid_lite.engine.model_spec import write_model_spec
from vreid_lite.engine.optim import make_optimizer, mixed_precision, optimizer_step
from vreid_lite.engine.progress import ProgressBar
from vreid_lite.engine.schedule import build_scheduler

GPU_CHECK_EVERY = 20  # steps between loss read-backs on a GPU (each one synchronises)


def fit(model: nn.Module, criterion: Callable, train_loader: Iterable, *, epochs: int,
        optimizer: str | torch.optim.Optimizer = "adam", lr: float = 3.5e-4,
        weight_decay: float = 5e-4, param_groups: list[dict] | None = None,
        warmup_epochs: int = 0, schedule: str = "cosine", device: str | torch.device = "auto",
        amp: bool | str = True, channels_last: bool | str = True, compile: bool = False,
        evaluate_fn: Callable[[nn.Module, int], dict] | None = None, eval_every: int = 0,
        checkpoint_dir: str | Path | None = None, resume: bool = False, seed: int = 0,
        progress: bool = True, grad_clip: float | None = None,
        log_fn: Callable[[dict], Any] | None = None) -> History:
    """Train ``model`` with ``criterion`` (``(output, batch) -> dict`` of loss terms incl.
    ``"total"``) for ``epochs`` epochs over ``train_loader`` (dict batches with ``"images"``).

    ``param_groups`` (a list of optimizer groups) lets multi-stage methods train a subset
    with their own learning rates; by default every parameter of the model and the criterion
    that requires grad is trained. The learning rate warms up linearly for ``warmup_epochs``,
    then follows ``schedule``, stepped per iteration. On CUDA, ``amp`` runs the forward pass
    in bf16 and ``channels_last`` changes the memory layout; on CPU training is fp32 unless
    either is ``"always"``, which applies it on every device. ``compile=True`` trains through
    ``torch.compile``, or eagerly, with a warning, when the model cannot be compiled.
    ``evaluate_fn(model, epoch)`` runs every ``eval_every`` epochs and after the last one
    (``epoch`` counts completed epochs), also when a resumed run had nothing left to train. ``log_fn(record)`` gets each epoch's record. With
    ``checkpoint_dir`` a checkpoint is written atomically after every epoch, and ``model.json``
    (how to rebuild the model, :mod:`~vreid_lite.engine.model_spec`) once; ``resume=True``
    continues from it exactly (on CPU a resumed run reproduces the uninterrupted one bit for
    bit). Use one ``checkpoint_dir`` per stage. Under ``torchrun`` the model is wrapped in
    DistributedDataParallel; rank 0 alone shows progress, evaluates and writes.
    Returns the :class:`History`; the model is left in eval mode.
    """
    dev = choose_device(device)
    is_distributed = distributed.init_distributed(dev)
    is_main = distributed.rank() == 0
    seed_everything(seed + distributed.rank())
    steps_per_epoch = _steps_per_epoch(train_loader)

    model.to(dev)
    if isinstance(criterion, nn.Module):
        criterion.to(dev)
    use_channels_last = gpu_path_on(channels_last, "channels_last", dev)
    if use_channels_last:
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(optimizer, model, criterion, param_groups, lr, weight_decay)
    scheduler = build_scheduler(opt, total_steps=epochs * steps_per_epoch,
                                warmup_steps=warmup_epochs * steps_per_epoch, schedule=schedule)
    autocast, scaler = mixed_precision(amp, dev)
    step_model: nn.Module = model
    if is_distributed:
        step_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None)
    if compile:
        step_model = CompiledOrEager(step_model)

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if ckpt_path is not None and is_main:
        write_model_spec(ckpt_path.parent, model, _image_size(train_loader))
    history, start_epoch = History(), 0
    if resume:
        if ckpt_path is None:
            raise ValueError("resume=True needs checkpoint_dir (the folder holding checkpoint.pt)")
        if ckpt_path.is_file():
            state = load_checkpoint(ckpt_path)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if scaler is not None and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            if hasattr(train_loader, "load_state_dict") and state.get("loader") is not None:
                train_loader.load_state_dict(state["loader"])
            history, start_epoch = History.from_dict(state["history"]), int(state["epoch"])
            if state.get("epochs") != epochs:
                warnings.warn(f"{ckpt_path} belongs to a run of {state.get('epochs')} epochs; "
                              f"continuing to {epochs} changes its learning-rate schedule",
                              stacklevel=2)
            restore_rng_states(state["rng"])
            if is_main and progress:
                print(f"resuming from {ckpt_path} after epoch {start_epoch} of {epochs}")
        elif is_main and progress:
            print(f"no checkpoint in {checkpoint_dir}; starting from scratch")

    bar = None
    if progress and is_main:
        bar = ProgressBar(total=epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch,
                          desc="fit", unit="step", dynamic_ncols=True)
    try:
        for epoch in range(start_epoch, epochs):
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(epoch)
            started = time.perf_counter()
            meter, images_seen, last_lr = train_one_epoch(
                step_model, criterion, train_loader, opt, scheduler, device=dev, epoch=epoch,
                autocast=autocast, scaler=scaler, grad_clip=grad_clip,
                channels_last=use_channels_last, bar=bar)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            elapsed = time.perf_counter() - started

            names = list(meter.means())
            means = distributed.mean_over_ranks([meter.means()[n] for n in names], dev)
            record = {"epoch": epoch + 1, **dict(zip(names, means)), "lr": last_lr,
                      "epoch_time_s": elapsed,
                      "images_per_s": images_seen * distributed.world_size() / max(elapsed, 1e-9)}
            due = eval_every > 0 and (epoch + 1) % eval_every == 0
            if evaluate_fn is not None and (due or epoch + 1 == epochs):
                metrics = _metrics(evaluate_fn(model, epoch + 1), record) if is_main else None
                record.update(distributed.share_from_rank0(metrics))
            history.append(record)
            if log_fn is not None:
                log_fn(dict(record))
            if bar is not None:
                bar.write(_summary(record))
            if ckpt_path is not None and is_main:
                save_checkpoint(ckpt_path, {
                    "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "epoch": epoch + 1, "epochs": epochs, "history": history.to_dict(),
                    "rng": rng_states(), "loader_seed": getattr(train_loader, "seed", None),
                    "loader": (train_loader.state_dict()
                               if hasattr(train_loader, "state_dict") else None),
                })
            distributed.barrier()
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    if start_epoch == epochs and epochs > 0 and evaluate_fn is not None and is_main:
        evaluate_fn(model, epochs)  # resumed after the last epoch: the caller still gets its
        # scores (its history already holds them)
    return history


def train_one_epoch(model: nn.Module, criterion: Callable, loader: Iterable,
                    optimizer: torch.optim.Optimizer, scheduler, *, device: torch.device,
                    epoch: int = 0, autocast: Callable = contextlib.nullcontext,
                    scaler: torch.amp.GradScaler | None = None, grad_clip: float | None = None,
                    channels_last: bool = False, bar=None) -> tuple[LossMeter, int, float]:
    """One pass over ``loader``, one optimiser step per batch: move the batch to ``device``,
    run the model, score its output with ``criterion``, record the loss terms, step.

    ``autocast`` / ``scaler`` come from ``mixed_precision``; the learning rate follows
    ``scheduler`` per step. Returns ``(meter, images_seen, last_lr)``: the epoch's mean loss
    terms, the images trained on, and the learning rate of the last step.
    """
    model.train()
    meter = LossMeter(epoch + 1, _steps_per_epoch(loader))
    check_every = GPU_CHECK_EVERY if device.type == "cuda" else 1
    images_seen, last_lr = 0, optimizer.param_groups[0]["lr"]
    for step, batch in enumerate(loader):
        batch = _to_device(batch, device, channels_last)
        with autocast():
            losses = criterion(model(batch["images"]), batch)
        meter.add(step, losses)
        if (step + 1) % check_every == 0:
            meter.flush()  # raises FloatingPointError on a non-finite term
            if bar is not None:
                bar.set_postfix(epoch=epoch + 1, refresh=False,
                                **{k: f"{v:.3f}" for k, v in meter.means().items()})
        last_lr = optimizer.param_groups[0]["lr"]
        optimizer_step(losses["total"], optimizer, scaler, grad_clip)
        scheduler.step()
        images_seen += batch["images"].shape[0]
        if bar is not None:
            bar.update(1)
    meter.flush()
    return meter, images_seen, last_lr


def _image_size(loader: Iterable) -> tuple[int, int] | None:
    """The (height, width) a kit loader serves (``TrainLoader.dataset``); None for others."""
    return getattr(getattr(loader, "dataset", None), "image_size", None)


def _steps_per_epoch(loader: Iterable) -> int:
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(f"fit needs a train loader with len() (batches per epoch); "
                        f"got {type(loader).__name__}") from exc
    if n <= 0:
        raise ValueError("the train loader yields no batches; is the training split empty?")
    return n


def _to_device(batch: dict, dev: torch.device, channels_last: bool) -> dict:
    out = {k: v.to(dev, non_blocking=True) if isinstance(v, torch.Tensor) else v
           for k, v in batch.items()}
    if channels_last:
        out["images"] = out["images"].contiguous(memory_format=torch.channels_last)
    return out


def _metrics(metrics: dict, record: dict) -> dict:
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate_fn must return a dict of metrics; got {type(metrics).__name__}")
    clash = sorted(set(metrics) & set(record))
    if clash:
        raise ValueError(f"evaluate_fn returned {clash}, names the epoch record already uses")
    return {str(k): to_plain(v) for k, v in metrics.items()}


def _summary(record: dict) -> str:
    return " | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in record.items() if isinstance(v, (int, float)))
