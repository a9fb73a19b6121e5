"""Batch transforms that run on the training device: normalisation and the usual re-id
augmentation (horizontal flip, pad-and-crop, random erasing), vectorised over the batch."""
from __future__ import annotations

import functools
import math

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@functools.lru_cache(maxsize=None)
def _imagenet_stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (in 0..255 units) and reciprocal std per channel, shaped 3×1×1, on ``device``."""
    mean = torch.tensor(IMAGENET_MEAN, device=device).mul(255).view(3, 1, 1)
    inv_std = torch.tensor(IMAGENET_STD, device=device).mul(255).reciprocal().view(3, 1, 1)
    return mean, inv_std


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (…×3×H×W, any device) to float32 normalised with ImageNet mean and std."""
    if images.dtype != torch.uint8:
        raise TypeError(f"normalize expects uint8 images, got {images.dtype}")
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"normalize expects …×3×H×W images, got shape {tuple(images.shape)}")
    mean, inv_std = _imagenet_stats(images.device)
    return images.float().sub_(mean).mul_(inv_std)  # in place: no second full-size buffer


def _check_batch(images: torch.Tensor, masks: torch.Tensor | None) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"expected a uint8 B×3×H×W batch, got {images.dtype} "
                         f"{tuple(images.shape)}")
    if masks is not None:
        b, _, h, w = images.shape
        if masks.dtype != torch.uint8 or tuple(masks.shape) != (b, 1, h, w):
            raise ValueError(f"expected uint8 masks of shape {(b, 1, h, w)}, got {masks.dtype} "
                             f"{tuple(masks.shape)}")


