"""ANet: AttributeNet (Quispe et al., "AttributeNet: Attribute Enhanced Vehicle
Re-Identification"), §3.

VAN (§3.1, Fig. 2): a backbone map F; a re-ID head f = W_f GAP(F) + b_f (Eq. 1, s_f = 512);
one branch per attribute (colour, type) with SE attention, A_i = F·Att_i(F) (Eq. 2) and
a_i = W_ai GAP(A_i) + b_ai (Eq. 3, s_a = 128). The Joint Module (§3.2, Fig. 3) merges the A_i
into G (Eq. 5), distils G_reid (Eq. 6), forms J = F + G_reid (Eq. 7) and j = W_j GAP(J) + b_j
(Eq. 8, s_j = 512). ``joint=False`` is VAN alone; Table 1's test features are ``test_feature``.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.models.anet_attributes import ATTRIBUTE_BRANCHES, AttributeBranch
from vreid_lite.models.anet_joint import JointModule
from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.heads import BNNeck, GlobalAvgPool
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_model

ATTRIBUTES = {"color": "colors", "type": "vtypes"}
"""The paper's n = 2 attributes (§4.2) and the batch key holding each one's labels."""

TEST_FEATURES = ("f", "fa", "j")
"""Table 1's test features: VAN(f), VAN(fa) (f concatenated with every a_i), ANet(j)."""

PARTS = ("backbone", "f_head", "attributes", "joint", "j_head")
"""What :meth:`ANet.freeze` can freeze."""


def activation_map(fmap: torch.Tensor) -> torch.Tensor:
    """B×c×h×w → B×1×h×w, the channel mean of |x|: where the map is active (Fig. 4)."""
    return fmap.abs().mean(1, keepdim=True)


