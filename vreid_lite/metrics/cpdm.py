"""CPDM, the Co-occurrence Part-attentive Distance Metric of SPAN (Chen et al., ECCV 2020, §3.3).

Each image has a global feature and three part features (front, rear, side) and the area ratio
of each part: the L1 norm of its attention mask divided by the global area, the sum of the three
part areas, so ``AR_global = 1`` and ``AR_front + AR_rear + AR_side = 1``. Two images are
compared part by part, each part weighted by how much of it both images show (Eq. 4 and 5).

Shapes: features ``(N, P, d)`` with the global feature first (``P = 4`` for SPAN: global, front,
rear, side), area ratios ``(N, P)`` in the same order.

Blank masks: an image whose three masks are all zero has no global area; the paper leaves this
open. We give it the area ratios ``(1, 0, 0, 0)``, so it is compared by its global feature
alone. Likewise, should the weights of a pair have a zero denominator in Eq. 4 (possible only
with a zero global ratio), the pair's distance is the distance of the global features.
"""
from __future__ import annotations

import torch

from vreid_lite.metrics.distances import DISTANCES, euclidean_distance, register_distance

CHUNK_ELEMENTS = 1 << 24
"""Default query chunk: this many (query, gallery) pairs at a time (64 MB per float32 buffer)."""


def _check_parts(feats: torch.Tensor, areas: torch.Tensor, name: str) -> None:
    if not isinstance(feats, torch.Tensor) or not isinstance(areas, torch.Tensor):
        raise TypeError(f"{name}: expected tensors, got {type(feats).__name__} features and "
                        f"{type(areas).__name__} areas")
    if feats.dim() != 3:
        raise ValueError(f"{name} features: expected (N, parts, d) part features, got shape "
                         f"{tuple(feats.shape)}")
    if areas.shape != feats.shape[:2]:
        raise ValueError(f"{name} areas: expected shape {tuple(feats.shape[:2])} (one area ratio "
                         f"per image and part, global first), got {tuple(areas.shape)}")
    if feats.device != areas.device:
        raise ValueError(f"{name}: features on {feats.device}, areas on {areas.device}")


def _check_area_values(areas: torch.Tensor, name: str) -> None:
    bad = ~((areas >= 0) & (areas < float("inf")))
    if bool(bad.any()):
        i, j = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"{name} areas[{i}, {j}] = {areas[i, j].item()}; expected finite, "
                         "non-negative area ratios")


def _check_pair(q_feats, q_areas, g_feats, g_areas) -> None:
    _check_parts(q_feats, q_areas, "query")
    _check_parts(g_feats, g_areas, "gallery")
    if q_feats.shape[1:] != g_feats.shape[1:]:
        raise ValueError(f"query parts × dims {tuple(q_feats.shape[1:])} differ from gallery "
                         f"{tuple(g_feats.shape[1:])}")
    if q_feats.device != g_feats.device:
        raise ValueError(f"query features on {q_feats.device}, gallery features on "
                         f"{g_feats.device}")
    _check_area_values(q_areas, "query")
    _check_area_values(g_areas, "gallery")


def _float(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.promote_types(x.dtype, torch.float32))


def area_ratios(masks: torch.Tensor) -> torch.Tensor:
    """``(N, 4)`` area ratios (global, front, rear, side) of part masks ``(N, 3, h, w)``.

    §3.3: a mask's area is its L1 norm, the global area the sum of the three part areas, and
    every area is divided by the global one. Blank masks give ``(1, 0, 0, 0)`` (module note).
    """
    if not isinstance(masks, torch.Tensor) or masks.dim() != 4 or masks.shape[1] != 3:
        shape = tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise ValueError(f"masks: expected (N, 3, h, w) front / rear / side masks, got {shape}")
    with torch.autocast(device_type=masks.device.type, enabled=False):
        areas = _float(masks).abs().sum(dim=(2, 3))                      # ‖M_i‖₁
        total = areas.sum(dim=1, keepdim=True)
        blank = total == 0
        parts = areas / torch.where(blank, torch.ones_like(total), total)
        return torch.cat([torch.ones_like(total), parts], dim=1)


def cpdm_weights(q_areas: torch.Tensor, g_areas: torch.Tensor) -> torch.Tensor:
    """``(Nq, Ng, P)`` attentive weights ``w_(a,b),i`` of Eq. 4; each pair's weights sum to 1.

    Holds the whole ``(Nq, Ng, P)`` tensor: meant for inspecting a few pairs;
    :func:`cpdm_distance` never builds it.
    """
    for name, a in (("q_areas", q_areas), ("g_areas", g_areas)):
        if not isinstance(a, torch.Tensor) or a.dim() != 2:
            raise ValueError(f"{name}: expected (N, parts) area ratios, got "
                             f"{tuple(a.shape) if isinstance(a, torch.Tensor) else type(a)}")
    if q_areas.shape[1] != g_areas.shape[1]:
        raise ValueError(f"q_areas has {q_areas.shape[1]} parts, g_areas {g_areas.shape[1]}")
    _check_area_values(q_areas, "query")
    _check_area_values(g_areas, "gallery")
    with torch.autocast(device_type=q_areas.device.type, enabled=False):
        products = _float(q_areas)[:, None, :] * _float(g_areas)[None, :, :]  # AR_a,i · AR_b,i
        total = products.sum(dim=2, keepdim=True)
        empty = (total == 0).to(products.dtype)      # no area in common: global weight 1
        products = torch.cat([products[..., :1] + empty, products[..., 1:]], dim=2)
        return products / (total + empty)


