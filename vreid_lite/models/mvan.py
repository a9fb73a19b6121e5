"""MVAN: the Multi-View Attention Network (Teng et al., IEEE TIP 2021), §III.

A frozen V-Net predicts viewpoint probabilities p (Eq. 4). The M-Net shares its first
``branch_after`` convolution stages, then splits into V branches without parameter sharing,
each refined by spatial attention F̂_v = F_v ⊙ (G_v + L_v) (Eq. 5) and pooled, f̂_v =
GAP(F̂_v) (Eq. 9); the fused feature is f = Σ_v p_v f̂_v (Eq. 8), trained with softmax and
triplet losses (Eq. 10). Every row of Tables I and IV is a ``variant`` of ``build_model("mvan")``.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.heads import BNNeck, GlobalAvgPool
from vreid_lite.models.mvan_attention import ATTENTIONS, LAM_APPLY, SpatialAttention
from vreid_lite.models.mvan_vnet import MVAN_VIEWS, VNet, check_num_views
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_model

FUSIONS = ("soft", "binary", "concat", "single")
"""How branch features become one: ``soft`` f = Σ p_v f̂_v (Eq. 8); ``binary`` the same with
the one-hot of argmax p (Multi-View-Binary); ``concat`` independent branches, concatenated, no
V-Net (Baseline-2); ``single`` one branch, no V-Net (Baseline-1)."""

VARIANTS: dict[str, dict] = {
    "Baseline-1": {"fusion": "single", "attention": "none"},
    "Baseline-2": {"fusion": "concat", "attention": "none", "branch_after": 0},
    "Multi-View": {"fusion": "soft", "attention": "none"},
    "Multi-View-Binary": {"fusion": "binary", "attention": "none"},
    "+GAM": {"fusion": "soft", "attention": "gam"},
    "+LAM": {"fusion": "soft", "attention": "lam"},
    "+GLAM": {"fusion": "soft", "attention": "glam"},
    "+LAM (1+L)": {"fusion": "soft", "attention": "lam", "lam_apply": "residual"},
}
"""The rows of Table I (multi-view branches) and Table IV (attention, on Multi-View-4).
The paper does not write F̂ for LAM alone: ``"+LAM"`` reads it literally, F ⊙ L, and
``"+LAM (1+L)"`` as F ⊙ (1 + L) (``lam_apply``, :mod:`~vreid_lite.models.mvan_attention`);
both are interpretations of the one +LAM row."""

DEFAULT_BRANCH_AFTER = 4
"""Multi-View-4: Table IV's attention rows split after conv4; on ResNet-50 the paper shares
everything before res5 (Table VI), the same cut in the kit's stem + four stages."""


