"""Identity marks: the small things that tell apart two vehicles of the same type and colour.

Each mark is geometry on the body, so which views show it follows from the faces it lies on:

- ``windshield_sticker`` — a sticker on the windshield (front and front-side views).
- ``hood_decal`` — a stripe pair or an emblem on the hood (front, front-side and side views; from
  behind only where the camera looks over a low cabin).
- ``roof_item`` — a roof box, a roof rack or a roof sign (every view: cameras look down).
- ``side_stripe`` — a band along both sides (side, front-side and rear-side views).
- ``rear_decal`` — a decal on the rear face (rear and rear-side views).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vreid_lite.data.synthetic.body import Body
from vreid_lite.data.synthetic.geometry import Detail, Face, Solid, box, on_side

MARK_KINDS = ("windshield_sticker", "hood_decal", "roof_item", "side_stripe", "rear_decal")

MARK_COLORS = ((0, 215, 255), (0, 140, 255), (50, 200, 50), (255, 150, 30), (60, 20, 220),
               (250, 250, 250), (200, 40, 200), (230, 230, 0), (20, 20, 20), (120, 200, 255))
"""Vivid BGR colours marks are painted in."""

ROOF_ITEM_COLORS = ((25, 25, 25), (200, 200, 200), (235, 235, 235), (60, 60, 60))


@dataclass(frozen=True)
class Mark:
    """One identity mark: its kind, colour, position and size shares (0–1), and a variant."""

    kind: str
    color: tuple[int, int, int]
    u: float
    v: float
    size: float
    variant: int


def kinds_for(body: Body, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds of ``kinds`` the body has a place for (buses and trucks have no hood)."""
    return tuple(k for k in kinds if k != "hood_decal" or body.anchors["hood"])


def sample_marks(rng: np.random.Generator, count: int, paint, kinds: tuple[str, ...]) -> tuple[Mark, ...]:
    """``count`` marks of distinct kinds, colours far enough from the body paint to be seen."""
    chosen = rng.choice(len(kinds), size=min(count, len(kinds)), replace=False)
    palette = [c for c in MARK_COLORS if np.abs(np.subtract(c, paint)).sum() > 150]
    roof_palette = [c for c in ROOF_ITEM_COLORS if np.abs(np.subtract(c, paint)).sum() > 90]
    out = []
    for k in sorted(chosen):
        kind = kinds[k]
        colors = roof_palette if kind == "roof_item" else palette
        color = tuple(int(c) for c in colors[rng.integers(len(colors))])
        u, v, size = (float(x) for x in rng.random(3))
        out.append(Mark(kind, color, round(u, 4), round(v, 4), round(size, 4), int(rng.integers(3))))
    return tuple(out)


def _extent(face: Face) -> tuple[float, float]:
    origin, across, up = face.frame
    return float(np.linalg.norm(across)), float(np.linalg.norm(up))


def _windshield_sticker(face: Face, m: Mark) -> None:
    width, height = _extent(face)
    du, dv = (0.2 + 0.12 * m.size) / width, (0.16 + 0.08 * m.size) / height
    u0 = (0.1 + 0.15 * m.u) if m.variant != 1 else (0.9 - 0.15 * m.u - du)
    v0 = 0.12 + 0.1 * m.v if m.variant != 2 else 0.85 - dv
    face.add(face.rect(u0, u0 + du, v0, v0 + dv), m.color, mark=m.kind)


def _hood_decal(face: Face, m: Mark) -> None:
    width, _ = _extent(face)
    if m.variant == 0:  # stripe pair along the hood
        w = (0.08 + 0.06 * m.size) / width
        for c in (0.5 - 1.2 * w, 0.5 + 1.2 * w):
            face.add(face.rect(c - w / 2, c + w / 2, 0.03, 0.97), m.color, mark=m.kind)
    else:               # emblem
        w = (0.3 + 0.2 * m.size) / width
        c = 0.5 + (m.u - 0.5) * 0.4
        face.add(face.rect(c - w / 2, c + w / 2, 0.3, 0.75), m.color, mark=m.kind)


def _rear_decal(face: Face, m: Mark) -> None:
    width, height = _extent(face)
    du = (0.25 + 0.15 * m.size) / width
    dv = min(0.4, (0.18 + 0.1 * m.size) / height)
    u0 = 0.27 + (0.46 - du) * m.u
    v0 = 0.53 + (0.42 - dv) * m.v
    face.add(face.rect(u0, u0 + du, v0, v0 + dv), m.color, mark=m.kind)


def _side_stripe(face: Face, m: Mark) -> None:
    xs, zs = face.points[:, 0], face.points[:, 2]
    x0, x1 = xs.min() + 0.25, xs.max() - 0.25
    if m.variant == 1:
        x1 = x0 + 0.55 * (x1 - x0)
    elif m.variant == 2:
        x0 = x1 - 0.55 * (x1 - x0)
    h = 0.07 + 0.08 * m.size
    z0 = zs.min() + 0.12 + m.v * (zs.max() - zs.min() - 0.3 - h)
    band = on_side(face, [(x0, z0), (x1, z0), (x1, z0 + h), (x0, z0 + h)])
    face.details.insert(1, Detail(band, tuple(m.color), False, m.kind))  # under doors and wheels


def _roof_item(body: Body, m: Mark) -> list[Solid]:
    xr, xf, half_w, z = body.roof
    span = xf - xr
    if m.variant == 0:  # roof box
        length = min(span * 0.8, 1.2 + 0.7 * m.size)
        x0 = xr + (span - length) * (0.2 + 0.6 * m.u)
        w = half_w * 0.7
        parts = [box(x0, x0 + length, -w, w, z + 0.05, z + 0.32, m.color, 3, "roof_item")]
    elif m.variant == 1:  # rack: two rails and two bars
        x0, x1 = xr + 0.1 * span, xf - 0.1 * span
        y = half_w * 0.8
        parts = [box(x0, x1, s * y - 0.04, s * y + 0.04, z, z + 0.1, m.color, 3, "roof_item")
                 for s in (-1.0, 1.0)]
        for x in (x0 + 0.1 * (x1 - x0), x1 - 0.15 * (x1 - x0)):
            parts.append(box(x - 0.04, x + 0.04, -y, y, z + 0.1, z + 0.15, m.color, 3, "roof_item"))
    else:               # roof sign / light bar
        length = 0.25 + 0.2 * m.size
        x0 = xr + (span - length) * (0.3 + 0.4 * m.u)
        w = half_w * (0.5 + 0.3 * m.v)
        parts = [box(x0, x0 + length, -w, w, z, z + 0.22, m.color, 3, "roof_item")]
    for p in parts:
        p.mark = m.kind
    return parts


def attach_marks(body: Body, marks: tuple[Mark, ...]) -> Body:
    """Add the geometry of ``marks`` to ``body`` (in place) and return it."""
    for m in marks:
        if m.kind == "roof_item":
            body.solids.extend(_roof_item(body, m))
        elif m.kind in _FACE_MARKS:
            anchor, draw = _FACE_MARKS[m.kind]
            for f in body.anchors[anchor]:
                draw(f, m)
        else:
            raise ValueError(f"unknown mark kind {m.kind!r}; expected one of {MARK_KINDS}")
    return body


# mark kind -> (body anchor faces it is painted on, painter)
_FACE_MARKS = {
    "windshield_sticker": ("windshield", _windshield_sticker),
    "hood_decal": ("hood", _hood_decal),
    "rear_decal": ("rear", _rear_decal),
    "side_stripe": ("sides", _side_stripe),
}