def _cpdm_block(qf: torch.Tensor, qa: torch.Tensor, gf: torch.Tensor,
                ga: torch.Tensor) -> torch.Tensor:
    """Eq. 5 for one query chunk, accumulated part by part (no (n, Ng, P) tensor).
    ``qf``, ``gf`` are part-major: (P, n, d) and (P, Ng, d)."""
    total = qa @ ga.T                                # Σ_j AR_a,j · AR_b,j (Eq. 4 denominator)
    empty = total == 0
    any_empty = bool(empty.any())
    in_place = not (torch.is_grad_enabled() and any(
        t.requires_grad for t in (qf, qa, gf, ga)))
    out = global_dist = None
    for i in range(qf.shape[0]):
        dist = euclidean_distance(qf[i], gf[i])                     # ‖f_a,i − f_b,i‖₂
        if i == 0 and any_empty:
            global_dist = dist.clone() if in_place else dist
        if not in_place:
            term = dist * (qa[:, i, None] * ga[None, :, i])
            out = term if out is None else out + term
        elif out is None:
            out = dist.mul_(ga[None, :, i]).mul_(qa[:, i, None])
        else:
            out.addcmul_(dist.mul_(ga[None, :, i]), qa[:, i, None])
    if not any_empty:
        return out.div_(total) if in_place else out / total
    safe = torch.where(empty, torch.ones_like(total), total)
    return torch.where(empty, global_dist, out / safe)   # no common area: global distance


def cpdm_distance(q_feats: torch.Tensor, q_areas: torch.Tensor, g_feats: torch.Tensor,
                  g_areas: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
    """``(Nq, Ng)`` CPDM distances (Eq. 5): ``Σ_i w_(a,b),i · ‖f_a,i − f_b,i‖₂``, ``w`` of Eq. 4.

    ``q_feats (Nq, P, d)``, ``q_areas (Nq, P)``, likewise for the gallery, global part first.
    Runs on the inputs' device in (at least) float32 with autocast off, ``chunk_size`` queries
    at a time (None: sized so a chunk holds about :data:`CHUNK_ELEMENTS` pairs). Per-part
    distances use :func:`euclidean_distance`, so identical features give a zero gradient, not
    an infinite one, and gradients reach features and areas (the triplet loss of §3.4).
    Images with disjoint views (zero products except the global one) are compared by
    their global features alone (§3.3, Discussion).
    """
    _check_pair(q_feats, q_areas, g_feats, g_areas)
    nq, ng = q_feats.shape[0], g_feats.shape[0]
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(ng, 1))
    elif isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer or None, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    dtype = torch.promote_types(torch.promote_types(q_feats.dtype, g_feats.dtype), torch.float32)
    with torch.autocast(device_type=q_feats.device.type, enabled=False):
        qf, qa = q_feats.to(dtype), q_areas.to(dtype)
        gf, ga = g_feats.to(dtype), g_areas.to(dtype)
        if nq == 0 or ng == 0:
            return qf.new_zeros((nq, ng))
        qf, gf = qf.transpose(0, 1).contiguous(), gf.transpose(0, 1).contiguous()  # part-major
        blocks = [_cpdm_block(qf[:, s:s + chunk_size], qa[s:s + chunk_size], gf, ga)
                  for s in range(0, nq, chunk_size)]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks)


def pack_parts(feats: torch.Tensor, areas: torch.Tensor) -> torch.Tensor:
    """``(N, P, d + 1)``: each part's feature with its area ratio as the last value, so one
    tensor carries both through code that slices rows (``compute_distmat``'s chunks, a
    triplet loss). At least float32, so the areas keep their precision."""
    _check_parts(feats, areas, "pack_parts")
    dtype = torch.promote_types(torch.promote_types(feats.dtype, areas.dtype), torch.float32)
    return torch.cat([feats.to(dtype), areas.to(dtype)[:, :, None]], dim=2)


def unpack_parts(packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(feats (N, P, d), areas (N, P))`` from :func:`pack_parts`' output (views, no copy)."""
    if not isinstance(packed, torch.Tensor) or packed.dim() != 3 or packed.shape[2] < 2:
        shape = tuple(packed.shape) if isinstance(packed, torch.Tensor) else type(packed).__name__
        raise ValueError(f"packed part features: expected (N, parts, d + 1) from pack_parts "
                         f"(features with their area ratio last), got {shape}")
    return packed[..., :-1], packed[..., -1]


def cpdm_packed_distance(q: torch.Tensor, g: torch.Tensor,
                         chunk_size: int | None = None) -> torch.Tensor:
    """The registered ``"cpdm"`` distance: :func:`cpdm_distance` on :func:`pack_parts` tensors."""
    return cpdm_distance(*unpack_parts(q), *unpack_parts(g), chunk_size=chunk_size)


cpdm_packed_distance.part_aware = True  # ranks packed part features, not (N, D) embeddings
register_distance("cpdm", cpdm_packed_distance,
                  overwrite=getattr(DISTANCES.get("cpdm"), "__module__", None) == __name__)