class MVAN(nn.Module):
    """The M-Net plus the V-Net (``self.vnet``, ``None`` for ``single`` and ``concat``).

    ``branch_after`` = l ∈ {0, …, 4}: the first l of the backbone's five pieces (stem + four
    stages, i.e. conv1 … conv5 of VGG16, conv1 … res5 of ResNet) are shared ("Multi-View-l",
    Table IV); the remaining pieces are deep-copied once per branch. l = 0 shares nothing.
    ``lam_apply`` (``attention="lam"`` only): ``"literal"`` F ⊙ L or ``"residual"``
    F ⊙ (1 + L), two readings of LAM alone, which the paper does not write out.

    The V-Net is built frozen (the paper trains it off-line, §III-C): train it first with
    ``vnet.unfreeze()`` and :class:`~vreid_lite.models.mvan_vnet.ViewpointCriterion`, then
    ``vnet.freeze()``. Its probabilities enter Eq. 8 detached, so the re-ID losses never
    reach it.

    ``forward`` returns the BNNeck embedding of f, logits in train mode (for ``concat``, the
    mean of the branch classifiers'), ``aux``: ``"feat"`` (the triplet feature), ``"fused"``
    (f), ``"branch_feats"`` (B×V×C, the f̂_v), ``"weights"`` (B×V, the p_v used),
    ``"view_logits"``/``"view_probs"`` (V-Net); for ``concat`` also ``"branch_triplet_feats"``
    (B×V×D) and, in train mode, ``"branch_logits"`` (B×V×classes);
    ``maps``: ``"gam/<branch>"``, ``"lam/<branch>"``, ``"feature/<branch>"`` (channel mean of
    F̂) and ``"viewpoint"`` (B×V probabilities).
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", pretrained="auto",
                 last_stride: int = 1, num_views: int = 3,
                 branch_after: int = DEFAULT_BRANCH_AFTER, attention: str = "glam",
                 fusion: str = "soft", reduction: int = 16, embed_dim: int | None = None,
                 vnet_backbone: str = "light_vgg_m", vnet_dim: int = 512,
                 lam_apply: str = "literal", **backbone_options):
        super().__init__()
        check_num_views(num_views)
        if fusion not in FUSIONS:
            raise ValueError(f"fusion {fusion!r}; expected one of {FUSIONS}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention {attention!r}; expected one of {ATTENTIONS}")
        if lam_apply not in LAM_APPLY:
            raise ValueError(f"lam_apply {lam_apply!r}; expected one of {LAM_APPLY}")
        if branch_after not in range(5):
            raise ValueError(f"branch_after={branch_after!r}; expected 0-4 (stages shared "
                             "before the branches split; 0 shares none)")
        self.fusion, self.attention, self.branch_after = fusion, attention, branch_after
        self.lam_apply = lam_apply
        n_branches = 1 if fusion == "single" else num_views
        self.num_views = num_views
        if fusion in ("soft", "binary"):
            self.branch_names = MVAN_VIEWS[num_views]
        else:
            self.branch_names = tuple(f"branch{i + 1}" for i in range(n_branches))

        net = build_backbone(backbone, pretrained=pretrained, last_stride=last_stride,
                             **backbone_options)
        pieces = net.stage_modules()
        self.shared = nn.Sequential(*pieces[:branch_after])
        self.branches = nn.ModuleList(
            nn.Sequential(*(copy.deepcopy(p) for p in pieces[branch_after:]))
            for _ in range(n_branches))
        channels = net.out_channels
        self.attend = nn.ModuleList(SpatialAttention(channels, attention, reduction, lam_apply)
                                    for _ in range(n_branches))
        self.pool = GlobalAvgPool()
        if embed_dim is None:
            embed_dim = net.default_embed_dim
        if fusion == "concat":  # Baseline-2: each branch a Baseline-1 of its own
            self.necks = nn.ModuleList(BNNeck(channels, num_classes, embed_dim or None)
                                       for _ in range(n_branches))
            self.embed_dim = sum(n.out_dim for n in self.necks)
        else:
            self.neck = BNNeck(channels, num_classes, embed_dim or None)
            self.embed_dim = self.neck.out_dim
        self.vnet = None
        if fusion in ("soft", "binary"):
            # a weights file given for the M-Net's backbone does not fit the V-Net's
            own = pretrained if pretrained in ("auto", True, False, None) else "auto"
            self.vnet = VNet(num_views, vnet_backbone, pretrained=own,
                             feature_dim=vnet_dim).freeze()

    def energy_layers(self) -> list[nn.Module]:
        """The view branches: their feature maps (before attention) are what Eq. 9 pools."""
        return list(self.branches)

    def mnet_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters outside the V-Net (stage 2's parameter group)."""
        vnet = {id(p) for p in self.vnet.parameters()} if self.vnet is not None else set()
        return [p for p in self.parameters() if p.requires_grad and id(p) not in vnet]

    def view_weights(self, images: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """p (B×V) as Eq. 8 uses it (detached; one-hot of argmax p for ``binary``) and the
        V-Net's aux outputs (``view_logits``, ``view_probs``)."""
        if self.vnet is None:
            raise ValueError(f"fusion {self.fusion!r} has no V-Net")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.vnet.frozen):
            out = self.vnet(images)
        probs = out.aux["view_probs"].detach()
        if self.fusion == "binary":
            weights = F.one_hot(probs.argmax(1), self.num_views).to(probs.dtype)
        else:
            weights = probs
        return weights, out.aux

    def forward(self, images: torch.Tensor) -> ReIDOutput:
        shared = self.shared(images)
        feats, maps = [], {}
        for name, branch, attend in zip(self.branch_names, self.branches, self.attend):
            fmap, att = attend(branch(shared))                       # Eq. 1, 5-7
            feats.append(self.pool(fmap))                             # Eq. 9
            maps.update({f"{k}/{name}": v for k, v in att.items()})
            maps[f"feature/{name}"] = fmap.detach().mean(1, keepdim=True)
        branch_feats = torch.stack(feats, dim=1)                      # B×V×C
        aux: dict[str, torch.Tensor] = {"branch_feats": branch_feats}
        if self.fusion == "concat":
            return self._concat_output(branch_feats, aux, maps)
        if self.fusion == "single":
            fused = branch_feats[:, 0]
        else:
            weights, vnet_aux = self.view_weights(images)
            aux.update(vnet_aux, weights=weights)
            maps["viewpoint"] = vnet_aux["view_probs"].detach()
            fused = (weights.to(branch_feats.dtype)[:, :, None] * branch_feats).sum(1)  # Eq. 8
        feat, bn_feat, logits = self.neck(fused)
        aux.update(fused=fused, feat=feat)
        return ReIDOutput(embedding=bn_feat, logits=logits if self.training else None,
                          aux=aux, maps=maps)

    def _concat_output(self, branch_feats: torch.Tensor, aux: dict, maps: dict) -> ReIDOutput:
        outs = [neck(branch_feats[:, v]) for v, neck in enumerate(self.necks)]
        aux.update(fused=branch_feats.flatten(1),
                   feat=torch.cat([o[0] for o in outs], dim=1),
                   branch_triplet_feats=torch.stack([o[0] for o in outs], dim=1))
        logits = None
        if self.training:
            aux["branch_logits"] = torch.stack([o[2] for o in outs], dim=1)  # B×V×classes
            logits = aux["branch_logits"].mean(1)
        return ReIDOutput(embedding=torch.cat([o[1] for o in outs], dim=1), logits=logits,
                          aux=aux, maps=maps)