@register_model("anet")
class ANet(nn.Module):
    """VAN + the Joint Module. Options are the paper's ablations:

    ``attr_branch``: ``"att"`` (SE attention, reduction ``se_reduction`` = 16) or ``"fc"``
    (Table 2); ``attr_bn``: BatchNorm between a_i and its classifier (see
    :class:`~vreid_lite.models.anet_attributes.AttributeBranch`). ``joint=False``: VAN only (Table 1's VAN rows; no G, J, j).
    ``test_feature``: what ``embedding`` is in eval mode, L2-normalised (§4.2): ``"f"``,
    ``"fa"`` or ``"j"`` (default: ``"j"``, or ``"f"`` without the Joint Module).
    ``feat_dim`` = s_f = s_j, ``attr_dim`` = s_a (§4.2: 512 and 128). ``num_colors`` /
    ``num_types``: m_i, the classes of each attribute (default VeRi-776's 10 and 9).

    The f and j heads are BNNecks, the kit's choice: §4.2 cites Bag of Tricks for label
    smoothing and hard-mined triplets only, and matches on j itself (Eq. 8). The FC of Eq. 1 /
    Eq. 8 gives f (j), the triplet losses and the AC see f (j), the identity classifier sees
    BN(f) (BN(j)) and retrieval uses BN(f) (BN(j)), L2-normalised. The paper does not say how
    VAN(fa) is formed; we L2-normalise BN(f) and each a_i, concatenate them and normalise
    again, so each part weighs the same ("the same importance to all branches", §4.2).

    ``forward`` returns ``embedding`` (the test feature), ``logits`` (train mode: j's, or f's
    for VAN), ``aux``: ``"feat"`` (the triplet feature of the test branch), ``"f"``,
    ``"f_logits"``, ``"a_<attr>"``, ``"<attr>_logits"`` and, with the Joint Module, ``"g"``
    (GAP of G, for the attribute-pattern triplet loss), ``"j"``, ``"j_logits"`` (logits in
    train mode only), plus the L2-normalised test features ``"emb_f"``, ``"emb_fa"``
    (and ``"emb_j"``) so one extraction scores every row of Table 1. ``maps``: ``"F"``,
    ``"G"``, ``"G_reid"``, ``"J"`` (B×1×h×w activation maps) and ``"att/<attr>"`` (B×c SE
    weights).
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", pretrained="auto",
                 last_stride: int = 1, num_colors: int = 10, num_types: int = 9,
                 attr_branch: str = "att", joint: bool = True, test_feature: str | None = None,
                 feat_dim: int = 512, attr_dim: int = 128, se_reduction: int = 16,
                 attr_bn: bool = True, **backbone_options):
        super().__init__()
        if attr_branch not in ATTRIBUTE_BRANCHES:
            raise ValueError(f"attr_branch {attr_branch!r}; expected one of {ATTRIBUTE_BRANCHES}")
        test_feature = test_feature or ("j" if joint else "f")
        if test_feature not in TEST_FEATURES:
            raise ValueError(f"test_feature {test_feature!r}; expected one of {TEST_FEATURES}")
        if test_feature == "j" and not joint:
            raise ValueError("test_feature 'j' needs the Joint Module; VAN (joint=False) has "
                             "only 'f' and 'fa'")
        self.attr_branch, self.joint, self.test_feature = attr_branch, joint, test_feature
        self.backbone = build_backbone(backbone, pretrained=pretrained, last_stride=last_stride,
                                       **backbone_options)
        c = self.backbone.out_channels
        self.pool = GlobalAvgPool()
        self.f_head = BNNeck(c, num_classes, feat_dim)
        classes = {"color": num_colors, "type": num_types}
        self.attribute_names = tuple(ATTRIBUTES)
        self.attributes = nn.ModuleList([
            AttributeBranch(c, classes[name], attr_dim, attr_branch, se_reduction, attr_bn)
            for name in self.attribute_names])
        self.joint_module = JointModule(c) if joint else None
        self.j_head = BNNeck(c, num_classes, feat_dim) if joint else None
        self.embed_dim = feat_dim + len(ATTRIBUTES) * attr_dim if test_feature == "fa" \
            else feat_dim
        self._frozen: tuple[str, ...] = ()

    # ---- freezing (training step 2, §3.2)
    def freeze(self, parts: Iterable[str] = ("backbone", "f_head")) -> None:
        """Stop training ``parts`` (names from ``PARTS``): their parameters stop requiring
        grad and their BatchNorm layers keep their running statistics (they stay in eval mode
        even under ``model.train()``). Replaces any earlier freeze."""
        parts = tuple(parts)
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            raise ValueError(f"cannot freeze {unknown}; expected names from {PARTS}")
        absent = [p for p in parts if self._part(p) is None]
        if absent:
            raise ValueError(f"cannot freeze {absent}: VAN (joint=False) has no joint module "
                             "or j head")
        self.unfreeze()
        for name in parts:
            self._part(name).requires_grad_(False)
        self._frozen = parts
        self.train(self.training)

    def unfreeze(self) -> None:
        """Make every part trainable again (the BNNeck BN biases stay fixed, as built)."""
        for name in self._frozen:
            module = self._part(name)
            module.requires_grad_(True)
            for head in (m for m in module.modules() if isinstance(m, BNNeck)):
                head.bn.bias.requires_grad_(False)
        self._frozen = ()
        self.train(self.training)

    @property
    def frozen(self) -> tuple[str, ...]:
        return self._frozen

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def _part(self, name: str) -> nn.Module | None:
        return self.joint_module if name == "joint" else getattr(self, name)

    def train(self, mode: bool = True) -> "ANet":
        super().train(mode)
        for name in self._frozen:
            self._part(name).eval()
        return self

    # ---- forward
    def forward(self, images: torch.Tensor) -> ReIDOutput:
        fmap = self.backbone(images)
        f, f_bn, f_logits = self.f_head(self.pool(fmap))
        aux: dict[str, torch.Tensor] = {"f": f}
        maps: dict[str, torch.Tensor] = {"F": activation_map(fmap)}
        attribute_maps, attribute_feats = [], []
        for name, branch in zip(self.attribute_names, self.attributes):
            a_map, a, logits, weights = branch(fmap)
            attribute_maps.append(a_map)
            attribute_feats.append(a)
            aux[f"a_{name}"] = a
            aux[f"{name}_logits"] = logits
            if weights is not None:
                maps[f"att/{name}"] = weights
        emb = {"f": F.normalize(f_bn, dim=1)}
        emb["fa"] = F.normalize(torch.cat(
            [emb["f"], *(F.normalize(a, dim=1) for a in attribute_feats)], dim=1), dim=1)
        logits, feat = f_logits, f
        if self.joint_module is not None:
            g_map, g_reid, j_map = self.joint_module(fmap, attribute_maps)
            j, j_bn, j_logits = self.j_head(self.pool(j_map))
            aux.update(g=self.pool(g_map), j=j)
            maps.update(G=activation_map(g_map), G_reid=activation_map(g_reid),
                        J=activation_map(j_map))
            emb["j"] = F.normalize(j_bn, dim=1)
            if self.training:
                aux["j_logits"] = j_logits
            logits, feat = j_logits, j
        if self.training:
            aux["f_logits"] = f_logits
        if self.test_feature == "f":
            feat = f
        aux["feat"] = feat
        aux.update({f"emb_{k}": v for k, v in emb.items()})
        return ReIDOutput(embedding=emb[self.test_feature],
                          logits=logits if self.training else None, aux=aux, maps=maps)
