"""2-D projections of N×D embeddings for scatter plots: PCA and an exact t-SNE, both
deterministic."""
from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch


def as_feature_matrix(features: Any) -> torch.Tensor:
    """``features`` (a tensor or an array) as a checked N×D float64 matrix on the CPU."""
    x = features.detach() if torch.is_tensor(features) else torch.as_tensor(np.asarray(features))
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features: expected an N×D matrix with N >= 2, got shape "
                         f"{tuple(x.shape)}")
    x = x.to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        row = int((~torch.isfinite(x)).any(1).nonzero()[0])
        raise ValueError(f"features: row {row} holds a NaN or infinite value")
    return x


def pca_2d(features: Any) -> torch.Tensor:
    """The first two principal components (N×2, float32).

    Exact eigen-decomposition of the D×D covariance rather than the randomised
    ``torch.pca_lowrank``, so the result is the same every run; each axis' sign is fixed so its
    largest loading is positive.
    """
    x = as_feature_matrix(features)
    x = x - x.mean(0, keepdim=True)
    if x.shape[1] == 1:
        return torch.cat([x, torch.zeros_like(x)], 1).float()
    _, vecs = torch.linalg.eigh(x.T @ x)
    axes = vecs[:, [-1, -2]]                       # eigh sorts eigenvalues ascending
    idx = axes.abs().argmax(0)
    axes = axes * torch.sign(axes[idx, torch.arange(2)])
    return (x @ axes).float()


def _conditional_p(dist2: torch.Tensor, perplexity: float, steps: int = 64) -> torch.Tensor:
    """Row-wise Gaussian affinities whose entropy matches ``log(perplexity)`` (bisection)."""
    n = dist2.shape[0]
    target = math.log(perplexity)
    lo = torch.full((n, 1), 1e-20, dtype=dist2.dtype)
    hi = torch.full((n, 1), 1e20, dtype=dist2.dtype)
    beta = torch.ones(n, 1, dtype=dist2.dtype)
    eye = torch.eye(n, dtype=torch.bool)
    d = dist2 - dist2.masked_fill(eye, math.inf).min(1, keepdim=True).values  # stabilises exp
    for _ in range(steps):
        p = torch.exp(-d * beta).masked_fill(eye, 0.0)
        s = p.sum(1, keepdim=True).clamp_min(1e-300)
        entropy = torch.log(s) + beta * (d * p).sum(1, keepdim=True) / s
        too_flat = entropy > target                 # raise beta (narrower kernel)
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        beta = torch.where(hi >= 1e19, beta * 2, (lo + hi) / 2)
    p = torch.exp(-d * beta).masked_fill(eye, 0.0)
    return p / p.sum(1, keepdim=True).clamp_min(1e-300)


@contextlib.contextmanager
def _one_thread():
    """t-SNE's per-iteration tensors are small (N×N, N in the hundreds): on a busy CPU, waking
    worker threads for each of its thousands of tiny operations costs far more than it saves."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tsne_2d(features: Any, perplexity: float = 30.0, iterations: int = 500,
            seed: int = 0) -> torch.Tensor:
    """Exact t-SNE (van der Maaten & Hinton, 2008) to 2-D; N×2, float32.

    O(N²) per iteration: meant for the few hundred to few thousand points of an evaluation
    split. Initialised from the PCA projection (scaled to std 1e-4) and run with early
    exaggeration 12 for the first quarter, momentum 0.5 then 0.8 and per-coordinate gains, so
    it is deterministic; ``seed`` adds a tiny jitter that only breaks exact ties.
    """
    x = as_feature_matrix(features)
    n = x.shape[0]
    if not 1 <= perplexity < n:
        raise ValueError(f"tsne_2d: perplexity {perplexity} must be in [1, N) with N = {n}")
    if iterations < 1:
        raise ValueError(f"tsne_2d: iterations must be >= 1, got {iterations}")
    with _one_thread():
        return _tsne(x, perplexity, iterations, seed)


def _tsne(x: torch.Tensor, perplexity: float, iterations: int, seed: int) -> torch.Tensor:
    n = x.shape[0]
    dist2 = torch.cdist(x, x).pow(2)
    p = _conditional_p(dist2, perplexity)
    p = ((p + p.T) / (2 * n)).clamp_min(1e-12)
    gen = torch.Generator().manual_seed(seed)
    y = pca_2d(x).double()
    y = y / y.std(0, keepdim=True).clamp_min(1e-12) * 1e-4
    y = y + 1e-8 * torch.randn(y.shape, generator=gen, dtype=y.dtype)
    step = torch.zeros_like(y)
    gains = torch.ones_like(y)
    lr = max(n / 12 / 4, 50.0)
    exaggerate = max(1, iterations // 4)
    for it in range(iterations):
        pe = p * 12.0 if it < exaggerate else p
        num = 1.0 / (1.0 + torch.cdist(y, y).pow(2))
        num.fill_diagonal_(0.0)
        q = (num / num.sum()).clamp_min(1e-12)
        w = (pe - q) * num
        grad = 4.0 * (w.sum(1, keepdim=True) * y - w @ y)
        same_sign = torch.sign(grad) == torch.sign(step)
        gains = torch.where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01)
        momentum = 0.5 if it < exaggerate else 0.8
        step = momentum * step - lr * gains * grad
        y = y + step
        y = y - y.mean(0, keepdim=True)
    return y.float()


def project_2d(features: Any, method: str = "pca", seed: int = 0, **options: Any) -> torch.Tensor:
    """N×2 projection of N×D features: ``"pca"`` or ``"tsne"`` (options go to ``tsne_2d``)."""
    if method == "pca":
        if options:
            raise ValueError(f"project_2d: PCA takes no options, got {sorted(options)}")
        return pca_2d(features)
    if method == "tsne":
        return tsne_2d(features, seed=seed, **options)
    raise ValueError(f"project_2d: unknown method {method!r}; expected 'pca' or 'tsne'")