@register_model("mvan")
def build_mvan(num_classes: int, variant: str = "+GLAM", backbone: str = "resnet50",
               pretrained="auto", last_stride: int = 1, num_views: int = 3,
               branch_after: int | None = None, attention: str | None = None,
               fusion: str | None = None, reduction: int = 16, embed_dim: int | None = None,
               vnet_backbone: str = "light_vgg_m", vnet_dim: int = 512,
               lam_apply: str | None = None, **backbone_options) -> MVAN:
    """MVAN as the paper's ``variant`` names it (a key of ``VARIANTS``: ``"Baseline-1"``,
    ``"Baseline-2"``, ``"Multi-View"``, ``"Multi-View-Binary"``, ``"+GAM"``, ``"+LAM"``,
    ``"+GLAM"``, and ``"+LAM (1+L)"``, the residual reading of +LAM); ``branch_after``,
    ``attention``, ``fusion`` and ``lam_apply`` given explicitly replace the variant's.
    ``num_views``: 3 (front, rear, side; VeRi-776) or 2 (front, rear; VehicleID).
    ``reduction``: GAM's r (16, Eq. 13). ``embed_dim`` as the baseline's (``None``: the
    backbone's default, 512 for the light VGGs). The V-Net uses ``vnet_backbone`` (the paper's
    VGG_CNN_M_1024 by default) and a ``vnet_dim``-d hidden layer."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown MVAN variant {variant!r}; expected one of {list(VARIANTS)}")
    spec = {"branch_after": DEFAULT_BRANCH_AFTER, **VARIANTS[variant]}
    given = {"branch_after": branch_after, "attention": attention, "fusion": fusion,
             "lam_apply": lam_apply}
    spec.update({k: v for k, v in given.items() if v is not None})
    return MVAN(num_classes, backbone=backbone, pretrained=pretrained, last_stride=last_stride,
                num_views=num_views, reduction=reduction, embed_dim=embed_dim,
                vnet_backbone=vnet_backbone, vnet_dim=vnet_dim, **spec, **backbone_options)
