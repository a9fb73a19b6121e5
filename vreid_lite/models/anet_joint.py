"""ANet's Joint Module (§3.2, Eq. 5–7): merge the attribute maps into G, distil G_reid from it
and add it onto the backbone map F."""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(channels: int, kernel: int) -> nn.Sequential:
    """θ(x) = ReLU(BN(W x)) with a c×c ``kernel``×``kernel`` convolution (size kept)."""
    return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class JointModule(nn.Module):
    """G = ΣA_i + θ_A(ΣA_i) with θ_A a 1×1 conv + BN + ReLU (Eq. 5);
    G_reid = θ_g1(θ_g2(G)) with 3×3 convs + BN + ReLU (Eq. 6); J = F + G_reid (Eq. 7).

    ``forward(F, [A_1 … A_n])`` returns ``(G, G_reid, J)``, all B×c×h×w.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.theta_a = conv_bn_relu(channels, 1)
        self.theta_g2 = conv_bn_relu(channels, 3)
        self.theta_g1 = conv_bn_relu(channels, 3)

    def forward(self, fmap: torch.Tensor, attribute_maps: list[torch.Tensor]):
        if not attribute_maps:
            raise ValueError("the Joint Module needs at least one attribute map A_i")
        summed = torch.stack(attribute_maps).sum(0)
        g = summed + self.theta_a(summed)
        g_reid = self.theta_g1(self.theta_g2(g))
        return g, g_reid, fmap + g_reid
