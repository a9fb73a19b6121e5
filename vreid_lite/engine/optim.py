"""Optimizer construction, mixed precision and one optimisation step."""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from vreid_lite.engine.device import gpu_path_on


def make_optimizer(optimizer: str | torch.optim.Optimizer, model: nn.Module, criterion,
                   param_groups: list | None, lr: float, weight_decay: float):
    """``"adam"`` or ``"sgd"`` (momentum 0.9) over ``param_groups`` (default: every parameter
    of the model and of the criterion that requires grad); an Optimizer is used as given."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if param_groups is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if isinstance(criterion, nn.Module):
            params += [p for p in criterion.parameters() if p.requires_grad]
        param_groups = [{"params": params}]
    groups = [g if isinstance(g, dict) else {"params": [g]} for g in param_groups]
    if optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, weight_decay=weight_decay, momentum=0.9)
    raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam', 'sgd' or a "
                     "torch.optim.Optimizer")


def mixed_precision(amp: bool | str, device: torch.device):
    """``(autocast factory, grad scaler or None)``: bf16 autocast on CUDA (fp16 with loss
    scaling on GPUs without bf16); full fp32 elsewhere or when ``amp`` is off.
    ``amp="always"`` autocasts to bf16 on any device, a CPU included."""
    if not gpu_path_on(amp, "amp", device):
        return contextlib.nullcontext, None
    if device.type != "cuda":
        return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def optimizer_step(total: torch.Tensor, opt: torch.optim.Optimizer, scaler=None,
                   grad_clip: float | None = None) -> None:
    """Back-propagate ``total`` and step, clipping the gradient norm to ``grad_clip``."""
    opt.zero_grad(set_to_none=True)
    params = [p for g in opt.param_groups for p in g["params"]]
    if scaler is not None:
        scaler.scale(total).backward()
        if grad_clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        scaler.step(opt)
        scaler.update()
        return
    total.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    opt.step()
