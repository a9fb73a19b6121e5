"""Convex solids made of planar faces, each face carrying flat detail polygons (lights, windows,
marks) that are drawn on top of it. Vehicles are built from these (``body.py``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

FRONT, REAR, SIDE = 1, 2, 3  # vreid_lite.data.records.PART_LABELS
DOMINANT = -1
"""Label of roof-like faces: they take the part label of the view the camera mostly sees."""


@dataclass
class Detail:
    points: np.ndarray            # (k, 3) convex polygon on the parent face's plane
    color: tuple[float, float, float]  # BGR
    emissive: bool = False        # lights keep their colour whatever the shading
    mark: str | None = None       # identity-mark kind when this polygon belongs to one


@dataclass
class Face:
    points: np.ndarray            # (k, 3) convex polygon
    normal: np.ndarray            # (3,) outward unit normal
    color: tuple[float, float, float]
    label: int                    # FRONT, REAR, SIDE or DOMINANT
    role: str
    details: list[Detail] = field(default_factory=list)
    # Edge quads keep the 3-D frame their details are placed in: origin, "across" and "up" axes.
    frame: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def rect(self, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
        """Corners of the sub-rectangle ``[u0, u1] × [v0, v1]`` of an edge quad (unit coords:
        ``u`` across the vehicle from its right to its left side, ``v`` along the profile edge
        from its lower / rearward end)."""
        origin, across, up = self.frame
        return np.array([origin + u * across + v * up
                         for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])

    def add(self, points: np.ndarray, color, emissive: bool = False, mark: str | None = None) -> None:
        self.details.append(Detail(np.asarray(points, dtype=np.float64), tuple(color), emissive, mark))


@dataclass
class Solid:
    faces: list[Face]
    layer: float                  # drawing layer: 0 wheels, 1 lower bodies, 2 upper bodies, 3 roof items
    mark: str | None = None       # set when the whole solid is an identity mark (roof items)
    near_layer: float | None = None  # layer when on the camera's side of the vehicle (mirrors)

    def face(self, role: str) -> Face:
        for f in self.faces:
            if f.role == role:
                return f
        raise KeyError(f"no face with role {role!r}; roles: {[f.role for f in self.faces]}")

    def faces_with(self, role: str) -> list[Face]:
        return [f for f in self.faces if f.role == role]


def label_from_normal(normal: np.ndarray) -> int:
    """Front / rear / side from the horizontal direction a face points to; near-horizontal faces
    (roofs, bed floors) take the dominant view's label."""
    nx, ny, nz = normal
    if nz > 0.7:
        return DOMINANT
    return (FRONT if nx > 0 else REAR) if abs(nx) >= abs(ny) else SIDE


def prism(profile: list[tuple[float, float]], y0: float, y1: float, color, layer: int,
          roles: list[str | None], labels: dict[str, int] | None = None,
          side_role: str = "side") -> Solid:
    """Extrude a convex counter-clockwise (x forward, z up) profile across ``y0 ≤ y ≤ y1``.

    ``roles[i]`` names the quad of edge ``profile[i] → profile[i+1]``; ``None`` skips a face that
    is never seen (the underside). ``labels`` overrides the normal-derived part label by role.
    The two profile faces are the sides (``side_role``; ``+y`` is the vehicle's left).
    """
    labels = labels or {}
    prof = np.asarray(profile, dtype=np.float64)
    n = len(prof)
    faces = []
    for i, role in enumerate(roles):
        if role is None:
            continue
        p, q = prof[i], prof[(i + 1) % n]
        dx, dz = q - p
        length = float(np.hypot(dx, dz))
        if length < 1e-6:  # a collapsed edge (a hatchback has no trunk lid)
            continue
        normal = np.array([dz, 0.0, -dx]) / length
        lo, hi = (p, q) if (p[1], p[0]) <= (q[1], q[0]) else (q, p)
        if abs(dz) < 1e-9:  # horizontal edge: "up" runs from rear to front
            lo, hi = (p, q) if p[0] <= q[0] else (q, p)
        origin = np.array([lo[0], y0, lo[1]])
        across = np.array([0.0, y1 - y0, 0.0])
        up = np.array([hi[0] - lo[0], 0.0, hi[1] - lo[1]])
        pts = np.array([origin, origin + across, origin + across + up, origin + up])
        label = labels.get(role, label_from_normal(normal))
        faces.append(Face(pts, normal, tuple(color), label, role, frame=(origin, across, up)))
    for y, sign in ((y1, 1.0), (y0, -1.0)):
        pts = np.column_stack([prof[:, 0], np.full(n, y), prof[:, 1]])
        faces.append(Face(pts, np.array([0.0, sign, 0.0]), tuple(color), SIDE,
                          f"{side_role}_{'left' if sign > 0 else 'right'}"))
    return Solid(faces, layer)


def on_side(face: Face, xz) -> np.ndarray:
    """Points given in the (x, z) plane of a side face, lifted onto it."""
    xz = np.asarray(xz, dtype=np.float64)
    out = np.empty((len(xz), 3))
    out[:, 0], out[:, 1], out[:, 2] = xz[:, 0], face.points[0, 1], xz[:, 1]
    return out


@lru_cache(maxsize=None)
def _unit_circle(n: int) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.column_stack([np.cos(t), np.sin(t)])


def circle(cx: float, cz: float, r: float, n: int = 12) -> np.ndarray:
    """A counter-clockwise ``n``-gon in the (x, z) plane."""
    return _unit_circle(n) * r + (cx, cz)


def box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float, color, layer: int,
        prefix: str = "box") -> Solid:
    """An axis-aligned box with faces ``<prefix>_front/_rear/_top`` and sides."""
    profile = [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]
    roles = [None, f"{prefix}_front", f"{prefix}_top", f"{prefix}_rear"]
    return prism(profile, y0, y1, color, layer, roles, side_role=f"{prefix}_side")
