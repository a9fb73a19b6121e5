"""MVAN's spatial attention block (Teng et al., "Multi-View Attention Network", §III-B-3):
the global attention module (GAM, Eq. 13–15) and the parameter-free local attention module
(LAM, Eq. 16–17), combined on a branch's feature map as F̂ = F ⊙ (G + L) (Eq. 5).

The paper writes F̂ only for both maps together. For LAM alone (Table IV's +LAM row) two
readings are offered, both interpretations: ``"literal"`` drops G from Eq. 5's sum, F ⊙ L;
``"residual"`` puts 1 where G was, F ⊙ (1 + L). L sums to 1 over the h×w positions (Eq. 17), so
F ⊙ L keeps about one position's worth of F, whereas in Eq. 5 G ∈ (0, 1) already carries F
everywhere and L only adds to it; the residual reading keeps that role of L."""
from __future__ import annotations

import torch
from torch import nn

ATTENTIONS = ("none", "gam", "lam", "glam")
"""Which maps refine a branch: none (Multi-View), GAM only, LAM only, both (GLAM)."""

LAM_APPLY = ("literal", "residual")
"""How LAM alone refines F: ``literal`` F ⊙ L, ``residual`` F ⊙ (1 + L); both interpretations."""


class GlobalAttentionModule(nn.Module):
    """G = σ(w2 · ReLU(w1 · F)) with 1×1 convolutions c → c/r → 1 (Eq. 13–15): a soft
    foreground mask in (0, 1), B×C×h×w → B×1×h×w.

    Eq. 13–14 are weighted sums without a bias term, so the convolutions have none.
    """

    def __init__(self, in_channels: int, reduction: int = 16):
        super().__init__()
        if in_channels < 1 or reduction < 1:
            raise ValueError(f"GlobalAttentionModule(in_channels={in_channels}, "
                             f"reduction={reduction}); expected both >= 1")
        hidden = max(1, in_channels // reduction)  # c' = c / r (Eq. 13), r = 16 in the paper
        self.reduce = nn.Conv2d(in_channels, hidden, 1, bias=False)   # w(1), Eq. 14
        self.relu = nn.ReLU(inplace=True)
        self.score = nn.Conv2d(hidden, 1, 1, bias=False)              # w(2), Eq. 13

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.score(self.relu(self.reduce(fmap))))  # Eq. 15


class LocalAttentionModule(nn.Module):
    """L = softmax over positions of S, S = Σ_k F(·, ·, k) (Eq. 16–17): B×C×h×w → B×1×h×w,
    non-negative and summing to 1 over the h×w positions. No parameters."""

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        b, _, h, w = fmap.shape
        summed = fmap.float().sum(dim=1).view(b, h * w)           # Eq. 16, in float32
        return summed.softmax(dim=1).view(b, 1, h, w).to(fmap.dtype)  # Eq. 17


class SpatialAttention(nn.Module):
    """One branch's attention block: F̂ = F ⊙ (G + L) (Eq. 5) for ``"glam"``.

    The paper does not write F̂ for one module alone (Table IV's +GAM and +LAM rows). For
    ``"gam"`` we drop L from Eq. 5's sum, F ⊙ G. For ``"lam"``, ``lam_apply`` picks the
    reading: ``"literal"`` drops G, F ⊙ L; ``"residual"`` F ⊙ (1 + L). ``lam_apply`` is about
    LAM alone: with any other ``kind`` it must stay ``"literal"`` (Eq. 5 is written out for
    GLAM). ``"none"`` returns F unchanged. ``forward`` returns ``(F̂, {"gam": G, "lam": L})``
    with the maps computed.
    """

    def __init__(self, in_channels: int, kind: str = "glam", reduction: int = 16,
                 lam_apply: str = "literal"):
        super().__init__()
        if kind not in ATTENTIONS:
            raise ValueError(f"attention {kind!r}; expected one of {ATTENTIONS}")
        if lam_apply not in LAM_APPLY:
            raise ValueError(f"lam_apply {lam_apply!r}; expected one of {LAM_APPLY}")
        if lam_apply != "literal" and kind != "lam":
            raise ValueError(f"lam_apply {lam_apply!r} reads F̂ for LAM alone; attention "
                             f"{kind!r} has {'Eq. 5 written out' if kind == 'glam' else 'no LAM'}"
                             ", so keep lam_apply='literal'")
        self.kind, self.lam_apply = kind, lam_apply
        self.gam = GlobalAttentionModule(in_channels, reduction) if kind in ("gam", "glam") \
            else None
        self.lam = LocalAttentionModule() if kind in ("lam", "glam") else None

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        maps: dict[str, torch.Tensor] = {}
        if self.gam is not None:
            maps["gam"] = self.gam(fmap)
        if self.lam is not None:
            maps["lam"] = self.lam(fmap)
        if not maps:
            return fmap, maps
        if self.lam_apply == "residual":
            return fmap * (1 + maps["lam"]), maps
        return fmap * sum(maps.values()), maps