class EvalTransform(nn.Module):
    """Normalisation only; masks pass through unchanged."""

    def forward(self, images: torch.Tensor, masks: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        _check_batch(images, masks)
        return normalize(images) if masks is None else (normalize(images), masks)


class TrainAugment(nn.Module):
    """Flip, pad-and-crop and random erasing of a uint8 batch on its own device.

    ``pad``: an int is pixels on every side; a float is a fraction of each side. The default 1/16
    gives 16 px at 256 and 4 px at 64 (the strong re-id baseline padded 10 px at 256×128).
    Padding is black, as zero-padding the uint8 image would be.
    Random erasing (Zhong et al., AAAI 2020) draws the area fraction uniformly from
    ``erase_area`` and the aspect ratio h/w log-uniformly from ``erase_ratio`` (the paper draws
    it uniformly; log-uniform makes tall and wide rectangles equally likely), retrying up to
    ``erase_attempts`` times for a rectangle that fits. The paper leaves the fill open (random
    values or the mean); ``erase_fill="mean"`` fills with the ImageNet mean (0 after
    normalisation), ``"random"`` with standard normal noise. Erasing never touches masks.

    ``forward(images, masks=None, generator=None)`` returns normalised float32 images, or
    ``(images, masks)`` when masks (uint8 B×1×H×W) are given: they get the same flips and crops
    (uncovered pixels become background 0). All randomness comes from ``generator`` when given.

    ``bg_swap`` (needs masks; 0 = off): the probability that an image's background is replaced by
    another image's, before the flip, where the mask says both are background (mask 0). The
    donor is the image ``shift`` places on in the batch, ``shift`` drawn from 1..B−1 per batch, so
    no image is its own donor; pixels where the donor shows its vehicle keep the image's own
    background, so no second vehicle appears. A background then says nothing about identity or
    camera: mask-guided background augmentation, as copy-paste augmentation does for detection.
    """

    def __init__(self, p_flip: float = 0.5, pad: int | float = 1 / 16, erase_p: float = 0.5,
                 erase_area: tuple[float, float] = (0.02, 0.4),
                 erase_ratio: tuple[float, float] = (0.3, 3.3), erase_fill: str = "mean",
                 erase_attempts: int = 10, bg_swap: float = 0.0):
        super().__init__()
        if not 0 <= bg_swap <= 1:
            raise ValueError(f"bg_swap={bg_swap}: expected a probability in [0, 1]")
        if isinstance(pad, float) and not 0 <= pad < 1:
            raise ValueError(f"pad={pad}: a float pad is a fraction of the side, in [0, 1)")
        if isinstance(pad, int) and pad < 0:
            raise ValueError(f"pad={pad}: expected pixels >= 0")
        if erase_fill not in ("mean", "random"):
            raise ValueError(f"erase_fill={erase_fill!r}; expected 'mean' or 'random'")
        self.p_flip, self.pad, self.erase_p = p_flip, pad, erase_p
        self.erase_area, self.erase_ratio = erase_area, erase_ratio
        self.erase_fill, self.erase_attempts = erase_fill, erase_attempts
        self.bg_swap = bg_swap

    def extra_repr(self) -> str:
        return (f"p_flip={self.p_flip}, pad={self.pad}, erase_p={self.erase_p}, "
                f"erase_area={self.erase_area}, erase_ratio={self.erase_ratio}, bg_swap={self.bg_swap}")

    def pad_pixels(self, h: int, w: int) -> tuple[int, int]:
        """(vertical, horizontal) pad in pixels for an h×w image."""
        if isinstance(self.pad, float):
            return round(h * self.pad), round(w * self.pad)
        return self.pad, self.pad

    def forward(self, images: torch.Tensor, masks: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        _check_batch(images, masks)
        b, c, h, w = images.shape
        device = images.device
        draw_on = generator.device if generator is not None else device

        def uniform(*shape: int) -> torch.Tensor:
            return torch.rand(shape, generator=generator, device=draw_on).to(device)

        if self.bg_swap > 0:
            if masks is None:
                raise ValueError("bg_swap needs masks: pass the batch's masks, or bg_swap=0")
            images = self._swap_backgrounds(images, masks, uniform)
        # Flip then pad-and-crop as one gather: output (y, x) reads flipped-padded (y+dy, x+dx).
        flip = uniform(b) < self.p_flip
        py, px = self.pad_pixels(h, w)
        dy = (uniform(b) * (2 * py + 1)).long() - py
        dx = (uniform(b) * (2 * px + 1)).long() - px
        sy = torch.arange(h, device=device) + dy[:, None]                     # B×H
        sx = torch.arange(w, device=device) + dx[:, None]                     # B×W
        inside = ((sy >= 0) & (sy < h))[:, :, None] & ((sx >= 0) & (sx < w))[:, None, :]
        sx = torch.where(flip[:, None], w - 1 - sx, sx)
        source = sy.clamp(0, h - 1)[:, :, None] * w + sx.clamp(0, w - 1)[:, None, :]
        source = source.view(b, 1, h * w)
        inside = inside.view(b, 1, h, w)

        def move(x: torch.Tensor) -> torch.Tensor:
            n = x.shape[1]
            moved = x.reshape(b, n, h * w).gather(2, source.expand(b, n, h * w))
            return moved.view(b, n, h, w).mul_(inside)  # padding is 0; mul_ beats masked_fill_

        out = normalize(move(images))
        out = self._erase(out, uniform, generator, draw_on)
        return out if masks is None else (out, move(masks))

    def _swap_backgrounds(self, images: torch.Tensor, masks: torch.Tensor, uniform) -> torch.Tensor:
        b = images.shape[0]
        if b < 2:
            return images
        shift = 1 + int(uniform(1)[0] * (b - 1))
        donor = (torch.arange(b, device=images.device) + shift) % b
        swap = (uniform(b) < self.bg_swap)[:, None, None, None]
        take = swap & (masks == 0) & (masks.index_select(0, donor) == 0)
        return torch.where(take, images.index_select(0, donor), images)

    def _erase(self, x: torch.Tensor, uniform, generator, draw_on) -> torch.Tensor:
        b, c, h, w = x.shape
        if self.erase_p <= 0:
            return x
        t = self.erase_attempts
        lo, hi = self.erase_area
        area = (lo + (hi - lo) * uniform(b, t)) * (h * w)
        log_lo, log_hi = math.log(self.erase_ratio[0]), math.log(self.erase_ratio[1])
        ratio = torch.exp(log_lo + (log_hi - log_lo) * uniform(b, t))
        eh = torch.sqrt(area * ratio).round().long()
        ew = torch.sqrt(area / ratio).round().long()
        fits = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
        first = fits.int().argmax(dim=1, keepdim=True)                         # first fitting try
        eh, ew = eh.gather(1, first)[:, 0], ew.gather(1, first)[:, 0]
        apply = (uniform(b) < self.erase_p) & fits.any(dim=1)
        y0 = (uniform(b) * (h - eh + 1)).long()
        x0 = (uniform(b) * (w - ew + 1)).long()
        ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
        rows = (ys >= y0[:, None]) & (ys < (y0 + eh)[:, None])                 # B×H
        cols = (xs >= x0[:, None]) & (xs < (x0 + ew)[:, None])                 # B×W
        region = (rows[:, :, None] & cols[:, None, :] & apply[:, None, None])[:, None]
        if self.erase_fill == "mean":
            return x.mul_(~region)
        noise = torch.randn(x.shape, generator=generator, device=draw_on).to(x.device)
        return torch.where(region, noise, x)
